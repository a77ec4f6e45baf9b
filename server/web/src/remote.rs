//! Reaching the box from outside the home network: the PageKite relay (and the
//! onion service, on the same seam). Each tunnel hands its visitors to a
//! listener of its own on loopback, whose app says where they came from
//! ([`Via`]), so no tunnelled request passes for the box's own.
//!
//! The settings live in `DATA/remote/`, outside the vault and readable by the
//! service user only: the tunnels run while the box is locked, so that the
//! phone can reach the unlock page (docs/remote.md).

use std::fmt;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;
use actix_web::web::Data;
use homepost_relay::{KiteSecret, Relay, RelayConfig, RelayHandle, RelayStatus};
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use tokio::sync::watch;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use crate::auth::Via;
use crate::state::AppState;
use crate::tls;

/// The directory of the saved settings, in the data directory.
pub const REMOTE_DIR: &str = "remote";
/// The relay's settings, in [`REMOTE_DIR`].
const PAGEKITE_FILE: &str = "pagekite.json";
/// Where the self-signed certificate of the kite name is kept (one directory
/// per name), in the data directory.
const RELAY_TLS_DIR: &str = "tls/relay";

/// The relay's settings as saved (`DATA/remote/pagekite.json`, mode 0600).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagekiteSettings {
    /// The PageKite frontend, `host:port`.
    pub frontend: String,
    /// The kite name, which visitors use (`https://KITE/`).
    pub kite: String,
    /// The kite's shared secret.
    pub secret: Zeroizing<String>,
    /// A certificate chain for the kite name (PEM); without it the box makes
    /// a self-signed one and shows its fingerprint for pinning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
}

impl fmt::Debug for PagekiteSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagekiteSettings")
            .field("frontend", &self.frontend)
            .field("kite", &self.kite)
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

/// Why remote access could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// A setting is wrong.
    #[error("{0}")]
    Settings(String),
    /// The certificate or its key is unusable.
    #[error(transparent)]
    Tls(crate::Error),
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
}

/// The relay as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PagekiteBody {
    /// The frontend, `host:port`.
    pub frontend: String,
    /// The kite name.
    pub kite: String,
    /// Where the box is reached through the relay.
    pub url: String,
    /// SHA-256 of the certificate the box shows for the kite name, to compare
    /// with what the phone's browser shows.
    pub fingerprint: String,
    /// Whether the certificate is the user's own (else self-signed).
    pub own_certificate: bool,
    /// `connecting`, `registered`, `refused`, `disconnected` or `stopped`.
    pub state: String,
    /// The status in words.
    pub message: String,
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
        state: Data<AppState>,
        via: Via,
        tls: Option<rustls::ServerConfig>,
        runtime: &Handle,
    ) -> Result<Self, RemoteError> {
        let _entered = runtime.enter();
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

struct RunningRelay {
    body: PagekiteBody,
    status: watch::Receiver<RelayStatus>,
    relay: RelayHandle,
    tunnel: Tunnel,
}

/// The box's tunnels: started from the saved settings, changed from the API
/// and the CLI.
pub struct Remote {
    runtime: Mutex<Option<Handle>>,
    relay: tokio::sync::Mutex<Option<RunningRelay>>,
    /// Host names the tunnels answer to (the kite, the onion address).
    hosts: Mutex<Vec<String>>,
}

impl Remote {
    pub(crate) fn new() -> Self {
        Remote {
            runtime: Mutex::new(None),
            relay: tokio::sync::Mutex::new(None),
            hosts: Mutex::new(Vec::new()),
        }
    }

    /// The runtime tunnels run on (the server's, set when it starts).
    pub fn set_runtime(&self, runtime: Handle) {
        *lock(&self.runtime) = Some(runtime);
    }

    /// Whether a tunnel answers to `name` (lowercase).
    pub(crate) fn serves(&self, name: &str) -> bool {
        lock(&self.hosts).iter().any(|h| h == name)
    }

    /// Remote access as the API shows it.
    pub async fn body(&self) -> RemoteBody {
        let relay = self.relay.lock().await;
        RemoteBody {
            pagekite: relay.as_ref().map(|r| {
                let mut body = r.body.clone();
                let status = r.status.borrow();
                body.state = state_name(&status).into();
                body.message = status.to_string();
                body
            }),
        }
    }

    /// The relay's status, as it changes (for tests and the CLI).
    pub async fn relay_status(&self) -> Option<watch::Receiver<RelayStatus>> {
        self.relay.lock().await.as_ref().map(|r| r.status.clone())
    }

    /// Stops every tunnel (the settings stay).
    pub async fn shutdown(&self) {
        if let Some(old) = self.relay.lock().await.take() {
            lock(&self.hosts).retain(|h| *h != old.body.kite);
            old.relay.shutdown().await;
            old.tunnel.stop().await;
        }
    }

    /// Stops a relay that is replaced or removed, a moment later and in the
    /// background: the request that asked may have come through it, and its
    /// answer must get out first.
    fn retire(&self, old: RunningRelay, runtime: &Handle) {
        lock(&self.hosts).retain(|h| *h != old.body.kite);
        runtime.spawn(async move {
            tokio::time::sleep(RETIRE_AFTER).await;
            old.relay.shutdown().await;
            old.tunnel.stop().await;
        });
    }
}

/// How long a replaced relay stays up for the answer to the request that
/// replaced it.
const RETIRE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn state_name(status: &RelayStatus) -> &'static str {
    match status {
        RelayStatus::Connecting { .. } => "connecting",
        RelayStatus::Registered { .. } => "registered",
        RelayStatus::Refused { .. } => "refused",
        RelayStatus::Disconnected { .. } => "disconnected",
        RelayStatus::Stopped => "stopped",
    }
}

