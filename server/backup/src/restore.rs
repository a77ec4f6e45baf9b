//! Reading a backup back: its snapshots, a full check of it, and a restore
//! onto a new box.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;

use homepost_store::{DB_FILE, Store, Table, Value};
use homepost_vault::Purpose;

use crate::catalog::{OBJECT_LIMIT, of_kind, owner, parse_id, read_index, snapshots};
use crate::crypto::{Id, Keys, Kind, SPLIT_MAGIC};
use crate::format::{ItemKind, Slot, Snapshot, pack_table, slice};
use crate::keys::{self, Secret};
use crate::remote::{Listing, Remote};
use crate::{Error, Result};

/// Packs kept in memory while restoring.
const PACK_CACHE: usize = 4;

/// A snapshot, as `backup list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// Its name.
    pub name: String,
    /// When it was taken (seconds since 1970).
    pub time: i64,
    /// Messages in it.
    pub messages: u64,
    /// Bytes of the store it covers.
    pub bytes: u64,
}

/// An open backup: its keys, and where each object is.
pub(crate) struct Opened {
    pub(crate) keys: Keys,
    pub(crate) listing: Listing,
    pub(crate) index: HashMap<Id, (String, Slot)>,
}

impl Opened {
    /// The backup of the box whose keys are `keys`: its items and where each
    /// object is.
    pub(crate) async fn read<R: Remote>(remote: &mut R, keys: &Keys) -> Result<Opened> {
        let listing = remote.list().await?.owned_by(&keys.owner());
        let index = read_index(remote, keys, &listing).await?.objects;
        Ok(Opened {
            keys: Keys::from_bytes(keys.expose()),
            listing,
            index,
        })
    }
}

/// The snapshots of the backup in `remote`, oldest first. `keys` are the
/// box's own (from its store).
pub async fn list<R: Remote>(remote: &mut R, keys: &Keys) -> Result<Vec<SnapshotInfo>> {
    let listing = remote.list().await?.owned_by(&keys.owner());
    Ok(snapshots(remote, keys, &listing)
        .await?
        .into_iter()
        .map(|(name, s)| SnapshotInfo {
            name,
            time: s.time,
            messages: s.messages,
            bytes: s.bytes,
        })
        .collect())
}

/// Objects read from packs, a few packs kept at a time.
pub(crate) struct Reader<'a, R: Remote> {
    pub(crate) remote: &'a mut R,
    pub(crate) opened: &'a Opened,
    pub(crate) packs: VecDeque<(String, Vec<u8>)>,
}

impl<R: Remote> Reader<'_, R> {
    /// Object `id`, its parts joined when it was sent as parts.
    pub(crate) async fn object(&mut self, id: &Id) -> Result<Vec<u8>> {
        let plain = self.stored(id).await?;
        let Some(list) = plain.strip_prefix(SPLIT_MAGIC) else {
            return Ok(plain);
        };
        let mut whole = Vec::new();
        for line in list.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let part = std::str::from_utf8(line)
                .ok()
                .and_then(parse_id)
                .ok_or_else(|| Error::Damaged(format!("object {}", hex::encode(id))))?;
            whole.extend_from_slice(&self.stored(&part).await?);
            if whole.len() > OBJECT_LIMIT {
                return Err(Error::Damaged(format!("object {}", hex::encode(id))));
            }
        }
        Ok(whole)
    }

    /// Object `id` as stored in its pack.
    async fn stored(&mut self, id: &Id) -> Result<Vec<u8>> {
        let hex_id = hex::encode(id);
        let (pack, slot) = self
            .opened
            .index
            .get(id)
            .ok_or_else(|| Error::Missing(format!("object {hex_id}")))?;
        if !self.packs.iter().any(|(n, _)| n == pack) {
            let item = self
                .opened
                .listing
                .items
                .iter()
                .find(|i| i.label.kind == ItemKind::Pack && &i.label.name == pack)
                .ok_or_else(|| Error::Missing(format!("pack {pack}")))?;
            let bytes = self.remote.get(item).await?;
            if self.packs.len() >= PACK_CACHE {
                self.packs.pop_front();
            }
            self.packs.push_back((pack.clone(), bytes));
        }
        let bytes = &self
            .packs
            .iter()
            .find(|(n, _)| n == pack)
            .ok_or_else(|| Error::Missing(format!("pack {pack}")))?
            .1;
        let sealed = slice(bytes, slot, &hex_id)?;
        self.opened
            .keys
            .open(id, sealed, OBJECT_LIMIT)
            .map_err(|_| Error::Damaged(format!("object {hex_id} in pack {pack}")))
    }
}

