//! `homepost repair` (docs/integrity.md): what `check` found, put right where
//! it can be — the vault file written again, the index mended or rebuilt, a
//! damaged message fetched again from its account or the backup — and what
//! cannot be, kept in quarantine and listed.

use homepost_store::Quarantined;
use serde::Serialize;

use super::{CheckReport, Library, Result};

/// What [`Library::repair`] did.
#[derive(Debug, Clone, Serialize)]
pub struct RepairReport {
    /// Whether `vault.json` was written again from the sound copy.
    pub vault_rewritten: bool,
    /// Whether the whole index was rebuilt from the store.
    pub index_rebuilt: bool,
    /// Entries of the index removed (messages it held that the store has not).
    pub ghosts_removed: u64,
    /// Messages indexed that the index was missing.
    pub reindexed: u64,
    /// Damaged messages fetched again from their account.
    pub refetched: Vec<i64>,
    /// Damaged messages read back from the backup.
    pub from_backup: Vec<i64>,
    /// Messages in quarantine after the repair (kept with their metadata;
    /// their bytes could not be recovered).
    pub quarantined: Vec<Quarantined>,
    /// Messages on pages SQLite cannot read: only a restore from the backup
    /// brings them back.
    pub unreadable: Vec<i64>,
    /// The check after the repair.
    pub after: CheckReport,
}

impl Library {
    /// Checks, then repairs what the check found (see the module), then checks
    /// again. `timeouts` bound each attempt to fetch a message again.
    pub async fn repair(
        &mut self,
        timeouts: homepost_transport::Timeouts,
        mut progress: impl FnMut(&str),
    ) -> Result<RepairReport> {
        progress("checking");
        let before = self.check(|_, _| {}).await?;
        let vault_file = std::sync::Arc::clone(&self.vault_file);
        let vault_rewritten = before.vault.is_some()
            && tokio::task::spawn_blocking(move || vault_file.repair())
                .await
                .map_err(|e| super::LibraryError::Worker(e.to_string()))??;

        let mut damaged = Vec::new();
        // Those in quarantine are tried again: the server or a newer backup
        // may have them now.
        for &id in before
            .store
            .damaged_messages
            .iter()
            .chain(&before.quarantined)
        {
            if let Some(digest) = self.store.message_digest(id).await? {
                damaged.push((id, digest));
            }
        }
        let (mut refetched, mut from_backup) = (Vec::new(), Vec::new());
        let mut tried: std::collections::HashMap<i64, Vec<String>> = Default::default();
        if !damaged.is_empty() {
            progress("fetching damaged messages again");
        }
        for (id, digest) in &damaged {
            match homepost_transport::refetch::refetch(&self.store, *id, digest, timeouts).await {
                Ok(found) => {
                    if let Some(raw) = found.raw
                        && self.store.restore_raw(*id, &raw).await?
                    {
                        refetched.push(*id);
                        continue;
                    }
                    tried.insert(*id, found.tried);
                }
                Err(e) => {
                    tried.insert(*id, vec![e.to_string()]);
                }
            }
        }
        damaged.retain(|(id, _)| !refetched.contains(id));
        if !damaged.is_empty() {
            progress("reading damaged messages from the backup");
            let digests: Vec<Vec<u8>> = damaged.iter().map(|(_, d)| d.sha256.clone()).collect();
            let note = match crate::backups::recover_messages(&self.store, &digests).await {
                Ok(None) => "this box has no backup".to_owned(),
                Ok(Some(found)) => {
                    for (id, digest) in &damaged {
                        if let Some(raw) = found.get(&digest.sha256)
                            && self.store.restore_raw(*id, raw).await?
                        {
                            from_backup.push(*id);
                        }
                    }
                    "the backup does not hold it".to_owned()
                }
                Err(e) => format!("the backup: {e}"),
            };
            let now = crate::unix_now();
            for (id, _) in damaged.iter().filter(|(id, _)| !from_backup.contains(id)) {
                let mut reasons = tried.remove(id).unwrap_or_default();
                reasons.push(note.clone());
                let reason = format!("its bytes are damaged; {}", reasons.join("; "));
                self.store.quarantine(*id, &reason, now).await?;
            }
        }

        progress("mending the index");
        let index = &before.index;
        let mut index_rebuilt = false;
        let (mut ghosts_removed, mut reindexed) = (0, 0);
        let listed_all = index.ghosts.len() as u64 == index.ghost_count
            && index.missing.len() as u64 == index.missing_count;
        if !index.files.is_empty() || !index.duplicates.is_empty() || !listed_all {
            self.reindex().await?;
            index_rebuilt = true;
        } else if !index.is_clean() {
            for &ghost in &index.ghosts {
                self.index.delete(ghost)?;
            }
            self.index.commit()?;
            ghosts_removed = index.ghost_count;
            for &id in &index.missing {
                self.store.mark_unindexed(id).await?;
            }
            reindexed = self.sync_index().await? as u64;
        }

        progress("checking again");
        let after = self.check(|_, _| {}).await?;
        Ok(RepairReport {
            vault_rewritten,
            index_rebuilt,
            ghosts_removed,
            reindexed,
            refetched,
            from_backup,
            quarantined: self.store.quarantined().await?,
            unreadable: after.store.unreadable_messages.clone(),
            after,
        })
    }
}
