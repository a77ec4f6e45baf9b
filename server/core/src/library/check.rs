//! `homepost check`: the store, the index and the vault file read whole and
//! compared (docs/integrity.md). Reads and reports; changes nothing but
//! indexing what was waiting.

use homepost_search::IndexCheck;
use homepost_store::StoreCheck;
use homepost_vault::FileState;
use serde::Serialize;

use super::{Library, Result};

/// Ids listed at most per kind of finding; the count says how many in all.
const LISTED: usize = 1000;

/// What [`Library::check`] found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The store's findings.
    pub store: StoreCheck,
    /// Messages in the store.
    pub messages: u64,
    /// The index's findings.
    pub index: IndexFindings,
    /// What is wrong with `vault.json`, if anything.
    pub vault: Option<String>,
    /// Damaged messages already in quarantine (`repair` could not recover
    /// them): known, so no longer counted as damage.
    pub quarantined: Vec<i64>,
}

/// The index compared with the store.
#[derive(Debug, Default, Clone, Serialize)]
pub struct IndexFindings {
    /// Files of the index that are missing, truncated or fail authentication.
    pub files: Vec<String>,
    /// Files read and authenticated.
    pub files_checked: u64,
    /// Documents in the index.
    pub documents: u64,
    /// Messages of the store the index does not hold (at most 1,000 listed).
    pub missing: Vec<i64>,
    /// How many messages the index does not hold.
    pub missing_count: u64,
    /// Ids the index holds for messages the store does not have.
    pub ghosts: Vec<u64>,
    /// How many such ids.
    pub ghost_count: u64,
    /// Messages the index holds more than once.
    pub duplicates: Vec<u64>,
    /// Why the index could not be brought up to date before the comparison.
    pub update_failed: Option<String>,
}

impl IndexFindings {
    /// Whether the index is whole and holds every message once.
    pub fn is_clean(&self) -> bool {
        self.files.is_empty()
            && self.missing_count == 0
            && self.ghost_count == 0
            && self.duplicates.is_empty()
            && self.update_failed.is_none()
    }

    /// Compares the index's ids with the store's (`store` sorted, ids of rows
    /// that could be read and of those that could not).
    fn compare(&mut self, check: &IndexCheck, store: &[i64]) {
        self.files = check.files.clone();
        self.files_checked = check.files_checked;
        self.documents = check.ids.len() as u64;
        if !check.files.is_empty() {
            return;
        }
        let (mut s, mut x) = (0, 0);
        let index = &check.ids;
        while s < store.len() || x < index.len() {
            let want = store.get(s).and_then(|&id| u64::try_from(id).ok());
            let have = index.get(x).copied();
            match (want, have) {
                (Some(w), Some(h)) if w == h => {
                    s += 1;
                    x += 1;
                    while index.get(x) == Some(&h) {
                        if self.duplicates.last() != Some(&h) && self.duplicates.len() < LISTED {
                            self.duplicates.push(h);
                        }
                        x += 1;
                    }
                }
                (Some(w), Some(h)) if h < w => {
                    push_counted(&mut self.ghosts, &mut self.ghost_count, h);
                    x += 1;
                }
                (Some(_), _) => {
                    push_counted(&mut self.missing, &mut self.missing_count, store[s]);
                    s += 1;
                }
                (None, Some(h)) => {
                    push_counted(&mut self.ghosts, &mut self.ghost_count, h);
                    x += 1;
                }
                (None, None) => break,
            }
        }
    }
}

fn push_counted<T>(list: &mut Vec<T>, count: &mut u64, item: T) {
    *count += 1;
    if list.len() < LISTED {
        list.push(item);
    }
}

impl CheckReport {
    /// Whether nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.store.is_clean() && self.index.is_clean() && self.vault.is_none()
    }
}

impl Library {
    /// Checks the store (page authentication, structure, references, every
    /// message's bytes), then brings the index up to date, reads every file of
    /// it (authenticating every chunk) and compares its documents with the
    /// store's messages, and checks `vault.json`. `progress` gets (messages
    /// checked, all) while the store is read.
    pub async fn check(&mut self, progress: impl FnMut(u64, u64)) -> Result<CheckReport> {
        let store = self.store.check(progress).await?;
        let update_failed = self.sync_index().await.err().map(|e| e.to_string());
        self.finish_check(store, update_failed).await
    }

    /// The rest of [`check`](Self::check) once the store was checked (which
    /// needs no library: the web server checks a clone of the store while
    /// mail stays readable) and the index brought up to date: the index and the
    /// vault file, reading only.
    pub async fn finish_check(
        &self,
        mut store: StoreCheck,
        update_failed: Option<String>,
    ) -> Result<CheckReport> {
        let known: std::collections::HashSet<i64> = self
            .store
            .quarantined()
            .await?
            .into_iter()
            .map(|q| q.message)
            .collect();
        let (quarantined, damaged) = store
            .damaged_messages
            .iter()
            .partition(|id| known.contains(id));
        store.damaged_messages = damaged;
        let mut index = IndexFindings {
            update_failed,
            ..IndexFindings::default()
        };
        // The store's ids as of now, under the same lock as the index: mail
        // that came or went since the store was read is no finding.
        let now = self
            .store
            .message_ids()
            .await
            .unwrap_or_else(|_| store.ids.clone());
        let mut ids: Vec<i64> = now
            .iter()
            .chain(&store.unreadable_messages)
            .copied()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let found = self.index.verify(|_, _| {});
        index.compare(&found, &ids);
        let guard = std::sync::Arc::clone(&self.vault_file);
        let vault = match tokio::task::spawn_blocking(move || guard.check()).await {
            Ok(FileState::Damaged(what)) => Some(what),
            Ok(_) => None,
            Err(e) => Some(format!("the check of the vault file failed: {e}")),
        };
        Ok(CheckReport {
            messages: store.messages_checked,
            store,
            index,
            vault,
            quarantined,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compare(store: &[i64], index: &[u64]) -> IndexFindings {
        let mut f = IndexFindings::default();
        let check = IndexCheck {
            ids: index.to_vec(),
            ..IndexCheck::default()
        };
        f.compare(&check, store);
        f
    }

    #[test]
    fn the_comparison_names_missing_ghosts_and_duplicates() {
        assert!(compare(&[1, 2, 3], &[1, 2, 3]).is_clean());
        assert!(compare(&[], &[]).is_clean());
        let f = compare(&[1, 2, 4, 6], &[0, 1, 1, 1, 4, 5, 7, 7]);
        assert_eq!(f.missing, vec![2, 6]);
        assert_eq!(f.ghosts, vec![0, 5, 7, 7]);
        assert_eq!(f.ghost_count, 4);
        assert_eq!(f.duplicates, vec![1]);
        assert_eq!(f.documents, 8);
        let f = compare(&[5, 6], &[]);
        assert_eq!((f.missing.clone(), f.missing_count), (vec![5, 6], 2));
    }
}
