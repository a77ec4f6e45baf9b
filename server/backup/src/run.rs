//! One backup run: what changed since the last one goes up, then a snapshot.

use std::collections::{BTreeMap, HashSet};

use homepost_store::{Store, Value};

use crate::catalog::read_index;
use crate::crypto::{Id, Keys, Kind, RecoveryKey, SPLIT_MAGIC};
use crate::format::{Index, ItemKind, Label, PackWriter, Slot, Snapshot};
use crate::keys::{VaultAccess, ensure, new_name, pending_recovery_key};
use crate::remote::Remote;
use crate::{Error, Result};

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// The largest message the server takes, in bytes; packs are cut so that
    /// their messages (base64, 4/3 of the pack) stay under it.
    pub message_limit: usize,
    /// Rows read per query.
    pub page: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            message_limit: 10 << 20,
            page: 500,
        }
    }
}

impl Options {
    fn pack_limit(&self) -> usize {
        pack_limit(self.message_limit)
    }
}

/// The largest pack whose message fits `message_limit`: base64 carries 57
/// bytes in each line of 78 (76 and CRLF), after 4 KiB left for the header.
pub(crate) fn pack_limit(message_limit: usize) -> usize {
    (message_limit.saturating_sub(4 << 10) / 78 * 57).max(64 << 10)
}

/// Packs written between two indexes: a run that stops loses at most these.
const PACKS_PER_INDEX: usize = 8;
/// FastCDC sizes for the pieces of the rows' copy.
const CHUNK_MIN: u32 = 16 << 10;
const CHUNK_AVG: u32 = 64 << 10;
const CHUNK_MAX: u32 = 256 << 10;

/// Where a run is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Rows copied so far.
    pub rows: u64,
    /// Rows in all.
    pub total: u64,
    /// Bytes sent so far.
    pub sent: u64,
}

/// What a run did.
#[derive(Debug)]
pub struct Summary {
    /// The new snapshot's name.
    pub snapshot: String,
    /// Messages in it.
    pub messages: u64,
    /// Bytes it covers: the rows' copy and the mail as received.
    pub bytes: u64,
    /// Objects sent (the rest were on the server already).
    pub new_objects: u64,
    /// Bytes sent, packs, indexes and snapshot included.
    pub sent: u64,
    /// The recovery key made by the first backup, until the user has seen it
    /// (`recovery_key_shown`).
    pub recovery_key: Option<RecoveryKey>,
}

/// The run's state: the pack being filled, and the packs sent since the last index.
pub(crate) struct Sender<'a, R: Remote> {
    pub(crate) remote: &'a mut R,
    pub(crate) store: &'a Store,
    pub(crate) keys: &'a Keys,
    pub(crate) owner: String,
    pub(crate) limit: usize,
    pub(crate) pack: PackWriter,
    pub(crate) unindexed: Vec<(String, BTreeMap<String, Slot>)>,
    /// Sent by this run, not yet recorded in the store.
    pub(crate) sent_now: HashSet<Id>,
    /// The messages named by each piece of rows sent since the last index.
    pub(crate) refs: BTreeMap<String, Vec<String>>,
    pub(crate) new_objects: u64,
    pub(crate) sent: u64,
}

