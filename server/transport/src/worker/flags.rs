//! Read/flagged in step with an IMAP server: a two-way merge against the state
//! both sides last agreed on.

use homepost_store::{DeletePolicy, FLAG_FLAGGED, FLAG_READ, Incoming, RemoteId};

use super::{now, store_err};
use crate::error::{Error, Result};
use crate::imap::Imap;
use crate::{FlagSync, MergeReport, Shared};

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

/// Merges read/flagged with the selected folder (of `exists` messages, at
/// HIGHESTMODSEQ `highest` when the server keeps mod-sequences), forgets the
/// copies expunged there and deletes those the account's policy says are due.
/// With CONDSTORE/QRESYNC and a mod-sequence from the last merge, only what
/// changed since is read, on either side.
pub(super) async fn merge_flags(
    shared: &Shared,
    incoming: &Incoming,
    imap: &mut Imap,
    at: &RemoteId,
    exists: u32,
    highest: Option<u64>,
) -> Result<MergeReport> {
    let store = &shared.store;
    let base = store
        .imap_modseq(at.account, &at.folder)
        .await
        .map_err(store_err)?;
    let method = match (base, highest) {
        // A server whose mod-sequences went back (restored from a backup)
        // gets a full pass.
        (Some(b), Some(h)) if b <= h && imap.has_condstore() => {
            let offered = if imap.has_qresync() {
                FlagSync::Qresync
            } else {
                FlagSync::Condstore
            };
            offered.min(shared.opts.flag_sync)
        }
        _ => FlagSync::Full,
    };
    let cutoff = match incoming.policy {
        DeletePolicy::DeleteAfter { days } => Some(now() - i64::from(days) * 86_400),
        _ => None,
    };
    // What changed on the server since the last merge; `None`: read everything.
    let mut changes = None;
    if let (FlagSync::Condstore | FlagSync::Qresync, Some(base)) = (method, base) {
        match imap.changes_since(base, exists).await {
            Ok(c) => changes = Some(c),
            // A server that refuses CHANGEDSINCE gets a full pass.
            Err(Error::Protocol(why)) => tracing::warn!(
                account = at.account,
                why,
                "the server refused a CONDSTORE fetch: reading every message's flags"
            ),
            Err(e) => return Err(e),
        }
    }
    let mut report = MergeReport {
        method: if changes.is_some() {
            method
        } else {
            FlagSync::Full
        },
        flags_read: 0,
        expunged: 0,
    };
    // The copies to merge, the server's flags for each, and the copies gone.
    let (copies, remote, gone, expired_copies) = match changes {
        None => {
            let remote = imap.all_flags(exists).await?;
            let copies = store.remote_copies(at).await.map_err(store_err)?;
            let gone: Vec<String> = copies
                .iter()
                .filter(|c| c.uid.is_some_and(|u| !remote.contains_key(&u)))
                .map(|c| c.key.clone())
                .collect();
            let expired = cutoff.map_or_else(Vec::new, |t| {
                copies
                    .iter()
                    .filter(|c| c.fetched_at <= t)
                    .cloned()
                    .collect()
            });
            report.flags_read = remote.len() as u64;
            (copies, remote, gone, expired)
        }
        Some(changes) => {
            report.flags_read = changes.flags.len() as u64;
            let changed_uids: Vec<u32> = changes.flags.keys().copied().collect();
            let mut copies = store.remote_copies_changed(at).await.map_err(store_err)?;
            copies.extend(
                store
                    .remote_copies_by_uid(at, &changed_uids)
                    .await
                    .map_err(store_err)?,
            );
            copies.sort_by(|a, b| a.key.cmp(&b.key));
            copies.dedup_by(|a, b| a.key == b.key);
            // A copy the server reports no change for still has the flags
            // last agreed (see docs/architecture.md, "Flags with the servers").
            let mut remote = changes.flags;
            for c in &copies {
                if let Some(uid) = c.uid {
                    remote.entry(uid).or_insert(c.synced);
                }
            }
            let gone = match changes.vanished {
                Some(ranges) => {
                    report.expunged = store
                        .forget_remote_uids(at, &ranges)
                        .await
                        .map_err(store_err)?;
                    copies.retain(|c| {
                        c.uid.is_none_or(|u| {
                            !ranges
                                .iter()
                                .any(|&(a, b)| (a.min(b)..=a.max(b)).contains(&u))
                        })
                    });
                    Vec::new()
                }
                None => {
                    let listed = imap.uids(exists).await?;
                    store
                        .remote_copies(at)
                        .await
                        .map_err(store_err)?
                        .into_iter()
                        .filter(|c| c.uid.is_some_and(|u| !listed.contains(&u)))
                        .map(|c| c.key)
                        .collect()
                }
            };
            let expired = match cutoff {
                Some(t) => store
                    .remote_copies_fetched_by(at, t)
                    .await
                    .map_err(store_err)?,
                None => Vec::new(),
            };
            (copies, remote, gone, expired)
        }
    };
    let mut local_changes = Vec::new();
    let mut agreed = Vec::new();
    // (bit, add) -> uids
    let mut pushes: std::collections::BTreeMap<(i64, bool), Vec<u32>> = Default::default();
    for c in &copies {
        let Some(uid) = c.uid else { continue };
        let Some(&r) = remote.get(&uid) else {
            continue; // gone: forgotten below
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
    report.expunged += gone.len() as u64;
    store.forget_remote(at, &gone).await.map_err(store_err)?;
    let expired: Vec<u32> = expired_copies
        .iter()
        .filter(|c| !gone.contains(&c.key))
        .filter_map(|c| c.uid)
        .collect();
    if !expired.is_empty() {
        imap.delete(&expired).await?;
        let keys: Vec<String> = expired.iter().map(u32::to_string).collect();
        store.forget_remote(at, &keys).await.map_err(store_err)?;
    }
    // Everything up to `highest` is merged: the next pass reads what changed
    // after it (or everything, when the server keeps no mod-sequences).
    let keep = highest.filter(|_| shared.opts.flag_sync != FlagSync::Full && imap.has_condstore());
    store
        .set_imap_modseq(at.account, &at.folder, at.uidvalidity, keep)
        .await
        .map_err(store_err)?;
    Ok(report)
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
}
