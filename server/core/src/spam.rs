//! The spam filter on the library: classifying mail as it is imported, and
//! learning from or checking mail files without storing them.
//!
//! The classifier is the pure `homepost-spam` crate and its counts live in the
//! store (`homepost_store::spam`). Tokenizing is the costly part, so it runs on
//! a reader thread while the caller stores or learns the previous batch, and
//! the counts of a whole batch are read with one query.

use std::collections::{BTreeSet, HashMap};

use homepost_mail::{ImportSources, RawMessage};
use homepost_spam::{Class, Score, SpamFilter, TokenCounts, Verdict, tokens};
use homepost_store::{SpamClass, SpamCounts, SpamExample, Store, TrainingOutcome, normalize_tag};

use crate::library::{ImportProgress, Library, LibraryError};

/// The tag of mail judged spam, by the filter or by a person. Hidden from the
/// web app's views unless a query names it (`in:spam`).
pub const SPAM_TAG: &str = "spam";
/// The tag of new mail the filter could not decide on: for a person to judge.
pub const UNSURE_TAG: &str = "unsure";
/// The tag of the user's own sent mail (the copy the outbox keeps).
pub const SENT_TAG: &str = "sent";

/// Most messages tokenized per batch.
const BATCH: usize = 250;
/// Most raw bytes read per batch.
const BATCH_BYTES: usize = 2 << 20;

/// The class a tag change teaches, if any: removing `spam` says "not spam"
/// (and wins, as the store applies removals last), adding it says "spam".
pub(crate) fn spam_decision(add: &[String], remove: &[String]) -> Option<Class> {
    let names = |tags: &[String]| {
        tags.iter()
            .any(|t| normalize_tag(t).ok().as_deref() == Some(SPAM_TAG))
    };
    if names(remove) {
        Some(Class::Ham)
    } else if names(add) {
        Some(Class::Spam)
    } else {
        None
    }
}

/// Most token counts an import keeps between batches (a few MiB); past this
/// the cache starts again.
const CACHED_TOKENS: usize = 200_000;

/// Classifies batches of tokenized messages from the import's reader thread,
/// which is not on the async runtime and so may block on the store.
///
/// Counts read for one batch are kept for the next: headers and common words
/// recur, so later batches ask the store only for tokens not seen yet. The
/// totals come with every read: when they changed (the filter learnt meanwhile),
/// the cached counts are dropped and the batch's are read again, so a long-lived
/// classifier (the fetch keeps one in the library) follows training as soon as a
/// batch brings a token it has not seen.
pub(crate) struct BatchClassifier {
    store: Store,
    filter: SpamFilter,
    runtime: tokio::runtime::Handle,
    totals: (u64, u64),
    /// Counts of every token asked for so far, (0, 0) for unknown ones.
    cache: HashMap<String, (u64, u64)>,
}

impl BatchClassifier {
    /// A classifier over the store's counts. It keeps a handle to the runtime
    /// it is made on.
    pub(crate) async fn new(
        store: Store,
        filter: SpamFilter,
    ) -> Result<BatchClassifier, homepost_store::Error> {
        let totals = store.spam_counts([]).await?.totals();
        Ok(BatchClassifier {
            store,
            filter,
            runtime: tokio::runtime::Handle::current(),
            totals,
            cache: HashMap::new(),
        })
    }

    /// Whether the filter had learnt both spam and ham when its totals were
    /// last read.
    pub(crate) fn is_trained(&self) -> bool {
        self.totals.0 > 0 && self.totals.1 > 0
    }

    /// Reads the totals again: a long-lived classifier made before the filter
    /// was trained learns that it now is.
    pub(crate) async fn refresh(&mut self) -> Result<(), homepost_store::Error> {
        let totals = self.store.spam_counts([]).await?.totals();
        if totals != self.totals {
            self.cache.clear();
            self.totals = totals;
        }
        Ok(())
    }

    /// The verdict on each message, with at most one counts query for all of
    /// them; empty while the filter has not learnt both spam and ham (every
    /// score would be 0.5, and tagging everything `unsure` says nothing).
    /// Blocks: never call it on the runtime.
    pub(crate) fn verdicts(
        &mut self,
        messages: &[BTreeSet<String>],
    ) -> Result<Vec<Verdict>, homepost_store::Error> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let started = std::time::Instant::now();
        if self.cache.len() > CACHED_TOKENS {
            self.cache.clear();
        }
        let missing: Vec<&str> = messages
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|t| !self.cache.contains_key(*t))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let asked = missing.len();
        if !missing.is_empty() {
            let mut wanted = missing;
            let mut counts = self
                .runtime
                .block_on(self.store.spam_counts(wanted.iter().copied()))?;
            if counts.totals() != self.totals && !self.cache.is_empty() {
                // The filter learnt meanwhile (a message marked spam, `spam
                // learn`): what is cached is stale. Ask again for the whole batch.
                self.cache.clear();
                wanted = messages
                    .iter()
                    .flatten()
                    .map(String::as_str)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                counts = self
                    .runtime
                    .block_on(self.store.spam_counts(wanted.iter().copied()))?;
            }
            self.totals = counts.totals();
            for token in &wanted {
                self.cache.insert((*token).to_owned(), counts.get(token));
            }
        }
        let read = started.elapsed();
        if !self.is_trained() {
            return Ok(Vec::new());
        }
        let counts = CachedCounts {
            totals: self.totals,
            cache: &self.cache,
        };
        let verdicts = messages
            .iter()
            .map(|t| self.filter.classify(&counts, t).verdict)
            .collect();
        tracing::debug!(
            messages = messages.len(),
            asked,
            counts_ms = read.as_secs_f64() * 1e3,
            classify_ms = started.elapsed().saturating_sub(read).as_secs_f64() * 1e3,
            "classified an import batch"
        );
        Ok(verdicts)
    }
}

