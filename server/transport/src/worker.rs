//! The account fetchers and the outbox sender.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use homepost_mail::RawMessage;
use homepost_store::{
    Account, DeletePolicy, FLAG_FLAGGED, FLAG_READ, Incoming, OutboxJob, Protocol, RemoteId,
    Security,
};
use tokio::sync::Notify;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::imap::{Imap, Pending, Woken};
use crate::pop3::Pop3;
use crate::smtp::{self, SendError};
use crate::{Progress, Shared, SyncState};

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `base * 2^(n-1)`, capped, times a random factor in [0.8, 1.2) so that many
/// clients do not come back at the same moment.
pub(crate) fn backoff(base: Duration, max: Duration, n: u32) -> Duration {
    let exp = base
        .saturating_mul(1u32 << n.saturating_sub(1).min(20))
        .min(max);
    let mut r = [0u8; 2];
    let _ = getrandom::fill(&mut r);
    let unit = f64::from(u16::from_le_bytes(r)) / 65_536.0;
    exp.mul_f64(0.8 + 0.4 * unit)
}

fn store_err(e: impl std::fmt::Display) -> Error {
    Error::Store(e.to_string())
}

async fn wait(wake: &Notify, d: Duration) {
    let _ = tokio::time::timeout(d, wake.notified()).await;
}

