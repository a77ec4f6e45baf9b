//! Retention and pruning: which snapshots to keep, and removing from the
//! server what none of them needs any more (so deleted mail leaves the backup
//! once the snapshots that held it have expired).

use std::collections::{BTreeMap, HashMap, HashSet};

use homepost_store::Store;

use crate::catalog::{Catalog, of_kind, parse_id, read_index, snapshots};
use crate::crypto::{Id, Keys, Kind};
use crate::format::{Index, ItemKind, Label, PackWriter, Slot, slice};
use crate::keys::new_name;
use crate::remote::{Item, Listing, Remote};
use crate::{Error, Result};

/// How many snapshots to keep: the newest of each of the last `daily` days,
/// `weekly` weeks and `monthly` months (the newest snapshot always).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Retention {
    /// Days.
    pub daily: u32,
    /// Weeks.
    pub weekly: u32,
    /// Months (of 30 days).
    pub monthly: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            daily: 7,
            weekly: 4,
            monthly: 12,
        }
    }
}

impl Retention {
    /// Of snapshots taken at `times` (seconds since 1970, oldest first), the
    /// indexes of those to keep.
    pub fn keep(&self, times: &[i64]) -> HashSet<usize> {
        let mut order: Vec<usize> = (0..times.len()).collect();
        // Newest first: the first seen in a period is the one kept. Two in the
        // same second are in the order they were made.
        order.sort_by_key(|&i| std::cmp::Reverse((times[i], i)));
        let mut keep = HashSet::new();
        if let Some(&newest) = order.first() {
            keep.insert(newest);
        }
        for (period, count) in [
            (86_400, self.daily),
            (7 * 86_400, self.weekly),
            (30 * 86_400, self.monthly),
        ] {
            let mut seen = HashSet::new();
            for &i in &order {
                if seen.len() as u32 >= count {
                    break;
                }
                if seen.insert(times[i].div_euclid(period)) {
                    keep.insert(i);
                }
            }
        }
        keep
    }
}

/// What a prune did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PruneSummary {
    /// Snapshots deleted.
    pub snapshots_deleted: u64,
    /// Snapshots kept.
    pub snapshots_kept: u64,
    /// Snapshots written again without mail deleted for good.
    pub snapshots_rewritten: u64,
    /// Packs deleted whole.
    pub packs_deleted: u64,
    /// Packs rewritten without what is no longer needed.
    pub packs_rewritten: u64,
    /// Bytes of packs removed from the server, less those written again.
    pub bytes_freed: u64,
}

/// A pack is rewritten when at least this share of its bytes is unneeded.
const REWRITE_SHARE: f64 = 0.25;

