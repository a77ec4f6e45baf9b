//! What the server holds: the library while unlocked, the sessions, the throttle.
//! The keys live only inside the open [`Library`]: locking closes it.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use homepost_search::library::Library;
use homepost_vault::{Error as VaultError, KdfParams, Passphrase, Vault};
use tokio::sync::{RwLock, Semaphore};
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::session::{SessionInfo, Sessions, Throttle};

/// The shortest passphrase a new vault accepts, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 10;

/// Shared by every request.
pub struct AppState {
    data_dir: PathBuf,
    kdf: KdfParams,
    /// `Some` exactly while unlocked.
    pub(crate) library: RwLock<Option<Library>>,
    sessions: Mutex<Sessions>,
    throttle: Mutex<Throttle>,
    /// One Argon2 derivation at a time: each takes 64 MiB and a core.
    kdf_gate: Semaphore,
    /// Whether the cookie is sent only over TLS.
    pub(crate) secure_cookie: bool,
}

/// A new session: the cookie value and what the client is told.
pub struct NewSession {
    /// The session id, for the cookie only.
    pub id: Zeroizing<String>,
    /// The CSRF token and expiry.
    pub info: SessionInfo,
}

impl AppState {
    /// State for a server on `data_dir`, locked.
    pub fn new(
        data_dir: PathBuf,
        kdf: KdfParams,
        idle: Duration,
        lifetime: Duration,
        secure_cookie: bool,
    ) -> Arc<Self> {
        Arc::new(AppState {
            data_dir,
            kdf,
            library: RwLock::new(None),
            sessions: Mutex::new(Sessions::new(idle, lifetime)),
            throttle: Mutex::new(Throttle::default()),
            kdf_gate: Semaphore::new(1),
            secure_cookie,
        })
    }

    /// The sessions; a poisoned lock is recovered (the map stays consistent).
    pub(crate) fn sessions(&self) -> MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn throttle(&self) -> MutexGuard<'_, Throttle> {
        self.throttle.lock().unwrap_or_else(|p| p.into_inner())
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
    pub async fn unlock(
        &self,
        client: Option<IpAddr>,
        passphrase: Passphrase,
    ) -> Result<NewSession, ApiError> {
        self.throttle()
            .check(client, Instant::now())
            .map_err(ApiError::throttled)?;
        let _one_at_a_time = self
            .kdf_gate
            .acquire()
            .await
            .map_err(|e| ApiError::internal(&e))?;
        // Checked again: failures may have been recorded while this one waited.
        self.throttle()
            .check(client, Instant::now())
            .map_err(ApiError::throttled)?;
        if !self.has_vault() {
            return Err(no_vault());
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

    /// Creates the vault (only if there is none), opens the library and starts a session.
    pub async fn create_vault(&self, passphrase: Passphrase) -> Result<NewSession, ApiError> {
        if passphrase.char_count() < MIN_PASSPHRASE_CHARS {
            return Err(ApiError::bad_request(
                "weak_passphrase",
                format!("choose a passphrase of at least {MIN_PASSPHRASE_CHARS} characters"),
            ));
        }
        let _one_at_a_time = self
            .kdf_gate
            .acquire()
            .await
            .map_err(|e| ApiError::internal(&e))?;
        if self.has_vault() {
            return Err(ApiError::new(
                actix_web::http::StatusCode::CONFLICT,
                "vault_exists",
                "a vault already exists here: unlock it instead",
            ));
        }
        let (dir, kdf) = (self.data_dir.clone(), self.kdf);
        let vault = tokio::task::spawn_blocking(move || Vault::create(&dir, &passphrase, kdf))
            .await
            .map_err(|e| ApiError::internal(&e))?
            .map_err(|e| ApiError::internal(&e))?;
        tracing::info!(dir = %self.data_dir.display(), "vault created");
        self.open_and_start_session(vault).await
    }

    async fn open_and_start_session(&self, vault: Vault) -> Result<NewSession, ApiError> {
        // The session is created under the library's write lock, so the idle reaper
        // cannot lock the library between the open and the session.
        let mut library = self.library.write().await;
        if library.is_none() {
            let opened = Library::open(&self.data_dir, &vault).await?;
            tracing::info!("unlocked");
            *library = Some(opened);
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
        let mut library = self.library.write().await;
        let left = {
            let mut sessions = self.sessions();
            sessions.remove(id);
            sessions.purge(Instant::now())
        };
        if left == 0 {
            close(&mut library).await;
        }
    }

    /// Ends every session and drops the keys.
    pub async fn lock(&self) {
        let mut library = self.library.write().await;
        self.sessions().clear();
        close(&mut library).await;
    }

    /// Removes expired sessions and locks when none is left.
    pub async fn reap(&self) {
        if self.library.read().await.is_none() {
            return;
        }
        let mut library = self.library.write().await;
        if self.sessions().purge(Instant::now()) == 0 {
            close(&mut library).await;
        }
    }

    /// How often [`reap`](Self::reap) should run.
    pub fn reap_interval(&self) -> Duration {
        (self.sessions().idle() / 4).clamp(Duration::from_millis(200), Duration::from_secs(30))
    }
}

async fn close(library: &mut Option<Library>) {
    if let Some(lib) = library.take() {
        lib.close().await;
        tracing::info!("locked: keys dropped from memory");
    }
}

pub(crate) fn no_vault() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::CONFLICT,
        "no_vault",
        "there is no vault yet: create one first",
    )
}