/// Tags a fetched message starts with: where it was, and its flags.
fn tags_for(folder: &str, flags: i64) -> Vec<String> {
    let mut tags = Vec::new();
    if folder.is_empty() || folder.eq_ignore_ascii_case("INBOX") {
        tags.push("inbox".to_owned());
    } else {
        let name: String = folder
            .chars()
            .map(|c| {
                if c.is_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        tags.push(name.trim_matches('-').to_owned());
    }
    tags.extend(homepost_store::flag_tags(flags));
    tags.retain(|t| !t.is_empty());
    tags
}

/// The fetcher of one account: connects, syncs, waits for news; on errors waits
/// longer and longer (a wake-up, such as "sync now", cuts the wait short).
pub(crate) async fn run_incoming(shared: Arc<Shared>, account: i64, wake: Arc<Notify>) {
    let mut failures = 0u32;
    loop {
        let acc = match shared.store.account(account).await {
            Ok(Some(a)) => a,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(account, error = %e, "cannot read the account");
                wait(&wake, shared.opts.reconnect_max).await;
                continue;
            }
        };
        let Some(incoming) = acc.config.incoming.clone() else {
            return;
        };
        let password = match shared.store.account_secrets(account).await {
            Ok(Some(s)) => Zeroizing::new(s.incoming.clone().unwrap_or_default()),
            _ => Zeroizing::new(String::new()),
        };
        shared.set_status(account, true, |s| {
            s.state = SyncState::Connecting;
            s.detail = format!("Connecting to {}", incoming.endpoint.host);
            s.next_attempt = None;
        });
        let outcome = match incoming.protocol {
            Protocol::Imap => imap_session(&shared, &acc, &incoming, &password, &wake).await,
            Protocol::Pop3 => pop3_pass(&shared, &acc, &incoming, &password).await,
        };
        drop(password);
        let delay = match outcome {
            Ok(()) => {
                failures = 0;
                Duration::from_secs(u64::from(incoming.poll_seconds.max(10)))
            }
            Err(e) => {
                failures += 1;
                let delay = backoff(
                    shared.opts.reconnect_base,
                    shared.opts.reconnect_max,
                    failures,
                );
                tracing::warn!(account, error = %e, retry_in = delay.as_secs(), "fetching failed");
                shared.set_status(account, true, |s| {
                    s.state = SyncState::Error;
                    s.detail = e.to_string();
                    s.progress = None;
                    s.error = Some(e.report());
                    s.next_attempt = Some(now() + delay.as_secs() as i64);
                });
                delay
            }
        };
        if failures == 0 {
            shared.set_status(account, true, |s| {
                s.state = SyncState::Waiting;
                s.detail = "Up to date; checking again later".into();
                s.next_attempt = Some(now() + delay.as_secs() as i64);
            });
        }
        wait(&wake, delay).await;
    }
}

fn check_security(incoming: &Incoming) -> Result<()> {
    if incoming.endpoint.security == Security::Plain
        && !crate::tls::is_loopback(&incoming.endpoint.host)
    {
        return Err(Error::Config(
            "unencrypted connections are only allowed to this machine: choose TLS or STARTTLS"
                .into(),
        ));
    }
    Ok(())
}

/// One IMAP connection: sync every folder, then IDLE (or poll) and sync again,
/// until something fails.
async fn imap_session(
    shared: &Shared,
    acc: &Account,
    incoming: &Incoming,
    password: &str,
    wake: &Notify,
) -> Result<()> {
    check_security(incoming)?;
    let mut imap = Imap::connect(&incoming.endpoint, password, shared.opts.timeouts()).await?;
    let result = imap_loop(shared, acc, incoming, &mut imap, wake).await;
    imap.logout().await;
    result
}

async fn imap_loop(
    shared: &Shared,
    acc: &Account,
    incoming: &Incoming,
    imap: &mut Imap,
    wake: &Notify,
) -> Result<()> {
    loop {
        for folder in &incoming.folders {
            sync_imap_folder(shared, acc.id, incoming, imap, folder).await?;
        }
        append_sent(shared, acc.id, imap).await?;
        shared.set_status(acc.id, true, |s| {
            s.state = SyncState::Idle;
            s.detail = "Up to date".into();
            s.progress = None;
            s.error = None;
            s.next_attempt = None;
            s.last_success = Some(now());
        });
        let Some(first) = incoming.folders.first() else {
            return Ok(());
        };
        if imap.has_idle() {
            imap.select(first).await?;
            let _: Woken = imap.idle(wake, shared.opts.idle_max).await?;
        } else {
            wait(
                wake,
                Duration::from_secs(u64::from(incoming.poll_seconds.max(10))),
            )
            .await;
        }
    }
}

/// Fetches what is new in one folder, merges flags both ways, applies the
/// deletion policy.
async fn sync_imap_folder(
    shared: &Shared,
    account: i64,
    incoming: &Incoming,
    imap: &mut Imap,
    folder: &str,
) -> Result<()> {
    let store = &shared.store;
    let sel = imap.select(folder).await?;
    let at = RemoteId {
        account,
        folder: folder.to_owned(),
        uidvalidity: sel.uidvalidity,
    };
    let last = match store
        .imap_folder(account, folder)
        .await
        .map_err(store_err)?
    {
        Some((v, u)) if v == sel.uidvalidity => u,
        _ => {
            store
                .set_imap_folder(account, folder, sel.uidvalidity, 0)
                .await
                .map_err(store_err)?;
            0
        }
    };
    let pending = imap.pending(last, sel.exists).await?;
    let total = pending.len() as u64;
    let mut done = 0u64;
    let mut too_large: Vec<u32> = Vec::new();
    for chunk in chunks(&pending, shared.opts.fetch_batch, 8 << 20) {
        shared.set_status(account, true, |s| {
            s.state = SyncState::Syncing;
            s.detail = format!("Fetching {folder}");
            s.progress = Some(Progress { done, total });
        });
        let (wanted, big): (Vec<Pending>, Vec<Pending>) = chunk
            .iter()
            .partition(|p| u64::from(p.size) <= shared.opts.max_message);
        too_large.extend(big.iter().map(|p| p.uid));
        let bodies = imap.bodies(&wanted).await?;
        let flags_of = |uid: u32| wanted.iter().find(|p| p.uid == uid).map_or(0, |p| p.flags);
        let raws: Vec<RawMessage> = bodies
            .iter()
            .map(|(uid, raw)| RawMessage {
                raw: raw.clone(),
                origin: format!("imap:{account}/{folder}/{}/{uid}", sel.uidvalidity),
                mbox_number: None,
                tags: tags_for(folder, flags_of(*uid)),
                progress_bytes: 0,
            })
            .collect();
        let ids = shared.sink.deliver(raws).await.map_err(Error::from)?;
        let copies: Vec<(String, Option<u32>, i64, i64)> = bodies
            .iter()
            .zip(&ids)
            .map(|((uid, _), &id)| (uid.to_string(), Some(*uid), id, flags_of(*uid)))
            .collect();
        store
            .record_remote(&at, &copies, now())
            .await
            .map_err(store_err)?;
        let high = chunk.iter().map(|p| p.uid).max().unwrap_or(last);
        store
            .set_imap_folder(account, folder, sel.uidvalidity, high)
            .await
            .map_err(store_err)?;
        if !copies.is_empty() {
            shared.bump();
        }
        if incoming.policy == DeletePolicy::DeleteWhenStored {
            // Only now that the store has committed them.
            let uids: Vec<u32> = bodies.iter().map(|(u, _)| *u).collect();
            imap.delete(&uids).await?;
            let keys: Vec<String> = uids.iter().map(u32::to_string).collect();
            store.forget_remote(&at, &keys).await.map_err(store_err)?;
        }
        done += chunk.len() as u64;
    }
    merge_flags(shared, incoming, imap, &at, sel.exists + total as u32).await?;
    if !too_large.is_empty() {
        tracing::warn!(
            account,
            folder,
            count = too_large.len(),
            "messages over the size limit left on the server"
        );
        return Err(Error::TooLarge(shared.opts.max_message));
    }
    Ok(())
}

/// Two-way merge of read/flagged against the state last agreed, bit by bit: the
/// side that changed a flag wins. (A flag has two values, so when both sides
/// changed it they agree.)
pub(crate) fn merge(base: i64, local: i64, remote: i64) -> i64 {
    let mut out = 0;
    for bit in [FLAG_READ, FLAG_FLAGGED] {
        let (b, l, r) = (base & bit, local & bit, remote & bit);
        out |= if r != b { r } else { l };
    }
    out
}

async fn merge_flags(
    shared: &Shared,
    incoming: &Incoming,
    imap: &mut Imap,
    at: &RemoteId,
    exists: u32,
) -> Result<()> {
    let store = &shared.store;
    let remote = imap.all_flags(exists).await?;
    let copies = store.remote_copies(at).await.map_err(store_err)?;
    let mut gone = Vec::new();
    let mut local_changes = Vec::new();
    let mut agreed = Vec::new();
    // (bit, add) -> uids
    let mut pushes: std::collections::BTreeMap<(i64, bool), Vec<u32>> = Default::default();
    let mut expired = Vec::new();
    let cutoff = match incoming.policy {
        DeletePolicy::DeleteAfter { days } => Some(now() - i64::from(days) * 86_400),
        _ => None,
    };
    for c in &copies {
        let Some(uid) = c.uid else { continue };
        let Some(&r) = remote.get(&uid) else {
            gone.push(c.key.clone());
            continue;
        };
        let merged = merge(c.synced, c.local, r);
        if merged != c.local {
            local_changes.push(crate::FlagChange {
                message: c.message,
                add: merged & !c.local,
                remove: c.local & !merged,
            });
        }
        for bit in [FLAG_READ, FLAG_FLAGGED] {
            if merged & bit != r & bit {
                pushes
                    .entry((bit, merged & bit != 0))
                    .or_default()
                    .push(uid);
            }
        }
        if merged != c.synced {
            agreed.push((c.key.clone(), merged));
        }
        if cutoff.is_some_and(|t| c.fetched_at <= t) {
            expired.push(uid);
        }
    }
    for ((bit, add), uids) in &pushes {
        imap.store_flags(uids, *bit, *add).await?;
    }
    if !local_changes.is_empty() {
        shared
            .sink
            .apply_flags(local_changes)
            .await
            .map_err(Error::from)?;
        shared.bump();
    }
    store
        .set_remote_flags(at, &agreed)
        .await
        .map_err(store_err)?;
    store.forget_remote(at, &gone).await.map_err(store_err)?;
    if !expired.is_empty() {
        imap.delete(&expired).await?;
        let keys: Vec<String> = expired.iter().map(u32::to_string).collect();
        store.forget_remote(at, &keys).await.map_err(store_err)?;
    }
    Ok(())
}

/// Uploads copies of sent mail to the Sent folder.
async fn append_sent(shared: &Shared, account: i64, imap: &mut Imap) -> Result<()> {
    let store = &shared.store;
    for (id, folder, message) in store
        .pending_sent_appends(account)
        .await
        .map_err(store_err)?
    {
        let Some(raw) = store.raw(message).await.map_err(store_err)? else {
            store.mark_appended(id).await.map_err(store_err)?;
            continue;
        };
        imap.append(&folder, &raw).await?;
        store.mark_appended(id).await.map_err(store_err)?;
    }
    Ok(())
}

/// Splits pending messages into fetches of at most `count` messages and about
/// `bytes` bytes (a single larger message gets a fetch of its own).
fn chunks(pending: &[Pending], count: usize, bytes: u64) -> Vec<&[Pending]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 0u64;
    for (i, p) in pending.iter().enumerate() {
        let n = i - start;
        if n > 0 && (n >= count.max(1) || size + u64::from(p.size) > bytes) {
            out.push(&pending[start..i]);
            start = i;
            size = 0;
        }
        size += u64::from(p.size);
    }
    if start < pending.len() {
        out.push(&pending[start..]);
    }
    out
}

