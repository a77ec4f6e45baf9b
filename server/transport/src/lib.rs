//! Mail transport: IMAP and POP3 fetch, SMTP submission through a persistent outbox.
//!
//! [`Transport`] runs one task per account that fetches its mail (IMAP with IDLE,
//! or POP3 polling) and keeps read/flagged state in step both ways, and one task
//! that works through the outbox. Everything they learn is committed to the store
//! as it happens, so stopping them at any point (a lock, a crash) loses nothing:
//! the next start resumes from the store.
//!
//! Fetched mail goes to a [`Sink`], the import pipeline of whoever runs the
//! transport; this crate does not know the search index.

pub mod check;
pub mod error;
pub mod imap;
pub mod pop3;
pub mod refetch;
pub mod smtp;
pub mod stream;
pub mod tls;
mod worker;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use homepost_mail::RawMessage;
use homepost_store::Store;
use serde::Serialize;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use error::{Error, ErrorReport, Result};

/// A boxed future, for the [`Sink`] trait.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where fetched mail goes, and how server-side flag changes reach stored mail.
pub trait Sink: Send + Sync + 'static {
    /// Stores messages like an import and returns each one's store id, in order
    /// (an id already stored for the same bytes counts). Must commit them to
    /// the store before returning: the server may delete the messages next.
    /// They need not be searchable before [`Sink::flush`].
    fn deliver(&self, messages: Vec<RawMessage>) -> BoxFuture<'_, Result<Vec<i64>, SinkError>>;
    /// Does the part of delivering `messages` that needs no lock on the store
    /// (parsing, classifying), so that a fetch can do it for its next batch
    /// while this one is stored. Hand the result to [`Sink::deliver_prepared`].
    /// By default nothing is done ahead.
    fn prepare(&self, messages: Vec<RawMessage>) -> BoxFuture<'_, Result<Prepared, SinkError>> {
        Box::pin(async move { Ok(Prepared::new(messages)) })
    }
    /// [`Sink::deliver`] for a batch this sink prepared.
    fn deliver_prepared(&self, prepared: Prepared) -> BoxFuture<'_, Result<Vec<i64>, SinkError>> {
        Box::pin(async move {
            let messages = prepared.take::<Vec<RawMessage>>()?;
            self.deliver(messages).await
        })
    }
    /// Makes what was delivered so far searchable (commits the index).
    fn flush(&self) -> BoxFuture<'_, Result<(), SinkError>>;
    /// Applies read/flagged changes seen on a server (see
    /// [`homepost_store::flag_tags`] for the tags the bits stand for).
    fn apply_flags(&self, changes: Vec<FlagChange>) -> BoxFuture<'_, Result<(), SinkError>>;
}

/// A batch a [`Sink`] prepared: what it holds is the sink's own business.
pub struct Prepared(Box<dyn std::any::Any + Send>);

impl Prepared {
    /// Wraps what a sink made of a batch.
    pub fn new<T: Send + 'static>(batch: T) -> Prepared {
        Prepared(Box::new(batch))
    }

    /// What [`Prepared::new`] wrapped, if it is a `T`; else an error, as when
    /// a batch goes to another sink than the one that prepared it.
    pub fn take<T: 'static>(self) -> Result<T, SinkError> {
        self.0
            .downcast::<T>()
            .map(|b| *b)
            .map_err(|_| SinkError::Failed("a batch was prepared by another sink".into()))
    }
}

/// A server-side change of a stored message's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagChange {
    /// The stored message.
    pub message: i64,
    /// Flag bits ([`homepost_store::FLAG_READ`], …) set on the server.
    pub add: i64,
    /// Flag bits cleared on the server.
    pub remove: i64,
}

/// Why a [`Sink`] could not take mail or flags.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// The vault was locked meanwhile: the mail stays on the server.
    #[error("the vault is locked")]
    Locked,
    /// Storing failed (the store's or the index's own message).
    #[error("{0}")]
    Failed(String),
}

impl From<SinkError> for Error {
    fn from(e: SinkError) -> Error {
        Error::Store(e.to_string())
    }
}

/// Tunables; the defaults suit a home server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time to wait for a TCP connection.
    pub connect_timeout: Duration,
    /// Longest silence while a server owes an answer.
    pub read_timeout: Duration,
    /// Longest time for a small command's whole answer (large fetches get more,
    /// by their size).
    pub command_timeout: Duration,
    /// First delay before a failed account connects again; it doubles per failure.
    pub reconnect_base: Duration,
    /// Longest delay between reconnects.
    pub reconnect_max: Duration,
    /// Longest single IDLE before it is renewed (RFC 9051 asks for under 30 min).
    pub idle_max: Duration,
    /// First delay before a deferred message is tried again; doubles per attempt.
    pub retry_base: Duration,
    /// Longest delay between attempts.
    pub retry_max: Duration,
    /// How long a message is tried before it fails (default 4 days).
    pub outbox_lifetime: Duration,
    /// Time allowed for one SMTP submission.
    pub send_timeout: Duration,
    /// Most messages fetched per round trip and per store transaction (each
    /// fetch also holds at most about 8 MiB of mail, or one larger message).
    pub fetch_batch: usize,
    /// Messages larger than this stay on the server (with an error in the status).
    pub max_message: u64,
    /// How often a long fetch commits the index, so that what it stored so far
    /// is searchable (it also commits at each folder's end).
    pub index_every: Duration,
    /// The most economical way a pass may learn of flag changes and expunges
    /// on an IMAP server that offers it (default QRESYNC).
    pub flag_sync: FlagSync,
}