/// How many messages' correspondent checks [`spare_correspondents`] runs at
/// once: the store's pool has four connections.
const SPARE_CHECKS_AT_ONCE: usize = 4;

/// The filter's verdicts, with mail it calls spam from a known correspondent
/// (the user wrote to them, answered them, or kept three of their messages) or
/// through a mailing list the user reads (three of its messages read, not spam)
/// sent to `unsure` instead: missing good mail is the one thing a spam filter
/// must not do. A forged From of a correspondent lands in `unsure` too, where
/// the user still sees it marked.
pub(crate) async fn spare_correspondents(
    store: &Store,
    batch: &[(RawMessage, homepost_mail::ParsedMessage)],
    verdicts: &[Verdict],
) -> Result<Vec<Verdict>, homepost_store::Error> {
    use futures::{StreamExt, TryStreamExt};
    let mut spared = verdicts.to_vec();
    let spam: Vec<usize> = (0..spared.len().min(batch.len()))
        .filter(|&i| spared[i] == Verdict::Spam)
        .collect();
    // A few reads for each message: those of several messages go to the
    // pool's connections at once, not one after another, while the batch's
    // store waits for them. (The futures are made first: a closure making them
    // inside the stream would not be `Send` for every lifetime.)
    let checks: Vec<_> = spam
        .iter()
        .map(|&i| is_from_a_correspondent(store, &batch[i].1))
        .collect();
    let found: Vec<bool> = futures::stream::iter(checks)
        .buffered(SPARE_CHECKS_AT_ONCE)
        .try_collect()
        .await?;
    for (i, found) in spam.into_iter().zip(found) {
        if found {
            spared[i] = Verdict::Unsure;
        }
    }
    Ok(spared)
}

/// Whether `parsed` came through a mailing list the user reads or from a known
/// correspondent ([`spare_correspondents`]).
async fn is_from_a_correspondent(
    store: &Store,
    parsed: &homepost_mail::ParsedMessage,
) -> Result<bool, homepost_store::Error> {
    if let Some(list) = parsed.list_id.as_deref()
        && store.is_read_list(list).await?
    {
        return Ok(true);
    }
    for address in parsed.from.iter().filter_map(|a| a.address.as_deref()) {
        // Not stored yet: no message of theirs is this one (id 0).
        if store.is_known_correspondent(address, 0).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A message to learn as `class`: its tokens, by the classifier's tokenizer.
pub(crate) fn example(raw: &[u8], class: Class) -> SpamExample {
    let class = match class {
        Class::Spam => SpamClass::Spam,
        Class::Ham => SpamClass::Ham,
    };
    SpamExample::new(raw, tokens(raw), class)
}

/// The classifier's view of counts read from the store.
struct StoredCounts<'a>(&'a SpamCounts);

impl TokenCounts for StoredCounts<'_> {
    fn totals(&self) -> (u64, u64) {
        self.0.totals()
    }

    fn counts(&self, tokens: &[&str]) -> Vec<(u64, u64)> {
        tokens.iter().map(|t| self.0.get(t)).collect()
    }
}

/// The classifier's view of [`BatchClassifier`]'s cache.
struct CachedCounts<'a> {
    totals: (u64, u64),
    cache: &'a HashMap<String, (u64, u64)>,
}

impl TokenCounts for CachedCounts<'_> {
    fn totals(&self) -> (u64, u64) {
        self.totals
    }

    fn counts(&self, tokens: &[&str]) -> Vec<(u64, u64)> {
        tokens
            .iter()
            .map(|t| self.cache.get(*t).copied().unwrap_or((0, 0)))
            .collect()
    }
}

/// Counts of a `spam learn` run.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct LearnStats {
    /// What the training did to the messages read.
    pub outcome: TrainingOutcome,
    /// Files or messages that could not be read, with the reason.
    pub unreadable: Vec<String>,
}

