//! What the server holds: the library while unlocked, the sessions, the throttle.
//! The keys live only inside the open [`Library`]: locking closes it.

use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use homepost_core::library::Library;
use homepost_core::sink::{LibrarySink, SharedLibrary};
use homepost_transport::{Options as TransportOptions, Transport};
use homepost_vault::{Error as VaultError, KdfParams, Passphrase, Vault};
use tokio::sync::{RwLock, Semaphore};
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::session::{SessionInfo, Sessions, Throttle};

/// The shortest passphrase a new vault accepts, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = homepost_vault::strength::MIN_CHARS;

mod restore;
mod setup;

pub use restore::{RestorePhase, RestoreView};

/// Shared by every request.
pub struct AppState {
    data_dir: PathBuf,
    kdf: KdfParams,
    /// `Some` exactly while unlocked.
    pub(crate) library: SharedLibrary,
    /// Fetching and sending, running exactly while unlocked.
    transport: Mutex<Option<Arc<Transport>>>,
    transport_options: Mutex<TransportOptions>,
    /// A restore from a backup, asked for by the setup wizard.
    pub(crate) restore: restore::RestoreJob,
    /// The backup schedule and any backup run, exactly while unlocked.
    backup_tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    sessions: Mutex<Sessions>,
    throttle: Mutex<Throttle>,
    /// One Argon2 derivation at a time: each takes 64 MiB and a core.
    kdf_gate: Semaphore,
    /// How OpenPGP keys are looked up (WKD, keys.openpgp.org).
    key_lookup: Mutex<(homepost_net::Client, homepost_net::LookupOptions)>,
    /// Where the server listens and which other host names it answers to.
    network: Mutex<Network>,
    /// The one-time code that claims a new box, and who claimed it.
    claim: crate::claim::Claim,
    /// Signs the "known device" cookies of browsers that unlocked before.
    devices: crate::device::DeviceKeys,
    /// Files uploaded for import, and the import jobs.
    imports: homepost_core::imports::Imports,
    /// The tunnels from outside the home network (relay, onion service).
    remote: crate::remote::Remote,
    /// How account discovery reaches the world (set at start).
    discovery: Mutex<Option<crate::routes::account_setup::DiscoverySetup>>,
    /// Certificates trusted at a connection test that then logged in.
    tested_pins: crate::routes::account_setup::TestedPins,
}

/// The address the server listens on and the host names it answers to.
#[derive(Default)]
struct Network {
    listen: Option<IpAddr>,
    allowed_hosts: Vec<String>,
}

/// A new session: the cookie value and what the client is told.
pub struct NewSession {
    /// The session id, for the cookie only.
    pub id: Zeroizing<String>,
    /// The CSRF token and expiry.
    pub info: SessionInfo,
}

/// Where uploads wait for their import, sealed (see `homepost_core::imports`).
const SPOOL_DIR: &str = "spool";

impl AppState {
    /// State for a server on `data_dir`, locked.
    pub fn new(data_dir: PathBuf, kdf: KdfParams, idle: Duration, lifetime: Duration) -> Arc<Self> {
        Arc::new(AppState {
            kdf,
            library: Arc::new(RwLock::new(None)),
            transport: Mutex::new(None),
            transport_options: Mutex::new(TransportOptions::default()),
            restore: restore::RestoreJob::default(),
            backup_tasks: Mutex::new(Vec::new()),
            sessions: Mutex::new(Sessions::new(idle, lifetime)),
            throttle: Mutex::new(Throttle::default()),
            kdf_gate: Semaphore::new(1),
            key_lookup: Mutex::new((
                homepost_net::Client::new(Arc::new(homepost_net::Direct)),
                homepost_net::LookupOptions::default(),
            )),
            network: Mutex::new(Network::default()),
            claim: crate::claim::Claim::new(Vault::exists(&data_dir)),
            devices: crate::device::DeviceKeys::new(data_dir.join(crate::device::KEY_FILE)),
            imports: homepost_core::imports::Imports::new(&data_dir.join(SPOOL_DIR)),
            remote: crate::remote::Remote::new(data_dir.clone()),
            discovery: Mutex::new(None),
            tested_pins: Default::default(),
            data_dir,
        })
    }

