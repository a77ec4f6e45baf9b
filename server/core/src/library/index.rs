//! Indexing: bringing the index up to date with the store (and finishing
//! interrupted OpenPGP steps first), rebuilding it, and the index document of a
//! stored message.

use homepost_mail::{Address, ParsedMessage, parse};
use homepost_search::{Error as IndexError, IndexDoc};
use homepost_store::PendingIndex;

use super::{Library, LibraryError, Result};
use crate::spam::SPAM_TAG;

impl Library {
    /// Runs the OpenPGP step of every message whose step did not finish (a crash
    /// or an error after the message was stored) and queues each for the index
    /// again, with its decrypted content. Returns how many finished now; those
    /// failing again stay pending for the next open.
    #[tracing::instrument(skip_all)]
    pub async fn retry_pending_crypto(&mut self, now: i64) -> Result<usize> {
        let mut done = 0;
        let mut after = 0;
        let rules = crate::rules::RuleSet::load(&self.store).await?;
        loop {
            let ids = self.store.crypto_pending(after, 100).await?;
            let Some(&last) = ids.last() else { break };
            after = last;
            // A hundred steps to a transaction, each message's with its
            // queueing for the index.
            let (keys, mut steps) = crate::incoming::open_steps(&self.store, &[]).await?;
            for id in ids {
                let Some(raw) = self.store.raw(id).await? else {
                    steps.begin_step();
                    steps.end_step(id, None).await?;
                    continue;
                };
                let spam = self.store.tags_of(id).await?.iter().any(|t| t == SPAM_TAG);
                // The rules run again over the decrypted content, from the
                // tags the message has (those before the rules are not kept).
                let doc = self
                    .store
                    .index_source(id)
                    .await?
                    .map(|p| doc_from_pending(&p));
                let retag = |inner: &[u8]| {
                    let doc = doc.as_ref()?;
                    rules.retag(doc, &doc.tags, &doc.tags, inner)
                };
                match crate::incoming::process(&mut steps, &keys, id, &raw, spam, now, &retag).await
                {
                    Ok(_) => {
                        steps.mark_unindexed(id).await?;
                        done += 1;
                    }
                    Err(e) => tracing::warn!(
                        id,
                        error = %e,
                        "OpenPGP step failed again; it runs again at the next start"
                    ),
                }
            }
            steps.commit().await?;
        }
        if done > 0 {
            tracing::info!(messages = done, "finished interrupted OpenPGP steps");
        }
        Ok(done)
    }

    /// Indexes every message the index has not committed yet, and removes
    /// what was deleted for good. Returns how many were indexed.
    pub async fn sync_index(&mut self) -> Result<usize> {
        self.finish_index_deletes().await?;
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

    pub(super) async fn commit_index(&mut self, uncommitted: &mut Vec<(i64, i64)>) -> Result<()> {
        if uncommitted.is_empty() {
            return Ok(());
        }
        let start = std::time::Instant::now();
        self.index.commit()?;
        let committed = start.elapsed();
        self.store.mark_indexed(uncommitted).await?;
        tracing::debug!(
            messages = uncommitted.len(),
            commit_ms = committed.as_millis() as u64,
            mark_ms = start.elapsed().saturating_sub(committed).as_millis() as u64,
            "index committed and its messages marked indexed"
        );
        uncommitted.clear();
        Ok(())
    }

    /// Brings the index up to date after a change committed in the store.
    pub(crate) async fn index_changes(&mut self) -> Result<()> {
        match self.sync_index().await {
            // Committed in the store; the index catches up when the other process
            // (an import) finishes or the next command opens the library.
            Err(LibraryError::Index(IndexError::Busy)) => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

/// Indexes a decrypted message's own text, attachments and (protected) subject
/// instead of the ciphertext.
pub(crate) fn with_decrypted(doc: &mut IndexDoc, inner: &[u8]) {
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
pub(super) fn index_doc(
    id: i64,
    raw: &[u8],
    p: &ParsedMessage,
    date: i64,
    tags: Vec<String>,
) -> IndexDoc {
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
