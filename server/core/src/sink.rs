//! The transport's sink: fetched mail goes through the library's import
//! pipeline, server-side flag changes become tag changes.

use std::sync::Arc;

use homepost_mail::RawMessage;
use homepost_store::Inserted;
use homepost_transport::{BoxFuture, FlagChange, Sink, SinkError};
use tokio::sync::RwLock;

use crate::library::Library;

/// The library shared between the transport and whoever else uses it (`None`
/// while locked).
pub type SharedLibrary = Arc<RwLock<Option<Library>>>;

/// Delivers into a shared library; while it is locked, deliveries fail with
/// [`SinkError::Locked`] and the mail stays on the server.
pub struct LibrarySink {
    library: SharedLibrary,
    now: fn() -> i64,
}

impl LibrarySink {
    /// A sink into `library`, stamping arrivals with the clock.
    pub fn new(library: SharedLibrary) -> LibrarySink {
        LibrarySink {
            library,
            now: crate::unix_now,
        }
    }

    /// A sink whose clock is fixed (tests).
    pub fn with_clock(library: SharedLibrary, now: fn() -> i64) -> LibrarySink {
        LibrarySink { library, now }
    }
}

impl Sink for LibrarySink {
    fn deliver(&self, messages: Vec<RawMessage>) -> BoxFuture<'_, Result<Vec<i64>, SinkError>> {
        Box::pin(async move {
            let mut guard = self.library.write().await;
            let lib = guard.as_mut().ok_or(SinkError::Locked)?;
            let out = lib
                .store_fetched(messages, (self.now)())
                .await
                .map_err(|e| SinkError::Failed(e.to_string()))?;
            Ok(out
                .into_iter()
                .map(|i| match i {
                    Inserted::New(id) | Inserted::Duplicate(id) => id,
                })
                .collect())
        })
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            let mut guard = self.library.write().await;
            let lib = guard.as_mut().ok_or(SinkError::Locked)?;
            lib.flush_delivered()
                .await
                .map_err(|e| SinkError::Failed(e.to_string()))
        })
    }

    fn apply_flags(&self, changes: Vec<FlagChange>) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            let mut guard = self.library.write().await;
            let lib = guard.as_mut().ok_or(SinkError::Locked)?;
            lib.apply_flag_changes(&changes)
                .await
                .map_err(|e| SinkError::Failed(e.to_string()))
        })
    }
}
