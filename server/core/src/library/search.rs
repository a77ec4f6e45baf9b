//! Searching and counting, with a damaged index rebuilt from the store.

use homepost_search::{Error as IndexError, Query, SearchOptions};
use homepost_store::MessageSummary;

use super::{Library, LibraryError, Result, Searcher};

impl Library {
    /// Searches and returns the total number of matches and one page of them.
    /// A damaged index is rebuilt from the store and the search retried once.
    pub async fn search(
        &mut self,
        query: &str,
        opts: &SearchOptions,
    ) -> Result<(usize, Vec<MessageSummary>)> {
        let parsed = homepost_search::parse(query).map_err(IndexError::from)?;
        match self.search_parsed(&parsed, opts).await {
            Err(LibraryError::Index(IndexError::Corrupt(reason))) => {
                tracing::warn!(%reason, "search index damaged; rebuilding it from the store");
                self.reindex().await?;
                self.search_parsed(&parsed, opts).await
            }
            other => other,
        }
    }

    /// Runs a parsed query through a shared reference, so that many searches can run
    /// at once. A damaged index is reported as [`IndexError::Corrupt`]: the caller
    /// rebuilds it with [`reindex`](Self::reindex).
    ///
    /// See [`Searcher::search`].
    pub async fn search_parsed(
        &self,
        query: &Query,
        opts: &SearchOptions,
    ) -> Result<(usize, Vec<MessageSummary>)> {
        self.searcher().search(query, opts).await
    }

    /// A handle that searches without borrowing the library, so that a caller can
    /// let go of a lock around it (lock and unlock must not wait for searches).
    pub fn searcher(&self) -> Searcher {
        Searcher::new(
            self.index.snapshot(),
            self.store.clone(),
            self.searches.clone(),
        )
    }

    /// Number of messages matching `query`. A damaged index is rebuilt from the
    /// store and the count retried once.
    pub async fn count(&mut self, query: &str) -> Result<usize> {
        match self.index.count(query) {
            Err(IndexError::Corrupt(reason)) => {
                tracing::warn!(%reason, "search index damaged; rebuilding it from the store");
                self.reindex().await?;
                Ok(self.index.count(query)?)
            }
            other => Ok(other?),
        }
    }
}
