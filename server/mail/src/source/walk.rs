//! The walk over the paths given to `homepost import`, one file at a time.
//!
//! Only the directories on the way down are held, each as its sorted names in
//! one buffer: a Maildir of a million messages costs about 45 bytes per name
//! while its folder is read, not a path, a name and a plan per message for the
//! whole import (which was 300 MB at 10^6).

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{MAIL_EXTENSIONS, SourceError};
use crate::maildir::{flag_tags, is_maildir};

/// A file the walk found, read when the import reaches it.
pub(super) struct PlannedFile {
    pub(super) path: PathBuf,
    pub(super) size: u64,
    /// Tags from Maildir flags; empty outside Maildirs.
    pub(super) tags: Vec<String>,
}

/// Files in walk order, and the errors met on the way, lazily.
pub(super) struct Walk {
    /// What is left to do, the next on top.
    stack: Vec<Pending>,
}

enum Pending {
    /// A path the user named: a file is always imported.
    Explicit(PathBuf),
    /// A Maildir, not yet listed: `cur`, `new`, then its subfolders.
    Maildir(PathBuf),
    /// A plain directory, not yet listed.
    Directory(PathBuf),
    /// A directory being walked.
    Listed(Listing),
}

/// What a listing is of, which says what its entries become.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A Maildir's `cur` (`true`) or `new`: its files are messages.
    MaildirFiles { cur: bool },
    /// A Maildir's subfolders that are Maildirs (Maildir++ `.Folder`s and nested).
    MaildirFolders,
    /// A plain directory: mail-looking files, and subdirectories.
    Plain,
}

/// One directory's entries in name order, their names in one buffer.
struct Listing {
    dir: PathBuf,
    kind: Kind,
    names: Vec<u8>,
    entries: Vec<Entry>,
    next: usize,
    /// Entries that could not be read, reported before the others.
    errors: Vec<SourceError>,
}

#[derive(Clone, Copy)]
struct Entry {
    start: u32,
    /// A file name is at most 255 bytes on the systems Homepost runs on.
    len: u16,
    is_dir: bool,
}

impl Walk {
    /// A walk over `paths`, in the order given.
    pub(super) fn new(paths: &[PathBuf]) -> Self {
        Walk {
            stack: paths.iter().rev().cloned().map(Pending::Explicit).collect(),
        }
    }
}

