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
    /// Reading or writing the index directory failed (permissions, disk full).
    #[error("search index I/O error: {0}")]
    Io(#[from] io::Error),
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
            other => Error::Tantivy(other),
        }
    }
}

fn from_io(e: &io::Error) -> Error {
    if e.kind() == io::ErrorKind::InvalidData {
        Error::Corrupt(e.to_string())
    } else {
        Error::Io(io::Error::new(e.kind(), e.to_string()))
    }
}