/// How a pass over an IMAP folder learns what changed on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlagSync {
    /// Every message's flags are read, and every UID compared.
    Full,
    /// CONDSTORE (RFC 7162): only the flags changed since the last pass are
    /// read; the folder's UIDs are listed to find expunged messages.
    Condstore,
    /// QRESYNC (RFC 7162): the flags changed and the messages expunged since
    /// the last pass, and nothing else.
    Qresync,
}

/// What the last merge of flags with a folder read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MergeReport {
    /// How it learned of the server's changes.
    pub method: FlagSync,
    /// Messages whose flags the server sent.
    pub flags_read: u64,
    /// Remote copies found expunged.
    pub expunged: u64,
}

impl Options {
    /// The time limits of one connection.
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: self.connect_timeout,
            between_bytes: self.read_timeout,
            command: self.command_timeout,
        }
    }
}

/// Time limits of a connection to a mail server.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// To open the TCP connection.
    pub connect: Duration,
    /// Longest silence while an answer is owed.
    pub between_bytes: Duration,
    /// Longest time for a small command's whole answer.
    pub command: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Options::default().timeouts()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connect_timeout: Duration::from_secs(20),
            read_timeout: Duration::from_secs(60),
            command_timeout: Duration::from_secs(120),
            reconnect_base: Duration::from_secs(10),
            reconnect_max: Duration::from_secs(15 * 60),
            idle_max: Duration::from_secs(25 * 60),
            retry_base: Duration::from_secs(60),
            retry_max: Duration::from_secs(60 * 60),
            outbox_lifetime: Duration::from_secs(4 * 24 * 3600),
            send_timeout: Duration::from_secs(120),
            fetch_batch: 500,
            max_message: 64 << 20,
            index_every: Duration::from_secs(2),
            flag_sync: FlagSync::Qresync,
        }
    }
}

/// What an account's fetcher or sender is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncState {
    /// Up to date, waiting for news.
    Idle,
    /// Connecting and logging in.
    Connecting,
    /// Fetching or sending.
    Syncing,
    /// Waiting before trying again after an error, or before the next poll.
    Waiting,
    /// The last attempt failed; see `error`.
    Error,
    /// Not running (the server is locked or the account has no such server).
    Stopped,
}

/// Progress of a long operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Done so far.
    pub done: u64,
    /// In all.
    pub total: u64,
}

/// The status of one side of an account, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    /// What it is doing.
    pub state: SyncState,
    /// The same in plain words.
    pub detail: String,
    /// Progress of a fetch.
    pub progress: Option<Progress>,
    /// When it last finished without error (Unix seconds).
    pub last_success: Option<i64>,
    /// When it tries again.
    pub next_attempt: Option<i64>,
    /// The last error, until the next success.
    pub error: Option<ErrorReport>,
    /// What the last merge of flags with an IMAP folder read.
    pub last_merge: Option<MergeReport>,
}

impl SyncStatus {
    fn stopped() -> SyncStatus {
        SyncStatus {
            state: SyncState::Stopped,
            detail: "not running".into(),
            progress: None,
            last_success: None,
            next_attempt: None,
            error: None,
            last_merge: None,
        }
    }
}

/// Both sides of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountStatus {
    /// The fetcher.
    pub incoming: Option<SyncStatus>,
    /// The sender.
    pub outgoing: Option<SyncStatus>,
}

impl AccountStatus {
    /// The status of one side.
    pub fn side(self, side: homepost_store::Side) -> Option<SyncStatus> {
        match side {
            homepost_store::Side::Incoming => self.incoming,
            homepost_store::Side::Outgoing => self.outgoing,
        }
    }
}

struct Worker {
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) sink: Arc<dyn Sink>,
    pub(crate) opts: Options,
    pub(crate) mail_seq: AtomicU64,
    pub(crate) outbox_wake: Notify,
    statuses: Mutex<HashMap<i64, AccountStatus>>,
    workers: Mutex<HashMap<i64, Worker>>,
}

impl Shared {
    pub(crate) fn bump(&self) {
        self.mail_seq.fetch_add(1, Ordering::SeqCst);
    }

    /// Changes an account's status for one side.
    pub(crate) fn set_status(&self, account: i64, incoming: bool, f: impl FnOnce(&mut SyncStatus)) {
        if let Ok(mut map) = self.statuses.lock() {
            let entry = map.entry(account).or_insert(AccountStatus {
                incoming: None,
                outgoing: None,
            });
            let side = if incoming {
                &mut entry.incoming
            } else {
                &mut entry.outgoing
            };
            f(side.get_or_insert_with(SyncStatus::stopped));
        }
    }