/// Deletes the snapshots `retention` does not keep, then every pack whose
/// objects no kept snapshot needs, and rewrites packs that are mostly unneeded.
/// Every step leaves a backup that restores: snapshots go first, a complete new
/// index is on the server before any old index or pack is deleted.
///
/// `also_keep` names a snapshot kept whatever the retention says (the run that
/// just made it: a clock set back must not drop it). Run one prune or backup at
/// a time: a run's packs are named by its snapshot only at its end.
pub async fn prune<R: Remote>(
    store: &Store,
    keys: &Keys,
    remote: &mut R,
    retention: &Retention,
    message_limit: usize,
    also_keep: Option<&str>,
) -> Result<PruneSummary> {
    let all = remote.list().await?;
    let owner = keys.owner();
    if let Some(other) = all.items.iter().find(|i| i.label.owner != owner) {
        return Err(Error::Foreign(remote.describe(), other.label.owner.clone()));
    }
    let mut listing = Listing {
        items: all.items,
        strangers: all.strangers,
    };
    let mut summary = PruneSummary::default();
    let mut snaps = snapshots(remote, keys, &listing).await?;
    let times: Vec<i64> = snaps.iter().map(|(_, s)| s.time).collect();
    let mut keep = retention.keep(&times);
    keep.extend(
        snaps
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| Some(name.as_str()) == also_keep)
            .map(|(i, _)| i),
    );
    let snapshot_items = of_kind(&listing, ItemKind::Snapshot);
    let dropped: Vec<Item> = snaps
        .iter()
        .enumerate()
        .filter(|(i, _)| !keep.contains(i))
        .filter_map(|(_, (name, _))| snapshot_items.iter().find(|i| &i.label.name == name))
        .map(|i| (*i).clone())
        .collect();
    remote.delete(&dropped).await?;
    summary.snapshots_deleted = dropped.len() as u64;
    summary.snapshots_kept = keep.len() as u64;

    let mut catalog = read_index(remote, keys, &listing).await?;
    // Mail deleted for good leaves the snapshots kept, then the packs.
    let digests = store.backup_forgotten().await?;
    let forget_ids: HashSet<Id> = crate::forget::ids(keys, &digests).into_keys().collect();
    let forgotten = crate::forget::forget(
        store,
        keys,
        remote,
        &listing,
        &catalog,
        &mut snaps,
        &keep,
        &forget_ids,
        message_limit,
    )
    .await?;
    summary.snapshots_rewritten = forgotten.rewritten;
    if forgotten.rewritten > 0 {
        listing = remote.list().await?;
        catalog = read_index(remote, keys, &listing).await?;
    }
    let live = live_objects(remote, keys, &listing, &catalog, &snaps, &keep).await?;

    // Objects by pack, and which packs go or are rewritten.
    let mut packs: BTreeMap<&str, Vec<(&Id, &Slot)>> = BTreeMap::new();
    for (id, (pack, slot)) in &catalog.objects {
        packs.entry(pack.as_str()).or_default().push((id, slot));
    }
    let pack_items = of_kind(&listing, ItemKind::Pack);
    // Packs no index names: left by a run that stopped before its index (their
    // objects were never recorded as sent, so they were or will be sent again).
    let mut gone: Vec<Item> = pack_items
        .iter()
        .filter(|i| !packs.contains_key(i.label.name.as_str()))
        .map(|i| (*i).clone())
        .collect();
    summary.packs_deleted += gone.len() as u64;
    let mut writer = PackWriter::default();
    let mut new_index = Index::default();
    let mut rewritten_ids: Vec<(String, Vec<Id>)> = Vec::new();
    let limit = crate::run::pack_limit(message_limit);
    for (pack, objects) in &packs {
        // A pack sent twice (its first upload arrived after all) is two items.
        let copies: Vec<Item> = pack_items
            .iter()
            .filter(|i| i.label.name == *pack)
            .map(|i| (*i).clone())
            .collect();
        let Some(item) = copies.first() else {
            continue;
        };
        let total: u64 = objects.iter().map(|(_, s)| u64::from(s.len)).sum();
        let dead: u64 = objects
            .iter()
            .filter(|(id, _)| !live.contains(*id))
            .map(|(_, s)| u64::from(s.len))
            .sum();
        if dead == total {
            gone.extend(copies.iter().cloned());
            summary.packs_deleted += 1;
            summary.bytes_freed += u64::from(item.size);
        } else if total > 0
            && (dead as f64 / total as f64 >= REWRITE_SHARE
                || objects
                    .iter()
                    .any(|(id, _)| forgotten.must_go.contains(*id) && !live.contains(*id)))
        {
            let bytes = remote.get(item).await?;
            for (id, slot) in objects.iter().filter(|(id, _)| live.contains(*id)) {
                let sealed = slice(&bytes, slot, &hex::encode(id))?;
                if !writer.is_empty() && writer.len_with(sealed.len()) > limit {
                    let done = std::mem::take(&mut writer);
                    put_pack(
                        remote,
                        keys,
                        &owner,
                        done,
                        &mut new_index,
                        &mut rewritten_ids,
                    )
                    .await?;
                }
                writer.add(id, sealed);
            }
            gone.extend(copies.iter().cloned());
            summary.packs_rewritten += 1;
            summary.bytes_freed += u64::from(item.size);
        } else {
            let slots = objects
                .iter()
                .map(|(id, s)| (hex::encode(id), **s))
                .collect();
            new_index.packs.insert((*pack).to_owned(), slots);
        }
    }
    if !writer.is_empty() {
        put_pack(
            remote,
            keys,
            &owner,
            writer,
            &mut new_index,
            &mut rewritten_ids,
        )
        .await?;
    }
    if gone.is_empty() && dropped.is_empty() && catalog.items.len() <= 1 {
        store.backup_forget_done(&digests).await?;
        return Ok(summary);
    }
    // Indexes for everything that stays (cut to fit the server's message size),
    // then the old indexes and packs go.
    for (id, names) in &catalog.refs {
        if live.contains(id) {
            new_index
                .refs
                .insert(hex::encode(id), names.iter().map(hex::encode).collect());
        }
    }
    for part in split_index(new_index, limit / 2) {
        let name = new_name()?;
        let id = keys.id(Kind::Index, name.as_bytes());
        let sealed = keys.seal(&id, &serde_json::to_vec(&part).map_err(Error::json)?)?;
        let label = Label {
            kind: ItemKind::Index,
            owner: owner.clone(),
            name,
        };
        remote.put(&label, &sealed).await?;
    }
    for (pack, ids) in &rewritten_ids {
        store.backup_record(pack, ids).await?;
    }
    // Forgotten here before they go: if the deletion stops midway, what this
    // box believes the server holds is never more than it does.
    for item in &gone {
        store.backup_forget(&item.label.name).await?;
    }
    remote.delete(&catalog.items).await?;
    remote.delete(&gone).await?;
    store.backup_forget_done(&digests).await?;
    Ok(summary)
}