/// What `backup verify` found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Packs read, objects authenticated.
    pub packs: u64,
    /// Objects authenticated.
    pub objects: u64,
    /// Snapshots whose every piece and message was found.
    pub snapshots: u64,
    /// What is damaged or missing, in words.
    pub problems: Vec<String>,
    /// Packs holding a damaged object (their objects are best sent again).
    pub damaged_packs: Vec<String>,
}

/// Downloads every pack (or, with `sample`, that many packs chosen at random)
/// and authenticates every object in it, and checks that each snapshot has
/// every piece and message it names.
pub async fn verify<R: Remote>(
    remote: &mut R,
    keys: &Keys,
    sample: Option<usize>,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<VerifyReport> {
    let opened = Opened::read(remote, keys).await?;
    let mut report = VerifyReport::default();
    let mut by_pack: BTreeMap<&str, Vec<(&Id, &Slot)>> = BTreeMap::new();
    for (id, (pack, slot)) in &opened.index {
        by_pack.entry(pack.as_str()).or_default().push((id, slot));
    }
    if let Some(n) = sample {
        // A random sample of `n`: the packs in a random order, the first n.
        let all = by_pack.len();
        let mut keep = Vec::with_capacity(all);
        for _ in 0..all {
            let r: [u8; 4] = crate::crypto::random()?;
            keep.push(u32::from_le_bytes(r));
        }
        let mut order: Vec<usize> = (0..all).collect();
        order.sort_by_key(|&i| keep[i]);
        let chosen: std::collections::HashSet<usize> = order.into_iter().take(n).collect();
        by_pack = by_pack
            .into_iter()
            .enumerate()
            .filter(|(i, _)| chosen.contains(i))
            .map(|(_, kv)| kv)
            .collect();
    }
    let packs = of_kind(&opened.listing, ItemKind::Pack);
    let total = by_pack.len() as u64;
    for (done, (pack, objects)) in by_pack.iter().enumerate() {
        progress(done as u64, total);
        let Some(item) = packs.iter().find(|i| i.label.name == *pack) else {
            report.problems.push(format!(
                "pack {pack} is missing ({} objects)",
                objects.len()
            ));
            continue;
        };
        let bytes = match remote.get(item).await {
            Ok(b) => b,
            Err(e) => {
                report.problems.push(format!("pack {pack}: {e}"));
                continue;
            }
        };
        report.packs += 1;
        // The pack's own table must agree with the index.
        match pack_table(keys, pack, &bytes) {
            Ok(table) => {
                if objects
                    .iter()
                    .any(|(id, slot)| table.get(&hex::encode(id)) != Some(*slot))
                {
                    report
                        .problems
                        .push(format!("pack {pack} does not hold what the index says"));
                }
            }
            Err(e) => report.problems.push(e.to_string()),
        }
        for (id, slot) in objects {
            let hex_id = hex::encode(id);
            match slice(&bytes, slot, &hex_id).and_then(|s| keys.open(id, s, OBJECT_LIMIT)) {
                Ok(_) => report.objects += 1,
                Err(_) => {
                    report
                        .problems
                        .push(format!("object {hex_id} in pack {pack} is damaged"));
                    if !report.damaged_packs.iter().any(|p| p == pack) {
                        report.damaged_packs.push((*pack).to_owned());
                    }
                }
            }
        }
    }
    progress(total, total);
    let mut reader = Reader {
        remote,
        opened: &opened,
        packs: VecDeque::new(),
    };
    for (name, snap) in snapshots(reader.remote, keys, &opened.listing).await? {
        let before = report.problems.len();
        let mut rows = RowStream::default();
        for piece in &snap.rows {
            let Some(id) = parse_id(piece) else {
                report
                    .problems
                    .push(format!("snapshot {name} names a piece that is not a name"));
                break;
            };
            match reader.object(&id).await {
                Ok(bytes) => {
                    for line in rows.feed(&bytes) {
                        if let Line::Row(values) = line? {
                            for sha in values.iter().filter_map(content_of) {
                                if !opened.index.contains_key(&keys.id(Kind::Content, sha)) {
                                    report.problems.push(format!(
                                        "snapshot {name}: a message's bytes are missing"
                                    ));
                                }
                            }
                        }
                    }
                }
                Err(e) => report.problems.push(format!("snapshot {name}: {e}")),
            }
        }
        if report.problems.len() == before {
            report.snapshots += 1;
        }
    }
    Ok(report)
}

fn content_of(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Content(sha) => Some(sha),
        _ => None,
    }
}

