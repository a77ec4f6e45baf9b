//! The message store: one SQLCipher database, the source of truth for everything.
//!
//! Raw messages are kept verbatim (zstd-compressed) so that nothing is lost by
//! parsing; the fields parsed from them sit beside them for listing, threading and
//! tagging. The database is opened with a raw 256-bit key from the vault, sent as
//! the first statement on every pooled connection.

mod accounts;
mod address_book;
mod backup_objects;
mod check;
mod contacts;
mod conversations;
mod crypto;
mod drafts;
mod dump;
mod identities;
mod index_queue;
mod live;
mod messages;
mod outbox;
mod purge;
mod remote;
mod repair;
mod rules;
mod schema;
mod settings;
mod spam;
mod tags;
mod threads;

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use homepost_vault::SecretKey;
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions, Connection};

pub use accounts::{
    Account, AccountConfig, DeletePolicy, Endpoint, FirstScope, FirstSync, Incoming, Outgoing,
    Protocol, Secrets, Security, Side, is_loopback,
};
pub use address_book::{
    CardOutcome, Completion, Contact, ContactAddress, ContactError, ContactFields, ContactOrder,
    normalize_address,
};
pub use check::StoreCheck;
pub use conversations::{MAX_PARTICIPANTS, ThreadOverview};
pub use crypto::{CryptoSteps, IdentityKey, PeerRow, StepOutcome};
pub use drafts::{Draft, DraftAttachment, DraftContent, Forward, ForwardMode};
pub use dump::{Loader, Page, Snapshot, Table, Value};
pub use identities::{Identity, IdentityFields, IdentityOutcome, MAX_SIGNATURE_CHARS};
pub use index_queue::PendingIndex;
pub use messages::{Inserted, MessageDetail, MessageSummary, NewMessage, Packed, Packer};
pub use outbox::{NewOutgoing, OutboxItem, OutboxJob, OutboxState};
pub use remote::{FLAG_FLAGGED, FLAG_READ, FLAG_TAGS, RemoteCopy, RemoteId, flag_tags, tag_flags};
pub use repair::{MessageDigest, Quarantined};
pub use rules::{NewRule, Rule, RuleActions, RuleChange, SavedSearch, SpamAction};
pub use spam::{SpamClass, SpamCounts, SpamExample, SpamStats, TrainingOutcome};
pub use tags::{TagCount, normalize_tag};

/// The database file inside the data directory.
pub const DB_FILE: &str = "store.db";

/// Errors a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key does not open the database, or the file is not a database.
    #[error("the store cannot be opened with this key (wrong vault, or the file is damaged)")]
    WrongKey,
    /// The database has a newer schema than this program knows.
    #[error(
        "the store has schema version {found}, newer than this program ({known}): upgrade Homepost"
    )]
    TooNew {
        /// Version on disk.
        found: i64,
        /// Latest version this build knows.
        known: i64,
    },
    /// A tag name that cannot be used.
    #[error(
        "invalid tag {0:?}: tags are 1-64 characters, no spaces or control characters, not starting with + or -"
    )]
    BadTag(String),
    /// A tag that already exists (create, rename).
    #[error("there is already a tag {0:?}")]
    TagExists(String),
    /// A tag that does not exist.
    #[error("there is no tag {0:?}")]
    NoSuchTag(String),
    /// A name another item already has (saved searches).
    #[error("there is already one named {0:?}: choose another name")]
    NameTaken(String),
    /// An item that does not exist (saved search, rule).
    #[error("{0}")]
    NotFound(String),
    /// A list that would hold more than it may.
    #[error("there are already as many as there may be ({0}): delete some first")]
    Full(usize),
    /// A new order that does not name every item exactly once.
    #[error("the new order must name every {0} exactly once")]
    BadOrder(&'static str),
    /// A stored message could not be decompressed.
    #[error("message {0} is damaged in the store")]
    Damaged(i64),
    /// The disk is full.
    #[error("the disk is full: free some space and run the command again (nothing was lost)")]
    DiskFull,
    /// A page of the database failed its authentication or its structure is
    /// broken (SQLITE_CORRUPT): damage on the disk.
    #[error(
        "the store is damaged (a page of store.db failed its check): run `homepost check` and `homepost repair`; if the box no longer opens, restore it from a backup (`homepost restore`)"
    )]
    Corrupt,
    /// Any other database error.
    #[error("database error: {0}")]
    Sql(#[source] sqlx::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            // Extended result codes keep the primary code in the low byte.
            match db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff)
            {
                Some(26) => return Error::WrongKey,
                Some(13) => return Error::DiskFull,
                Some(11) => return Error::Corrupt,
                _ => {}
            }
        }
        Error::Sql(e)
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A handle on the open store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    /// Connections that read (and the writes not yet moved to `writer`).
    pool: SqlitePool,
    /// The one connection that writes ([`Store::begin_write`]). SQLite lets
    /// one connection write at a time anyway, and a connection's page cache
    /// is dropped whenever another one has written since its last
    /// transaction: writes that take turns over several connections read
    /// (decrypt and authenticate) every page they touch again.
    writer: SqlitePool,
    /// The key statement every new connection runs first; emptied (and wiped) by
    /// [`close`](Self::close), so the key does not outlive the open store.
    key: Arc<Mutex<Option<KeyPragma>>>,
}

