//! Fetching a stored message again from the account it came from, for
//! `homepost repair`: its bytes on this box are damaged, the server may still
//! have them.

use homepost_store::{MessageDigest, Protocol, Security, Store};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::imap::Imap;
use crate::pop3::Pop3;
use crate::{Error, Result, Timeouts};

/// What [`refetch`] found.
#[derive(Debug, Default)]
pub struct Refetched {
    /// The message's bytes, which hash to its stored SHA-256.
    pub raw: Option<Vec<u8>>,
    /// What was tried, in words (for the quarantine's record when nothing
    /// was found).
    pub tried: Vec<String>,
}

/// Fetches message `id` again from each account it was fetched from, until one
/// gives bytes that hash to `digest`: IMAP by UID while the folder's
/// UIDVALIDITY is unchanged, then by Message-ID; POP3 by UIDL. A server that
/// fails or no longer has it is noted in `tried` and the next is asked.
pub async fn refetch(
    store: &Store,
    id: i64,
    digest: &MessageDigest,
    timeouts: Timeouts,
) -> Result<Refetched> {
    let mut out = Refetched::default();
    let copies = store
        .remote_copies_of(id)
        .await
        .map_err(|e| Error::Store(e.to_string()))?;
    if copies.is_empty() {
        out.tried.push("it was not fetched from an account".into());
    }
    for (at, key, uid) in copies {
        let place = if at.folder.is_empty() {
            format!("account {}", at.account)
        } else {
            format!("account {} folder {}", at.account, at.folder)
        };
        let found = async {
            let acc = store
                .account(at.account)
                .await
                .map_err(|e| Error::Store(e.to_string()))?
                .ok_or_else(|| Error::Config("the account was removed".into()))?;
            let incoming = acc
                .config
                .incoming
                .ok_or_else(|| Error::Config("the account fetches no mail".into()))?;
            if incoming.endpoint.security == Security::Plain
                && !crate::tls::is_loopback(&incoming.endpoint.host)
            {
                return Err(Error::Config("its server is not reached over TLS".into()));
            }
            let password = Zeroizing::new(
                store
                    .account_secrets(at.account)
                    .await
                    .map_err(|e| Error::Store(e.to_string()))?
                    .and_then(|s| s.incoming.clone())
                    .unwrap_or_default(),
            );
            match incoming.protocol {
                Protocol::Imap => {
                    let mut imap = Imap::connect(&incoming.endpoint, &password, timeouts).await?;
                    let found = from_imap(&mut imap, &at.folder, at.uidvalidity, uid, digest).await;
                    imap.logout().await;
                    found
                }
                Protocol::Pop3 => {
                    let mut pop = Pop3::connect(&incoming.endpoint, &password, timeouts).await?;
                    let found = from_pop3(&mut pop, &key, digest).await;
                    let _ = pop.quit().await;
                    found
                }
            }
        }
        .await;
        match found {
            Ok(Some(raw)) => {
                out.raw = Some(raw);
                return Ok(out);
            }
            Ok(None) => out
                .tried
                .push(format!("{place}: the server no longer has it")),
            Err(e) => out.tried.push(format!("{place}: {e}")),
        }
    }
    Ok(out)
}

fn matches(raw: &[u8], digest: &MessageDigest) -> bool {
    Sha256::digest(raw).as_slice() == digest.sha256.as_slice()
}

async fn from_imap(
    imap: &mut Imap,
    folder: &str,
    uidvalidity: u32,
    uid: Option<u32>,
    digest: &MessageDigest,
) -> Result<Option<Vec<u8>>> {
    let sel = imap.select(folder).await?;
    let size = u32::try_from(digest.size).unwrap_or(u32::MAX);
    if sel.uidvalidity == uidvalidity
        && let Some(uid) = uid
        && let Some(raw) = imap.fetch_one(uid, size).await?
        && matches(&raw, digest)
    {
        return Ok(Some(raw));
    }
    let Some(message_id) = &digest.message_id else {
        return Ok(None);
    };
    for uid in imap.uids_with_message_id(message_id).await? {
        if let Some(raw) = imap.fetch_one(uid, size).await?
            && matches(&raw, digest)
        {
            return Ok(Some(raw));
        }
    }
    Ok(None)
}

async fn from_pop3(pop: &mut Pop3, key: &str, digest: &MessageDigest) -> Result<Option<Vec<u8>>> {
    let Some((number, _)) = pop.uidl().await?.into_iter().find(|(_, k)| k == key) else {
        return Ok(None);
    };
    let raw = pop.retr(number, digest.size).await?;
    Ok(matches(&raw, digest).then_some(raw))
}
