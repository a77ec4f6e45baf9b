//! Where the backup is kept: an IMAP folder, or a directory (a disk plugged
//! into the box). Both store labelled items and list them back.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use homepost_store::Endpoint;
use homepost_transport::Timeouts;
use homepost_transport::imap::Imap;
use zeroize::Zeroizing;

use crate::format::{LABEL, Label};
use crate::{Error, Result};

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

/// A place that keeps labelled items.
#[allow(async_fn_in_trait)]
pub trait Remote {
    /// Every item.
    async fn list(&mut self) -> Result<Listing>;
    /// An item's bytes; `Error::Missing` when it is gone.
    async fn get(&mut self, item: &Item) -> Result<Vec<u8>>;
    /// Stores an item.
    async fn put(&mut self, label: &Label, bytes: &[u8]) -> Result<()>;
    /// Deletes items.
    async fn delete(&mut self, items: &[Item]) -> Result<()>;
    /// Where it is, for messages.
    fn describe(&self) -> String;
}

/// A directory: one file per item, named by its label.
#[derive(Debug)]
pub struct DirRemote {
    dir: PathBuf,
}

impl DirRemote {
    /// Uses (and creates) `dir`.
    pub fn new(dir: PathBuf) -> Result<DirRemote> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
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
            Error::io(format!("writing {}", path.display()), e)
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

    /// The session, (re)connected and with the folder selected. Returns how many
    /// messages the folder holds.
    async fn session(&mut self) -> Result<(&mut Imap, u32)> {
        if self.session.is_none() {
            let imap = Imap::connect(&self.endpoint, &self.password, Timeouts::default()).await?;
            self.session = Some(imap);
        }
        let folder = self.folder.clone();
        let selected = match self.session.as_mut() {
            Some(imap) => imap.select_or_create(&folder).await,
            None => return Err(Error::Closed),
        };
        match selected {
            Ok(sel) => Ok((self.session.as_mut().ok_or(Error::Closed)?, sel.exists)),
            Err(e) => {
                self.session = None;
                Err(e.into())
            }
        }
    }

    /// Runs `op`, and once more on a new connection if the first one dropped.
    async fn retrying<T>(
        &mut self,
        op: impl AsyncFn(&mut Imap, u32) -> homepost_transport::Result<T>,
    ) -> Result<T> {
        for attempt in 0..2 {
            let (imap, exists) = self.session().await?;
            match op(imap, exists).await {
                Ok(v) => return Ok(v),
                Err(
                    e @ (homepost_transport::Error::Closed(_)
                    | homepost_transport::Error::Timeout(_)),
                ) if attempt == 0 => {
                    tracing::info!(error = %e, "backup: the IMAP connection dropped; connecting again");
                    self.session = None;
                }
                Err(e) => {
                    self.session = None;
                    return Err(e.into());
                }
            }
        }
        Err(Error::Closed)
    }

    /// Logs out.
    pub async fn close(mut self) {
        if let Some(s) = self.session.take() {
            s.logout().await;
        }
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
        let found = self
            .retrying(async |imap: &mut Imap, exists| imap.labelled(LABEL, exists).await)
            .await?;
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
        let (uid, size) = (item.handle, item.size);
        let raw = self
            .retrying(async move |imap: &mut Imap, _| imap.fetch_one(uid, size).await)
            .await?
            .ok_or_else(|| Error::Missing(item.label.text()))?;
        payload(&raw, &item.label)
    }

    async fn put(&mut self, label: &Label, bytes: &[u8]) -> Result<()> {
        let raw = message(label, bytes);
        let folder = self.folder.clone();
        // Not retried: an upload that dropped may have arrived; the run
        // that follows lists the folder and sees what did.
        let (imap, _) = self.session().await?;
        let done = imap.append(&folder, &raw).await;
        if done.is_err() {
            self.session = None;
        }
        Ok(done?)
    }

    async fn delete(&mut self, items: &[Item]) -> Result<()> {
        let uids: Vec<u32> = items.iter().map(|i| i.handle).collect();
        self.retrying(async |imap: &mut Imap, _| imap.delete(&uids).await)
            .await
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
