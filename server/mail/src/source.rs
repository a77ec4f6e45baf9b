//! Turning the paths given to `homepost import` into a stream of raw messages.
//!
//! A path may be a Maildir (its `cur` and `new` messages, then its Maildir++
//! `.Folder` subfolders and nested Maildirs), a file (an mbox if it starts
//! with `"From "`, else one message), or a plain directory, walked recursively
//! in name order for mail-looking files and Maildirs. The walk happens once,
//! up front, so the caller knows [`ImportSources::total_bytes`] for a progress
//! bar; files are read one at a time, and mbox files message by message.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use crate::maildir::{flag_tags, is_maildir};
use crate::mbox::MboxReader;

mod upload;
use upload::UploadMessages;
pub use upload::{MAX_MEMBER_BYTES, Upload, UploadReader};

/// Files above this size are not read as a single message: a real message
/// that large is vanishingly rare, and the file is more likely a misnamed
/// archive or disk image that would exhaust a small box's memory.
pub const MAX_MESSAGE_FILE_BYTES: u64 = 256 << 20;

/// Extensions (lowercase) of files imported from a plain directory.
const MAIL_EXTENSIONS: &[&str] = &["eml", "msg", "mbox", "mbx", "mail"];

/// Buffer size for reading mbox files.
const MBOX_BUFFER_BYTES: usize = 256 << 10;

/// One message read from an import source.
#[derive(Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// The message's raw RFC 5322 bytes.
    pub raw: Vec<u8>,
    /// Where it came from: the file path, or `path@offset` inside an mbox.
    pub origin: String,
    /// Its place in its mbox file, counting from 1 (`None` for a file that is
    /// one message): what `spam check` prints, as a mail client numbers them.
    pub mbox_number: Option<u64>,
    /// Tags from the Maildir flags in the file name (e.g. `read`, `flagged`).
    pub tags: Vec<String>,
    /// Bytes of input consumed so far over all sources, for a progress bar
    /// against [`ImportSources::total_bytes`].
    pub progress_bytes: u64,
    /// When its file was last modified (Unix seconds), for a file that is one
    /// message: the last fallback for its date (see [`crate::sort_date`]).
    pub file_time: Option<i64>,
}

impl std::fmt::Debug for RawMessage {
    // Message bytes are private mail: keep them out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawMessage")
            .field("len", &self.raw.len())
            .field("origin", &self.origin)
            .field("mbox_number", &self.mbox_number)
            .field("tags", &self.tags)
            .field("progress_bytes", &self.progress_bytes)
            .field("file_time", &self.file_time)
            .finish()
    }
}

/// A problem with one import path; the import goes on with the others.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A file or directory could not be read.
    #[error(
        "cannot read {}: {source}; check that it exists and that this user may read it, then import it again",
        path.display()
    )]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system reported.
        source: io::Error,
    },
    /// A file too large to be one message (and not an mbox) was left out.
    #[error(
        "skipped {}: {size} bytes is too large for one message (limit {MAX_MESSAGE_FILE_BYTES}); if it is a mailbox, convert it to mbox or Maildir",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
    },
    /// A path given explicitly is neither a regular file nor a directory.
    #[error(
        "skipped {}: not a regular file or directory; give an mbox file, a Maildir, .eml files or a directory of them",
        path.display()
    )]
    Unsupported {
        /// The path.
        path: PathBuf,
    },
}

/// A file the walk found, read when the iterator reaches it.
struct PlannedFile {
    path: PathBuf,
    size: u64,
    /// Tags from Maildir flags; empty outside Maildirs.
    tags: Vec<String>,
}

enum Step {
    File(PlannedFile),
    Upload(Upload),
    Failed(SourceError),
}

/// The mbox file being read message by message.
struct OpenMbox {
    path: PathBuf,
    reader: MboxReader<BufReader<File>>,
    tags: Vec<String>,
    /// Messages yielded from this file so far.
    yielded: u64,
    /// Progress bytes before this file.
    base: u64,
    size: u64,
}

/// An iterator over every message under the paths given to `homepost import`.
///
/// Yields `Err` for each path or file it cannot read and carries on, so one bad
/// file never stops an import. Empty files and empty mbox entries are skipped.
pub struct ImportSources {
    steps: std::vec::IntoIter<Step>,
    total: u64,
    consumed: u64,
    mbox: Option<OpenMbox>,
    upload: Option<UploadMessages>,
}

