//! Reaching the box from outside the home network: the PageKite relay
//! ([`pagekite`]) and the onion service ([`onion`]). Each tunnel hands its
//! visitors to a listener of its own on loopback, whose app says where they
//! came from ([`Via`]), so no tunnelled request passes for the box's own.
//!
//! The settings live in `DATA/remote/`, outside the vault and readable by the
//! service user only: the tunnels run while the box is locked, so that the
//! phone can reach the unlock page (docs/remote.md).

mod onion;
mod pagekite;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;
use actix_web::web::Data;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::runtime::Handle;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::auth::Via;
use crate::state::AppState;
use crate::tls;

pub use onion::{
    DeviceBody, OnionBody, OnionClientBody, OnionSettings, PairedClient, TorBody, add_client,
    disable_onion, enable_onion, onion_address, pair_client, remove_client, saved_onion,
    set_onion_offline, unpair_client,
};
pub use pagekite::{
    PagekiteBody, PagekiteSettings, forget_pagekite, remove_pagekite, save_pagekite,
    saved_pagekite, set_pagekite,
};

/// The directory of the saved settings, in the data directory.
pub const REMOTE_DIR: &str = "remote";

/// Why remote access could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// A setting is wrong.
    #[error("{0}")]
    Settings(String),
    /// The certificate or its key is unusable.
    #[error(transparent)]
    Tls(crate::Error),
    /// Tor could not be started, or the onion service not launched.
    #[error("Tor: {0}")]
    Tor(String),
    /// Nothing of that name is set up.
    #[error("{0}")]
    NotFound(String),
    /// The settings could not be read or written, or the listener not started.
    #[error("{what}: {source}")]
    Io {
        /// What failed.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server is not running (no runtime to start the tunnel on).
    #[error("the server is not running")]
    NotRunning,
}

/// What the API says about remote access.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemoteBody {
    /// The relay, if one is set up.
    pub pagekite: Option<PagekiteBody>,
    /// The onion service, if it is on.
    pub onion: Option<OnionBody>,
    /// Tor inside the box, if it runs (for the onion service or lookups).
    pub tor: Option<TorBody>,
}

/// A listener on loopback for one tunnel's visitors.
struct Tunnel {
    addr: SocketAddr,
    handle: ServerHandle,
}

impl Tunnel {
    /// Binds `127.0.0.1:0` and serves the app marked `via` there. Runs on
    /// `runtime`, the server's own, not a request's worker.
    fn start(
        state: &Arc<AppState>,
        via: Via,
        tls: Option<rustls::ServerConfig>,
        runtime: &Handle,
    ) -> Result<Self, RemoteError> {
        let _entered = runtime.enter();
        let state = Data::from(state.clone());
        let server = HttpServer::new(move || crate::app(state.clone(), via))
            .workers(1)
            .shutdown_timeout(2)
            .disable_signals();
        let local = SocketAddr::from(([127, 0, 0, 1], 0));
        let bound = match tls {
            Some(config) => server.bind_rustls_0_23(local, config),
            None => server.bind(local),
        };
        let io = |source| RemoteError::Io {
            what: "cannot start the tunnel's listener on loopback".into(),
            source,
        };
        let server = bound.map_err(io)?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| io(std::io::Error::other("no address bound")))?;
        let server = server.run();
        let handle = server.handle();
        runtime.spawn(server);
        Ok(Tunnel { addr, handle })
    }

    async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// How long a replaced tunnel stays up for the answer to the request that
/// replaced it (it may have come through that tunnel).
const RETIRE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// The box's tunnels: started from the saved settings, changed from the API
/// and the CLI.
pub struct Remote {
    data_dir: PathBuf,
    runtime: Mutex<Option<Handle>>,
    relay: tokio::sync::Mutex<Option<pagekite::RunningRelay>>,
    onion: tokio::sync::Mutex<onion::OnionSide>,
    onion_view: Mutex<onion::OnionView>,
    /// Host names the tunnels answer to (the kite, the onion address).
    hosts: Mutex<Vec<String>>,
}

