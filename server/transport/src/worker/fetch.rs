//! Fetching mail from IMAP folders: new messages by UID in pipelined chunks,
//! then IDLE, with the account's deletion policy (POP3 is in `pop3`).

use std::time::Duration;

use homepost_mail::RawMessage;
use homepost_store::{Account, DeletePolicy, FLAG_READ, FirstScope, Incoming, RemoteId, Security};
use tokio::sync::Notify;

use super::flags::merge_flags;
use super::send::append_sent;
use super::{now, store_err, wait};
use crate::error::{Error, Result};
use crate::imap::{Imap, Pending, Woken};
use crate::{FlagSync, Prepared, Progress, Shared, Sink, SyncState};

/// About the most bytes of mail one fetch (and one store transaction) holds,
/// whatever the count of messages: memory stays bounded with large messages.
pub(super) const CHUNK_BYTES: u64 = 8 << 20;

/// Tags a fetched message starts with: where it was, and its flags.
pub(super) fn tags_for(folder: &str, flags: i64) -> Vec<String> {
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

pub(super) fn check_security(incoming: &Incoming) -> Result<()> {
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
pub(super) async fn imap_session(
    shared: &Shared,
    acc: &Account,
    incoming: &Incoming,
    password: &str,
    wake: &Notify,
) -> Result<()> {
    check_security(incoming)?;
    let mut imap = Imap::connect(&incoming.endpoint, password, shared.opts.timeouts()).await?;
    if shared.opts.flag_sync == FlagSync::Qresync {
        imap.enable_qresync().await?;
    }
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
#[tracing::instrument(name = "fetch_pass", skip_all, fields(account, protocol = "imap"))]
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
    let known = store
        .imap_folder(account, folder)
        .await
        .map_err(store_err)?;
    // Never fetched before: the account's choice for the mail already there.
    let first = known.is_none();
    let last = match known {
        Some((v, u)) if v == sel.uidvalidity => u,
        _ => {
            store
                .set_imap_folder(account, folder, sel.uidvalidity, 0)
                .await
                .map_err(store_err)?;
            0
        }
    };
    let mut pending = imap.pending(last, sel.exists).await?;
    // The newest message in the folder now, fetched or not.
    let newest = pending.iter().map(|p| p.uid).max().unwrap_or(last);
    if first {
        pending = first_pass(incoming, imap, &sel, pending).await?;
        // What the first pass leaves out is recorded as seen at once, up to just
        // below each message it keeps, so that neither an empty choice nor a
        // failure halfway lets a later pass fetch it after all.
        let mark = pending.first().map_or(newest, |p| p.uid.saturating_sub(1));
        store
            .set_imap_folder(account, folder, sel.uidvalidity, mark.max(last))
            .await
            .map_err(store_err)?;
    }
    let mark_read = first && incoming.first_sync.mark_read;
    let total = pending.len() as u64;
    let mut done = 0u64;
    let mut too_large: Vec<u32> = Vec::new();
    // Each chunk: what is fetched, and what stays on the server as too large.
    let parts: Vec<(Vec<Pending>, Vec<Pending>)> =
        chunks(&pending, shared.opts.fetch_batch, CHUNK_BYTES, |p| {
            u64::from(p.size)
        })
        .into_iter()
        .map(|chunk| {
            chunk
                .iter()
                .partition(|p| u64::from(p.size) <= shared.opts.max_message)
        })
        .collect();
    let source = ChunkSource {
        account,
        folder,
        uidvalidity: sel.uidvalidity,
        mark_read,
    };
    // Three chunks at a time: one recorded (stored, its remote copies and the
    // folder's mark noted, the index committed when due) while the next is
    // prepared (parsed, classified) and the bodies of the one after are
    // fetched, so at most three chunks of mail (CHUNK_BYTES each) are held.
    // With DeleteWhenStored the connection deletes each chunk once stored:
    // nothing is fetched across that.
    let pipelined = incoming.policy != DeletePolicy::DeleteWhenStored;
    let sink = &*shared.sink;
    let mut next_prepared: Option<Result<(Vec<u32>, Prepared)>> = None;
    let mut next_bodies: Option<Result<Bodies>> = None;
    let mut flushing = Flushing::now();
    let fetched: Result<()> = async {
        for (i, (wanted, big)) in parts.iter().enumerate() {
            shared.set_status(account, true, |s| {
                s.state = SyncState::Syncing;
                s.detail = format!("Fetching {folder}");
                s.progress = Some(Progress { done, total });
            });
            too_large.extend(big.iter().map(|p| p.uid));
            // A failure ahead ends the pass only now that the chunks before it
            // are recorded.
            let (uids, prepared) = match next_prepared.take() {
                Some(chunk) => chunk?,
                None => {
                    let bodies = fetch_bodies(imap, &source, wanted).await?;
                    match parts.get(i + 1).filter(|_| pipelined) {
                        Some((next, _)) => {
                            let (prepared, bodies) = tokio::join!(
                                prepare(sink, bodies),
                                fetch_bodies(imap, &source, next)
                            );
                            next_bodies = Some(bodies);
                            prepared?
                        }
                        None => prepare(sink, bodies).await?,
                    }
                }
            };
            let chunk_len = (wanted.len() + big.len()) as u64;
            let high = if first {
                // Up to just below the next message kept (see above), or everything.
                let next = usize::try_from(done + chunk_len).unwrap_or(usize::MAX);
                pending
                    .get(next)
                    .map_or(newest, |p| p.uid.saturating_sub(1))
            } else {
                wanted
                    .iter()
                    .chain(big)
                    .map(|p| p.uid)
                    .max()
                    .unwrap_or(last)
            };
            let to_prepare = next_bodies.take();
            // Nothing more over a connection that just failed.
            let after = parts
                .get(i + 2)
                .filter(|_| matches!(to_prepare, Some(Ok(_))));
            let start = std::time::Instant::now();
            // The chunk is recorded whole (stored, its remote copies and the
            // folder's mark, the index committed when due) while the next
            // chunks are prepared and fetched.
            let record = async {
                let ids = sink.deliver_prepared(prepared).await.map_err(Error::from)?;
                flushing.unflushed |= !ids.is_empty();
                let flags_of =
                    |uid: u32| wanted.iter().find(|p| p.uid == uid).map_or(0, |p| p.flags);
                let copies: Vec<(String, Option<u32>, i64, i64)> = uids
                    .iter()
                    .zip(&ids)
                    .map(|(&uid, &id)| (uid.to_string(), Some(uid), id, flags_of(uid)))
                    .collect();
                store
                    .record_remote(&at, &copies, now())
                    .await
                    .map_err(store_err)?;
                store
                    .set_imap_folder(account, folder, sel.uidvalidity, high)
                    .await
                    .map_err(store_err)?;
                // Searchable every few seconds during a long fetch, and at its
                // end. A failed commit is told after the chunk's deletion below:
                // the chunk is stored, and its mark already past it.
                let mut flushed = Ok(());
                if flushing.unflushed && flushing.at.elapsed() >= shared.opts.index_every {
                    let took;
                    (flushed, took) = timed(sink.flush()).await;
                    tracing::debug!(folder, took_ms = took.as_millis() as u64, "index committed");
                    if flushed.is_ok() {
                        shared.bump();
                        flushing = Flushing::now();
                    }
                }
                Ok::<_, Error>(flushed.map_err(Error::from))
            };
            let ((recorded, record_took), (prepared, prepare_took), (bodies, fetch_took)) = tokio::join!(
                timed(record),
                timed(async {
                    match to_prepare? {
                        Ok(bodies) => Some(prepare(sink, bodies).await),
                        Err(e) => Some(Err(e)),
                    }
                }),
                timed(async {
                    let (after, _) = after?;
                    Some(fetch_bodies(imap, &source, after).await)
                }),
            );
            tracing::debug!(
                folder,
                recorded_ms = record_took.as_millis() as u64,
                next_prepared_ms = prepare_took.as_millis() as u64,
                after_fetched_ms = fetch_took.as_millis() as u64,
                all_ms = start.elapsed().as_millis() as u64,
                "chunk recorded while the next was prepared and the one after fetched"
            );
            (next_prepared, next_bodies) = (prepared, bodies);
            let flushed = recorded?;
            if incoming.policy == DeletePolicy::DeleteWhenStored {
                // Only now that the store has committed them.
                imap.delete(&uids).await?;
                let keys: Vec<String> = uids.iter().map(u32::to_string).collect();
                store.forget_remote(&at, &keys).await.map_err(store_err)?;
            }
            flushed?;
            done += chunk_len;
        }
        Ok(())
    }
    .await;
    // Whatever ended the fetch, what was stored becomes searchable and the app
    // hears of it.
    if flushing.unflushed {
        let flushed = shared.sink.flush().await.map_err(Error::from);
        shared.bump();
        fetched.and(flushed)?;
    } else {
        fetched?;
    }
    let report = merge_flags(
        shared,
        incoming,
        imap,
        &at,
        sel.exists + total as u32,
        sel.highest_modseq,
    )
    .await?;
    shared.set_status(account, true, |s| s.last_merge = Some(report));
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

/// What the first pass over a folder fetches of what is already there, as the
/// account's [`homepost_store::FirstSync`] says (the caller records what it
/// leaves out as seen).
async fn first_pass(
    incoming: &Incoming,
    imap: &mut Imap,
    sel: &crate::imap::Selected,
    mut pending: Vec<Pending>,
) -> Result<Vec<Pending>> {
    match incoming.first_sync.scope {
        FirstScope::All => {}
        FirstScope::Recent => {
            let since = now() - i64::from(incoming.first_sync.days) * 86_400;
            let recent = imap.uids_since(since, sel.exists).await?;
            pending.retain(|p| recent.contains(&p.uid));
        }
        FirstScope::None => pending.clear(),
    }
    Ok(pending)
}

/// Splits messages to fetch into fetches of at most `count` messages and about
/// `bytes` bytes by `size_of` (a single larger message gets a fetch of its own).
pub(super) fn chunks<T>(
    pending: &[T],
    count: usize,
    bytes: u64,
    size_of: impl Fn(&T) -> u64,
) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 0u64;
    for (i, p) in pending.iter().enumerate() {
        let n = i - start;
        if n > 0 && (n >= count.max(1) || size.saturating_add(size_of(p)) > bytes) {
            out.push(&pending[start..i]);
            start = i;
            size = 0;
        }
        size = size.saturating_add(size_of(p));
    }
    if start < pending.len() {
        out.push(&pending[start..]);
    }
    out
}

/// Where a fetched chunk's messages come from, for their origin and tags.
struct ChunkSource<'a> {
    account: i64,
    folder: &'a str,
    uidvalidity: u32,
    /// The first pass of an account set to mark what is already there read.
    mark_read: bool,
}

/// A fetched chunk: its messages' UIDs, and the messages.
type Bodies = (Vec<u32>, Vec<RawMessage>);

/// Fetches the bodies of `wanted`, as messages from `source`.
async fn fetch_bodies(
    imap: &mut Imap,
    source: &ChunkSource<'_>,
    wanted: &[Pending],
) -> Result<Bodies> {
    let bodies = imap.bodies(wanted).await?;
    let flags_of = |uid: u32| wanted.iter().find(|p| p.uid == uid).map_or(0, |p| p.flags);
    let read = if source.mark_read { FLAG_READ } else { 0 };
    Ok(bodies
        .into_iter()
        .map(|(uid, raw)| {
            let raw = RawMessage {
                raw,
                origin: format!(
                    "imap:{}/{}/{}/{uid}",
                    source.account, source.folder, source.uidvalidity
                ),
                mbox_number: None,
                tags: tags_for(source.folder, flags_of(uid) | read),
                progress_bytes: 0,
                file_time: None,
            };
            (uid, raw)
        })
        .unzip())
}

/// Has `sink` prepare a fetched chunk ([`Sink::prepare`]); the UIDs stay in
/// the prepared batch's order.
async fn prepare(sink: &dyn Sink, (uids, raws): Bodies) -> Result<(Vec<u32>, Prepared)> {
    let prepared = sink.prepare(raws).await.map_err(Error::from)?;
    Ok((uids, prepared))
}

/// Whether a fetch stored mail that the index has not committed, and since
/// when the index has been committed.
struct Flushing {
    unflushed: bool,
    at: std::time::Instant,
}

impl Flushing {
    fn now() -> Flushing {
        Flushing {
            unflushed: false,
            at: std::time::Instant::now(),
        }
    }
}

/// `f`'s output and how long it took.
async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, std::time::Duration) {
    let start = std::time::Instant::now();
    let out = f.await;
    (out, start.elapsed())
}

#[cfg(test)]
mod tests {
    use homepost_store::{FLAG_FLAGGED, FLAG_READ};

    use super::*;

    #[test]
    fn chunks_respect_count_and_bytes() {
        let p = |uid, size| Pending {
            uid,
            size,
            flags: 0,
        };
        let pending = [p(1, 10), p(2, 10), p(3, 10), p(4, 100), p(5, 10)];
        let c = chunks(&pending, 2, 50, |p| u64::from(p.size));
        let uids: Vec<Vec<u32>> = c
            .iter()
            .map(|c| c.iter().map(|p| p.uid).collect())
            .collect();
        assert_eq!(uids, vec![vec![1, 2], vec![3], vec![4], vec![5]]);
        // POP3's messages by their LIST sizes: a few large ones are not held
        // together whatever the count allows.
        let sizes = [
            (1u32, 30u64 << 20),
            (2, 30 << 20),
            (3, 1 << 10),
            (4, 1 << 10),
        ];
        let c = chunks(&sizes, 500, CHUNK_BYTES, |(_, size)| *size);
        let lens: Vec<usize> = c.iter().map(|c| c.len()).collect();
        assert_eq!(lens, vec![1, 1, 2]);
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
