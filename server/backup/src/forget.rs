//! Mail deleted for good leaves the backup at the next prune: every kept
//! snapshot that still names such a message is written again without its rows
//! (the message's own and those pointing at it), and the pack rewrite that
//! follows drops its bytes and the old pieces, whatever share of their pack
//! they are.

use std::collections::{HashMap, HashSet, VecDeque};

use homepost_store::{Store, Value};

use crate::catalog::{Catalog, of_kind, parse_id};
use crate::crypto::{Id, Keys, Kind};
use crate::format::{ItemKind, PackWriter, Snapshot};
use crate::remote::{Item, Listing, Remote};
use crate::restore::{Line, Opened, Reader, RowStream};
use crate::run::{Chunker, Sender, content_refs, pack_limit, send_piece};
use crate::{Error, Result};

/// What dropping deleted mail from the snapshots did.
#[derive(Debug, Default)]
pub(crate) struct Forgotten {
    /// Objects no snapshot may keep: the messages' bytes (and their parts),
    /// and the pieces of rows that named them.
    pub(crate) must_go: HashSet<Id>,
    /// Snapshots written again.
    pub(crate) rewritten: u64,
}

/// Writes again, without the messages whose objects are in `forget`, every
/// snapshot of `snaps` that `keep` keeps and that names one of them; replaces
/// it in `snaps` (the old snapshot item is deleted once the new one is on the
/// server).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn forget<R: Remote>(
    store: &Store,
    keys: &Keys,
    remote: &mut R,
    listing: &Listing,
    catalog: &Catalog,
    snaps: &mut [(String, Snapshot)],
    keep: &HashSet<usize>,
    forget: &HashSet<Id>,
    message_limit: usize,
) -> Result<Forgotten> {
    let mut out = Forgotten::default();
    if forget.is_empty() {
        return Ok(out);
    }
    for id in forget {
        out.must_go.insert(*id);
        if let Some(parts) = catalog.refs.get(id) {
            out.must_go.extend(parts.iter().copied());
        }
    }
    let names = |piece: &Id| {
        catalog
            .refs
            .get(piece)
            .is_some_and(|r| r.iter().any(|m| forget.contains(m)))
    };
    let opened = Opened {
        keys: Keys::from_bytes(keys.expose()),
        listing: listing.clone(),
        index: catalog.objects.clone(),
    };
    let snapshot_items = of_kind(listing, ItemKind::Snapshot);
    for (i, (name, snap)) in snaps.iter_mut().enumerate() {
        let pieces: Vec<Id> = snap
            .rows
            .iter()
            .map(|p| parse_id(p).ok_or_else(|| Error::Damaged(format!("snapshot {name}"))))
            .collect::<Result<_>>()?;
        if !keep.contains(&i) || !pieces.iter().any(names) {
            continue;
        }
        out.must_go
            .extend(pieces.iter().filter(|p| names(p)).copied());
        let old: Vec<Item> = snapshot_items
            .iter()
            .filter(|item| item.label.name == *name)
            .map(|item| (*item).clone())
            .collect();
        let (new_name, new_snap) = rewrite(
            store,
            keys,
            remote,
            &opened,
            (name.as_str(), &*snap),
            &pieces,
            forget,
            message_limit,
        )
        .await?;
        remote.delete(&old).await?;
        tracing::info!(snapshot = %new_name, "backup: a snapshot written again without deleted mail");
        // Every old piece the new snapshot does not use held some of the
        // deleted mail's rows (its decrypted copy, addresses, references).
        let kept: HashSet<&String> = new_snap.rows.iter().collect();
        out.must_go.extend(
            pieces
                .iter()
                .filter(|p| !kept.contains(&hex::encode(p)))
                .copied(),
        );
        *name = new_name;
        *snap = new_snap;
        out.rewritten += 1;
    }
    Ok(out)
}