/// A line of the rows' copy.
pub(crate) enum Line {
    Table(Table),
    Row(Vec<Value>),
}

/// Splits the pieces of the rows' copy back into lines.
#[derive(Default)]
pub(crate) struct RowStream {
    pub(crate) buf: Vec<u8>,
}

impl RowStream {
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<Result<Line>> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(end) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let line = &self.buf[start..start + end];
            start += end + 1;
            out.push(parse_line(line));
        }
        self.buf.drain(..start);
        out
    }
}

fn parse_line(line: &[u8]) -> Result<Line> {
    #[derive(serde::Deserialize)]
    struct Header {
        table: Table,
    }
    if line.first() == Some(&b'{') {
        let h: Header = serde_json::from_slice(line).map_err(|_| Error::Damaged("rows".into()))?;
        return Ok(Line::Table(h.table));
    }
    serde_json::from_slice(line)
        .map(Line::Row)
        .map_err(|_| Error::Damaged("rows".into()))
}

/// What a restore did.
#[derive(Debug)]
pub struct RestoreSummary {
    /// The snapshot restored.
    pub snapshot: String,
    /// When it was taken.
    pub time: i64,
    /// Messages restored.
    pub messages: u64,
    /// Rows restored.
    pub rows: u64,
}

/// Rows inserted per transaction, and the bytes of values they hold at most (a
/// box of large messages must not hold thousands of them in memory at once).
const BATCH: usize = 2000;
const BATCH_BYTES: usize = 32 << 20;

/// Restores snapshot `which` (the newest when `None`) of the backup in `remote`
/// into the data directory `target` (new, or one without a vault, such as a new
/// box's that holds only its TLS certificate), opened by `secret`. Everything is
/// written into `target/.restoring` first and moved into place at the end, the
/// vault last: a restore that fails or stops leaves no vault (and no `target`,
/// if it made it). The search index is rebuilt when the restored box first opens.
pub async fn restore<R: Remote>(
    remote: &mut R,
    secret: &Secret,
    target: &Path,
    which: Option<&str>,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<RestoreSummary> {
    if target.join(homepost_vault::VAULT_FILE).exists() {
        return Err(Error::TargetNotEmpty(target.display().to_string()));
    }
    let made_target = !target.exists();
    let staging = target.join(".restoring");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .map_err(|e| Error::io(format!("removing {}", staging.display()), e))?;
    }
    let result = match restore_into(remote, secret, &staging, which, progress).await {
        Ok(summary) => move_into_place(&staging, target).map(|()| summary),
        Err(e) => Err(e),
    };
    if result.is_err() {
        let _ = std::fs::remove_dir_all(if made_target { target } else { &staging });
    }
    result
}

/// Moves the restored files from `staging` into `target`, the vault last (its
/// presence is what makes a data directory a box), and removes `staging`.
fn move_into_place(staging: &Path, target: &Path) -> Result<()> {
    let io = |what: String| move |e| Error::io(what, e);
    let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(staging)
        .map_err(io(format!("listing {}", staging.display())))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort_by_key(|n| n == homepost_vault::VAULT_FILE);
    for name in names {
        let (from, to) = (staging.join(&name), target.join(&name));
        // Never over a file made meanwhile (a vault and a store created on this
        // box while it restored): a link fails if the name exists.
        match std::fs::hard_link(&from, &to) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::TargetNotEmpty(target.display().to_string()));
            }
            other => {
                other.map_err(io(format!("moving the restore into {}", target.display())))?;
            }
        }
        std::fs::remove_file(&from).map_err(io(format!("removing {}", from.display())))?;
    }
    std::fs::remove_dir(staging).map_err(io(format!("removing {}", staging.display())))?;
    std::fs::File::open(target)
        .and_then(|d| d.sync_all())
        .map_err(io(format!("syncing {}", target.display())))
}

