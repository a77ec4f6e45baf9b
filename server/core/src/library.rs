//! The mail library: the store and the search index kept in step.
//!
//! The store is the source of truth; the index is derived from it. A message is
//! committed to the store first (marked unindexed), then to the index, and only
//! after the index commit is it marked indexed. A crash anywhere in between leaves
//! rows marked unindexed, which the next [`Library::open`] indexes again; a
//! missing, foreign or corrupt index is rebuilt from the store.

use std::path::Path;

use homepost_mail::{Address, ImportSources, ParsedMessage, RawMessage, parse};
use homepost_spam::{SpamFilter, Verdict};
use homepost_store::{
    Inserted, MessageSummary, NewMessage, PendingIndex, SpamExample, Store, normalize_tag,
};
use homepost_vault::{Purpose, Vault};

pub use crate::searcher::Searcher;
use crate::spam::{BatchClassifier, SPAM_TAG, UNSURE_TAG, spam_decision};
use homepost_search::{
    Error as IndexError, IndexDoc, OpenOutcome, Query, SearchIndex, SearchOptions,
};

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
    /// A worker thread failed.
    #[error("a worker thread failed: {0}")]
    Worker(String),
}

pub(crate) type Result<T, E = LibraryError> = std::result::Result<T, E>;

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
    /// New messages the spam filter tagged `spam`.
    pub spam: u64,
    /// New messages the spam filter tagged `unsure`.
    pub unsure: u64,
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
    spam: SpamFilter,
    /// Searches running at once: one core is left for everything else (status,
    /// unlock, reading mail) however many searches come in.
    searches: std::sync::Arc<tokio::sync::Semaphore>,
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
        let mut lib = Library {
            store,
            index,
            spam: SpamFilter::default(),
            searches: std::sync::Arc::new(tokio::sync::Semaphore::new(
                crate::searcher::search_slots(),
            )),
        };
        let known = lib.store.setting("index_id").await?;
        if !matches!(outcome, OpenOutcome::Opened) || known.as_deref() != Some(lib.index.index_id())
        {
            lib.store.mark_all_unindexed().await?;
            lib.store
                .set_setting("index_id", lib.index.index_id())
                .await?;
        }
        lib.retry_pending_crypto(crate::unix_now()).await?;
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

    /// The spam filter that classifies imports, with the store's counts.
    pub fn spam_filter(&self) -> &SpamFilter {
        &self.spam
    }

    /// Runs the OpenPGP step of every message whose step did not finish (a crash
    /// or an error after the message was stored) and queues each for the index
    /// again, with its decrypted content. Returns how many finished now; those
    /// failing again stay pending for the next open.
    #[tracing::instrument(skip_all)]
    pub async fn retry_pending_crypto(&mut self, now: i64) -> Result<usize> {
        let mut done = 0;
        let mut after = 0;
        loop {
            let ids = self.store.crypto_pending(after, 100).await?;
            let Some(&last) = ids.last() else { break };
            after = last;
            for id in ids {
                let Some(raw) = self.store.raw(id).await? else {
                    self.store.clear_crypto_pending(id).await?;
                    continue;
                };
                let spam = self.store.tags_of(id).await?.iter().any(|t| t == SPAM_TAG);
                match crate::incoming::process(&self.store, id, &raw, spam, now).await {
                    Ok(_) => {
                        self.store.mark_unindexed(id).await?;
                        done += 1;
                    }
                    Err(e) => tracing::warn!(
                        id,
                        error = %e,
                        "OpenPGP step failed again; it runs again at the next start"
                    ),
                }
            }
        }
        if done > 0 {
            tracing::info!(messages = done, "finished interrupted OpenPGP steps");
        }
        Ok(done)
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
                    let mut doc = doc_from_pending(&p);
                    if crate::incoming::relevant(&p.raw)
                        && let Some((_, Some(inner))) = self.store.message_crypto(id).await?
                    {
                        with_decrypted(&mut doc, &inner);
                    }
                    self.index.upsert(&doc)?;
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
    ///
    /// New messages are classified by the spam filter (which learns nothing
    /// from it) and tagged `spam` or `unsure`; ham gets no tag. The reader
    /// thread tokenizes each message and reads the counts of a whole batch with
    /// one query.
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
        // An untrained filter has nothing to say: then not even tokenize.
        let classifier = BatchClassifier::new(self.store.clone(), self.spam.clone()).await?;
        let mut classifier = classifier.is_trained().then_some(classifier);
        let reader = std::thread::spawn(move || {
            let mut batch = ParsedBatch::default();
            let mut tokens = Vec::new();
            let mut bytes = 0;
            for item in sources {
                match item {
                    Ok(raw) => {
                        bytes += raw.raw.len();
                        if classifier.is_some() {
                            tokens.push(homepost_spam::tokens(&raw.raw));
                        }
                        let parsed = parse(&raw.raw);
                        batch.messages.push((raw, parsed));
                    }
                    Err(e) => batch.unreadable.push(e.to_string()),
                }
                if batch.messages.len() >= BATCH || bytes >= BATCH_BYTES {
                    batch.verdicts = verdicts(&mut classifier, &std::mem::take(&mut tokens));
                    if tx.blocking_send(std::mem::take(&mut batch)).is_err() {
                        return;
                    }
                    bytes = 0;
                }
            }
            batch.verdicts = verdicts(&mut classifier, &tokens);
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
            let verdicts = batch.verdicts?;
            self.store_batch(
                &batch.messages,
                &verdicts,
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

    /// Stores one batch. `verdicts` are the spam filter's, one per message, or
    /// empty while the filter is untrained.
    #[tracing::instrument(name = "import_batch", skip_all, fields(messages = batch.len()))]
    async fn store_batch(
        &mut self,
        batch: &[(RawMessage, ParsedMessage)],
        verdicts: &[Verdict],
        default_tags: &[String],
        now: i64,
        stats: &mut ImportStats,
        uncommitted: &mut Vec<(i64, i64)>,
    ) -> Result<Vec<Inserted>> {
        let tags: Vec<Vec<String>> = batch
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut t: Vec<String> = default_tags
                    .iter()
                    .chain(m.0.tags.iter())
                    .filter_map(|t| normalize_tag(t).ok())
                    .collect();
                // Mail already filed as spam keeps that; the filter only adds.
                if !t.iter().any(|t| t == SPAM_TAG) {
                    match verdicts.get(i) {
                        Some(Verdict::Spam) => t.push(SPAM_TAG.into()),
                        Some(Verdict::Unsure) => t.push(UNSURE_TAG.into()),
                        Some(Verdict::Ham) | None => {}
                    }
                }
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
                crypto_pending: crate::incoming::relevant(&m.0.raw),
            })
            .collect();
        let outcome = self.store.insert_batch(&new, now).await?;
        crate::crash_point("after_store_commit");
        for ((m, tags), &result) in batch.iter().zip(&tags).zip(&outcome) {
            if m.1.malformed {
                stats.malformed += 1;
            }
            match result {
                Inserted::Duplicate(_) => stats.duplicates += 1,
                Inserted::New(id) => {
                    stats.imported += 1;
                    if tags.iter().any(|t| t == SPAM_TAG) {
                        stats.spam += 1;
                    } else if tags.iter().any(|t| t == UNSURE_TAG) {
                        stats.unsure += 1;
                    }
                    let mut doc =
                        index_doc(id, &m.0.raw, &m.1, m.1.date.unwrap_or(now), tags.clone());
                    if crate::incoming::relevant(&m.0.raw) {
                        let spam = tags.iter().any(|t| t == SPAM_TAG);
                        match crate::incoming::process(&self.store, id, &m.0.raw, spam, now).await {
                            Ok(Some(inner)) => with_decrypted(&mut doc, &inner),
                            Ok(None) => {}
                            // The message is stored and its step stays marked
                            // pending: the next open runs it again.
                            Err(e) => tracing::warn!(
                                id,
                                error = %e,
                                "OpenPGP step failed; it runs again at the next start"
                            ),
                        }
                    }
                    self.index.upsert(&doc)?;
                    // A new row's version is 0.
                    uncommitted.push((id, 0));
                }
            }
        }
        tracing::debug!(
            new = outcome
                .iter()
                .filter(|o| matches!(o, Inserted::New(_)))
                .count(),
            "batch stored"
        );
        Ok(outcome)
    }

    /// Stores messages fetched from a server like an import (parsed, classified by
    /// the spam filter, indexed) and commits the index before returning, so the
    /// caller may tell the server they are safe. Returns each message's id, in order.
    pub async fn deliver(&mut self, messages: Vec<RawMessage>, now: i64) -> Result<Vec<Inserted>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let classifier = BatchClassifier::new(self.store.clone(), self.spam.clone()).await?;
        // Parsing and classifying are CPU work (and the classifier blocks on the
        // store): off the async threads.
        let (batch, verdicts) = tokio::task::spawn_blocking(move || {
            let mut classifier = classifier.is_trained().then_some(classifier);
            let tokens: Vec<_> = if classifier.is_some() {
                messages
                    .iter()
                    .map(|m| homepost_spam::tokens(&m.raw))
                    .collect()
            } else {
                Vec::new()
            };
            let verdicts = verdicts(&mut classifier, &tokens);
            let batch: Vec<(RawMessage, ParsedMessage)> = messages
                .into_iter()
                .map(|m| {
                    let parsed = parse(&m.raw);
                    (m, parsed)
                })
                .collect();
            (batch, verdicts)
        })
        .await
        .map_err(|e| LibraryError::Worker(e.to_string()))?;
        let mut stats = ImportStats::default();
        let mut uncommitted = Vec::new();
        let outcome = self
            .store_batch(&batch, &verdicts?, &[], now, &mut stats, &mut uncommitted)
            .await?;
        self.commit_index(&mut uncommitted).await?;
        Ok(outcome)
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
    ///
    /// Adding `spam` or removing it is a person's verdict, and trains the spam
    /// filter at once, in the same transaction: adding it learns the messages
    /// as spam, removing it learns them as ham (a message learnt as the other
    /// class before is untrained first). Either way `unsure` goes.
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
        let Some(class) = spam_decision(add, remove) else {
            self.store.change_tags(ids, add, remove).await?;
            return self.index_changes().await;
        };
        let add: Vec<String> = add
            .iter()
            .filter(|t| normalize_tag(t).ok().as_deref() != Some(UNSURE_TAG))
            .cloned()
            .collect();
        let mut remove = remove.to_vec();
        remove.push(UNSURE_TAG.into());
        let mut examples = Vec::with_capacity(ids.len());
        for &id in ids {
            let raw = self
                .store
                .raw(id)
                .await?
                .ok_or(LibraryError::NoSuchMessage(id))?;
            examples.push(SpamExample::new(&raw, class));
        }
        self.store
            .change_tags_and_train(ids, &add, &remove, &examples)
            .await?;
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

/// The spam filter's verdicts on a batch; none without a classifier.
fn verdicts(
    classifier: &mut Option<BatchClassifier>,
    tokens: &[std::collections::BTreeSet<String>],
) -> Result<Vec<Verdict>, homepost_store::Error> {
    classifier
        .as_mut()
        .map_or(Ok(Vec::new()), |c| c.verdicts(tokens))
}

/// Messages parsed by the reader thread, handed over a batch at a time.
struct ParsedBatch {
    messages: Vec<(RawMessage, ParsedMessage)>,
    unreadable: Vec<String>,
    /// The spam filter's verdict on each message; empty while it is untrained.
    verdicts: Result<Vec<Verdict>, homepost_store::Error>,
}

impl Default for ParsedBatch {
    fn default() -> Self {
        ParsedBatch {
            messages: Vec::new(),
            unreadable: Vec::new(),
            verdicts: Ok(Vec::new()),
        }
    }
}

/// Indexes a decrypted message's own text, attachments and (protected) subject
/// instead of the ciphertext.
fn with_decrypted(doc: &mut IndexDoc, inner: &[u8]) {
    let p = parse(inner);
    doc.body = p.body_text;
    if let Some(subject) = p.subject.filter(|s| !s.is_empty()) {
        doc.subject = subject;
    }
    doc.attachments = p
        .attachments
        .iter()
        .flat_map(|a| {
            a.filename
                .clone()
                .into_iter()
                .chain([a.content_type.clone()])
        })
        .collect();
    doc.has_attachment = !p.attachments.is_empty();
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
