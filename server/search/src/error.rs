//! The crate's error type.

use std::io;

use tantivy::TantivyError;
use tantivy::directory::error::{LockError, OpenReadError};

use crate::query::QueryError;

/// Errors of the search index, in the cases a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The query is not valid syntax; show the message (it names the position).
    #[error("invalid search: {0}")]
    Query(#[from] QueryError),
    /// The index is damaged (a file fails authentication, is missing or malformed).
    /// It is derived data: clear it and feed every message again.
    #[error("the search index is damaged: {0}")]
    Corrupt(String),
    /// Another process holds the index writer lock; try again later, or search only.
    #[error("the search index is being written by another process")]
    Busy,
    /// The disk is full: nothing committed was lost; free space and go on.
    #[error("the disk is full: the search index cannot grow (free some space; nothing was lost)")]
    DiskFull,
    /// Reading or writing the index directory failed (permissions, a device error).
    #[error("search index I/O error: {0}")]
    Io(io::Error),
    /// Any other error of the index engine.
    #[error("search index error: {0}")]
    Tantivy(#[source] TantivyError),
}

impl From<TantivyError> for Error {
    /// Sorts tantivy's errors into the cases above: authentication failures surface
    /// from the encrypted directory as `InvalidData` I/O errors and mean corruption.
    fn from(e: TantivyError) -> Self {
        match e {
            TantivyError::DataCorruption(d) => Error::Corrupt(format!("{d:?}")),
            TantivyError::LockFailure(LockError::LockBusy, _) => Error::Busy,
            TantivyError::LockFailure(LockError::IoError(io), _) | TantivyError::IoError(io) => {
                from_io(&io)
            }
            TantivyError::OpenReadError(OpenReadError::IoError { io_error, .. }) => {
                from_io(&io_error)
            }
            TantivyError::OpenReadError(
                e @ (OpenReadError::FileDoesNotExist(_) | OpenReadError::IncompatibleIndex(_)),
            ) => Error::Corrupt(e.to_string()),
            TantivyError::IncompatibleIndex(i) => Error::Corrupt(format!("{i:?}")),
            TantivyError::DeserializeError(d) => Error::Corrupt(d.to_string()),
            other if caused_by_full_disk(&other) => Error::DiskFull,
            other => Error::Tantivy(other),
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        if is_full(&e) {
            Error::DiskFull
        } else {
            Error::Io(e)
        }
    }
}

/// Whether `e` says the disk is full (also when it was rebuilt from a message
/// on the way up, losing its kind).
fn is_full(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::StorageFull || e.to_string().contains("(os error 28)")
}

/// Whether a full disk is among the causes of `e` (tantivy wraps the I/O
/// error of a write in several ways, some only as text).
fn caused_by_full_disk(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<io::Error>()
            && is_full(io)
        {
            return true;
        }
        cause = c.source();
    }
    e.to_string().contains("(os error 28)")
}

fn from_io(e: &io::Error) -> Error {
    if is_full(e) {
        Error::DiskFull
    } else if e.kind() == io::ErrorKind::InvalidData {
        Error::Corrupt(e.to_string())
    } else {
        Error::Io(io::Error::new(e.kind(), e.to_string()))
    }
}