impl ImportSources {
    /// Walks `paths` (directories recursively) and plans what to read.
    pub fn new(paths: Vec<PathBuf>) -> Self {
        let mut steps = Vec::new();
        for path in paths {
            plan_explicit(path, &mut steps);
        }
        Self::from_steps(steps)
    }

    /// Reads files uploaded to the box (see [`Upload`] for what they may be).
    pub fn uploads(uploads: Vec<Upload>) -> Self {
        Self::from_steps(uploads.into_iter().map(Step::Upload).collect())
    }

    fn from_steps(steps: Vec<Step>) -> Self {
        let total = steps
            .iter()
            .map(|step| match step {
                Step::File(file) => file.size,
                Step::Upload(upload) => upload.size,
                Step::Failed(_) => 0,
            })
            .sum();
        ImportSources {
            steps: steps.into_iter(),
            total,
            consumed: 0,
            mbox: None,
            upload: None,
        }
    }

    /// The total size of the files that will be read, in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.total
    }

    /// Opens `file`: returns its message if it is a single message, or starts
    /// reading it as an mbox and returns `None`.
    fn open(&mut self, file: PlannedFile) -> Result<Option<RawMessage>, SourceError> {
        let io_error = |source| SourceError::Io {
            path: file.path.clone(),
            source,
        };
        let mut handle = File::open(&file.path).map_err(io_error)?;
        let mut raw = Vec::new();
        (&mut handle)
            .take(5)
            .read_to_end(&mut raw)
            .map_err(io_error)?;
        if raw == b"From " {
            handle.rewind().map_err(io_error)?;
            self.mbox = Some(OpenMbox {
                reader: MboxReader::new(BufReader::with_capacity(MBOX_BUFFER_BYTES, handle)),
                path: file.path,
                tags: file.tags,
                yielded: 0,
                base: self.consumed,
                size: file.size,
            });
            return Ok(None);
        }
        let metadata = handle.metadata().map_err(io_error)?;
        let size = metadata.len();
        let file_time = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok());
        if size > MAX_MESSAGE_FILE_BYTES {
            return Err(SourceError::TooLarge {
                path: file.path,
                size,
            });
        }
        raw.reserve(size.saturating_sub(raw.len() as u64) as usize);
        handle.read_to_end(&mut raw).map_err(io_error)?;
        self.consumed += file.size;
        if raw.is_empty() {
            return Ok(None);
        }
        Ok(Some(RawMessage {
            raw,
            origin: file.path.display().to_string(),
            mbox_number: None,
            tags: file.tags,
            progress_bytes: self.consumed,
            file_time,
        }))
    }

    /// The next message of the open mbox, if any; closes it at its end.
    fn next_from_mbox(&mut self) -> Option<Result<RawMessage, SourceError>> {
        let mbox = self.mbox.as_mut()?;
        loop {
            match mbox.reader.next() {
                Some(Ok(message)) if message.raw.is_empty() => continue,
                Some(Ok(message)) => {
                    mbox.yielded += 1;
                    return Some(Ok(RawMessage {
                        raw: message.raw,
                        origin: format!("{}@{}", mbox.path.display(), message.offset),
                        mbox_number: Some(mbox.yielded),
                        tags: mbox.tags.clone(),
                        progress_bytes: mbox.base + mbox.reader.bytes_read().min(mbox.size),
                        // One file holds them all: its time says nothing of each.
                        file_time: None,
                    }));
                }
                Some(Err(source)) => {
                    let path = mbox.path.clone();
                    // A skipped oversized message: the rest of the mbox is still read.
                    if source.kind() != std::io::ErrorKind::InvalidData {
                        self.close_mbox();
                    }
                    return Some(Err(SourceError::Io { path, source }));
                }
                None => {
                    self.close_mbox();
                    return None;
                }
            }
        }
    }

    fn close_mbox(&mut self) {
        if let Some(mbox) = self.mbox.take() {
            self.consumed = mbox.base + mbox.size;
        }
    }
}

impl Iterator for ImportSources {
    type Item = Result<RawMessage, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.next_from_mbox() {
                return Some(item);
            }
            if let Some(upload) = &mut self.upload {
                match upload.next() {
                    Some(item) => return Some(item),
                    None => {
                        self.consumed = upload.end();
                        self.upload = None;
                    }
                }
            }
            match self.steps.next()? {
                Step::Failed(error) => return Some(Err(error)),
                Step::Upload(upload) => {
                    self.upload = Some(UploadMessages::start(upload, self.consumed));
                }
                Step::File(file) => {
                    let size = file.size;
                    match self.open(file) {
                        Ok(Some(message)) => return Some(Ok(message)),
                        Ok(None) => {}
                        Err(error) => {
                            self.consumed += size;
                            return Some(Err(error));
                        }
                    }
                }
            }
        }
    }
}