    pub(crate) fn wake_account(&self, account: i64) {
        if let Ok(w) = self.workers.lock()
            && let Some(w) = w.get(&account)
        {
            w.wake.notify_one();
        }
    }
}

/// The running transport of one unlocked store.
pub struct Transport {
    shared: Arc<Shared>,
    outbox: Mutex<Option<JoinHandle<()>>>,
}

impl Transport {
    /// Starts fetching for every account and works through the outbox. Messages
    /// that a crash left half-sent are queued again first.
    pub async fn start(store: Store, sink: Arc<dyn Sink>, opts: Options) -> Result<Transport> {
        let shared = Arc::new(Shared {
            store,
            sink,
            opts,
            mail_seq: AtomicU64::new(0),
            outbox_wake: Notify::new(),
            statuses: Mutex::new(HashMap::new()),
            workers: Mutex::new(HashMap::new()),
        });
        let recovered = shared
            .store
            .recover_outbox(worker::now())
            .await
            .map_err(|e| Error::Store(e.to_string()))?;
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "outbox messages were interrupted while sending; trying them again"
            );
        }
        let accounts = shared
            .store
            .accounts()
            .await
            .map_err(|e| Error::Store(e.to_string()))?;
        let transport = Transport {
            outbox: Mutex::new(Some(tokio::spawn(worker::run_outbox(shared.clone())))),
            shared,
        };
        for a in accounts {
            transport.spawn(a.id);
        }
        Ok(transport)
    }

    fn spawn(&self, account: i64) {
        let wake = Arc::new(Notify::new());
        let task = tokio::spawn(worker::run_incoming(
            self.shared.clone(),
            account,
            wake.clone(),
        ));
        if let Ok(mut w) = self.shared.workers.lock()
            && let Some(old) = w.insert(account, Worker { wake, task })
        {
            old.task.abort();
        }
    }

    /// Restarts an account's fetcher after its settings changed (or stops it when
    /// the account is gone), and tries its deferred messages again at once.
    pub async fn reload(&self, account: i64) {
        let old = self
            .shared
            .workers
            .lock()
            .ok()
            .and_then(|mut w| w.remove(&account));
        if let Some(old) = old {
            old.task.abort();
            let _ = old.task.await;
        }
        if let Ok(mut s) = self.shared.statuses.lock() {
            s.remove(&account);
        }
        if matches!(self.shared.store.account(account).await, Ok(Some(_))) {
            self.spawn(account);
        }
        // New settings or a newly trusted certificate: deferred mail goes now.
        self.hurry(account).await;
    }

    /// Fetches an account now and tries its deferred messages at once.
    pub async fn sync_now(&self, account: i64) {
        self.shared.wake_account(account);
        self.hurry(account).await;
    }

    async fn hurry(&self, account: i64) {
        if let Err(e) = self
            .shared
            .store
            .hurry_outgoing(account, worker::now())
            .await
        {
            tracing::warn!(account, error = %e, "cannot reschedule the outbox");
        }
        self.shared.outbox_wake.notify_one();
    }

    /// Tells the fetchers that local tags changed (read/flagged go to the servers).
    pub fn local_change(&self) {
        if let Ok(w) = self.shared.workers.lock() {
            for w in w.values() {
                w.wake.notify_one();
            }
        }
    }

    /// Tells the sender that the outbox changed.
    pub fn outbox_changed(&self) {
        self.shared.outbox_wake.notify_one();
        self.shared.bump();
    }

    /// An account's status.
    pub fn status(&self, account: i64) -> AccountStatus {
        self.shared
            .statuses
            .lock()
            .ok()
            .and_then(|s| s.get(&account).cloned())
            .unwrap_or(AccountStatus {
                incoming: None,
                outgoing: None,
            })
    }

    /// Grows whenever fetched mail arrives or the outbox changes.
    pub fn mail_seq(&self) -> u64 {
        self.shared.mail_seq.load(Ordering::SeqCst)
    }

    /// The configured outbox lifetime, in seconds.
    pub fn outbox_lifetime_secs(&self) -> i64 {
        self.shared.opts.outbox_lifetime.as_secs() as i64
    }

    /// Stops every task. Work in flight is abandoned at a point the store can
    /// resume from.
    pub async fn shutdown(&self) {
        let tasks: Vec<JoinHandle<()>> = self
            .shared
            .workers
            .lock()
            .map(|mut w| w.drain().map(|(_, w)| w.task).collect())
            .unwrap_or_default();
        let outbox = self.outbox.lock().ok().and_then(|mut o| o.take());
        for t in tasks.into_iter().chain(outbox) {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        if let Ok(mut w) = self.shared.workers.lock() {
            for (_, w) in w.drain() {
                w.task.abort();
            }
        }
        if let Some(t) = self.outbox.lock().ok().and_then(|mut o| o.take()) {
            t.abort();
        }
    }
}
