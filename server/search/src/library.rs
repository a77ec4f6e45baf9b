//! The mail library: the store and the search index kept in step.
//!
//! The store is the source of truth; the index is derived from it. A message is
//! committed to the store first (marked unindexed), then to the index, and only
//! after the index commit is it marked indexed. A crash anywhere in between leaves
//! rows marked unindexed, which the next [`Library::open`] indexes again; a
//! missing, foreign or corrupt index is rebuilt from the store.

use std::path::Path;

use homepost_mail::{Address, ImportSources, ParsedMessage, RawMessage, parse};
use homepost_store::{Inserted, MessageSummary, NewMessage, PendingIndex, Store, normalize_tag};
use homepost_vault::{Purpose, Vault};

use crate::{Error as IndexError, IndexDoc, OpenOutcome, Query, SearchIndex, SearchOptions};

/// The index directory inside the data directory.
pub const INDEX_DIR: &str = "index";
/// The store file inside the data directory.
pub use homepost_store::DB_FILE;

/// Most messages per store transaction during import.
const BATCH: usize = 250;
/// Most raw bytes per store transaction: with the channel's bound, this keeps
/// memory flat whatever the sizes of the messages.
const BATCH_BYTES: usize = 2 << 20;
/// Index commits during a long import, so a crash loses at most this much index work.
const COMMIT_EVERY: usize = 20_000;

/// Errors of the library.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] homepost_store::Error),
    /// The index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// A message id that does not exist.
    #[error("no message with id {0}")]
    NoSuchMessage(i64),
}

type Result<T, E = LibraryError> = std::result::Result<T, E>;

/// Counts of an import.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ImportStats {
    /// New messages stored.
    pub imported: u64,
    /// Messages whose exact bytes were already stored.
    pub duplicates: u64,
    /// Messages stored although they did not parse cleanly (included in `imported`
    /// or `duplicates`).
    pub malformed: u64,
    /// Files or messages that could not be read, with the reason.
    pub unreadable: Vec<String>,
}

/// Progress of a running import, reported after every batch.
#[derive(Debug, Clone, Copy)]
pub struct ImportProgress {
    /// Input bytes consumed so far.
    pub bytes: u64,
    /// Total input bytes.
    pub total_bytes: u64,
    /// Messages read so far.
    pub messages: u64,
}

/// The store and the index of one data directory, unlocked.
pub struct Library {
    store: Store,
    index: SearchIndex,
}

impl Library {
    /// Opens the store and the index of `data_dir` with keys from `vault`, and brings
    /// the index up to date with the store (rebuilding it if it is missing or damaged).
    pub async fn open(data_dir: &Path, vault: &Vault) -> Result<Library> {
        let store = Store::open(&data_dir.join(DB_FILE), &vault.subkey(Purpose::Sqlcipher)).await?;
        match Self::open_index(store.clone(), data_dir, vault).await {
            Ok(lib) => Ok(lib),
            Err(e) => {
                store.close().await;
                Err(e)
            }
        }
    }

    async fn open_index(store: Store, data_dir: &Path, vault: &Vault) -> Result<Library> {
        let index_key = vault.subkey(Purpose::Index);
        let (index, outcome) = SearchIndex::open(&data_dir.join(INDEX_DIR), index_key.expose())?;
        if let OpenOutcome::Rebuilt { reason } = &outcome {
            tracing::warn!(%reason, "search index was unreadable; rebuilding it from the store");
        }
        let mut lib = Library { store, index };
        let known = lib.store.setting("index_id").await?;
        if !matches!(outcome, OpenOutcome::Opened) || known.as_deref() != Some(lib.index.index_id())
        {
            lib.store.mark_all_unindexed().await?;
            lib.store
                .set_setting("index_id", lib.index.index_id())
                .await?;
        }
        match lib.sync_index().await {
            // Another process (an import) holds the index writer: search what is there.
            Err(LibraryError::Index(IndexError::Busy)) => {}
            other => {
                other?;
            }
        }
        Ok(lib)
    }