/// One line of a `spam check` run.
#[derive(Debug)]
pub enum SpamCheck<'a> {
    /// A message and its score.
    Scored {
        /// Its file, or `file@offset` inside an mbox.
        origin: &'a str,
        /// Its place in its mbox, from 1; `None` for a one-message file.
        mbox_number: Option<u64>,
        /// What the filter makes of it.
        score: Score,
    },
    /// A file or message that could not be read, with the reason.
    Unreadable(&'a str),
}

/// Messages read and tokenized on the reader thread, a batch at a time.
struct Batch<T> {
    items: Vec<T>,
    unreadable: Vec<String>,
    /// Input bytes consumed when the batch was cut.
    progress_bytes: u64,
}

/// Reads `sources` on a thread of its own, turning each message into a `T`
/// with `each`; at most three batches are in memory at once.
fn read_batches<T: Send + 'static>(
    sources: ImportSources,
    each: impl Fn(RawMessage) -> T + Send + 'static,
) -> (
    tokio::sync::mpsc::Receiver<Batch<T>>,
    std::thread::JoinHandle<()>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let reader = std::thread::spawn(move || {
        let new_batch = || Batch {
            items: Vec::new(),
            unreadable: Vec::new(),
            progress_bytes: 0,
        };
        let mut batch = new_batch();
        let mut bytes = 0;
        for item in sources {
            match item {
                Ok(raw) => {
                    bytes += raw.raw.len();
                    batch.progress_bytes = raw.progress_bytes;
                    batch.items.push(each(raw));
                }
                Err(e) => batch.unreadable.push(e.to_string()),
            }
            if batch.items.len() >= BATCH || bytes >= BATCH_BYTES {
                let progress = batch.progress_bytes;
                if tx
                    .blocking_send(std::mem::replace(&mut batch, new_batch()))
                    .is_err()
                {
                    return;
                }
                batch.progress_bytes = progress;
                bytes = 0;
            }
        }
        let _ = tx.blocking_send(batch);
    });
    (rx, reader)
}

/// What the reader thread failing means to the user.
const READER_FAILED: &str = "the mail reader thread failed; run the command again";

impl Library {
    /// Learns every message `sources` yields as `class` (`homepost spam learn`),
    /// a batch per transaction. The messages are not stored; learning one twice
    /// as the same class changes nothing, as the other class corrects it.
    pub async fn learn_spam(
        &mut self,
        sources: ImportSources,
        class: Class,
        mut on_progress: impl FnMut(ImportProgress),
    ) -> Result<LearnStats, LibraryError> {
        let mut progress = ImportProgress {
            bytes: 0,
            total_bytes: sources.total_bytes(),
            messages: 0,
        };
        let (mut rx, reader) = read_batches(sources, move |m| example(&m.raw, class));
        let mut stats = LearnStats::default();
        while let Some(batch) = rx.recv().await {
            stats.unreadable.extend(batch.unreadable);
            let done = self.store().train_spam(&batch.items).await?;
            stats.outcome.learned += done.learned;
            stats.outcome.relearned += done.relearned;
            stats.outcome.unchanged += done.unchanged;
            stats.outcome.forgotten += done.forgotten;
            progress.messages += batch.items.len() as u64;
            progress.bytes = batch.progress_bytes;
            on_progress(progress);
        }
        if reader.join().is_err() {
            stats.unreadable.push(READER_FAILED.into());
        }
        Ok(stats)
    }

    /// Scores every message `sources` yields (`homepost spam check`), in order,
    /// storing and learning nothing.
    pub async fn check_spam(
        &self,
        sources: ImportSources,
        mut on_result: impl FnMut(SpamCheck<'_>) -> std::io::Result<()>,
    ) -> Result<(), CheckError> {
        let (mut rx, reader) = read_batches(sources, |m| {
            let tokens = tokens(&m.raw);
            (m.origin, m.mbox_number, tokens)
        });
        while let Some(batch) = rx.recv().await {
            for e in &batch.unreadable {
                on_result(SpamCheck::Unreadable(e))?;
            }
            let all = batch
                .items
                .iter()
                .flat_map(|m| m.2.iter().map(String::as_str));
            let counts = self
                .store()
                .spam_counts(all)
                .await
                .map_err(LibraryError::from)?;
            for (origin, mbox_number, tokens) in &batch.items {
                on_result(SpamCheck::Scored {
                    origin,
                    mbox_number: *mbox_number,
                    score: self.spam_filter().classify(&StoredCounts(&counts), tokens),
                })?;
            }
        }
        if reader.join().is_err() {
            on_result(SpamCheck::Unreadable(READER_FAILED))?;
        }
        Ok(())
    }
}

/// Why a `spam check` stopped.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The store failed.
    #[error(transparent)]
    Library(#[from] LibraryError),
    /// Writing a result failed (the reader of the output went away).
    #[error(transparent)]
    Output(#[from] std::io::Error),
}

#[cfg(test)]
mod tests;