impl<R: Remote> Sender<'_, R> {
    /// Whether the server has object `id` (or this run sent it).
    pub(crate) async fn has(&self, ids: &[Id]) -> Result<HashSet<Id>> {
        let mut known = self.store.backup_known(ids).await?;
        known.extend(ids.iter().filter(|id| self.sent_now.contains(*id)));
        Ok(known)
    }

    /// Sends object `id`; one larger than half a pack goes as parts of its own,
    /// named in a small object under `id` (the index records them as its refs,
    /// so pruning keeps them with it).
    pub(crate) async fn add(&mut self, id: Id, plain: &[u8]) -> Result<()> {
        let part_size = (self.limit / 2).max(1);
        if plain.len() <= part_size {
            return self.add_sealed(id, plain).await;
        }
        let mut manifest = SPLIT_MAGIC.to_vec();
        let mut parts = Vec::new();
        for chunk in plain.chunks(part_size) {
            let part = self.keys.id(Kind::Part, chunk);
            if self.has(&[part]).await?.is_empty() {
                self.add_sealed(part, chunk).await?;
            }
            manifest.extend_from_slice(hex::encode(part).as_bytes());
            manifest.push(b'\n');
            parts.push(hex::encode(part));
        }
        self.refs.entry(hex::encode(id)).or_default().extend(parts);
        self.add_sealed(id, &manifest).await
    }

    async fn add_sealed(&mut self, id: Id, plain: &[u8]) -> Result<()> {
        let sealed = self.keys.seal(&id, plain)?;
        if !self.pack.is_empty() && self.pack.len_with(sealed.len()) > self.limit {
            self.flush_pack().await?;
        }
        self.pack.add(&id, &sealed);
        self.sent_now.insert(id);
        self.new_objects += 1;
        Ok(())
    }

    pub(crate) async fn flush_pack(&mut self) -> Result<()> {
        if self.pack.is_empty() {
            return Ok(());
        }
        let name = new_name()?;
        let (bytes, slots) = std::mem::take(&mut self.pack).finish(self.keys, &name)?;
        let label = Label {
            kind: ItemKind::Pack,
            owner: self.owner.clone(),
            name: name.clone(),
        };
        self.remote.put(&label, &bytes).await?;
        self.sent += bytes.len() as u64;
        self.unindexed.push((name, slots));
        if self.unindexed.len() >= PACKS_PER_INDEX {
            self.flush_index().await?;
        }
        Ok(())
    }

    /// Sends an index of the packs sent since the last one, then records their
    /// objects in the store: only what an index names counts as on the server.
    pub(crate) async fn flush_index(&mut self) -> Result<()> {
        if self.unindexed.is_empty() {
            return Ok(());
        }
        let index = Index {
            packs: self.unindexed.iter().cloned().collect(),
            refs: std::mem::take(&mut self.refs),
        };
        self.put_object(
            ItemKind::Index,
            Kind::Index,
            &serde_json::to_vec(&index).map_err(Error::json)?,
        )
        .await?;
        for (pack, slots) in std::mem::take(&mut self.unindexed) {
            let ids: Vec<Id> = slots
                .keys()
                .filter_map(|h| hex::decode(h).ok()?.try_into().ok())
                .collect();
            self.store.backup_record(&pack, &ids).await?;
            for id in &ids {
                self.sent_now.remove(id);
            }
        }
        Ok(())
    }

    /// Sends one sealed object as an item of its own (an index, a snapshot).
    pub(crate) async fn put_object(
        &mut self,
        item: ItemKind,
        kind: Kind,
        plain: &[u8],
    ) -> Result<String> {
        self.put_object_named(item, kind, plain, new_name()?).await
    }

    /// [`put_object`](Self::put_object) under a name chosen by the caller (a
    /// snapshot written again keeps the time its old name begins with).
    pub(crate) async fn put_object_named(
        &mut self,
        item: ItemKind,
        kind: Kind,
        plain: &[u8],
        name: String,
    ) -> Result<String> {
        let id = self.keys.id(kind, name.as_bytes());
        let sealed = self.keys.seal(&id, plain)?;
        let label = Label {
            kind: item,
            owner: self.owner.clone(),
            name: name.clone(),
        };
        self.remote.put(&label, &sealed).await?;
        self.sent += sealed.len() as u64;
        Ok(name)
    }
}

/// Cuts the rows' copy into pieces by content, so that a change moves only
/// the pieces around it. Cuts fall only at the end of a line: each row lies in
/// one piece, so a piece's bytes alone say which messages it refers to (what
/// pruning needs to know, kept in the index).
#[derive(Default)]
pub(crate) struct Chunker {
    buf: Vec<u8>,
    /// Offset in the whole copy of `buf[0]`.
    start: u64,
    /// For each row that names messages' bytes: where its line ends in the
    /// whole copy, and the objects it names.
    refs: std::collections::VecDeque<(u64, Vec<Id>)>,
    pub(crate) pieces: Vec<String>,
    pub(crate) bytes: u64,
}