    /// The store, for reads the library does not wrap.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Indexes every message the index has not committed yet. Returns how many.
    pub async fn sync_index(&mut self) -> Result<usize> {
        let mut done = 0;
        let mut after = 0;
        loop {
            let ids = self.store.pending_ids(after, 500).await?;
            let Some(&last) = ids.last() else { break };
            after = last;
            let mut states = Vec::with_capacity(ids.len());
            for &id in &ids {
                // Loaded one at a time: memory stays bounded whatever the message sizes.
                if let Some(p) = self.store.index_source(id).await? {
                    self.index.upsert(&doc_from_pending(&p))?;
                    states.push((id, p.version));
                }
            }
            self.index.commit()?;
            self.store.mark_indexed(&states).await?;
            done += ids.len();
        }
        Ok(done)
    }

    /// Drops the index contents and indexes every message again from the store.
    pub async fn reindex(&mut self) -> Result<usize> {
        // Queue every row first: a crash after the index is cleared must leave
        // rows to re-feed, never an empty index that believes it is complete.
        self.store.mark_all_unindexed().await?;
        self.index.clear()?;
        self.index.commit()?;
        self.sync_index().await
    }

    /// Imports every message `sources` yields. Unreadable inputs are counted and
    /// skipped; malformed mail is stored as far as it parses. Parsing runs on its own
    /// thread while this one writes.
    pub async fn import(
        &mut self,
        sources: ImportSources,
        default_tags: &[String],
        now: i64,
        mut on_progress: impl FnMut(ImportProgress),
    ) -> Result<ImportStats> {
        let total_bytes = sources.total_bytes();
        // The reader thread parses whole batches while this one stores the previous
        // batch; at most three batches (one read, one queued, one stored) are in memory.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<ParsedBatch>(1);
        let reader = std::thread::spawn(move || {
            let mut batch = ParsedBatch::default();
            let mut bytes = 0;
            for item in sources {
                match item {
                    Ok(raw) => {
                        bytes += raw.raw.len();
                        let parsed = parse(&raw.raw);
                        batch.messages.push((raw, parsed));
                    }
                    Err(e) => batch.unreadable.push(e.to_string()),
                }
                if batch.messages.len() >= BATCH || bytes >= BATCH_BYTES {
                    if tx.blocking_send(std::mem::take(&mut batch)).is_err() {
                        return;
                    }
                    bytes = 0;
                }
            }
            let _ = tx.blocking_send(batch);
        });

        let mut stats = ImportStats::default();
        let mut progress = ImportProgress {
            bytes: 0,
            total_bytes,
            messages: 0,
        };
        let mut uncommitted: Vec<(i64, i64)> = Vec::new();
        while let Some(batch) = rx.recv().await {
            stats.unreadable.extend(batch.unreadable);
            if batch.messages.is_empty() {
                continue;
            }
            self.store_batch(
                &batch.messages,
                default_tags,
                now,
                &mut stats,
                &mut uncommitted,
            )
            .await?;
            progress.messages += batch.messages.len() as u64;
            progress.bytes = batch
                .messages
                .last()
                .map_or(progress.bytes, |m| m.0.progress_bytes);
            if uncommitted.len() >= COMMIT_EVERY {
                self.commit_index(&mut uncommitted).await?;
            }
            on_progress(progress);
        }
        self.commit_index(&mut uncommitted).await?;
        if reader.join().is_err() {
            stats
                .unreadable
                .push("the mail reader thread failed; run the import again to finish it".into());
        }
        Ok(stats)
    }

    async fn store_batch(
        &mut self,
        batch: &[(RawMessage, ParsedMessage)],
        default_tags: &[String],
        now: i64,
        stats: &mut ImportStats,
        uncommitted: &mut Vec<(i64, i64)>,
    ) -> Result<()> {
        let tags: Vec<Vec<String>> = batch
            .iter()
            .map(|m| {
                let mut t: Vec<String> = default_tags
                    .iter()
                    .chain(m.0.tags.iter())
                    .filter_map(|t| normalize_tag(t).ok())
                    .collect();
                t.sort();
                t.dedup();
                t
            })
            .collect();
        let new: Vec<NewMessage<'_>> = batch
            .iter()
            .zip(&tags)
            .map(|(m, tags)| NewMessage {
                raw: &m.0.raw,
                parsed: &m.1,
                tags,
                origin: &m.0.origin,
            })
            .collect();
        let outcome = self.store.insert_batch(&new, now).await?;
        for ((m, tags), result) in batch.iter().zip(&tags).zip(outcome) {
            if m.1.malformed {
                stats.malformed += 1;
            }
            match result {
                Inserted::Duplicate(_) => stats.duplicates += 1,
                Inserted::New(id) => {
                    stats.imported += 1;
                    let doc = index_doc(id, &m.0.raw, &m.1, m.1.date.unwrap_or(now), tags.clone());
                    self.index.upsert(&doc)?;
                    // A new row's version is 0.
                    uncommitted.push((id, 0));
                }
            }
        }
        Ok(())
    }

