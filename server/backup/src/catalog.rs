//! Reading what a backup folder holds: whose it is, its indexes, its snapshots.

use std::collections::{HashMap, HashSet};

use crate::crypto::{Id, Keys, Kind};
use crate::format::{Index, ItemKind, Slot, Snapshot};
use crate::remote::{Item, Listing, Remote};
use crate::{Error, Result};

/// Largest object a backup holds once decompressed (a message is capped well
/// below this).
pub(crate) const OBJECT_LIMIT: usize = 512 << 20;

/// The one box whose backup the folder holds.
pub(crate) fn owner(listing: &Listing, remote: &str) -> Result<String> {
    let mut owners: Vec<&str> = listing
        .items
        .iter()
        .map(|i| i.label.owner.as_str())
        .collect();
    owners.sort_unstable();
    owners.dedup();
    match owners.as_slice() {
        [] => Err(Error::NoBackup(remote.to_owned())),
        [one] => Ok((*one).to_owned()),
        many => Err(Error::SharedFolder(remote.to_owned(), many.join(", "))),
    }
}

pub(crate) fn of_kind(listing: &Listing, kind: ItemKind) -> Vec<&Item> {
    listing
        .items
        .iter()
        .filter(|i| i.label.kind == kind)
        .collect()
}

pub(crate) async fn sealed_item<R: Remote>(
    remote: &mut R,
    keys: &Keys,
    item: &Item,
    kind: Kind,
) -> Result<Vec<u8>> {
    let bytes = remote.get(item).await?;
    let id = keys.id(kind, item.label.name.as_bytes());
    keys.open(&id, &bytes, OBJECT_LIMIT)
        .map_err(|_| Error::Damaged(format!("{} {}", item.label.kind.word(), item.label.name)))
}

/// What the indexes of a folder say.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    /// Where each object is.
    pub(crate) objects: HashMap<Id, (String, Slot)>,
    /// The messages' objects each piece of rows names.
    pub(crate) refs: HashMap<Id, Vec<Id>>,
    /// The index items read.
    pub(crate) items: Vec<Item>,
}

pub(crate) fn parse_id(text: &str) -> Option<Id> {
    hex::decode(text).ok()?.try_into().ok()
}

/// Where each object is, from every index, leaving out packs the server no
/// longer has (an object sent again after its pack was lost is in a newer one).
pub(crate) async fn read_index<R: Remote>(
    remote: &mut R,
    keys: &Keys,
    listing: &Listing,
) -> Result<Catalog> {
    let listed: HashSet<&str> = of_kind(listing, ItemKind::Pack)
        .iter()
        .map(|i| i.label.name.as_str())
        .collect();
    let mut catalog = Catalog::default();
    for item in of_kind(listing, ItemKind::Index) {
        let plain = sealed_item(remote, keys, item, Kind::Index).await?;
        let part: Index = serde_json::from_slice(&plain)
            .map_err(|_| Error::Damaged(format!("index {}", item.label.name)))?;
        for (pack, slots) in part.packs {
            if !listed.contains(pack.as_str()) {
                continue;
            }
            for (id, slot) in slots {
                if let Some(id) = parse_id(&id) {
                    catalog.objects.insert(id, (pack.clone(), slot));
                }
            }
        }
        for (piece, names) in part.refs {
            if let Some(piece) = parse_id(&piece) {
                let names = names.iter().filter_map(|n| parse_id(n)).collect();
                catalog.refs.insert(piece, names);
            }
        }
        catalog.items.push((*item).clone());
    }
    Ok(catalog)
}

pub(crate) async fn snapshots<R: Remote>(
    remote: &mut R,
    keys: &Keys,
    listing: &Listing,
) -> Result<Vec<(String, Snapshot)>> {
    let mut out = Vec::new();
    for item in of_kind(listing, ItemKind::Snapshot) {
        let plain = sealed_item(remote, keys, item, Kind::Snapshot).await?;
        let snap: Snapshot = serde_json::from_slice(&plain)
            .map_err(|_| Error::Damaged(format!("snapshot {}", item.label.name)))?;
        out.push((item.label.name.clone(), snap));
    }
    // In the order they were taken: a snapshot written again without deleted
    // mail keeps its time, not its new name's (names begin with the time they
    // were made, to the millisecond).
    out.sort_by(|a, b| (a.1.time, &a.0).cmp(&(b.1.time, &b.0)));
    Ok(out)
}