/// One POP3 pass: fetch what is new by UIDL, delete by policy, QUIT.
async fn pop3_pass(
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
    for (i, chunk) in new.chunks(shared.opts.fetch_batch.max(1)).enumerate() {
        shared.set_status(acc.id, true, |s| {
            s.state = SyncState::Syncing;
            s.detail = "Fetching new mail".into();
            s.progress = Some(Progress {
                done: (i * shared.opts.fetch_batch) as u64,
                total,
            });
        });
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
            });
            fetched.push(key.clone());
        }
        let ids = shared.sink.deliver(raws).await.map_err(Error::from)?;
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

/// The sender: works through due outbox messages, then sleeps until the next one
/// is due or the outbox changes.
pub(crate) async fn run_outbox(shared: Arc<Shared>) {
    store_sent_copies(&shared).await;
    loop {
        loop {
            match shared.store.claim_outgoing(now()).await {
                Ok(Some(job)) => send_one(&shared, job).await,
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the outbox");
                    break;
                }
            }
        }
        let sleep = match shared.store.next_outgoing_due().await {
            Ok(Some(due)) => Duration::from_secs((due - now()).clamp(1, 60) as u64),
            _ => Duration::from_secs(60),
        };
        wait(&shared.outbox_wake, sleep).await;
    }
}