/// The snapshot `snap` (its `pieces`) without the forgotten messages: sent,
/// and its name.
#[allow(clippy::too_many_arguments)]
async fn rewrite<R: Remote>(
    store: &Store,
    keys: &Keys,
    remote: &mut R,
    opened: &Opened,
    (old_name, snap): (&str, &Snapshot),
    pieces: &[Id],
    forget: &HashSet<Id>,
    message_limit: usize,
) -> Result<(String, Snapshot)> {
    // First the ids of the messages to drop, the bytes they count for, and
    // what decides whether their Message-IDs stay (as on the box: while
    // another message has one or refers to it).
    let mut dropped: HashSet<i64> = HashSet::new();
    let mut dropped_mail = 0u64;
    let mut dropped_mids: HashSet<String> = HashSet::new();
    let mut kept_mids: HashSet<String> = HashSet::new();
    let mut refs: Vec<(i64, String)> = Vec::new();
    {
        let mut reader = Reader {
            remote: &mut *remote,
            opened,
            packs: VecDeque::new(),
        };
        let mut stream = RowStream::default();
        let mut table: Option<homepost_store::Table> = None;
        for piece in pieces {
            for line in stream.feed(&reader.object(piece).await?) {
                match line? {
                    Line::Table(t) => table = Some(t),
                    Line::Row(row) => {
                        let Some(t) = table.as_ref() else { continue };
                        if t.name == "message_refs" {
                            if let (Some(Value::Int(m)), Some(Value::Text(r))) =
                                (column(t, &row, "message"), column(t, &row, "ref"))
                            {
                                refs.push((*m, r.clone()));
                            }
                            continue;
                        }
                        if t.name != "messages" {
                            continue;
                        }
                        let forgotten = row.iter().any(|v| {
                            matches!(v, Value::Content(sha) if forget.contains(&keys.id(Kind::Content, sha)))
                        });
                        let mid = match column(t, &row, "message_id") {
                            Some(Value::Text(m)) => Some(m.clone()),
                            _ => None,
                        };
                        if forgotten {
                            if let Some(Value::Int(id)) = column(t, &row, "id") {
                                dropped.insert(*id);
                            }
                            if let Some(Value::Int(n)) = column(t, &row, "raw_size") {
                                dropped_mail += u64::try_from(*n).unwrap_or(0);
                            }
                            dropped_mids.extend(mid);
                        } else {
                            kept_mids.extend(mid);
                        }
                    }
                }
            }
        }
    }
    for (message, r) in &refs {
        if !dropped.contains(message) {
            kept_mids.insert(r.clone());
        }
    }
    dropped_mids.retain(|m| !kept_mids.contains(m));
    // Then the rows again, without theirs, cut into pieces as a run cuts
    // them: most pieces come out as they were and are on the server already.
    let mut chunker = Chunker::default();
    let mut new_pieces: Vec<(Vec<u8>, Vec<Id>)> = Vec::new();
    let mut old_rows_bytes = 0u64;
    let mut rows_bytes = 0u64;
    let mut order: Vec<String> = Vec::new();
    {
        let mut reader = Reader {
            remote: &mut *remote,
            opened,
            packs: VecDeque::new(),
        };
        let mut stream = RowStream::default();
        let mut table: Option<homepost_store::Table> = None;
        for piece in pieces {
            let bytes = reader.object(piece).await?;
            old_rows_bytes += bytes.len() as u64;
            for line in stream.feed(&bytes) {
                match line? {
                    Line::Table(t) => {
                        chunker.line(&serde_json::json!({ "table": t }), Vec::new())?;
                        table = Some(t);
                    }
                    Line::Row(mut row) => {
                        let t = table
                            .as_ref()
                            .ok_or_else(|| Error::Damaged("rows".into()))?;
                        if !keep_row(t, &mut row, &dropped) {
                            continue;
                        }
                        if t.name == "thread_ids"
                            && matches!(column(t, &row, "message_id"), Some(Value::Text(m)) if dropped_mids.contains(m))
                        {
                            continue;
                        }
                        chunker.line(&row, content_refs(keys, &row))?;
                    }
                }
            }
            for (bytes, refs) in chunker.cut(false) {
                rows_bytes += bytes.len() as u64;
                stash(keys, opened, &mut order, &mut new_pieces, bytes, refs);
            }
        }
        for (bytes, refs) in chunker.cut(true) {
            rows_bytes += bytes.len() as u64;
            stash(keys, opened, &mut order, &mut new_pieces, bytes, refs);
        }
    }
    let mut sender = Sender {
        remote,
        store,
        keys,
        owner: keys.owner(),
        limit: pack_limit(message_limit),
        pack: PackWriter::default(),
        unindexed: Vec::new(),
        sent_now: HashSet::new(),
        refs: Default::default(),
        new_objects: 0,
        sent: 0,
    };
    // Pieces already on the server stay in their place in `order`; new ones
    // are sent (send_piece names them in `chunker.pieces`, unused here).
    let mut sent_pieces = Chunker::default();
    for (bytes, refs) in new_pieces {
        send_piece(&mut sender, &mut sent_pieces, bytes, refs).await?;
    }
    sender.flush_pack().await?;
    sender.flush_index().await?;
    let new_snap = Snapshot {
        version: snap.version,
        time: snap.time,
        schema: snap.schema,
        rows: order,
        messages: snap.messages.saturating_sub(dropped.len() as u64),
        bytes: snap
            .bytes
            .saturating_sub(old_rows_bytes + dropped_mail)
            .saturating_add(rows_bytes),
    };
    // The old name's time (its first 12 hex digits), a new random rest: it
    // sorts where the old one did.
    let fresh = crate::keys::new_name()?;
    let name = match (old_name.get(..12), fresh.get(12..)) {
        (Some(time), Some(rest)) => format!("{time}{rest}"),
        _ => fresh,
    };
    let name = sender
        .put_object_named(
            ItemKind::Snapshot,
            Kind::Snapshot,
            &serde_json::to_vec(&new_snap).map_err(Error::json)?,
            name,
        )
        .await?;
    Ok((name, new_snap))
}