/// Plans a path the user named: always imported if it is a file.
fn plan_explicit(path: PathBuf, steps: &mut Vec<Step>) {
    match fs::metadata(&path) {
        Err(source) => steps.push(Step::Failed(SourceError::Io { path, source })),
        Ok(meta) if meta.is_dir() => {
            if is_maildir(&path) {
                plan_maildir(&path, steps);
            } else {
                plan_directory(&path, steps);
            }
        }
        Ok(meta) if meta.is_file() => plan_file(path, meta.len(), Vec::new(), steps),
        Ok(_) => steps.push(Step::Failed(SourceError::Unsupported { path })),
    }
}

fn plan_file(path: PathBuf, size: u64, tags: Vec<String>, steps: &mut Vec<Step>) {
    if size > 0 {
        steps.push(Step::File(PlannedFile { path, size, tags }));
    }
}

/// An entry of a directory listing, with symlinks resolved.
struct Entry {
    path: PathBuf,
    name: String,
    is_dir: bool,
    size: u64,
}

/// Lists `dir` in name order, leaving out hidden entries, special files and
/// symlinks to directories (which could loop). Errors go into `steps`.
fn list(dir: &Path, steps: &mut Vec<Step>) -> Vec<Entry> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(source) => {
            steps.push(Step::Failed(SourceError::Io {
                path: dir.to_owned(),
                source,
            }));
            return Vec::new();
        }
    };
    let mut entries = Vec::new();
    for entry in read {
        let entry = match entry {
            Ok(entry) => entry,
            Err(source) => {
                steps.push(Step::Failed(SourceError::Io {
                    path: dir.to_owned(),
                    source,
                }));
                continue;
            }
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let is_symlink = entry.file_type().is_ok_and(|t| t.is_symlink());
        let meta = match fs::metadata(&path) {
            Ok(meta) => meta,
            Err(source) => {
                steps.push(Step::Failed(SourceError::Io { path, source }));
                continue;
            }
        };
        if meta.is_file() || (meta.is_dir() && !is_symlink) {
            entries.push(Entry {
                path,
                name,
                is_dir: meta.is_dir(),
                size: meta.len(),
            });
        }
    }
    entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    entries
}

/// Plans a Maildir: `cur` and `new` (not `tmp`, which holds deliveries in
/// progress), then subfolders that are Maildirs themselves: Maildir++
/// `.Folder`s and nested Maildirs (Dovecot's `LAYOUT=fs`, notmuch).
fn plan_maildir(dir: &Path, steps: &mut Vec<Step>) {
    for sub in ["cur", "new"] {
        let sub_dir = dir.join(sub);
        if !sub_dir.is_dir() {
            continue;
        }
        for entry in list(&sub_dir, steps) {
            if entry.is_dir {
                continue;
            }
            let tags = flag_tags(&entry.name)
                .into_iter()
                // Messages in new/ have not been seen by any client yet.
                .filter(|&tag| sub == "cur" || tag != "read")
                .map(str::to_owned)
                .collect();
            plan_file(entry.path, entry.size, tags, steps);
        }
    }
    let Ok(read) = fs::read_dir(dir) else {
        return; // Already reported when listing cur or new, or unreadable.
    };
    let mut folders: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            !matches!(name.to_str(), Some("cur" | "new" | "tmp" | "." | ".."))
                && entry.file_type().is_ok_and(|t| t.is_dir())
        })
        .map(|entry| entry.path())
        .filter(|path| is_maildir(path))
        .collect();
    folders.sort_unstable();
    for folder in folders {
        plan_maildir(&folder, steps);
    }
}

/// Plans a plain directory: mail-looking files, Maildirs, and recursively
/// other subdirectories.
fn plan_directory(dir: &Path, steps: &mut Vec<Step>) {
    for entry in list(dir, steps) {
        if entry.is_dir {
            if is_maildir(&entry.path) {
                plan_maildir(&entry.path, steps);
            } else {
                plan_directory(&entry.path, steps);
            }
        } else if looks_like_mail(&entry.name) {
            plan_file(entry.path, entry.size, Vec::new(), steps);
        }
    }
}

/// Whether a file found in a plain directory is worth reading: a mail
/// extension, no extension (mbox files, MH and notmuch messages), or an
/// all-digit name (MH).
fn looks_like_mail(name: &str) -> bool {
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

#[cfg(test)]
mod tests;
