//! Where the backup is kept: an IMAP folder, or a directory (a disk plugged
//! into the box). Both store labelled items and list them back.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use homepost_store::Endpoint;
use homepost_transport::Timeouts;
use homepost_transport::imap::Imap;
use zeroize::Zeroizing;

use crate::format::{LABEL, Label};
use crate::{Error, Result};

/// Attempts of one operation on the IMAP server.
const ATTEMPTS: u32 = 5;

/// Whether an IMAP failure may pass if tried again on a new connection.
fn transient(e: &homepost_transport::Error) -> bool {
    use homepost_transport::Error as E;
    matches!(e, E::Closed(_) | E::Timeout(_) | E::Connect { .. })
}

/// An item the remote holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// What it is.
    pub label: Label,
    /// Where the remote keeps it (an IMAP UID; 0 for a directory).
    pub handle: u32,
    /// Its size as stored.
    pub size: u32,
}

/// The items of a remote, and how many of its messages are not backup items.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Backup items, of every box.
    pub items: Vec<Item>,
    /// Messages in the folder that are not backup items (left alone).
    pub strangers: usize,
}

impl Listing {
    /// Only the items of the box whose backup key has this short name.
    pub fn owned_by(self, owner: &str) -> Listing {
        Listing {
            items: self
                .items
                .into_iter()
                .filter(|i| i.label.owner == owner)
                .collect(),
            strangers: self.strangers,
        }
    }
}

/// A place that keeps labelled items. Its futures are `Send`, so a backup can
/// run as a task of its own.
pub trait Remote: Send {
    /// Every item.
    fn list(&mut self) -> impl Future<Output = Result<Listing>> + Send;
    /// An item's bytes; `Error::Missing` when it is gone.
    fn get(&mut self, item: &Item) -> impl Future<Output = Result<Vec<u8>>> + Send;
    /// Stores an item.
    fn put(&mut self, label: &Label, bytes: &[u8]) -> impl Future<Output = Result<()>> + Send;
    /// Deletes items.
    fn delete(&mut self, items: &[Item]) -> impl Future<Output = Result<()>> + Send;
    /// Where it is, for messages.
    fn describe(&self) -> String;
    /// Whether it is a directory on the box (an empty one where a backup was is
    /// then a disk not mounted, not a server that lost everything).
    fn is_local(&self) -> bool {
        false
    }
}

/// A directory: one file per item, named by its label.
#[derive(Debug)]
pub struct DirRemote {
    dir: PathBuf,
}

