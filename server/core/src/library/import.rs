//! Importing: the reader thread and its batches, mail fetched from a server,
//! and storing, classifying and indexing each batch.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use homepost_mail::{ImportSources, RawMessage};
use homepost_spam::Verdict;
use homepost_store::{Inserted, NewMessage, normalize_tag};

use super::index::{index_doc, with_decrypted};
use super::prepare::{ReadyBatch, pack, parse_one};
use super::{Library, Result};
use crate::spam::{BatchClassifier, SPAM_TAG, UNSURE_TAG};

/// Most messages per store transaction during import.
const BATCH: usize = 250;
/// Most raw bytes per store transaction: with the channel's bound, this keeps
/// memory flat whatever the sizes of the messages.
const BATCH_BYTES: usize = 2 << 20;
/// Index commits during a long import, so a crash loses at most this much index work.
const COMMIT_EVERY: usize = 20_000;
/// Fetched messages stored between index commits at most (the transport
/// flushes sooner: at the end of each folder and every few seconds).
const DELIVER_COMMIT_EVERY: usize = 5_000;
/// Most duplicates and malformed messages named in [`ImportStats`]; the counts
/// go on past it.
pub const MAX_NAMED: usize = 100;
/// Most unreadable parts named in [`ImportStats`] (an archive of a million
/// encrypted members must not fill memory with reasons).
pub const MAX_UNREADABLE: usize = 1000;

/// Counts of an import.
#[derive(Debug, Default, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportStats {
    /// New messages stored.
    pub imported: u64,
    /// Messages whose exact bytes were already stored.
    pub duplicates: u64,
    /// Messages stored although they did not parse cleanly (included in `imported`
    /// or `duplicates`).
    pub malformed: u64,
    /// Files or messages that could not be read, with the reason (the first
    /// [`MAX_UNREADABLE`]).
    pub unreadable: Vec<String>,
    /// How many files or messages could not be read.
    pub unreadable_count: u64,
    /// Where the first [`MAX_NAMED`] duplicates came from (a file, or
    /// `file@offset` in an mbox).
    pub duplicate_origins: Vec<String>,
    /// Where the first [`MAX_NAMED`] malformed messages came from.
    pub malformed_origins: Vec<String>,
    /// New messages the spam filter tagged `spam`.
    pub spam: u64,
    /// New messages the spam filter tagged `unsure`.
    pub unsure: u64,
    /// New messages at least one filter rule matched.
    pub filtered: u64,
}

impl ImportStats {
    /// Counts a part that could not be read, naming the first [`MAX_UNREADABLE`].
    fn note_unreadable(&mut self, reason: String) {
        self.unreadable_count += 1;
        if self.unreadable.len() < MAX_UNREADABLE {
            self.unreadable.push(reason);
        }
    }
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

impl Library {
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
        on_progress: impl FnMut(ImportProgress),
    ) -> Result<ImportStats> {
        self.import_until(
            sources,
            default_tags,
            now,
            on_progress,
            &AtomicBool::new(false),
        )
        .await
    }