    async fn commit_index(&mut self, uncommitted: &mut Vec<(i64, i64)>) -> Result<()> {
        if uncommitted.is_empty() {
            return Ok(());
        }
        self.index.commit()?;
        self.store.mark_indexed(uncommitted).await?;
        uncommitted.clear();
        Ok(())
    }

    /// Searches and returns the total number of matches and one page of them.
    /// A damaged index is rebuilt from the store and the search retried once.
    pub async fn search(
        &mut self,
        query: &str,
        opts: &SearchOptions,
    ) -> Result<(usize, Vec<MessageSummary>)> {
        let parsed = crate::parse(query).map_err(IndexError::from)?;
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
    pub async fn search_parsed(
        &self,
        query: &Query,
        opts: &SearchOptions,
    ) -> Result<(usize, Vec<MessageSummary>)> {
        let found = self.index.search_query(query, opts)?;
        let ids: Vec<i64> = found
            .ids
            .iter()
            .filter_map(|&id| i64::try_from(id).ok())
            .collect();
        Ok((found.total, self.store.summaries(&ids).await?))
    }

    /// Renames a tag on every message and updates the index.
    pub async fn rename_tag(&mut self, old: &str, new: &str) -> Result<String> {
        let name = self.store.rename_tag(old, new).await?;
        self.index_changes().await?;
        Ok(name)
    }

    /// Removes a tag from every message, deletes it and updates the index.
    pub async fn delete_tag(&mut self, name: &str) -> Result<()> {
        self.store.delete_tag(name).await?;
        self.index_changes().await
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

    /// Adds and removes tags on messages and updates the index.
    pub async fn change_tags(
        &mut self,
        ids: &[i64],
        add: &[String],
        remove: &[String],
    ) -> Result<()> {
        for &id in ids {
            if !self.store.exists(id).await? {
                return Err(LibraryError::NoSuchMessage(id));
            }
        }
        self.store.change_tags(ids, add, remove).await?;
        self.index_changes().await
    }

    /// Brings the index up to date after a change committed in the store.
    async fn index_changes(&mut self) -> Result<()> {
        match self.sync_index().await {
            // Committed in the store; the index catches up when the other process
            // (an import) finishes or the next command opens the library.
            Err(LibraryError::Index(IndexError::Busy)) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Closes the store cleanly.
    pub async fn close(self) {
        self.store.close().await;
    }
}

/// Messages parsed by the reader thread, handed over a batch at a time.
#[derive(Default)]
struct ParsedBatch {
    messages: Vec<(RawMessage, ParsedMessage)>,
    unreadable: Vec<String>,
}

fn doc_from_pending(p: &PendingIndex) -> IndexDoc {
    let parsed = parse(&p.raw);
    index_doc(p.id, &p.raw, &parsed, p.date, p.tags.clone())
}

fn format_addresses(list: &[Address]) -> Vec<String> {
    list.iter()
        .map(Address::to_string)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The index document of a stored message.
fn index_doc(id: i64, raw: &[u8], p: &ParsedMessage, date: i64, tags: Vec<String>) -> IndexDoc {
    let mut attachments = Vec::with_capacity(p.attachments.len() * 2);
    for a in &p.attachments {
        attachments.extend(a.filename.clone());
        attachments.push(a.content_type.clone());
    }
    IndexDoc {
        id: id as u64,
        date,
        size: raw.len() as u64,
        message_id: p.message_id.clone().unwrap_or_default(),
        subject: p.subject.clone().unwrap_or_default(),
        body: p.body_text.clone(),
        from: format_addresses(&p.from),
        to: format_addresses(&p.to),
        cc: format_addresses(&p.cc),
        tags,
        attachments,
        has_attachment: !p.attachments.is_empty(),
    }
}
