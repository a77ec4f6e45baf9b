//! The transport's sink: fetched mail goes through the library's import
//! pipeline, server-side flag changes become tag changes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use homepost_mail::RawMessage;
use homepost_store::Inserted;
use homepost_transport::{BoxFuture, FlagChange, Sink, SinkError};
use tokio::sync::RwLock;

use crate::library::{Library, ParsedAhead};

/// The library shared between the transport and whoever else uses it (`None`
/// while locked).
pub type SharedLibrary = Arc<RwLock<Option<Library>>>;

/// Delivers into a shared library; while it is locked, deliveries fail with
/// [`SinkError::Locked`] and the mail stays on the server.
pub struct LibrarySink {
    library: SharedLibrary,
    now: fn() -> i64,
    /// The next batch, parsed while the one before it was stored.
    ahead: Mutex<Option<ParsedAhead>>,
    /// Whether the spam filter classified the last batch (so the next is
    /// tokenized ahead too).
    tokenize: AtomicBool,
}

impl LibrarySink {
    /// A sink into `library`, stamping arrivals with the clock.
    pub fn new(library: SharedLibrary) -> LibrarySink {
        Self::with_clock(library, crate::unix_now)
    }

    /// A sink whose clock is fixed (tests).
    pub fn with_clock(library: SharedLibrary, now: fn() -> i64) -> LibrarySink {
        LibrarySink {
            library,
            now,
            ahead: Mutex::new(None),
            tokenize: AtomicBool::new(true),
        }
    }
}

impl Sink for LibrarySink {
    fn deliver(&self, messages: Vec<RawMessage>) -> BoxFuture<'_, Result<Vec<i64>, SinkError>> {
        Box::pin(async move {
            let ahead = self.ahead.lock().ok().and_then(|mut a| a.take());
            let mut guard = self.library.write().await;
            let lib = guard.as_mut().ok_or(SinkError::Locked)?;
            let out = lib
                .store_fetched_parsed(messages, ahead, (self.now)())
                .await
                .map_err(|e| SinkError::Failed(e.to_string()))?;
            self.tokenize
                .store(lib.classifies_fetched(), Ordering::Relaxed);
            Ok(out
                .into_iter()
                .map(|i| match i {
                    Inserted::New(id) | Inserted::Duplicate(id) => id,
                })
                .collect())
        })
    }

    fn prepare<'a>(&'a self, messages: &'a [RawMessage]) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if messages.is_empty() {
                return;
            }
            let copy = messages.to_vec();
            let tokenize = self.tokenize.load(Ordering::Relaxed);
            // Parsing is CPU work: off the async threads. Should it fail, the
            // delivery parses the messages itself.
            let parsed =
                tokio::task::spawn_blocking(move || ParsedAhead::new(&copy, tokenize)).await;
            if let (Ok(parsed), Ok(mut ahead)) = (parsed, self.ahead.lock()) {
                *ahead = Some(parsed);
            }
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
