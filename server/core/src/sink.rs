//! The transport's sink: fetched mail goes through the library's import
//! pipeline, server-side flag changes become tag changes.

use std::sync::Arc;

use homepost_mail::RawMessage;
use homepost_store::Inserted;
use homepost_transport::{BoxFuture, FlagChange, Prepared, Sink, SinkError};
use tokio::sync::RwLock;

use crate::library::{Library, ReadyBatch};
use crate::spam::BatchClassifier;

/// The library shared between the transport and whoever else uses it (`None`
/// while locked).
pub type SharedLibrary = Arc<RwLock<Option<Library>>>;

/// Delivers into a shared library; while it is locked, deliveries fail with
/// [`SinkError::Locked`] and the mail stays on the server.
pub struct LibrarySink {
    library: SharedLibrary,
    now: fn() -> i64,
    /// The spam classifier that prepares fetched batches, with the counts it
    /// read: kept from batch to batch, as they share their headers and common
    /// words. Outside the library so that the next batch is prepared while
    /// the library is busy storing this one; it goes when the transport
    /// holding this sink stops (the vault locking).
    classifier: std::sync::Mutex<Option<BatchClassifier>>,
}

impl LibrarySink {
    /// A sink into `library`, stamping arrivals with the clock.
    pub fn new(library: SharedLibrary) -> LibrarySink {
        LibrarySink {
            library,
            now: crate::unix_now,
            classifier: std::sync::Mutex::default(),
        }
    }

    /// A sink whose clock is fixed (tests).
    pub fn with_clock(library: SharedLibrary, now: fn() -> i64) -> LibrarySink {
        LibrarySink {
            library,
            now,
            classifier: std::sync::Mutex::default(),
        }
    }

    /// The kept classifier, if any, taken out.
    fn take_classifier(&self) -> Option<BatchClassifier> {
        self.classifier
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// Each stored message's id, new or already there.
fn ids(stored: Vec<Inserted>) -> Vec<i64> {
    stored
        .into_iter()
        .map(|i| match i {
            Inserted::New(id) | Inserted::Duplicate(id) => id,
        })
        .collect()
}

fn failed(e: impl std::fmt::Display) -> SinkError {
    SinkError::Failed(e.to_string())
}

impl Sink for LibrarySink {
    fn deliver(&self, messages: Vec<RawMessage>) -> BoxFuture<'_, Result<Vec<i64>, SinkError>> {
        Box::pin(async move {
            let mut guard = self.library.write().await;
            let lib = guard.as_mut().ok_or(SinkError::Locked)?;
            let out = lib
                .store_fetched(messages, (self.now)())
                .await
                .map_err(failed)?;
            Ok(ids(out))
        })
    }

    fn prepare(&self, messages: Vec<RawMessage>) -> BoxFuture<'_, Result<Prepared, SinkError>> {
        Box::pin(async move {
            let kept = self.take_classifier();
            let classifier = match kept {
                Some(c) => c,
                // Only the first batch waits for the library.
                None => {
                    let guard = self.library.read().await;
                    let lib = guard.as_ref().ok_or(SinkError::Locked)?;
                    lib.classifier().await.map_err(failed)?
                }
            };
            let (batch, classifier) = ReadyBatch::prepare(messages, classifier)
                .await
                .map_err(failed)?;
            *self
                .classifier
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(classifier);
            Ok(Prepared::new(batch))
        })
    }

    fn deliver_prepared(&self, prepared: Prepared) -> BoxFuture<'_, Result<Vec<i64>, SinkError>> {
        Box::pin(async move {
            let batch = prepared.take::<ReadyBatch>()?;
            let mut guard = self.library.write().await;
            let Some(lib) = guard.as_mut() else {
                // Locked: what was kept for the library goes with it.
                drop(self.take_classifier());
                return Err(SinkError::Locked);
            };
            let out = lib
                .store_prepared(batch, (self.now)())
                .await
                .map_err(failed)?;
            Ok(ids(out))
        })
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            let mut guard = self.library.write().await;
            let lib = guard.as_mut().ok_or(SinkError::Locked)?;
            lib.flush_delivered().await.map_err(failed)
        })
    }

    fn apply_flags(&self, changes: Vec<FlagChange>) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move {
            let mut guard = self.library.write().await;
            let lib = guard.as_mut().ok_or(SinkError::Locked)?;
            lib.apply_flag_changes(&changes).await.map_err(failed)
        })
    }
}
