//! Deleting mail for good (docs/integrity.md): from the store (its freed pages
//! overwritten), from the index (its segments rewritten without it), and, by
//! the next backup's prune, from the backup.

use homepost_store::{SpamClass, SpamExample};

use super::{Library, Result};

/// Days a message stays in the trash before it is deleted for good, unless the
/// `trash_days` setting says otherwise.
pub const TRASH_DAYS: i64 = 30;
/// The setting holding the trash's retention in days (0: never by itself).
pub const TRASH_DAYS_SETTING: &str = "trash_days";
/// Messages deleted per transaction while emptying the trash.
const BATCH: i64 = 500;

impl Library {
    /// Deletes these messages for good: every row derived from them, their
    /// training as wanted mail, their index entries, and the index segments
    /// and store pages that held them. Returns how many existed.
    pub async fn delete_for_good(&mut self, ids: &[i64]) -> Result<usize> {
        let mut forget = Vec::new();
        for &id in ids {
            // A message whose bytes are damaged cannot be untrained: its
            // tokens are unknown. It is deleted all the same.
            if let Ok(Some(raw)) = self.store.raw(id).await
                && self.store.spam_trained_as(&raw).await? == Some(SpamClass::Ham)
            {
                forget.push(SpamExample::forget(&raw, homepost_spam::tokens(&raw)));
            }
        }
        let deleted = self.store.delete_messages(ids, &forget).await?;
        if deleted.is_empty() {
            return Ok(0);
        }
        tracing::info!(messages = deleted.len(), "deleted for good");
        // The store's deletion is done and cannot be undone: an index that
        // cannot follow now (another process writes it, a full disk) does at
        // its next update.
        if let Err(e) = self.finish_index_deletes().await {
            tracing::warn!(error = %e, "deleted; the search index drops them at its next update");
        }
        Ok(deleted.len())
    }

    /// Removes from the index what was deleted for good but may still be in
    /// it (all of a deletion, or what a crash left), then rewrites the segments
    /// that held it.
    pub(super) async fn finish_index_deletes(&mut self) -> Result<()> {
        let pending = self.store.index_deletes().await?;
        if pending.is_empty() {
            return Ok(());
        }
        for &id in &pending {
            self.index.delete(u64::try_from(id).unwrap_or(0))?;
        }
        self.index.commit()?;
        self.index.purge_deleted()?;
        // An id taken again by a message stored since (ids are reused after
        // the highest is deleted) lost its entry too: it is indexed again.
        for &id in &pending {
            if self.store.message_digest(id).await?.is_some() {
                self.store.mark_unindexed(id).await?;
            }
        }
        self.store.clear_index_deletes(&pending).await?;
        Ok(())
    }

    /// Deletes for good every message that has been in the trash for longer
    /// than the retention (`trash_days`, 30 by default; 0 keeps them). `now`
    /// in Unix seconds. Returns how many.
    pub async fn purge_trash(&mut self, now: i64) -> Result<usize> {
        let days = match self.store.setting(TRASH_DAYS_SETTING).await? {
            Some(v) => v.trim().parse::<i64>().unwrap_or(TRASH_DAYS),
            None => TRASH_DAYS,
        };
        if days <= 0 {
            return Ok(0);
        }
        self.empty_trash_before(now - days * 86_400).await
    }

    /// Deletes for good every message put in the trash before `before` (Unix
    /// seconds; `i64::MAX` empties the trash). Returns how many.
    pub async fn empty_trash_before(&mut self, before: i64) -> Result<usize> {
        let mut done = 0;
        loop {
            let ids = self.store.trashed_before(before, BATCH).await?;
            if ids.is_empty() {
                return Ok(done);
            }
            let deleted = self.delete_for_good(&ids).await?;
            if deleted == 0 {
                return Ok(done);
            }
            done += deleted;
        }
    }
}