/// A copy of the key statement for one new connection, unless the store was
/// closed. sqlx takes the statement text as a plain string (and copies it again
/// while preparing it): those short-lived copies are freed unwiped; the lasting
/// one is ours, and [`Store::close`] wipes it.
fn key_statement(key: &Mutex<Option<KeyPragma>>) -> std::result::Result<String, sqlx::Error> {
    key.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
        .map(|k| k.0.as_str().to_owned())
        .ok_or(sqlx::Error::PoolClosed)
}

/// Gives a new connection the key, then the settings that need it, and marks it
/// [`live`] until SQLite has closed it.
async fn apply_key(
    conn: &mut sqlx::SqliteConnection,
    statement: String,
) -> std::result::Result<(), sqlx::Error> {
    let live = live::Live::new();
    conn.lock_handle()
        .await?
        .create_collation("homepost_live", move |a, b| {
            let _ = &live;
            a.cmp(b)
        })?;
    sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(sqlx::AssertSqlSafe(statement))).await?;
    sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(AFTER_KEY)).await?;
    Ok(())
}

/// What each connection sets once the key is in. Pages are decrypted and
/// authenticated each time SQLite reads them: a 16 MiB page cache keeps the hot
/// index pages of an import decrypted. The caches of all connections together
/// stop growing at [`SQLITE_SOFT_HEAP_LIMIT`]: past it each recycles its least
/// recently used pages instead of allocating more.
const AFTER_KEY: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -16384; \
     PRAGMA secure_delete = ON;";

/// The heap SQLite may use in the whole process before its page caches recycle
/// pages rather than grow (a soft limit: allocations never fail because of it).
/// Four connections at 16 MiB each held 71 MB of a 152 MB serving process at 10^6
/// messages; an import's single writer still gets its whole 16 MiB.
pub(crate) const SQLITE_SOFT_HEAP_LIMIT: i64 = 32 << 20;

/// `PRAGMA key = "x'<64 hex digits>'"`, in memory that is wiped when the store
/// closes (or is dropped).
struct KeyPragma(zeroize::Zeroizing<String>);

impl KeyPragma {
    fn new(key: &SecretKey) -> KeyPragma {
        use std::fmt::Write as _;
        let mut sql = zeroize::Zeroizing::new(String::with_capacity(80));
        sql.push_str("PRAGMA key = \"x'");
        for b in key.expose() {
            // Writing to a String cannot fail; the capacity is never exceeded.
            let _ = write!(sql, "{b:02x}");
        }
        sql.push_str("'\"");
        KeyPragma(sql)
    }
}