/// Notes a new piece's name in the snapshot's order, and keeps its bytes to
/// send unless the server has it.
fn stash(
    keys: &Keys,
    opened: &Opened,
    order: &mut Vec<String>,
    new_pieces: &mut Vec<(Vec<u8>, Vec<Id>)>,
    bytes: Vec<u8>,
    refs: Vec<Id>,
) {
    let id = keys.id(Kind::Rows, &bytes);
    order.push(hex::encode(id));
    if !opened.index.contains_key(&id) && !new_pieces.iter().any(|(b, _)| *b == bytes) {
        new_pieces.push((bytes, refs));
    }
}

/// The value of `name` in `row` of table `t`.
fn column<'a>(t: &homepost_store::Table, row: &'a [Value], name: &str) -> Option<&'a Value> {
    t.columns
        .iter()
        .position(|c| c == name)
        .and_then(|i| row.get(i))
}

/// Whether `row` of `t` stays: not a dropped message, nor a row that points at
/// one (the outbox keeps its record, without the link to the sent copy).
fn keep_row(t: &homepost_store::Table, row: &mut [Value], dropped: &HashSet<i64>) -> bool {
    if dropped.is_empty() {
        return true;
    }
    let key = if t.name == "messages" {
        "id"
    } else {
        "message"
    };
    let Some(i) = t.columns.iter().position(|c| c == key) else {
        return true;
    };
    let Some(Value::Int(id)) = row.get(i) else {
        return true;
    };
    if !dropped.contains(id) {
        return true;
    }
    if t.name == "outbox" {
        row[i] = Value::Null;
        return true;
    }
    false
}

/// Digests to object ids.
pub(crate) fn ids(keys: &Keys, digests: &[Vec<u8>]) -> HashMap<Id, Vec<u8>> {
    digests
        .iter()
        .map(|d| (keys.id(Kind::Content, d), d.clone()))
        .collect()
}