/// Starts the relay of the saved settings, if there are any. A failure is
/// logged and leaves the box reachable as before: the server still starts.
pub async fn resume(state: &Arc<AppState>) {
    let settings = match saved_pagekite(state.data_dir()) {
        Ok(Some(s)) => s,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "the relay is not started");
            return;
        }
    };
    if let Err(e) = start_relay(state, settings).await {
        tracing::error!(error = %e, "the relay is not started");
    }
}

/// Checks `settings` and saves them for the next start (what `homepost
/// remote pagekite` does while no server runs). An empty secret keeps the
/// saved one. Returns them as saved (the kite name lowercased).
pub fn save_pagekite(
    data_dir: &Path,
    mut settings: PagekiteSettings,
) -> Result<PagekiteSettings, RemoteError> {
    let path = data_dir.join(REMOTE_DIR).join(PAGEKITE_FILE);
    settings.frontend = settings.frontend.trim().to_owned();
    if settings.secret.is_empty() {
        // The name and the relay are checked before the missing secret.
        let mut named = settings.clone();
        named.secret = Zeroizing::new("-".into());
        relay_config(&named, SocketAddr::from(([127, 0, 0, 1], 1)))?;
        settings.secret = read_settings(&path)?
            .map(|s| s.secret)
            .ok_or_else(|| RemoteError::Settings("give the kite's secret".into()))?;
    }
    settings.kite = relay_config(&settings, SocketAddr::from(([127, 0, 0, 1], 1)))?.kite;
    if settings.cert.is_some() != settings.key.is_some() {
        return Err(RemoteError::Settings(
            "give both a certificate and its key, or neither (for a self-signed one)".into(),
        ));
    }
    // The certificate must load before anything changes.
    tls_for(data_dir, &settings)?;
    save_settings(&path, &settings)?;
    Ok(settings)
}

/// The saved relay settings, if any.
pub fn saved_pagekite(data_dir: &Path) -> Result<Option<PagekiteSettings>, RemoteError> {
    read_settings(&data_dir.join(REMOTE_DIR).join(PAGEKITE_FILE))
}

/// Forgets the relay's settings and its self-signed certificate; whether
/// there were any.
pub fn forget_pagekite(data_dir: &Path) -> Result<bool, RemoteError> {
    let path = data_dir.join(REMOTE_DIR).join(PAGEKITE_FILE);
    let existed = match std::fs::remove_file(&path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(source) => {
            return Err(RemoteError::Io {
                what: format!("cannot remove {}", path.display()),
                source,
            });
        }
    };
    let _ = std::fs::remove_dir_all(data_dir.join(RELAY_TLS_DIR));
    Ok(existed)
}