async fn restore_into<R: Remote>(
    remote: &mut R,
    secret: &Secret,
    staging: &Path,
    which: Option<&str>,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<RestoreSummary> {
    let listing = remote.list().await?;
    let owner = owner(&listing, &remote.describe())?;
    let listing = listing.owned_by(&owner);
    let keys_item = of_kind(&listing, ItemKind::Keys)
        .into_iter()
        .next_back()
        .cloned()
        .ok_or_else(|| Error::Missing("keys".into()))?;
    let bytes = remote.get(&keys_item).await?;
    let (keys, vault) = keys::open(&bytes, secret, staging)?;
    let index = read_index(remote, &keys, &listing).await?.objects;
    let all = snapshots(remote, &keys, &listing).await?;
    let (name, snap) = match which {
        Some(w) => all
            .into_iter()
            .find(|(n, _)| n == w)
            .ok_or_else(|| Error::Missing(format!("snapshot {w}")))?,
        None => all
            .into_iter()
            .next_back()
            .ok_or_else(|| Error::NoBackup(remote.describe()))?,
    };
    let opened = Opened {
        keys,
        listing,
        index,
    };
    let store = Store::create_at_version(
        &staging.join(DB_FILE),
        &vault.subkey(Purpose::Sqlcipher),
        snap.schema,
    )
    .await?;
    let loaded = load(remote, &opened, &store, &snap, progress).await;
    let result = match loaded {
        Ok((rows, messages)) => match store.upgrade().await {
            Ok(()) => Ok(RestoreSummary {
                snapshot: name,
                time: snap.time,
                messages,
                rows,
            }),
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e),
    };
    store.close().await;
    result
}

async fn load<R: Remote>(
    remote: &mut R,
    opened: &Opened,
    store: &Store,
    snap: &Snapshot,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<(u64, u64)> {
    let mut reader = Reader {
        remote,
        opened,
        packs: VecDeque::new(),
    };
    let mut loader = store.loader().await?;
    let mut stream = RowStream::default();
    let mut table: Option<Table> = None;
    let mut batch: Vec<Vec<Value>> = Vec::new();
    let mut batch_bytes = 0usize;
    let (mut rows, mut messages) = (0u64, 0u64);
    let pieces = snap.rows.len() as u64;
    for (done, piece) in snap.rows.iter().enumerate() {
        progress(done as u64, pieces);
        let id = parse_id(piece).ok_or_else(|| Error::Damaged("snapshot".into()))?;
        let bytes = reader.object(&id).await?;
        for line in stream.feed(&bytes) {
            match line? {
                Line::Table(t) => {
                    if let Some(prev) = &table {
                        loader.insert(prev, &batch).await?;
                        batch.clear();
                        batch_bytes = 0;
                    }
                    loader.clear(&t).await?;
                    table = Some(t);
                }
                Line::Row(mut values) => {
                    let t = table
                        .as_ref()
                        .ok_or_else(|| Error::Damaged("rows".into()))?;
                    for v in &mut values {
                        if let Value::Content(sha) = v {
                            let id = opened.keys.id(Kind::Content, sha);
                            *v = Value::Blob(reader.object(&id).await?);
                            messages += 1;
                        }
                    }
                    batch_bytes += values
                        .iter()
                        .map(|v| match v {
                            Value::Blob(b) => b.len(),
                            Value::Text(t) => t.len(),
                            _ => 8,
                        })
                        .sum::<usize>();
                    batch.push(values);
                    rows += 1;
                    if batch.len() >= BATCH || batch_bytes >= BATCH_BYTES {
                        batch_bytes = 0;
                        loader.insert(t, &batch).await?;
                        batch.clear();
                    }
                }
            }
        }
    }
    if let Some(t) = &table {
        loader.insert(t, &batch).await?;
    }
    if !stream.buf.is_empty() {
        return Err(Error::Damaged("rows (the copy ends mid-line)".into()));
    }
    let broken = loader.finish().await?;
    if !broken.is_empty() {
        return Err(Error::Inconsistent(format!(
            "rows refer to rows that are not there: {}",
            broken.join("; ")
        )));
    }
    progress(pieces, pieces);
    Ok((rows, messages))
}
