//! One backup run: what changed since the last one goes up, then a snapshot.

use std::collections::{BTreeMap, HashSet};

use homepost_store::{Store, Value};
use homepost_vault::Vault;

use crate::crypto::{Id, Keys, Kind, RecoveryKey};
use crate::format::{Index, ItemKind, Label, PackWriter, Slot, Snapshot};
use crate::keys::{ensure, new_name};
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
    /// The largest pack whose message fits the limit: base64 carries 57 bytes
    /// in each line of 78 (76 and CRLF), after 4 KiB left for the header.
    fn pack_limit(&self) -> usize {
        (self.message_limit.saturating_sub(4 << 10) / 78 * 57).max(64 << 10)
    }
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
    /// Bytes of the store it covers (the rows' copy and the messages).
    pub bytes: u64,
    /// Objects sent (the rest were on the server already).
    pub new_objects: u64,
    /// Bytes sent, packs, indexes and snapshot included.
    pub sent: u64,
    /// A recovery key made by this run (the first): show it once.
    pub recovery_key: Option<RecoveryKey>,
}

/// The run's state: the pack being filled, and the packs sent since the last index.
struct Sender<'a, R: Remote> {
    remote: &'a mut R,
    store: &'a Store,
    keys: &'a Keys,
    owner: String,
    limit: usize,
    pack: PackWriter,
    unindexed: Vec<(String, BTreeMap<String, Slot>)>,
    /// Sent by this run, not yet recorded in the store.
    sent_now: HashSet<Id>,
    new_objects: u64,
    sent: u64,
}

impl<R: Remote> Sender<'_, R> {
    /// Whether the server has object `id` (or this run sent it).
    async fn has(&self, ids: &[Id]) -> Result<HashSet<Id>> {
        let mut known = self.store.backup_known(ids).await?;
        known.extend(ids.iter().filter(|id| self.sent_now.contains(*id)));
        Ok(known)
    }

    async fn add(&mut self, id: Id, plain: &[u8]) -> Result<()> {
        let sealed = self.keys.seal(&id, plain)?;
        if !self.pack.is_empty() && self.pack.len_with(sealed.len()) > self.limit {
            self.flush_pack().await?;
        }
        self.pack.add(&id, &sealed);
        self.sent_now.insert(id);
        self.new_objects += 1;
        Ok(())
    }

    async fn flush_pack(&mut self) -> Result<()> {
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
    async fn flush_index(&mut self) -> Result<()> {
        if self.unindexed.is_empty() {
            return Ok(());
        }
        let index = Index {
            packs: self.unindexed.iter().cloned().collect(),
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
    async fn put_object(&mut self, item: ItemKind, kind: Kind, plain: &[u8]) -> Result<String> {
        let name = new_name()?;
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
/// the pieces around it.
struct Chunker {
    buf: Vec<u8>,
    pieces: Vec<String>,
    bytes: u64,
}

impl Chunker {
    /// The pieces ready to send: all but the tail, unless `all`.
    fn cut(&mut self, all: bool) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            if self.buf.is_empty() || (!all && self.buf.len() < CHUNK_MAX as usize) {
                break;
            }
            let cdc = fastcdc::v2020::FastCDC::new(&self.buf, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX);
            let (_, end) = cdc.cut(0, self.buf.len());
            let end = end.clamp(1, self.buf.len());
            out.push(self.buf.drain(..end).collect());
        }
        out
    }
}

/// Backs up the store of the box whose vault is `vault` to `remote`: its keys
/// (made at the first run), every object not there yet, and a snapshot. A run
/// that stops leaves what it sent to the next one and lists no snapshot.
pub async fn backup<R: Remote>(
    store: &Store,
    vault: &Vault,
    remote: &mut R,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary> {
    let listing = remote.list().await?;
    let (keys, recovery_key) = ensure(store, vault, remote, &listing).await?;
    // What the server lost (deleted by hand, pruned by another run) is sent again.
    let on_server: HashSet<&str> = listing
        .items
        .iter()
        .filter(|i| i.label.kind == ItemKind::Pack)
        .map(|i| i.label.name.as_str())
        .collect();
    for pack in store.backup_packs().await? {
        if !on_server.contains(pack.as_str()) {
            let n = store.backup_forget(&pack).await?;
            tracing::info!(
                pack,
                objects = n,
                "backup: a pack is gone from the server; its objects will be sent again"
            );
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
        new_objects: 0,
        sent: 0,
    };
    let mut chunker = Chunker {
        buf: Vec::new(),
        pieces: Vec::new(),
        bytes: 0,
    };
    let mut rows = 0u64;
    let mut messages = 0u64;
    let mut content_bytes = 0u64;
    for table in &tables {
        serde_json::to_writer(&mut chunker.buf, &serde_json::json!({ "table": table }))
            .map_err(Error::json)?;
        chunker.buf.push(b'\n');
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
                content_bytes += bytes.len() as u64;
                sender.add(*id, &bytes).await?;
            }
            for row in &page.rows {
                serde_json::to_writer(&mut chunker.buf, row).map_err(Error::json)?;
                chunker.buf.push(b'\n');
            }
            rows += page.rows.len() as u64;
            for piece in chunker.cut(false) {
                send_piece(&mut sender, &mut chunker, piece).await?;
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
    for piece in chunker.cut(true) {
        send_piece(&mut sender, &mut chunker, piece).await?;
    }
    sender.flush_pack().await?;
    sender.flush_index().await?;
    let snapshot = Snapshot {
        version: 1,
        time: unix_now(),
        schema: snap.schema_version(),
        rows: std::mem::take(&mut chunker.pieces),
        messages,
        bytes: chunker.bytes + content_bytes,
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
    Ok(Summary {
        snapshot: name,
        messages,
        bytes: snapshot.bytes,
        new_objects: sender.new_objects,
        sent: sender.sent,
        recovery_key,
    })
}

async fn send_piece<R: Remote>(
    sender: &mut Sender<'_, R>,
    chunker: &mut Chunker,
    piece: Vec<u8>,
) -> Result<()> {
    let id = sender.keys.id(Kind::Rows, &piece);
    chunker.pieces.push(hex::encode(id));
    chunker.bytes += piece.len() as u64;
    if sender.has(&[id]).await?.is_empty() {
        sender.add(id, &piece).await?;
    }
    Ok(())
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