    /// Sets the address the server listens on and the other host names it answers
    /// to (lowercase, without a port: the box's LAN or mDNS name, onion address,
    /// relay name). Requests naming any other host are refused (421).
    pub fn set_network(&self, listen: IpAddr, allowed_hosts: Vec<String>) {
        let allowed_hosts = allowed_hosts
            .into_iter()
            .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        *self
            .network
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Network {
            listen: Some(listen),
            allowed_hosts,
        };
    }

    /// The data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// The tunnels from outside the home network.
    pub fn remote(&self) -> &crate::remote::Remote {
        &self.remote
    }

    /// Files uploaded for import, and the import jobs.
    pub(crate) fn imports(&self) -> &homepost_core::imports::Imports {
        &self.imports
    }

    /// The listen address, once [`set_network`](Self::set_network) said it.
    pub(crate) fn listen_ip(&self) -> Option<IpAddr> {
        self.network
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .listen
    }

    /// The configured host names, lowercase.
    pub(crate) fn allowed_hosts(&self) -> Vec<String> {
        self.network
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .allowed_hosts
            .clone()
    }

    /// The first-run setup code while the box has no vault (to print on the
    /// console and in the journal: whoever reads it owns the box).
    pub fn setup_token(&self) -> Option<Zeroizing<String>> {
        self.claim.code()
    }

    /// Sets how account discovery reaches the world.
    pub fn set_discovery(&self, setup: crate::routes::account_setup::DiscoverySetup) {
        *self
            .discovery
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(setup);
    }

    /// How account discovery reaches the world (directly, the system's
    /// resolver and the ISPDB, unless set otherwise).
    pub(crate) fn discovery(&self) -> crate::routes::account_setup::DiscoverySetup {
        let mut setup = self
            .discovery
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        setup
            .get_or_insert_with(|| {
                crate::routes::account_setup::DiscoverySetup::new(
                    Arc::new(homepost_net::Direct),
                    false,
                    None,
                    Some(homepost_autoconfig::ISPDB_URL.to_owned()),
                )
            })
            .clone()
    }

    /// Certificates trusted at a connection test that then logged in.
    pub(crate) fn tested_pins(&self) -> &crate::routes::account_setup::TestedPins {
        &self.tested_pins
    }

    /// The setup code and the claim on a new box.
    pub(crate) fn claim(&self) -> &crate::claim::Claim {
        &self.claim
    }

    /// Whether a request must bring the setup code to create the vault: while
    /// there is no vault, from anywhere but the box itself. (Without a code, as
    /// when no randomness could be had at start, only the box itself can.)
    pub fn setup_token_required(&self, local: bool) -> bool {
        !local && !self.has_vault()
    }

    /// The known-device cookies' keys.
    pub(crate) fn devices(&self) -> &crate::device::DeviceKeys {
        &self.devices
    }

    /// Sets how keys are looked up: the client (its dialer decides the route,
    /// such as Tor) and which sources are asked.
    pub fn set_key_lookup(
        &self,
        client: homepost_net::Client,
        options: homepost_net::LookupOptions,
    ) {
        *self
            .key_lookup
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (client, options);
    }