/// Stores the sent copies a crash left unstored.
async fn store_sent_copies(shared: &Shared) {
    let pending = match shared.store.sent_without_copy().await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the outbox");
            return;
        }
    };
    for (id, raw) in pending {
        store_copy(shared, id, raw).await;
    }
}

async fn store_copy(shared: &Shared, id: i64, raw: Vec<u8>) {
    let copy = RawMessage {
        raw,
        origin: format!("outbox:{id}"),
        mbox_number: None,
        tags: vec!["sent".into(), "read".into()],
        progress_bytes: 0,
    };
    match shared.sink.deliver(vec![copy]).await {
        Ok(ids) => {
            if let Some(&message) = ids.first()
                && let Err(e) = shared.store.set_sent_copy(id, message).await
            {
                tracing::error!(error = %e, "cannot link the sent copy");
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot store the sent copy; will try at the next start")
        }
    }
}

async fn send_one(shared: &Shared, job: OutboxJob) {
    let store = &shared.store;
    let account = match store.account(job.account).await {
        Ok(Some(a)) => a,
        _ => {
            let _ = store
                .mark_failed(job.id, "the sending account no longer exists")
                .await;
            shared.bump();
            return;
        }
    };
    let Some(outgoing) = account.config.outgoing.clone() else {
        let _ = store
            .mark_failed(job.id, "the account has no outgoing (SMTP) server")
            .await;
        shared.bump();
        return;
    };
    if now() >= job.expires_at {
        let _ = store
            .mark_failed(job.id, "not sent before its lifetime ran out")
            .await;
        shared.bump();
        return;
    }
    let password = match store.account_secrets(job.account).await {
        Ok(Some(s)) => s.outgoing.clone().map(Zeroizing::new),
        _ => None,
    };
    shared.set_status(job.account, false, |s| {
        s.state = SyncState::Syncing;
        s.detail = "Sending".into();
    });
    let result = smtp::send(
        &outgoing.endpoint,
        password.as_deref().map(String::as_str),
        &job.mail_from,
        &job.rcpt_to,
        &job.raw,
        shared.opts.send_timeout,
    )
    .await;
    drop(password);
    match result {
        Ok(()) => {
            // Recorded first: from here on the message must never be sent again.
            if let Err(e) = store.mark_sent(job.id, now()).await {
                tracing::error!(id = job.id, error = %e, "the server accepted a message but the outbox could not record it");
            }
            shared.set_status(job.account, false, |s| {
                s.state = SyncState::Idle;
                s.detail = "Sent".into();
                s.error = None;
                s.last_success = Some(now());
            });
            shared.bump();
            store_copy(shared, job.id, job.raw).await;
            shared.wake_account(job.account);
        }
        Err(SendError::Permanent(reason)) => {
            let _ = store.mark_failed(job.id, &reason).await;
            shared.set_status(job.account, false, |s| {
                s.state = SyncState::Idle;
                s.detail = "A message was refused".into();
            });
            shared.bump();
        }
        Err(other) => {
            let reason = other.reason();
            let attempts = u32::try_from(job.attempts + 1).unwrap_or(u32::MAX);
            let delay = backoff(shared.opts.retry_base, shared.opts.retry_max, attempts);
            let next = now() + delay.as_secs().max(1) as i64;
            if next >= job.expires_at {
                let _ = store
                    .mark_failed(
                        job.id,
                        &format!("gave up after {attempts} attempts: {reason}"),
                    )
                    .await;
            } else {
                let _ = store.mark_deferred(job.id, &reason, next).await;
            }
            shared.set_status(job.account, false, |s| {
                s.state = SyncState::Error;
                s.detail = reason.clone();
                s.next_attempt = Some(next);
                s.error = Some(match &other {
                    SendError::Untrusted(e) => e.report(),
                    _ => Error::Protocol(reason.clone()).report(),
                });
            });
            shared.bump();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_takes_the_side_that_changed() {
        let r = FLAG_READ;
        let f = FLAG_FLAGGED;
        assert_eq!(merge(0, r, 0), r, "read here: pushed");
        assert_eq!(merge(0, 0, r), r, "read there: pulled");
        assert_eq!(merge(r, 0, r), 0, "unread here");
        assert_eq!(merge(r, r, 0), 0, "unread there");
        assert_eq!(merge(0, r, f), r | f, "each side changed another flag");
        assert_eq!(merge(r, 0, 0), 0, "both unread");
        assert_eq!(merge(r | f, f, r), 0, "each side cleared a different flag");
        assert_eq!(merge(0, r | f, r | f), r | f, "both made the same change");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_secs(60);
        let max = Duration::from_secs(3600);
        let first = backoff(base, max, 1);
        assert!(first >= Duration::from_secs(48) && first < Duration::from_secs(72));
        let tenth = backoff(base, max, 10);
        assert!(tenth >= Duration::from_secs(2880) && tenth < Duration::from_secs(4320));
        assert!(backoff(base, max, 1000) < Duration::from_secs(4320));
    }

    #[test]
    fn chunks_respect_count_and_bytes() {
        let p = |uid, size| Pending {
            uid,
            size,
            flags: 0,
        };
        let pending = [p(1, 10), p(2, 10), p(3, 10), p(4, 100), p(5, 10)];
        let c = chunks(&pending, 2, 50);
        let uids: Vec<Vec<u32>> = c
            .iter()
            .map(|c| c.iter().map(|p| p.uid).collect())
            .collect();
        assert_eq!(uids, vec![vec![1, 2], vec![3], vec![4], vec![5]]);
    }

    #[test]
    fn folder_tags() {
        assert_eq!(tags_for("INBOX", FLAG_READ), ["inbox", "read"]);
        assert_eq!(
            tags_for("Lists/Rust", FLAG_FLAGGED),
            ["lists-rust", "flagged"]
        );
    }
}
