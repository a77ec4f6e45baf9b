//! The mail library: the store and the search index kept in step.
//!
//! The store is the source of truth; the index is derived from it. A message is
//! committed to the store first (marked unindexed), then to the index, and only
//! after the index commit is it marked indexed. A crash anywhere in between leaves
//! rows marked unindexed, which the next [`Library::open`] indexes again; a
//! missing, foreign or corrupt index is rebuilt from the store.

mod check;
mod import;
mod index;
mod prepare;
pub(crate) use index::with_decrypted;
mod purge;
mod repair;
mod search;
mod tags;

use std::path::Path;

use homepost_spam::SpamFilter;
use homepost_store::Store;
use homepost_vault::{Purpose, Vault};

pub use crate::searcher::Searcher;
use homepost_search::{Error as IndexError, OpenOutcome, SearchIndex};

pub use check::{CheckReport, IndexFindings};
pub use import::{ImportProgress, ImportStats};
pub(crate) use prepare::ReadyBatch;
pub use purge::{TRASH_DAYS, TRASH_DAYS_SETTING};
pub use repair::RepairReport;

/// The index directory inside the data directory.
pub const INDEX_DIR: &str = "index";
/// The store file inside the data directory.
pub use homepost_store::DB_FILE;

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
    /// `vault.json` could not be written again.
    #[error("vault.json: {0}")]
    Vault(#[from] homepost_vault::Error),
    /// A worker thread failed.
    #[error("a worker thread failed: {0}")]
    Worker(String),
    /// A change would touch more messages than one request may.
    #[error("this would change {0} messages, more than {1} at once: choose fewer conversations")]
    TooMany(usize, usize),
}

pub(crate) type Result<T, E = LibraryError> = std::result::Result<T, E>;

impl LibraryError {
    /// Whether the disk being full is what failed.
    pub fn is_disk_full(&self) -> bool {
        matches!(
            self,
            LibraryError::Store(homepost_store::Error::DiskFull)
                | LibraryError::Index(IndexError::DiskFull)
        )
    }
}

/// The store and the index of one data directory, unlocked.
pub struct Library {
    store: Store,
    index: SearchIndex,
    spam: SpamFilter,
    /// Searches running at once: one core is left for everything else (status,
    /// unlock, reading mail) however many searches come in.
    searches: std::sync::Arc<tokio::sync::Semaphore>,
    /// What a backup needs of the vault, while the library is open.
    backup_access: homepost_backup::VaultAccess,
    /// A sound copy of `vault.json`, to check it and write it again if damaged.
    vault_file: std::sync::Arc<homepost_vault::FileGuard>,
    /// Saved searches' counts by query, with the index generation they hold for.
    saved_counts: std::sync::Mutex<SavedCounts>,
    /// Fetched messages stored but not yet committed to the index (marked
    /// unindexed in the store until then): see [`Library::flush_delivered`].
    delivered: Vec<(i64, i64)>,
    /// The spam filter's counts as fetched batches read them, kept for the next
    /// batch (see [`crate::spam::BatchClassifier`]); only while it is trained.
    classifier: Option<crate::spam::BatchClassifier>,
}

/// Saved searches' (index generation, total, unread) by query text.
type SavedCounts = std::collections::HashMap<String, (u64, usize, usize)>;

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
            backup_access: homepost_backup::VaultAccess::new(vault),
            vault_file: std::sync::Arc::new(vault.file_guard()),
            spam: SpamFilter::default(),
            searches: std::sync::Arc::new(tokio::sync::Semaphore::new(
                crate::searcher::search_slots(),
            )),
            saved_counts: std::sync::Mutex::default(),
            delivered: Vec::new(),
            classifier: None,
        };
        let known = lib.store.setting("index_id").await?;
        if !matches!(outcome, OpenOutcome::Opened) || known.as_deref() != Some(lib.index.index_id())
        {
            lib.store.mark_all_unindexed().await?;
            lib.store
                .set_setting("index_id", lib.index.index_id())
                .await?;
        }
        match lib.retry_pending_crypto(crate::unix_now()).await {
            Err(e) if e.is_disk_full() => {
                tracing::warn!("the disk is full: interrupted OpenPGP steps wait for space");
            }
            other => {
                other?;
            }
        }
        match lib.sync_index().await {
            // Another process (an import) holds the index writer: search what is there.
            Err(LibraryError::Index(IndexError::Busy)) => {}
            // Mail stays readable; what is not indexed yet is, once there is room.
            Err(e) if e.is_disk_full() => {
                tracing::warn!("the disk is full: new mail is not searchable until space is freed");
            }
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

    /// What a backup of this box needs of its vault (its file and backup key).
    pub fn backup_access(&self) -> &homepost_backup::VaultAccess {
        &self.backup_access
    }

    /// The saved searches' counts kept so far.
    pub(crate) fn saved_cache(&self) -> std::sync::MutexGuard<'_, SavedCounts> {
        self.saved_counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Closes the store cleanly.
    pub async fn close(self) {
        self.store.close().await;
    }
}
