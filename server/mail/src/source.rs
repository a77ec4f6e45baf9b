//! Turning the paths given to `homepost import` into a stream of raw messages.
//!
//! A path may be a Maildir (its `cur` and `new` messages, then its Maildir++
//! `.Folder` subfolders and nested Maildirs), a file (an mbox if it starts
//! with `"From "`, else one message), or a plain directory, walked recursively
//! in name order for mail-looking files and Maildirs. The walk happens twice:
//! once up front, counting, so the caller knows [`ImportSources::total_bytes`]
//! for a progress bar, then as files are read one at a time (mbox files message
//! by message); neither keeps more than the directories on the way down.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::PathBuf;

use crate::mbox::MboxReader;

mod upload;
mod walk;
use upload::UploadMessages;
pub use upload::{MAX_MEMBER_BYTES, Upload, UploadReader};
use walk::{PlannedFile, Walk, looks_like_mail};

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
    walk: Walk,
    uploads: std::vec::IntoIter<Upload>,
    total: u64,
    consumed: u64,
    mbox: Option<OpenMbox>,
    upload: Option<UploadMessages>,
}

impl ImportSources {
    /// Walks `paths` (directories recursively), counting what there is to read.
    pub fn new(paths: Vec<PathBuf>) -> Self {
        let total = Walk::new(&paths)
            .filter_map(Result::ok)
            .map(|f| f.size)
            .sum();
        ImportSources {
            walk: Walk::new(&paths),
            uploads: Vec::new().into_iter(),
            total,
            consumed: 0,
            mbox: None,
            upload: None,
        }
    }

    /// Reads files uploaded to the box (see [`Upload`] for what they may be).
    pub fn uploads(uploads: Vec<Upload>) -> Self {
        ImportSources {
            walk: Walk::new(&[]),
            total: uploads.iter().map(|upload| upload.size).sum(),
            uploads: uploads.into_iter(),
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
            if let Some(upload) = self.uploads.next() {
                self.upload = Some(UploadMessages::start(upload, self.consumed));
                continue;
            }
            let file = match self.walk.next()? {
                Ok(file) => file,
                Err(error) => return Some(Err(error)),
            };
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

#[cfg(test)]
mod tests;