    /// [`Library::import`] that stops after the batch during which `stop` was
    /// set (the box is locking): what was stored stays, and importing the same
    /// files again skips it as duplicates. The stop is said in `unreadable`.
    pub async fn import_until(
        &mut self,
        sources: ImportSources,
        default_tags: &[String],
        now: i64,
        mut on_progress: impl FnMut(ImportProgress),
        stop: &AtomicBool,
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
            let mut packer = None;
            let mut tokens = Vec::new();
            let mut bytes = 0;
            for item in sources {
                match item {
                    Ok(raw) => {
                        bytes += raw.raw.len();
                        let (parsed, message_tokens) = parse_one(&raw.raw, classifier.is_some());
                        tokens.extend(message_tokens);
                        batch.ready.packed.push(pack(&mut packer, &raw.raw));
                        batch.ready.messages.push((raw, parsed));
                    }
                    Err(e) => batch.unreadable.push(e.to_string()),
                }
                if batch.ready.messages.len() >= BATCH || bytes >= BATCH_BYTES {
                    batch.ready.verdicts = verdicts(&mut classifier, &std::mem::take(&mut tokens));
                    if tx.blocking_send(std::mem::take(&mut batch)).is_err() {
                        return;
                    }
                    bytes = 0;
                }
            }
            batch.ready.verdicts = verdicts(&mut classifier, &tokens);
            let _ = tx.blocking_send(batch);
        });

        let mut stats = ImportStats::default();
        let mut progress = ImportProgress {
            bytes: 0,
            total_bytes,
            messages: 0,
        };
        let mut uncommitted: Vec<(i64, i64)> = Vec::new();
        while let Some(ParsedBatch {
            ready: mut batch,
            unreadable,
        }) = rx.recv().await
        {
            for reason in unreadable {
                stats.note_unreadable(reason);
            }
            if batch.messages.is_empty() {
                continue;
            }
            self.store_batch(&mut batch, default_tags, now, &mut stats, &mut uncommitted)
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
            if stop.load(Ordering::Relaxed) {
                stats.note_unreadable(
                    "the import stopped because the box was locked; import the files again to finish (what was stored is skipped as duplicates)".into(),
                );
                break;
            }
        }
        // The reader may be waiting to hand over a batch nobody takes now.
        drop(rx);
        self.commit_index(&mut uncommitted).await?;
        if reader.join().is_err() {
            stats.note_unreadable(
                "the mail reader thread failed; run the import again to finish it".into(),
            );
        }
        Ok(stats)
    }

    /// Stores one batch, or fails with the error its spam verdicts met.
    #[tracing::instrument(name = "import_batch", skip_all, fields(messages = ready.messages.len()))]
    async fn store_batch(
        &mut self,
        ready: &mut ReadyBatch,
        default_tags: &[String],
        now: i64,
        stats: &mut ImportStats,
        uncommitted: &mut Vec<(i64, i64)>,
    ) -> Result<Vec<Inserted>> {
        let verdicts = std::mem::replace(&mut ready.verdicts, Ok(Vec::new()))?;
        let (batch, packed) = (&ready.messages, &ready.packed);
        let started = std::time::Instant::now();
        let verdicts = crate::spam::spare_correspondents(&self.store, batch, &verdicts).await?;
        let rules = crate::rules::RuleSet::load(&self.store).await?;
        let mut docs = Vec::with_capacity(batch.len());
        let mut tags = Vec::with_capacity(batch.len());
        let mut filtered = Vec::with_capacity(batch.len());
        // Each message's tags before the rules: they run again from there
        // over an encrypted message's decrypted content.
        let mut bases = Vec::with_capacity(batch.len());
        for (i, m) in batch.iter().enumerate() {
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
            // Counted before the rules: the stats say what the filter found.
            let verdict = if t.iter().any(|t| t == SPAM_TAG) {
                Some(Verdict::Spam)
            } else if t.iter().any(|t| t == UNSURE_TAG) {
                Some(Verdict::Unsure)
            } else {
                None
            };
            let date = homepost_mail::sort_date(&m.1, m.0.file_time, now);
            let mut doc = index_doc(0, &m.0.raw, &m.1, date, t);
            // The rules come after the spam verdict (docs/rules.md), in the
            // same transaction as the message.
            let mut ruled = false;
            bases.push(doc.tags.clone());
            if !rules.is_empty() {
                (doc.tags, ruled) = rules.apply(&doc);
            }
            tags.push(doc.tags.clone());
            filtered.push((verdict, ruled, date));
            docs.push(doc);
        }
        let new: Vec<NewMessage<'_>> = batch
            .iter()
            .zip(&tags)
            .zip(&filtered)
            .enumerate()
            .map(|(i, ((m, tags), &(_, _, date)))| NewMessage {
                raw: &m.0.raw,
                parsed: &m.1,
                tags,
                origin: &m.0.origin,
                crypto_pending: crate::incoming::relevant(&m.0.raw),
                date,
                packed: packed.get(i).and_then(Option::as_ref),
            })
            .collect();
        let prepared = started.elapsed();
        let outcome = self.store.insert_batch(&new, now).await?;
        let inserted = started.elapsed();
        crate::crash_point("after_store_commit");
        // The OpenPGP steps of the new messages that need one, in one
        // transaction with our keys read once. Without it they stay pending,
        // and the next open runs them.
        let pending = outcome
            .iter()
            .zip(&new)
            .any(|(o, n)| n.crypto_pending && matches!(o, Inserted::New(_)));
        let mut crypto = if pending {
            let senders = pending_senders(&outcome, &new);
            crate::incoming::open_steps(&self.store, &senders)
                .await
                .inspect_err(|e| {
                    tracing::warn!(error = %e, "OpenPGP steps not started; they run at the next start");
                })
                .ok()
        } else {
            None
        };
        let (mut in_steps, mut in_index) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        for (i, (mut doc, &result)) in docs.into_iter().zip(&outcome).enumerate() {
            let (m, tags, stored) = (&batch[i], &tags[i], &new[i]);
            let (verdict, ruled, _) = filtered[i];
            if m.1.malformed {
                stats.malformed += 1;
                if stats.malformed_origins.len() < MAX_NAMED {
                    stats.malformed_origins.push(m.0.origin.clone());
                }
            }
            match result {
                Inserted::Duplicate(_) => {
                    stats.duplicates += 1;
                    if stats.duplicate_origins.len() < MAX_NAMED {
                        stats.duplicate_origins.push(m.0.origin.clone());
                    }
                }
                Inserted::New(id) => {
                    stats.imported += 1;
                    match verdict {
                        Some(Verdict::Spam) => stats.spam += 1,
                        Some(Verdict::Unsure) => stats.unsure += 1,
                        Some(Verdict::Ham) | None => {}
                    }
                    stats.filtered += u64::from(ruled);
                    doc.id = id as u64;
                    if stored.crypto_pending
                        && let Some((keys, steps)) = crypto.as_mut()
                    {
                        let spam = tags.iter().any(|t| t == SPAM_TAG);
                        let base = &bases[i];
                        let retag = |inner: &[u8]| rules.retag(&doc, base, tags, inner);
                        let step = std::time::Instant::now();
                        let processed =
                            crate::incoming::process(steps, keys, id, &m.0.raw, spam, now, &retag)
                                .await;
                        in_steps += step.elapsed();
                        match processed {
                            Ok(Some((inner, retagged))) => {
                                if let Some((add, remove)) = retagged {
                                    doc.tags.retain(|t| !remove.contains(t));
                                    doc.tags.extend(add);
                                    doc.tags.sort();
                                }
                                with_decrypted(&mut doc, &inner);
                            }
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
                    let upsert = std::time::Instant::now();
                    self.index.upsert(&doc)?;
                    in_index += upsert.elapsed();
                    // A new row's version is 0.
                    uncommitted.push((id, 0));
                }
            }
        }
        if let Some((_, steps)) = crypto
            && let Err(e) = steps.commit().await
        {
            tracing::warn!(error = %e, "OpenPGP steps not saved; they run again at the next start");
        }
        tracing::debug!(
            new = outcome
                .iter()
                .filter(|o| matches!(o, Inserted::New(_)))
                .count(),
            prepare_ms = prepared.as_millis() as u64,
            insert_ms = inserted.saturating_sub(prepared).as_millis() as u64,
            steps_ms = in_steps.as_millis() as u64,
            index_ms = in_index.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "batch stored"
        );
        Ok(outcome)
    }

    /// Stores messages fetched from a server like an import (parsed, classified by
    /// the spam filter, indexed) and commits the index before returning, so the
    /// caller may tell the server they are safe and searches find them. Returns
    /// each message's id, in order.
    pub async fn deliver(&mut self, messages: Vec<RawMessage>, now: i64) -> Result<Vec<Inserted>> {
        let stored = self.store_fetched(messages, now).await?;
        self.flush_delivered().await?;
        Ok(stored)
    }

    /// [`Library::deliver`] without the index commit, for a fetch storing many
    /// batches: they are committed to the store before this returns (the
    /// server may delete them next), and to the index every
    /// [`DELIVER_COMMIT_EVERY`] messages or at [`Library::flush_delivered`].
    /// Until then searches do not find them; a crash leaves them marked
    /// unindexed, for the next open to index.
    pub async fn store_fetched(
        &mut self,
        messages: Vec<RawMessage>,
        now: i64,
    ) -> Result<Vec<Inserted>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        // The classifier of the last batch, with the counts it read: a fetch's
        // batches share their headers and common words.
        let classifier = match self.classifier.take() {
            Some(c) => c,
            None => self.classifier().await?,
        };
        let (batch, classifier) = ReadyBatch::prepare(messages, classifier).await?;
        self.classifier = Some(classifier);
        self.store_prepared(batch, now).await
    }

    /// A spam classifier over this library's store and filter, for
    /// [`ReadyBatch::prepare`].
    pub(crate) async fn classifier(&self) -> Result<BatchClassifier> {
        Ok(BatchClassifier::new(self.store.clone(), self.spam.clone()).await?)
    }

    /// [`Library::store_fetched`] for a batch prepared ahead.
    pub(crate) async fn store_prepared(
        &mut self,
        mut batch: ReadyBatch,
        now: i64,
    ) -> Result<Vec<Inserted>> {
        if batch.messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut stats = ImportStats::default();
        let mut uncommitted = std::mem::take(&mut self.delivered);
        let stored = self
            .store_batch(&mut batch, &[], now, &mut stats, &mut uncommitted)
            .await;
        self.delivered = uncommitted;
        let outcome = stored?;
        if self.delivered.len() >= DELIVER_COMMIT_EVERY {
            self.flush_delivered().await?;
        }
        Ok(outcome)
    }

    /// Commits to the index the messages [`Library::store_fetched`] stored since
    /// the last commit, so that searches find them.
    pub async fn flush_delivered(&mut self) -> Result<()> {
        let mut uncommitted = std::mem::take(&mut self.delivered);
        let done = self.commit_index(&mut uncommitted).await;
        if done.is_err() {
            self.delivered = uncommitted;
        }
        done
    }
}

/// The senders of the new messages that have an OpenPGP step to run, for
/// their steps to read in one query.
fn pending_senders(outcome: &[Inserted], new: &[NewMessage<'_>]) -> Vec<String> {
    let mut senders: Vec<String> = outcome
        .iter()
        .zip(new)
        .filter(|(o, n)| n.crypto_pending && matches!(o, Inserted::New(_)))
        .filter_map(|(_, n)| match n.parsed.from.as_slice() {
            [from] => from.address.as_deref(),
            _ => None,
        })
        .map(homepost_pgp::autocrypt::canonical_address)
        .collect();
    senders.sort();
    senders.dedup();
    senders
}

/// The spam filter's verdicts on a batch; none without a classifier.
fn verdicts(
    classifier: &mut Option<BatchClassifier>,
    tokens: &[BTreeSet<String>],
) -> Result<Vec<Verdict>, homepost_store::Error> {
    classifier
        .as_mut()
        .map_or(Ok(Vec::new()), |c| c.verdicts(tokens))
}

/// Messages parsed by the reader thread, handed over a batch at a time.
#[derive(Default)]
struct ParsedBatch {
    ready: ReadyBatch,
    unreadable: Vec<String>,
}
