//! Read/flagged in step with an IMAP server: a two-way merge against the state
//! both sides last agreed on.

use homepost_store::{DeletePolicy, FLAG_FLAGGED, FLAG_READ, Incoming, RemoteId};

use super::{now, store_err};
use crate::Shared;
use crate::error::{Error, Result};
use crate::imap::Imap;

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

pub(super) async fn merge_flags(
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