/// Cuts an index into parts of about `budget` bytes of JSON at most (a pack's
/// objects stay together; references go with any part).
fn split_index(index: Index, budget: usize) -> Vec<Index> {
    /// Bytes of JSON an entry takes, about.
    const SLOT: usize = 110;
    const REF: usize = 70;
    let mut parts = vec![Index::default()];
    let mut used = 0;
    for (pack, slots) in index.packs {
        let size = slots.len() * SLOT;
        if used > 0 && used + size > budget {
            parts.push(Index::default());
            used = 0;
        }
        used += size;
        if let Some(part) = parts.last_mut() {
            part.packs.insert(pack, slots);
        }
    }
    for (id, names) in index.refs {
        let size = REF * (names.len() + 1);
        if used > 0 && used + size > budget {
            parts.push(Index::default());
            used = 0;
        }
        used += size;
        if let Some(part) = parts.last_mut() {
            part.refs.insert(id, names);
        }
    }
    parts
}

/// Sends a rewritten pack and notes its objects for the new index.
async fn put_pack<R: Remote>(
    remote: &mut R,
    keys: &Keys,
    owner: &str,
    writer: PackWriter,
    index: &mut Index,
    written: &mut Vec<(String, Vec<Id>)>,
) -> Result<()> {
    let name = new_name()?;
    let (bytes, slots) = writer.finish(keys, &name)?;
    let label = Label {
        kind: ItemKind::Pack,
        owner: owner.to_owned(),
        name: name.clone(),
    };
    remote.put(&label, &bytes).await?;
    let ids = slots.keys().filter_map(|h| parse_id(h)).collect();
    index.packs.insert(name.clone(), slots);
    written.push((name, ids));
    Ok(())
}

/// Every object a kept snapshot needs: its pieces of rows, the messages'
/// objects those name, and the parts of any object sent in parts (all from the
/// indexes' references; a piece they say nothing of is read to find out).
async fn live_objects<R: Remote>(
    remote: &mut R,
    keys: &Keys,
    listing: &Listing,
    catalog: &Catalog,
    snaps: &[(String, crate::format::Snapshot)],
    keep: &HashSet<usize>,
) -> Result<HashSet<Id>> {
    let mut live = HashSet::new();
    let mut todo: Vec<Id> = Vec::new();
    let mut unknown: Vec<Id> = Vec::new();
    for (i, (_, snap)) in snaps.iter().enumerate() {
        if !keep.contains(&i) {
            continue;
        }
        for piece in &snap.rows {
            let id = parse_id(piece).ok_or_else(|| Error::Damaged("snapshot".into()))?;
            if live.insert(id) {
                if catalog.refs.contains_key(&id) {
                    todo.push(id);
                } else {
                    unknown.push(id);
                }
            }
        }
    }
    if !unknown.is_empty() {
        for id in read_refs(remote, keys, listing, catalog, &unknown).await? {
            if live.insert(id) {
                todo.push(id);
            }
        }
    }
    while let Some(id) = todo.pop() {
        for named in catalog.refs.get(&id).into_iter().flatten() {
            if live.insert(*named) {
                todo.push(*named);
            }
        }
    }
    Ok(live)
}