impl Remote {
    pub(crate) fn new(data_dir: PathBuf) -> Self {
        Remote {
            data_dir,
            runtime: Mutex::new(None),
            relay: tokio::sync::Mutex::new(None),
            onion: tokio::sync::Mutex::new(onion::OnionSide::default()),
            onion_view: Mutex::new(onion::OnionView::default()),
            hosts: Mutex::new(Vec::new()),
        }
    }

    /// The runtime tunnels run on (the server's, set when it starts), and
    /// another Tor network than the public one (a test network's arti
    /// configuration fragment).
    pub fn set_runtime(&self, runtime: Handle, tor_network: Option<PathBuf>) {
        *lock(&self.runtime) = Some(runtime);
        lock(&self.onion_view).set_network(tor_network);
    }

    fn runtime(&self) -> Result<Handle, RemoteError> {
        lock(&self.runtime).clone().ok_or(RemoteError::NotRunning)
    }

    /// Whether a tunnel answers to `name` (lowercase).
    pub(crate) fn serves(&self, name: &str) -> bool {
        lock(&self.hosts).iter().any(|h| h == name)
    }

    fn add_host(&self, name: &str) {
        lock(&self.hosts).push(name.to_owned());
    }

    fn remove_host(&self, name: &str) {
        lock(&self.hosts).retain(|h| h != name);
    }

    /// Remote access as the API shows it.
    pub async fn body(&self) -> RemoteBody {
        let pagekite = self
            .relay
            .lock()
            .await
            .as_ref()
            .map(pagekite::RunningRelay::body);
        let (onion, tor) = lock(&self.onion_view).bodies();
        RemoteBody {
            pagekite,
            onion,
            tor,
        }
    }

    /// The relay's status, as it changes (for tests and the CLI).
    pub async fn relay_status(
        &self,
    ) -> Option<tokio::sync::watch::Receiver<homepost_relay::RelayStatus>> {
        self.relay.lock().await.as_ref().map(|r| r.status.clone())
    }

    /// The onion service's status, as it changes (for tests).
    pub async fn onion_status(
        &self,
    ) -> Option<tokio::sync::watch::Receiver<homepost_onion::OnionStatus>> {
        lock(&self.onion_view).status()
    }

    /// Stops every tunnel (the settings stay).
    pub async fn shutdown(&self) {
        if let Some(old) = self.relay.lock().await.take() {
            self.remove_host(&old.kite);
            old.stop().await;
        }
        self.onion.lock().await.shutdown(self).await;
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts the tunnels of the saved settings. A failure is logged and leaves
/// the box reachable as before: the server still starts.
pub async fn resume(state: &Arc<AppState>) {
    match saved_pagekite(state.data_dir()) {
        Ok(Some(settings)) => {
            if let Err(e) = pagekite::start_relay(state, settings).await {
                tracing::error!(error = %e, "the relay is not started");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "the relay is not started"),
    }
    if let Err(e) = onion::resume(state).await {
        tracing::error!(error = %e, "the onion service is not started");
    }
}

/// Reads saved settings; `None` if there are none.
fn read_settings<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, RemoteError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => Zeroizing::new(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RemoteError::Io {
                what: format!("cannot read {}", path.display()),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        RemoteError::Settings(format!(
            "{} is damaged ({e}): set it up again",
            path.display()
        ))
    })
}

/// Writes settings whole or not at all: a temporary file (mode 0600),
/// synced, then renamed over the old one.
fn save_settings<T: Serialize>(path: &Path, settings: &T) -> Result<(), RemoteError> {
    let io = |source| RemoteError::Io {
        what: format!("cannot save {}", path.display()),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    tls::create_private_dir(dir).map_err(io)?;
    let json = Zeroizing::new(serde_json::to_vec_pretty(settings).map_err(|e| io(e.into()))?);
    let tmp = path.with_extension("json.new");
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(&tmp).map_err(io)?;
    f.write_all(&json).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes a settings file; whether it was there.
fn remove_settings(path: &Path) -> Result<bool, RemoteError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(RemoteError::Io {
            what: format!("cannot remove {}", path.display()),
            source,
        }),
    }
}