impl Chunker {
    /// Appends one line (a table's header or a row naming `refs`).
    pub(crate) fn line(&mut self, value: &impl serde::Serialize, refs: Vec<Id>) -> Result<()> {
        serde_json::to_writer(&mut self.buf, value).map_err(Error::json)?;
        self.buf.push(b'\n');
        if !refs.is_empty() {
            self.refs
                .push_back((self.start + self.buf.len() as u64, refs));
        }
        Ok(())
    }

    /// The pieces ready to send, with the objects their rows name: all but the
    /// tail, unless `all`.
    pub(crate) fn cut(&mut self, all: bool) -> Vec<(Vec<u8>, Vec<Id>)> {
        let mut out = Vec::new();
        while !self.buf.is_empty() && (all || self.buf.len() >= CHUNK_MAX as usize) {
            let cdc = fastcdc::v2020::FastCDC::new(&self.buf, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX);
            let (_, at) = cdc.cut(0, self.buf.len());
            let at = at.clamp(1, self.buf.len());
            // On to the end of the line the cut fell in.
            let end = match self.buf[at - 1..].iter().position(|&b| b == b'\n') {
                Some(p) => at + p,
                None if all => self.buf.len(),
                None => break,
            };
            let piece: Vec<u8> = self.buf.drain(..end).collect();
            self.start += end as u64;
            let mut ids = Vec::new();
            while self.refs.front().is_some_and(|(e, _)| *e <= self.start) {
                if let Some((_, r)) = self.refs.pop_front() {
                    ids.extend(r);
                }
            }
            out.push((piece, ids));
        }
        out
    }
}