/// The messages' objects named by the rows of `pieces`, read from the server.
async fn read_refs<R: Remote>(
    remote: &mut R,
    keys: &Keys,
    listing: &Listing,
    catalog: &Catalog,
    pieces: &[Id],
) -> Result<Vec<Id>> {
    let mut by_pack: HashMap<&str, Vec<(&Id, &Slot)>> = HashMap::new();
    for id in pieces {
        let (pack, slot) = catalog
            .objects
            .get(id)
            .ok_or_else(|| Error::Missing(format!("object {}", hex::encode(id))))?;
        by_pack.entry(pack.as_str()).or_default().push((id, slot));
    }
    let mut out = Vec::new();
    for (pack, wanted) in by_pack {
        let item = of_kind(listing, ItemKind::Pack)
            .into_iter()
            .find(|i| i.label.name == pack)
            .ok_or_else(|| Error::Missing(format!("pack {pack}")))?;
        let bytes = remote.get(item).await?;
        for (id, slot) in wanted {
            let plain = keys.open(
                id,
                slice(&bytes, slot, &hex::encode(id))?,
                crate::catalog::OBJECT_LIMIT,
            )?;
            for line in plain
                .split(|&b| b == b'\n')
                .filter(|l| l.first() == Some(&b'['))
            {
                let values: Vec<homepost_store::Value> =
                    serde_json::from_slice(line).map_err(|_| Error::Damaged("rows".into()))?;
                for v in values {
                    if let homepost_store::Value::Content(sha) = v {
                        out.push(keys.id(Kind::Content, &sha));
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_is_cut_into_parts_that_fit() {
        let mut index = Index::default();
        for p in 0..10 {
            let slots = (0..100)
                .map(|o| (format!("{p:02}{o:062}"), Slot { offset: 0, len: 1 }))
                .collect();
            index.packs.insert(format!("pack{p}"), slots);
        }
        index.refs.insert("piece".into(), vec!["a".into(); 50]);
        let parts = split_index(index, 25_000);
        assert!(parts.len() >= 4, "{}", parts.len());
        let packs: usize = parts.iter().map(|p| p.packs.len()).sum();
        assert_eq!(packs, 10);
        assert_eq!(
            parts
                .iter()
                .filter(|p| p.refs.contains_key("piece"))
                .count(),
            1
        );
        for p in &parts {
            assert!(serde_json::to_vec(p).unwrap().len() < 2 * 25_000);
        }
    }

    #[test]
    fn retention_keeps_the_newest_of_each_period() {
        let day = 86_400;
        // One snapshot a day for 100 days, newest last.
        let times: Vec<i64> = (0..100).map(|d| 1_700_000_000 + d * day).collect();
        let r = Retention::default();
        let keep = r.keep(&times);
        assert!(keep.contains(&99), "the newest");
        // The last 7 days.
        for d in 93..100 {
            assert!(keep.contains(&d), "day {d}");
        }
        assert!(
            !keep.contains(&92) || times[92].div_euclid(7 * day) != times[93].div_euclid(7 * day)
        );
        // 7 daily + at most 4 weekly + at most 12 monthly, overlapping.
        assert!(
            keep.len() <= 7 + 4 + 12 && keep.len() >= 7 + 2,
            "{}",
            keep.len()
        );
        // Nothing at all: keep nothing; two in a day: keep the newer.
        assert!(r.keep(&[]).is_empty());
        assert_eq!(r.keep(&[10, 20]), HashSet::from([1]));
        assert_eq!(
            r.keep(&[10, 10]),
            HashSet::from([1]),
            "the later of one second"
        );
    }
}