/// Sets up the relay with `settings` (replacing one that runs), saves them,
/// and starts it. An empty secret keeps the saved one.
pub async fn set_pagekite(
    state: &Arc<AppState>,
    settings: PagekiteSettings,
) -> Result<PagekiteBody, RemoteError> {
    let settings = save_pagekite(state.data_dir(), settings)?;
    start_relay(state, settings).await
}

/// Stops the relay and forgets its settings; whether there were any.
pub async fn remove_pagekite(state: &Arc<AppState>) -> Result<bool, RemoteError> {
    let remote = state.remote();
    if let Some(old) = remote.relay.lock().await.take() {
        let runtime = lock(&remote.runtime)
            .clone()
            .ok_or(RemoteError::NotRunning)?;
        remote.retire(old, &runtime);
    }
    forget_pagekite(state.data_dir())
}

async fn start_relay(
    state: &Arc<AppState>,
    mut settings: PagekiteSettings,
) -> Result<PagekiteBody, RemoteError> {
    settings.kite = relay_config(&settings, SocketAddr::from(([127, 0, 0, 1], 1)))?.kite;
    let remote = state.remote();
    let runtime = lock(&remote.runtime)
        .clone()
        .ok_or(RemoteError::NotRunning)?;
    let tls = tls_for(state.data_dir(), &settings)?;
    let mut running = remote.relay.lock().await;
    if let Some(old) = running.take() {
        remote.retire(old, &runtime);
    }
    let tunnel = Tunnel::start(
        Data::from(state.clone()),
        Via::Relay,
        Some(tls.config),
        &runtime,
    )?;
    let config = relay_config(&settings, tunnel.addr)?;
    let relay = {
        let _entered = runtime.enter();
        Relay::spawn(config).map_err(|e| RemoteError::Settings(e.to_string()))?
    };
    let body = PagekiteBody {
        url: format!("https://{}/", settings.kite),
        frontend: settings.frontend.clone(),
        kite: settings.kite.clone(),
        fingerprint: tls.fingerprint,
        own_certificate: settings.cert.is_some(),
        state: "connecting".into(),
        message: String::new(),
    };
    lock(&remote.hosts).push(settings.kite.clone());
    tracing::info!(kite = %settings.kite, frontend = %settings.frontend, "relay started");
    *running = Some(RunningRelay {
        body: body.clone(),
        status: relay.status(),
        relay,
        tunnel,
    });
    Ok(body)
}

/// The connector's configuration, checked (the kite name lowercased).
fn relay_config(
    settings: &PagekiteSettings,
    local: SocketAddr,
) -> Result<RelayConfig, RemoteError> {
    RelayConfig::new(
        settings.frontend.trim(),
        &settings.kite,
        KiteSecret::new(settings.secret.as_str()),
        local,
    )
    .checked()
    .map_err(|e| RemoteError::Settings(e.to_string()))
}

/// The TLS configuration for the kite name: the user's certificate, or one
/// made for the name and kept (a new name makes a new one).
fn tls_for(data_dir: &Path, settings: &PagekiteSettings) -> Result<tls::Tls, RemoteError> {
    let (cert, key) = match (&settings.cert, &settings.key) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone()),
        _ => {
            let all = data_dir.join(RELAY_TLS_DIR);
            // Certificates of earlier names go.
            if let Ok(entries) = std::fs::read_dir(&all) {
                for entry in entries.flatten() {
                    if entry.file_name().to_str() != Some(settings.kite.as_str()) {
                        let _ = std::fs::remove_dir_all(entry.path());
                    }
                }
            }
            tls::create_private_dir(&all).map_err(|source| RemoteError::Io {
                what: format!("cannot create {}", all.display()),
                source,
            })?;
            tls::self_signed(&all.join(&settings.kite), &[settings.kite.as_str()])
                .map_err(RemoteError::Tls)?
        }
    };
    tls::from_files(&cert, &key).map_err(RemoteError::Tls)
}

fn read_settings(path: &Path) -> Result<Option<PagekiteSettings>, RemoteError> {
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
            "{} is damaged ({e}): set the relay up again",
            path.display()
        ))
    })
}

/// Writes the settings whole or not at all: a temporary file (mode 0600),
/// synced, then renamed over the old one.
fn save_settings(path: &Path, settings: &PagekiteSettings) -> Result<(), RemoteError> {
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