impl std::fmt::Debug for KeyPragma {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPragma(..)")
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` with `key` and migrates it.
    ///
    /// The key is not kept in the connection options (sqlx holds those as plain
    /// strings for the pool's life): each new connection runs the key statement
    /// first, made from a copy that [`close`](Self::close) wipes.
    pub async fn open(path: &Path, key: &SecretKey) -> Result<Store> {
        Store::open_at(path, key, schema::LATEST).await
    }

    /// Creates a store at schema `version` (not the newest) to load a copy made
    /// at that version into; [`upgrade`](Self::upgrade) then brings it up to date.
    pub async fn create_at_version(path: &Path, key: &SecretKey, version: i64) -> Result<Store> {
        if !(1..=schema::LATEST).contains(&version) {
            return Err(Error::TooNew {
                found: version,
                known: schema::LATEST,
            });
        }
        Store::open_at(path, key, version).await
    }

    /// Applies the migrations newer than the store's schema.
    pub async fn upgrade(&self) -> Result<()> {
        schema::migrate(&self.pool, schema::LATEST).await
    }

    /// The newest schema version this build knows.
    pub fn latest_schema() -> i64 {
        schema::LATEST
    }

    /// [`open`](Self::open), migrating only up to schema `version` (tests of an
    /// upgrade build a store of an older version this way).
    async fn open_at(path: &Path, key: &SecretKey, version: i64) -> Result<Store> {
        init_crypto();
        let key = Arc::new(Mutex::new(Some(KeyPragma::new(key))));
        // Only pragmas that do not read the file may run before the key (not
        // `synchronous`, `cache_size` or `journal_mode`: SQLite reads the schema
        // for those); the rest follow it in `AFTER_KEY`.
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(Error::Sql)?
            .filename(path)
            .create_if_missing(true)
            .foreign_keys(true)
            .pragma("temp_store", "MEMORY")
            .busy_timeout(Duration::from_secs(30))
            .disable_statement_logging();
        // One connection first, so that a wrong key is told at once (the pool
        // would retry a failing connection until its timeout).
        let mut probe = options.connect().await?;
        // SQLCipher registered its own exit handler as SQLite initialised for
        // this first connection: ours, registered after it, runs before it.
        live::wait_for_connections_at_exit();
        let statement = key_statement(&key)?;
        apply_key(&mut probe, statement).await?;
        // For the whole process, so set once.
        sqlx::Executor::execute(
            &mut probe,
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "PRAGMA soft_heap_limit = {SQLITE_SOFT_HEAP_LIMIT}"
            ))),
        )
        .await?;
        probe.close().await?;
        let pool_of = |connections: u32| {
            let for_connections = key.clone();
            SqlitePoolOptions::new()
                .max_connections(connections)
                .after_connect(move |conn, _| {
                    let statement = key_statement(&for_connections);
                    Box::pin(async move { apply_key(conn, statement?).await })
                })
                .connect_with(options.clone())
        };
        let pool = pool_of(4).await?;
        let writer = pool_of(1).await?;
        let store = Store { pool, writer, key };
        schema::migrate(&store.pool, version).await?;
        Ok(store)
    }

    /// Closes every connection, checkpointing the WAL, and wipes the key.
    pub async fn close(self) {
        drop(
            self.key
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take(),
        );
        self.pool.close().await;
        self.writer.close().await;
    }

    /// A transaction for a change: it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), waiting under the busy timeout. A deferred one that reads
    /// before it writes fails at its first write with `SQLITE_BUSY` when another
    /// connection (the fetcher, the sender) wrote meanwhile, whatever the timeout.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Initialises the OpenSSL that SQLCipher uses, once, before SQLCipher does.
///
/// Left to itself, OpenSSL's first use registers `OPENSSL_cleanup` to run at
/// exit, before [`live`]'s handler has waited for the connections, and it frees
/// state that a closing connection's cipher still uses. openssl-sys's `init`
/// asks for no exit handler: the operating system reclaims the memory anyway.
fn init_crypto() {
    openssl_sys::init();
}

pub(crate) fn to_json<T: Serialize>(rows: &T) -> Result<String> {
    serde_json::to_string(rows).map_err(|e| Error::Sql(sqlx::Error::Encode(Box::new(e))))
}

#[cfg(test)]
mod tests;
