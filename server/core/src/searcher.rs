//! Searching apart from the [`Library`](crate::library::Library): a handle that a
//! caller can use after letting go of the lock around the library.

use homepost_store::{MessageSummary, Store};

use crate::library::Result;
use homepost_search::{Error as IndexError, Query, SearchOptions};

/// Searches the index as committed and reads the summaries of the hits, apart
/// from the [`Library`](crate::library::Library) (see
/// [`Library::searcher`](crate::library::Library::searcher)).
pub struct Searcher {
    snapshot: homepost_search::SearchSnapshot,
    store: Store,
    slots: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Searcher {
    pub(crate) fn new(
        snapshot: homepost_search::SearchSnapshot,
        store: Store,
        slots: std::sync::Arc<tokio::sync::Semaphore>,
    ) -> Searcher {
        Searcher {
            snapshot,
            store,
            slots,
        }
    }

    /// Runs a parsed query and returns the number of matches and one page of
    /// summaries. A damaged index is reported as [`IndexError::Corrupt`]: the
    /// caller rebuilds it with
    /// [`Library::reindex`](crate::library::Library::reindex).
    ///
    /// The index is searched on a blocking thread, and at most all cores but one
    /// search at once (the slot goes with the thread, so a search whose caller
    /// went away still holds it until it ends): slow queries hold no async worker
    /// and leave a core free, so status, unlock and other requests keep being
    /// answered.
    pub async fn search(
        &self,
        query: &Query,
        opts: &SearchOptions,
    ) -> Result<(usize, Vec<MessageSummary>)> {
        let (total, ids) = self.ids(query, opts).await?;
        Ok((total, self.store.summaries(&ids).await?))
    }

    /// Runs a parsed query and returns the number of matches and one page of
    /// message ids (see [`Searcher::search`]).
    pub async fn ids(&self, query: &Query, opts: &SearchOptions) -> Result<(usize, Vec<i64>)> {
        let (query, opts) = (query.clone(), *opts);
        let found = self
            .blocking(move |snapshot| snapshot.search_query(&query, &opts))
            .await?;
        let ids = found
            .ids
            .iter()
            .filter_map(|&id| i64::try_from(id).ok())
            .collect();
        Ok((found.total, ids))
    }

    /// Number of messages matching a parsed query, counted on a blocking
    /// thread like [`Searcher::ids`].
    pub async fn count(&self, query: &Query) -> Result<usize> {
        let query = query.clone();
        Ok(self
            .blocking(move |snapshot| snapshot.count(&query))
            .await?)
    }

    /// Runs `work` on the snapshot on a blocking thread, holding a search slot.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&homepost_search::SearchSnapshot) -> Result<T, IndexError> + Send + 'static,
    ) -> Result<T, IndexError> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| IndexError::Io(std::io::Error::other(e)))?;
        let snapshot = self.snapshot.clone();
        tokio::task::spawn_blocking(move || {
            let done = work(&snapshot);
            drop(slot);
            done
        })
        .await
        .map_err(|e| IndexError::Io(std::io::Error::other(format!("the search failed: {e}"))))?
    }

    /// The generation of the committed index searched (see
    /// [`SearchSnapshot::generation`](homepost_search::SearchSnapshot::generation)).
    pub fn generation(&self) -> u64 {
        self.snapshot.generation()
    }

    /// The store the hits are read from.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// How many searches run at once: all cores but one, at least one.
pub(crate) fn search_slots() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1))
        .max(1)
}

/// Searches the shared library without holding its lock while the search runs
/// (locking, unlocking and the idle reaper never wait behind searches). A
/// damaged index is rebuilt from the store under the write lock and the search
/// retried once. `Ok(None)`: the library is locked (or was locked meanwhile).
pub async fn search_shared(
    library: &crate::sink::SharedLibrary,
    query: &Query,
    opts: &SearchOptions,
) -> Result<Option<(usize, Vec<MessageSummary>)>> {
    with_searcher(library, async |s: &Searcher| s.search(query, opts).await).await
}

/// Runs `run` with a [`Searcher`] of the shared library, holding no lock while
/// it runs; a damaged index is rebuilt and `run` tried once more (see
/// [`search_shared`]). `Ok(None)`: the library is locked.
pub async fn with_searcher<T>(
    library: &crate::sink::SharedLibrary,
    run: impl AsyncFn(&Searcher) -> Result<T>,
) -> Result<Option<T>> {
    let Some(searcher) = library
        .read()
        .await
        .as_ref()
        .map(super::library::Library::searcher)
    else {
        return Ok(None);
    };
    let found = run(&searcher).await;
    drop(searcher);
    match found {
        Err(crate::library::LibraryError::Index(IndexError::Corrupt(reason))) => {
            tracing::warn!(%reason, "search index damaged; rebuilding it from the store");
            let mut guard = library.write().await;
            let Some(lib) = guard.as_mut() else {
                return Ok(None);
            };
            lib.reindex().await?;
            run(&lib.searcher()).await.map(Some)
        }
        // Locked while searching: the index went away under the search.
        Err(_) if library.read().await.is_none() => Ok(None),
        other => other.map(Some),
    }
}