    /// The key lookup client and sources.
    pub(crate) fn key_lookup(&self) -> (homepost_net::Client, homepost_net::LookupOptions) {
        self.key_lookup
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Sets how fetching and sending behave (takes effect at the next unlock).
    pub fn set_transport_options(&self, opts: TransportOptions) {
        *self
            .transport_options
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = opts;
    }

    /// How long fetching may wait on a server (for a repair's fetches).
    pub(crate) fn transport_timeouts(&self) -> homepost_transport::Timeouts {
        self.transport_options
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .timeouts()
    }

    /// The running transport, while unlocked.
    pub fn transport(&self) -> Option<Arc<Transport>> {
        self.transport
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The sessions; a poisoned lock is recovered (the map stays consistent).
    pub(crate) fn sessions(&self) -> MutexGuard<'_, Sessions> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn throttle(&self) -> MutexGuard<'_, Throttle> {
        self.throttle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a vault exists in the data directory.
    pub fn has_vault(&self) -> bool {
        Vault::exists(&self.data_dir)
    }

    /// Whether the library is open.
    pub async fn is_unlocked(&self) -> bool {
        self.library.read().await.is_some()
    }

    /// Checks the passphrase (throttled), opens the library if it is not open yet
    /// and starts a session.
    ///
    /// A `known` client (one that unlocked before, or the box itself) is not held
    /// by the wait that many failures from everywhere impose on everyone, so that a
    /// stranger guessing cannot lock the owner out; its own failures still count.
    pub async fn unlock(
        &self,
        client: Option<IpAddr>,
        known: bool,
        passphrase: Passphrase,
    ) -> Result<NewSession, ApiError> {
        self.throttle()
            .check(client, known, Instant::now())
            .map_err(ApiError::throttled)?;
        let _one_at_a_time = self
            .kdf_gate
            .acquire()
            .await
            .map_err(|e| ApiError::internal(&e))?;
        // Checked again: failures may have been recorded while this one waited.
        self.throttle()
            .check(client, known, Instant::now())
            .map_err(ApiError::throttled)?;
        if !self.has_vault() {
            return Err(no_vault());
        }
        if self.restore.busy() {
            // The restore is rebuilding the index with the store open.
            return Err(ApiError::new(
                actix_web::http::StatusCode::CONFLICT,
                "restore_running",
                "the box is being restored from its backup: unlock it when that is done",
            ));
        }
        let dir = self.data_dir.clone();
        let vault = tokio::task::spawn_blocking(move || Vault::unlock(&dir, &passphrase))
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let vault = match vault {
            Ok(v) => v,
            Err(VaultError::WrongPassphrase) => {
                self.throttle().failed(client, Instant::now());
                tracing::warn!(client = ?client, "wrong passphrase");
                return Err(ApiError::new(
                    actix_web::http::StatusCode::UNAUTHORIZED,
                    "wrong_passphrase",
                    "that passphrase does not unlock this vault",
                ));
            }
            Err(e) => return Err(ApiError::internal(&e)),
        };
        self.throttle().succeeded(client);
        self.open_and_start_session(vault).await
    }

    /// Runs a local command (the CLI, over the control socket) on the library,
    /// so that one process owns the data directory: the passphrase is checked
    /// (and throttled) as an unlock is; `f` runs on the open library, or while
    /// locked on one opened for it and closed again after, unless a session
    /// opened the box meanwhile. No session is made.
    pub async fn run_command<T>(
        &self,
        passphrase: Passphrase,
        f: impl AsyncFnOnce(&mut Library) -> T,
    ) -> Result<T, ApiError> {
        let local = None;
        self.throttle()
            .check(local, true, Instant::now())
            .map_err(ApiError::throttled)?;
        if !self.has_vault() {
            return Err(no_vault());
        }
        let vault = {
            let _one_at_a_time = self
                .kdf_gate
                .acquire()
                .await
                .map_err(|e| ApiError::internal(&e))?;
            let dir = self.data_dir.clone();
            match tokio::task::spawn_blocking(move || Vault::unlock(&dir, &passphrase))
                .await
                .map_err(|e| ApiError::internal(&e))?
            {
                Ok(v) => v,
                Err(VaultError::WrongPassphrase) => {
                    self.throttle().failed(local, Instant::now());
                    tracing::warn!("wrong passphrase from a local command");
                    return Err(ApiError::new(
                        actix_web::http::StatusCode::UNAUTHORIZED,
                        "wrong_passphrase",
                        "that passphrase does not unlock this vault",
                    ));
                }
                Err(e) => return Err(ApiError::internal(&e)),
            }
        };
        let mut guard = self.library.write().await;
        let opened_here = guard.is_none();
        if opened_here {
            *guard = Some(Library::open(&self.data_dir, &vault).await?);
        }
        drop(vault);
        let lib = guard.as_mut().ok_or_else(ApiError::locked)?;
        let out = f(lib).await;
        // Opened for this command: locked again (no session can have started:
        // unlocking waits for this lock).
        if opened_here && let Some(lib) = guard.take() {
            lib.close().await;
        }
        Ok(out)
    }

    /// Runs `f` on the library if it is open (`None` while locked).
    pub async fn with_open_library<T>(&self, f: impl AsyncFnOnce(&Library) -> T) -> Option<T> {
        let guard = self.library.read().await;
        match guard.as_ref() {
            Some(lib) => Some(f(lib).await),
            None => None,
        }
    }

    pub(crate) async fn open_and_start_session(
        &self,
        vault: Vault,
    ) -> Result<NewSession, ApiError> {
        // The session is created under the library's write lock, so the idle reaper
        // cannot lock the library between the open and the session.
        let mut library = self.library.write().await;
        if library.is_none() {
            let opened = Library::open(&self.data_dir, &vault).await?;
            let store = opened.store().clone();
            self.spawn_task(homepost_core::backups::schedule(
                store.clone(),
                opened.backup_access().clone(),
            ));
            tracing::info!("unlocked");
            *library = Some(opened);
            self.spawn_task(homepost_core::integrity::schedule(self.library.clone()));
            let sink = Arc::new(LibrarySink::new(self.library.clone()));
            let opts = self
                .transport_options
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            match Transport::start(store, sink, opts).await {
                Ok(t) => {
                    *self
                        .transport
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(t));
                }
                // Mail stays readable; fetching and sending wait for the next unlock.
                Err(e) => tracing::error!(error = %e, "cannot start fetching and sending"),
            }
        }
        drop(vault);
        let (id, info) = self
            .sessions()
            .create(Instant::now())
            .map_err(|e| ApiError::internal(&e))?;
        Ok(NewSession { id, info })
    }

    /// Ends one session; locks when it was the last.
    pub async fn logout(&self, id: &str) {
        if self.sessions().len() <= 1 {
            // Likely the last: an import must not hold the lock for long.
            self.imports.stop_running();
        }
        let mut library = self.library.write().await;
        let left = {
            let mut sessions = self.sessions();
            sessions.remove(id);
            sessions.purge(Instant::now())
        };
        if left == 0 {
            self.close(&mut library).await;
        } else {
            self.imports.keep_running();
        }
    }

    /// Ends every session and drops the keys.
    pub async fn lock(&self) {
        // A running import stops after its batch instead of holding the keys.
        self.imports.stop_running();
        let mut library = self.library.write().await;
        self.sessions().clear();
        self.close(&mut library).await;
    }

    /// Removes expired sessions and locks when none is left.
    pub async fn reap(&self) {
        // Sessions first, without waiting for the mailbox: while one lives
        // there is nothing to do, and an import may hold the mailbox long.
        if self.sessions().purge(Instant::now()) > 0 {
            return;
        }
        if self.library.try_read().is_ok_and(|l| l.is_none()) {
            return;
        }
        self.imports.stop_running();
        let mut library = self.library.write().await;
        if self.sessions().purge(Instant::now()) == 0 {
            self.close(&mut library).await;
        } else {
            self.imports.keep_running();
        }
    }

    /// How often [`reap`](Self::reap) should run.
    pub fn reap_interval(&self) -> Duration {
        (self.sessions().idle() / 4).clamp(Duration::from_millis(200), Duration::from_secs(30))
    }
}

impl AppState {
    /// Runs a task of the unlocked box (the backup and integrity schedules, a
    /// backup, check or repair asked for) until the box locks.
    pub(crate) fn spawn_task(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = self
            .backup_tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tasks.retain(|t| !t.is_finished());
        tasks.push(tokio::spawn(task));
    }

    /// Stops fetching and sending and any backup, then closes the library
    /// (dropping the keys). A backup stopped midway lists no snapshot.
    async fn close(&self, library: &mut Option<Library>) {
        let backups = std::mem::take(
            &mut *self
                .backup_tasks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for task in backups {
            task.abort();
            let _ = task.await;
        }
        let transport = self
            .transport
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(t) = transport {
            t.shutdown().await;
        }
        self.imports.clear();
        if let Some(lib) = library.take() {
            lib.close().await;
            tracing::info!("locked: keys dropped from memory");
        }
    }
}

fn vault_exists() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::CONFLICT,
        "vault_exists",
        "a vault already exists here: unlock it instead",
    )
}

pub(crate) fn no_vault() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::CONFLICT,
        "no_vault",
        "there is no vault yet: create one first",
    )
}