/// Backs up the store of the box whose vault `vault` is to `remote`: its keys
/// (made at the first run), every object not there yet, and a snapshot. A run
/// that stops leaves what it sent to the next one and lists no snapshot.
pub async fn backup<R: Remote>(
    store: &Store,
    vault: &VaultAccess,
    remote: &mut R,
    options: &Options,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Summary> {
    let listing = remote.list().await?;
    let mut recorded = store.backup_packs().await?;
    if remote.is_local() && listing.items.is_empty() && !recorded.is_empty() {
        return Err(Error::Inconsistent(format!(
            "{} is empty, yet this box backed up there: is the backup disk mounted? \
(to start again in an empty directory, choose it again with `homepost backup setup --dir`)",
            remote.describe()
        )));
    }
    let keys = ensure(store, vault, remote, &listing).await?;
    // What the server lost (deleted by hand, pruned by another run) is sent again.
    let on_server: HashSet<&str> = listing
        .items
        .iter()
        .filter(|i| i.label.kind == ItemKind::Pack)
        .map(|i| i.label.name.as_str())
        .collect();
    for pack in &recorded {
        if !on_server.contains(pack.as_str()) {
            let n = store.backup_forget(pack).await?;
            tracing::info!(
                pack,
                objects = n,
                "backup: a pack is gone from the server; its objects will be sent again"
            );
        }
    }
    recorded.retain(|p| on_server.contains(p.as_str()));

    if recorded.is_empty()
        && listing
            .items
            .iter()
            .any(|i| i.label.kind == ItemKind::Index)
    {
        // A restored box (its record of what was sent is not part of a backup):
        // the indexes say what the server has, so nothing is sent twice.
        let catalog = read_index(remote, &keys, &listing).await?;
        let mut by_pack: BTreeMap<String, Vec<Id>> = BTreeMap::new();
        for (id, (pack, _)) in catalog.objects {
            by_pack.entry(pack).or_default().push(id);
        }
        for (pack, ids) in by_pack {
            store.backup_record(&pack, &ids).await?;
        }
    }

    let mut snap = store.snapshot().await?;
    let tables = snap.tables().await?;
    let mut total = 0;
    for t in &tables {
        total += snap.count(t).await?;
    }
    let mut sender = Sender {
        remote,
        store,
        keys: &keys,
        owner: keys.owner(),
        limit: options.pack_limit(),
        pack: PackWriter::default(),
        unindexed: Vec::new(),
        sent_now: HashSet::new(),
        refs: BTreeMap::new(),
        new_objects: 0,
        sent: 0,
    };
    let mut chunker = Chunker::default();
    let mut rows = 0u64;
    let mut messages = 0u64;
    // The mail's size as received (the messages' `raw_size`), what the
    // snapshot covers besides the rows' copy.
    let mut mail_bytes = 0u64;
    for table in &tables {
        chunker.line(&serde_json::json!({ "table": table }), Vec::new())?;
        let size_column = (table.name == "messages")
            .then(|| table.columns.iter().position(|c| c == "raw_size"))
            .flatten();
        let mut after: Option<Vec<Value>> = None;
        loop {
            let page = snap.page(table, after.as_deref(), options.page).await?;
            // The messages' bytes first, those the server does not have.
            let names: Vec<(Id, &Vec<u8>)> = page
                .rows
                .iter()
                .flatten()
                .filter_map(|v| match v {
                    Value::Content(sha) => Some((keys.id(Kind::Content, sha), sha)),
                    _ => None,
                })
                .collect();
            let ids: Vec<Id> = names.iter().map(|(id, _)| *id).collect();
            let known = sender.has(&ids).await?;
            for (id, sha) in &names {
                messages += 1;
                if known.contains(id) || sender.sent_now.contains(id) {
                    continue;
                }
                let bytes = snap.content(sha).await?.ok_or_else(|| {
                    Error::Inconsistent("a message vanished during the backup".into())
                })?;
                sender.add(*id, &bytes).await?;
            }
            for row in &page.rows {
                if let Some(Value::Int(n)) = size_column.and_then(|i| row.get(i)) {
                    mail_bytes += u64::try_from(*n).unwrap_or(0);
                }
                chunker.line(row, content_refs(&keys, row))?;
            }
            rows += page.rows.len() as u64;
            for (piece, refs) in chunker.cut(false) {
                send_piece(&mut sender, &mut chunker, piece, refs).await?;
            }
            progress(Progress {
                rows,
                total,
                sent: sender.sent,
            });
            match page.next {
                Some(k) => after = Some(k),
                None => break,
            }
        }
    }
    for (piece, refs) in chunker.cut(true) {
        send_piece(&mut sender, &mut chunker, piece, refs).await?;
    }
    sender.flush_pack().await?;
    sender.flush_index().await?;
    let snapshot = Snapshot {
        version: 1,
        time: unix_now(),
        schema: snap.schema_version(),
        rows: std::mem::take(&mut chunker.pieces),
        messages,
        bytes: chunker.bytes + mail_bytes,
    };
    snap.finish().await?;
    let name = sender
        .put_object(
            ItemKind::Snapshot,
            Kind::Snapshot,
            &serde_json::to_vec(&snapshot).map_err(Error::json)?,
        )
        .await?;
    progress(Progress {
        rows,
        total,
        sent: sender.sent,
    });
    let recovery_key = pending_recovery_key(store).await?;
    Ok(Summary {
        snapshot: name,
        messages,
        bytes: snapshot.bytes,
        new_objects: sender.new_objects,
        sent: sender.sent,
        recovery_key,
    })
}

pub(crate) async fn send_piece<R: Remote>(
    sender: &mut Sender<'_, R>,
    chunker: &mut Chunker,
    piece: Vec<u8>,
    refs: Vec<Id>,
) -> Result<()> {
    let id = sender.keys.id(Kind::Rows, &piece);
    chunker.pieces.push(hex::encode(id));
    chunker.bytes += piece.len() as u64;
    if sender.has(&[id]).await?.is_empty() {
        sender.add(id, &piece).await?;
        sender
            .refs
            .entry(hex::encode(id))
            .or_default()
            .extend(refs.iter().map(hex::encode));
    }
    Ok(())
}

/// The objects of the messages' bytes a row names.
pub(crate) fn content_refs(keys: &Keys, row: &[Value]) -> Vec<Id> {
    row.iter()
        .filter_map(|v| match v {
            Value::Content(sha) => Some(keys.id(Kind::Content, sha)),
            _ => None,
        })
        .collect()
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