impl Iterator for Walk {
    type Item = Result<PlannedFile, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.stack.pop()? {
                Pending::Explicit(path) => match fs::metadata(&path) {
                    Err(source) => return Some(Err(SourceError::Io { path, source })),
                    Ok(meta) if meta.is_dir() => self.stack.push(descend(path)),
                    Ok(meta) if meta.is_file() => {
                        if meta.len() > 0 {
                            return Some(Ok(PlannedFile {
                                path,
                                size: meta.len(),
                                tags: Vec::new(),
                            }));
                        }
                    }
                    Ok(_) => return Some(Err(SourceError::Unsupported { path })),
                },
                Pending::Maildir(dir) => {
                    // Pushed in reverse: cur, then new, then the subfolders.
                    for (kind, sub) in [
                        (Kind::MaildirFolders, None),
                        (Kind::MaildirFiles { cur: false }, Some("new")),
                        (Kind::MaildirFiles { cur: true }, Some("cur")),
                    ] {
                        let listed = match sub {
                            Some(sub) => {
                                let sub_dir = dir.join(sub);
                                if !sub_dir.is_dir() {
                                    continue;
                                }
                                Listing::read(sub_dir, kind)
                            }
                            None => Listing::read(dir.clone(), kind),
                        };
                        match listed {
                            Ok(listing) => self.stack.push(Pending::Listed(listing)),
                            // The folder itself was reported when listing cur or new.
                            Err(_) if kind == Kind::MaildirFolders => {}
                            Err(error) => return Some(Err(error)),
                        }
                    }
                }
                Pending::Directory(dir) => match Listing::read(dir, Kind::Plain) {
                    Ok(listing) => self.stack.push(Pending::Listed(listing)),
                    Err(error) => return Some(Err(error)),
                },
                Pending::Listed(mut listing) => {
                    if let Some(error) = listing.errors.pop() {
                        self.stack.push(Pending::Listed(listing));
                        return Some(Err(error));
                    }
                    let Some((path, is_dir)) = listing.next_entry() else {
                        continue;
                    };
                    let kind = listing.kind;
                    self.stack.push(Pending::Listed(listing));
                    match kind {
                        Kind::MaildirFolders => self.stack.push(Pending::Maildir(path)),
                        Kind::Plain if is_dir => self.stack.push(descend(path)),
                        Kind::Plain => {
                            let mail = path
                                .file_name()
                                .is_some_and(|name| looks_like_mail(&name.to_string_lossy()));
                            if mail && let Some(found) = planned(path, Vec::new()) {
                                return Some(found);
                            }
                        }
                        Kind::MaildirFiles { cur } => {
                            let name = path
                                .file_name()
                                .map(OsStr::to_string_lossy)
                                .unwrap_or_default();
                            let tags = flag_tags(&name)
                                .into_iter()
                                // Messages in new/ have not been seen by any client yet.
                                .filter(|&tag| cur || tag != "read")
                                .map(str::to_owned)
                                .collect();
                            if let Some(found) = planned(path, tags) {
                                return Some(found);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A directory to walk: as a Maildir if it is one.
fn descend(dir: PathBuf) -> Pending {
    if is_maildir(&dir) {
        Pending::Maildir(dir)
    } else {
        Pending::Directory(dir)
    }
}

/// The file at `path` with its size, `None` if it is empty.
fn planned(path: PathBuf, tags: Vec<String>) -> Option<Result<PlannedFile, SourceError>> {
    match fs::metadata(&path) {
        Ok(meta) if meta.len() == 0 => None,
        Ok(meta) => Some(Ok(PlannedFile {
            path,
            size: meta.len(),
            tags,
        })),
        Err(source) => Some(Err(SourceError::Io { path, source })),
    }
}

impl Listing {
    /// Lists `dir` in name order, leaving out what `kind` does not walk: hidden
    /// entries (but Maildir++ folders, which are hidden), special files, symlinks
    /// to directories (which could loop) and, in a Maildir, `cur`, `new`, `tmp`
    /// and subfolders that are not Maildirs. Entries that cannot be read are
    /// kept as errors; the directory itself unreadable is an error.
    fn read(dir: PathBuf, kind: Kind) -> Result<Listing, SourceError> {
        let io_error = |source| SourceError::Io {
            path: dir.clone(),
            source,
        };
        let mut names = Vec::new();
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_error)? {
            let entry = match entry {
                Ok(entry) => entry,
                Err(source) => {
                    errors.push(io_error(source));
                    continue;
                }
            };
            let name = entry.file_name();
            let bytes = name.as_bytes();
            let file_type = match entry.file_type() {
                Ok(file_type) => file_type,
                Err(source) => {
                    errors.push(SourceError::Io {
                        path: entry.path(),
                        source,
                    });
                    continue;
                }
            };
            let is_dir = match kind {
                Kind::MaildirFolders => {
                    if !file_type.is_dir()
                        || matches!(bytes, b"cur" | b"new" | b"tmp")
                        || !is_maildir(&entry.path())
                    {
                        continue;
                    }
                    true
                }
                Kind::MaildirFiles { .. } | Kind::Plain => {
                    if bytes.first() == Some(&b'.') {
                        continue;
                    }
                    let is_dir = if file_type.is_symlink() {
                        // Followed to a file; never to a directory.
                        match fs::metadata(entry.path()) {
                            Ok(meta) if meta.is_file() => false,
                            Ok(_) => continue,
                            Err(source) => {
                                errors.push(SourceError::Io {
                                    path: entry.path(),
                                    source,
                                });
                                continue;
                            }
                        }
                    } else if file_type.is_file() {
                        false
                    } else if file_type.is_dir() {
                        true
                    } else {
                        continue;
                    };
                    if is_dir && kind != Kind::Plain {
                        continue;
                    }
                    is_dir
                }
            };
            let (Ok(start), Ok(len)) = (u32::try_from(names.len()), u16::try_from(bytes.len()))
            else {
                return Err(io_error(std::io::Error::other(
                    "too many names in one directory to list",
                )));
            };
            names.extend_from_slice(bytes);
            entries.push(Entry { start, len, is_dir });
        }
        let name = |e: &Entry| &names[e.start as usize..e.start as usize + usize::from(e.len)];
        entries.sort_unstable_by(|a, b| name(a).cmp(name(b)));
        // Taken from the end.
        errors.reverse();
        Ok(Listing {
            dir,
            kind,
            names,
            entries,
            next: 0,
            errors,
        })
    }

    /// The next entry's path and whether it is a directory.
    fn next_entry(&mut self) -> Option<(PathBuf, bool)> {
        let entry = *self.entries.get(self.next)?;
        self.next += 1;
        let start = entry.start as usize;
        let name = OsStr::from_bytes(&self.names[start..start + usize::from(entry.len)]);
        Some((self.dir.join(name), entry.is_dir))
    }
}

/// Whether a file found in a plain directory is worth reading: a mail
/// extension, no extension (mbox files, MH and notmuch messages), or an
/// all-digit name (MH).
pub(super) fn looks_like_mail(name: &str) -> bool {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    match Path::new(name).extension().and_then(|ext| ext.to_str()) {
        None => true,
        Some(ext) => MAIL_EXTENSIONS
            .iter()
            .any(|known| ext.eq_ignore_ascii_case(known)),
    }
}
