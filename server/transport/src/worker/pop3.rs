//! The POP3 pass: what is new by UIDL is fetched in chunks and stored, then
//! deleted on the server as the account's policy says.

use std::collections::HashSet;

use homepost_mail::RawMessage;
use homepost_store::{Account, DeletePolicy, Incoming, RemoteId};

use super::fetch::{CHUNK_BYTES, check_security, chunks, tags_for};
use super::{now, store_err};
use crate::error::{Error, Result};
use crate::pop3::Pop3;
use crate::{Progress, Shared, SyncState};

/// One POP3 pass: fetch what is new by UIDL, delete by policy, QUIT.
#[tracing::instrument(name = "fetch_pass", skip_all, fields(account = acc.id, protocol = "pop3"))]
pub(super) async fn pop3_pass(
    shared: &Shared,
    acc: &Account,
    incoming: &Incoming,
    password: &str,
) -> Result<()> {
    check_security(incoming)?;
    let store = &shared.store;
    let mut pop = Pop3::connect(&incoming.endpoint, password, shared.opts.timeouts()).await?;
    let uidl = pop.uidl().await?;
    let sizes: std::collections::HashMap<u32, u64> = pop.list().await?.into_iter().collect();
    let at = RemoteId {
        account: acc.id,
        folder: String::new(),
        uidvalidity: 0,
    };
    let keys: Vec<String> = uidl.iter().map(|(_, k)| k.clone()).collect();
    let known = store.remote_known(&at, &keys).await.map_err(store_err)?;
    let new: Vec<&(u32, String)> = uidl.iter().filter(|(_, k)| !known.contains(k)).collect();
    let total = new.len() as u64;
    let mut stored: HashSet<String> = known.clone();
    let mut too_large = 0;
    let mut done = 0u64;
    let size_of = |(n, _): &&(u32, String)| sizes.get(n).copied().unwrap_or(0);
    for chunk in chunks(&new, shared.opts.fetch_batch, CHUNK_BYTES, size_of) {
        shared.set_status(acc.id, true, |s| {
            s.state = SyncState::Syncing;
            s.detail = "Fetching new mail".into();
            s.progress = Some(Progress { done, total });
        });
        done += chunk.len() as u64;
        let mut raws = Vec::new();
        let mut fetched = Vec::new();
        for (n, key) in chunk {
            let size = sizes.get(n).copied().unwrap_or(0);
            if size > shared.opts.max_message {
                too_large += 1;
                continue;
            }
            let raw = pop.retr(*n, size).await?;
            raws.push(RawMessage {
                raw,
                origin: format!("pop3:{}/{key}", acc.id),
                mbox_number: None,
                tags: tags_for("", 0),
                progress_bytes: 0,
                file_time: None,
            });
            fetched.push(key.clone());
        }
        let ids = shared.sink.deliver(raws).await.map_err(Error::from)?;
        shared.sink.flush().await.map_err(Error::from)?;
        let copies: Vec<(String, Option<u32>, i64, i64)> = fetched
            .iter()
            .zip(&ids)
            .map(|(k, &id)| (k.clone(), None, id, 0))
            .collect();
        store
            .record_remote(&at, &copies, now())
            .await
            .map_err(store_err)?;
        if !copies.is_empty() {
            shared.bump();
        }
        stored.extend(fetched);
    }
    let delete: HashSet<String> = match incoming.policy {
        DeletePolicy::Keep => HashSet::new(),
        DeletePolicy::DeleteWhenStored => stored.clone(),
        DeletePolicy::DeleteAfter { days } => {
            let cutoff = now() - i64::from(days) * 86_400;
            store
                .remote_copies(&at)
                .await
                .map_err(store_err)?
                .into_iter()
                .filter(|c| c.fetched_at <= cutoff)
                .map(|c| c.key)
                .collect()
        }
    };
    let mut deleted = Vec::new();
    for (n, key) in &uidl {
        if delete.contains(key) && stored.contains(key) {
            pop.dele(*n).await?;
            deleted.push(key.clone());
        }
    }
    // Deletions happen at QUIT: forget the copies only once it succeeded.
    pop.quit().await?;
    let listed: HashSet<&String> = keys.iter().collect();
    let mut forget = deleted;
    forget.extend(
        store
            .remote_copies(&at)
            .await
            .map_err(store_err)?
            .into_iter()
            .filter(|c| !listed.contains(&c.key))
            .map(|c| c.key),
    );
    store.forget_remote(&at, &forget).await.map_err(store_err)?;
    shared.set_status(acc.id, true, |s| {
        s.progress = None;
        s.error = None;
        s.last_success = Some(now());
    });
    if too_large > 0 {
        return Err(Error::TooLarge(shared.opts.max_message));
    }
    Ok(())
}