impl DirRemote {
    /// Uses `dir`, which must exist: a backup disk that is not mounted must not
    /// turn into a folder on the box's own card.
    pub fn new(dir: PathBuf) -> Result<DirRemote> {
        if !dir.is_dir() {
            return Err(Error::io(
                format!(
                    "{} is not there (is the backup disk connected and mounted?)",
                    dir.display()
                ),
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        Ok(DirRemote { dir })
    }

    fn path(&self, label: &Label) -> PathBuf {
        self.dir.join(format!(
            "{}.{}.{}",
            label.kind.word(),
            label.owner,
            label.name
        ))
    }
}

impl Remote for DirRemote {
    async fn list(&mut self) -> Result<Listing> {
        let mut out = Listing::default();
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| Error::io(format!("listing {}", self.dir.display()), e))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::io(format!("listing {}", self.dir.display()), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let words: Vec<&str> = name.split('.').collect();
            let label = (words.len() == 3)
                .then(|| Label::parse(&format!("1 {} {} {}", words[0], words[1], words[2])))
                .flatten();
            match label {
                Some(label) => out.items.push(Item {
                    label,
                    handle: 0,
                    size: u32::try_from(entry.metadata().map_or(0, |m| m.len()))
                        .unwrap_or(u32::MAX),
                }),
                None => out.strangers += 1,
            }
        }
        out.items.sort_by(|a, b| a.label.name.cmp(&b.label.name));
        Ok(out)
    }

    async fn get(&mut self, item: &Item) -> Result<Vec<u8>> {
        match std::fs::read(self.path(&item.label)) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Error::Missing(item.label.text()))
            }
            Err(e) => Err(Error::io(format!("reading {}", item.label.text()), e)),
        }
    }

    async fn put(&mut self, label: &Label, bytes: &[u8]) -> Result<()> {
        let path = self.path(label);
        let tmp = path.with_extension("partial");
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&self.dir)?.sync_all()
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            if e.kind() == std::io::ErrorKind::StorageFull {
                Error::DiskFull(self.dir.display().to_string())
            } else {
                Error::io(format!("writing {}", path.display()), e)
            }
        })
    }

    async fn delete(&mut self, items: &[Item]) -> Result<()> {
        for item in items {
            match std::fs::remove_file(self.path(&item.label)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(format!("deleting {}", item.label.text()), e)),
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn is_local(&self) -> bool {
        true
    }
}

/// A folder of an IMAP account. Each item is a message with one base64 part.
pub struct ImapRemote {
    endpoint: Endpoint,
    password: Zeroizing<String>,
    folder: String,
    session: Option<Imap>,
}

impl std::fmt::Debug for ImapRemote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapRemote")
            .field("host", &self.endpoint.host)
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

impl ImapRemote {
    /// The folder `folder` of the account at `endpoint`; connects when first used.
    pub fn new(endpoint: Endpoint, password: Zeroizing<String>, folder: String) -> ImapRemote {
        ImapRemote {
            endpoint,
            password,
            folder,
            session: None,
        }
    }

    /// The session, connected (and the folder selected, made if missing) when
    /// there was none.
    async fn session(&mut self) -> Result<&mut Imap> {
        if self.session.is_none() {
            let mut imap =
                Imap::connect(&self.endpoint, &self.password, Timeouts::default()).await?;
            imap.select_or_create(&self.folder).await?;
            self.session = Some(imap);
        }
        self.session.as_mut().ok_or(Error::Closed)
    }

    /// Runs `op`, on a new connection again (up to five times in all, waiting
    /// a little longer each time) when the connection dropped, timed out or
    /// could not be made: a server restarting or a home line hiccuping does not
    /// end a backup of hours.
    async fn retrying(&mut self, op: &Op<'_>) -> Result<Done> {
        let mut attempt = 0;
        loop {
            let folder = self.folder.clone();
            let outcome = match self.session().await {
                Ok(imap) => op.run(imap, &folder).await.map_err(Error::from),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(v) => return Ok(v),
                Err(Error::Transport(e)) if transient(&e) && attempt + 1 < ATTEMPTS => {
                    tracing::info!(error = %e, attempt, "backup: the IMAP connection failed; trying again");
                    self.session = None;
                    tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
                    attempt += 1;
                }
                Err(e) => {
                    self.session = None;
                    return Err(e);
                }
            }
        }
    }

    /// Logs out.
    pub async fn close(mut self) {
        if let Some(s) = self.session.take() {
            s.logout().await;
        }
    }
}

/// Either remote, chosen by the box's settings.
#[derive(Debug)]
pub enum AnyRemote {
    /// A folder of an IMAP account.
    Imap(Box<ImapRemote>),
    /// A directory.
    Dir(DirRemote),
}

impl AnyRemote {
    /// Logs out of an IMAP server.
    pub async fn close(self) {
        if let AnyRemote::Imap(r) = self {
            r.close().await;
        }
    }
}

impl Remote for AnyRemote {
    async fn list(&mut self) -> Result<Listing> {
        match self {
            AnyRemote::Imap(r) => r.list().await,
            AnyRemote::Dir(r) => r.list().await,
        }
    }

    async fn get(&mut self, item: &Item) -> Result<Vec<u8>> {
        match self {
            AnyRemote::Imap(r) => r.get(item).await,
            AnyRemote::Dir(r) => r.get(item).await,
        }
    }

    async fn put(&mut self, label: &Label, bytes: &[u8]) -> Result<()> {
        match self {
            AnyRemote::Imap(r) => r.put(label, bytes).await,
            AnyRemote::Dir(r) => r.put(label, bytes).await,
        }
    }

    async fn delete(&mut self, items: &[Item]) -> Result<()> {
        match self {
            AnyRemote::Imap(r) => r.delete(items).await,
            AnyRemote::Dir(r) => r.delete(items).await,
        }
    }

    fn describe(&self) -> String {
        match self {
            AnyRemote::Imap(r) => r.describe(),
            AnyRemote::Dir(r) => r.describe(),
        }
    }

    fn is_local(&self) -> bool {
        matches!(self, AnyRemote::Dir(_))
    }
}

/// One operation on the backup folder, as [`ImapRemote::retrying`] repeats it.
enum Op<'a> {
    List,
    Get { uid: u32, size: u32 },
    Put(&'a [u8]),
    Delete(&'a [u32]),
    Room,
}

/// What an [`Op`] gave.
enum Done {
    Listed(Vec<homepost_transport::imap::Labelled>),
    Got(Option<Vec<u8>>),
    Room(Option<u64>),
    Nothing,
}

impl Op<'_> {
    async fn run(&self, imap: &mut Imap, folder: &str) -> homepost_transport::Result<Done> {
        Ok(match self {
            Op::List => {
                // Selected again: what was appended since shows in the count.
                let selected = imap.select(folder).await?;
                Done::Listed(imap.labelled(LABEL, selected.exists).await?)
            }
            Op::Get { uid, size } => Done::Got(imap.fetch_one(*uid, *size).await?),
            Op::Put(raw) => {
                imap.append(folder, raw).await?;
                Done::Nothing
            }
            Op::Delete(uids) => {
                imap.delete(uids).await?;
                Done::Nothing
            }
            Op::Room => Done::Room(imap.quota_room(folder).await?),
        })
    }
}

/// What a server's refusal of an upload of `size` bytes means: its words (RFC
/// 5530 response codes, and what servers say without them), else the room the
/// account's quota leaves, else that it refused before the upload at all.
fn refusal(text: &str, size: usize, room: Option<u64>, remote: String) -> Error {
    let lower = text.to_ascii_lowercase();
    let before_upload = lower.contains("refused the upload");
    if lower.contains("overquota")
        || lower.contains("quota")
        || room.is_some_and(|r| r < size as u64)
    {
        Error::ServerFull(remote)
    } else if lower.contains("[limit]") || lower.contains("too large") || before_upload {
        Error::TooLarge(size)
    } else {
        Error::Transport(homepost_transport::Error::Protocol(text.to_owned()))
    }
}

/// The message that carries an item.
fn message(label: &Label, bytes: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "From: Homepost backup <backup@homepost.invalid>\r\n\
         Subject: Homepost backup\r\n\
         Message-ID: <{}.{}@homepost.invalid>\r\n\
         {LABEL}: {}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: application/octet-stream\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
        label.kind.word(),
        label.name,
        label.text()
    )
    .into_bytes();
    let encoded = STANDARD.encode(bytes);
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The item in a message made by [`message`].
fn payload(raw: &[u8], label: &Label) -> Result<Vec<u8>> {
    let damaged = || Error::Damaged(label.text());
    let start = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .ok_or_else(damaged)?;
    let text: Vec<u8> = raw[start..]
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    STANDARD.decode(text).map_err(|_| damaged())
}

impl Remote for ImapRemote {
    async fn list(&mut self) -> Result<Listing> {
        let Done::Listed(found) = self.retrying(&Op::List).await? else {
            return Err(Error::Closed);
        };
        let mut out = Listing::default();
        for m in found {
            match m.label.as_deref().and_then(Label::parse) {
                Some(label) => out.items.push(Item {
                    label,
                    handle: m.uid,
                    size: m.size,
                }),
                None => out.strangers += 1,
            }
        }
        Ok(out)
    }

    async fn get(&mut self, item: &Item) -> Result<Vec<u8>> {
        let op = Op::Get {
            uid: item.handle,
            size: item.size,
        };
        let Done::Got(raw) = self.retrying(&op).await? else {
            return Err(Error::Closed);
        };
        let raw = raw.ok_or_else(|| Error::Missing(item.label.text()))?;
        payload(&raw, &item.label)
    }

    async fn put(&mut self, label: &Label, bytes: &[u8]) -> Result<()> {
        let raw = message(label, bytes);
        // Sent again when the connection failed: if the first copy did
        // arrive, the two are the same item, and pruning deletes both.
        match self.retrying(&Op::Put(&raw)).await {
            Ok(_) => Ok(()),
            Err(Error::Transport(homepost_transport::Error::Protocol(text))) => {
                // A refusal before the upload carries no words (async-imap keeps
                // them): the account's quota tells a full account from a
                // message too large.
                let room = match self.retrying(&Op::Room).await {
                    Ok(Done::Room(room)) => room,
                    _ => None,
                };
                Err(refusal(&text, raw.len(), room, self.describe()))
            }
            Err(e) => Err(e),
        }
    }

    async fn delete(&mut self, items: &[Item]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let uids: Vec<u32> = items.iter().map(|i| i.handle).collect();
        self.retrying(&Op::Delete(&uids)).await.map(|_| ())
    }

    fn describe(&self) -> String {
        format!(
            "folder {:?} of {}@{}",
            self.folder, self.endpoint.username, self.endpoint.host
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ItemKind;

    #[test]
    fn an_item_survives_its_message() {
        let label = Label {
            kind: ItemKind::Pack,
            owner: "ab".into(),
            name: "cd".into(),
        };
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let raw = message(&label, &bytes);
        assert!(raw.split(|&b| b == b'\n').all(|l| l.len() <= 78));
        assert_eq!(payload(&raw, &label).unwrap(), bytes);
    }
}
