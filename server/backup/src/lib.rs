//! Encrypted, incremental, deduplicated backups of a Homepost box to a folder
//! of an IMAP account (or a directory), and restore onto a new box
//! (docs/backup.md).
//!
//! A backup copies the store's rows (not the database file: SQLCipher's pages
//! change wholesale) in pieces cut by content (FastCDC), and each message's
//! stored bytes as an object of its own. Objects are named by a keyed hash of
//! their content, so only what is new is sent, sealed, in packs of a bounded
//! size. The search index is not backed up: it is rebuilt after a restore.

mod catalog;
mod crypto;
mod forget;
mod format;
mod keys;
mod prune;
mod recover;
mod remote;
mod restore;
mod run;

pub use crypto::{Keys, RecoveryKey};
pub use format::{ItemKind, Label};
pub use keys::{Secret, VaultAccess, pending_recovery_key, recovery_key_shown, stored_keys};
pub use prune::{PruneSummary, Retention, prune};
pub use recover::messages;
pub use remote::{AnyRemote, DirRemote, ImapRemote, Item, Listing, Remote};
pub use restore::{RestoreSummary, SnapshotInfo, VerifyReport, list, restore, verify};
pub use run::{Options, Progress, Summary, backup};

/// What went wrong, in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The system's random source failed.
    #[error("the system's random number source failed")]
    Random,
    /// A file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// An item or object does not authenticate or does not parse.
    #[error("the backup's {0} is damaged or was changed on the server")]
    Damaged(String),
    /// An item the backup needs is not on the server.
    #[error("the backup's {0} is missing from the server")]
    Missing(String),
    /// The passphrase or recovery key does not open this backup.
    #[error("this passphrase or recovery key does not open the backup (nothing was written)")]
    WrongSecret,
    /// A recovery key that cannot be one.
    #[error("that is not a recovery key: it has 32 characters in 8 groups, like 7K2M-…")]
    BadRecoveryKey,
    /// The folder has no backup.
    #[error("there is no Homepost backup in {0}")]
    NoBackup(String),
    /// The folder holds backups of more than one box.
    #[error("{0} holds the backups of more than one box ({1}): choose another folder")]
    SharedFolder(String, String),
    /// The folder holds another box's backup.
    #[error("{0} holds another box's backup (key {1}): choose another folder for this box")]
    Foreign(String, String),
    /// The restore target is a box already.
    #[error("{0} already holds a box (a vault): restore into a new data directory")]
    TargetNotEmpty(String),
    /// The backup disk (a directory target) is out of space.
    #[error(
        "the backup disk at {0} is full: free space on it or choose a larger one; nothing was lost"
    )]
    DiskFull(String),
    /// The backup account is out of space.
    #[error(
        "{0} is full (the mail server's quota): free space there or choose another account for backups; nothing was lost"
    )]
    ServerFull(String),
    /// The server refused a message as too large.
    #[error(
        "the mail server refused a backup message of {0} bytes: lower the message size limit in the backup settings (nothing was lost)"
    )]
    TooLarge(usize),
    /// The connection closed and could not be made again.
    #[error("the connection to the backup server closed")]
    Closed,
    /// The mail server refused or failed.
    #[error("the backup server: {0}")]
    Transport(#[from] homepost_transport::Error),
    /// The store failed.
    #[error("the store: {0}")]
    Store(#[from] homepost_store::Error),
    /// The vault failed.
    #[error("{0}")]
    Vault(#[from] homepost_vault::Error),
    /// What the backup holds does not fit together.
    #[error("the backup is inconsistent: {0}")]
    Inconsistent(String),
}

impl Error {
    pub(crate) fn io(what: String, source: std::io::Error) -> Error {
        Error::Io { what, source }
    }

    pub(crate) fn json(e: serde_json::Error) -> Error {
        Error::Inconsistent(format!("cannot encode: {e}"))
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
