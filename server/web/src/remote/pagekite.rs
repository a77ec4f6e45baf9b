//! The PageKite relay: its settings, its certificate for the kite name, and
//! the connector with its tunnel listener (TLS, [`Via::Relay`]).

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use homepost_relay::{KiteSecret, Relay, RelayConfig, RelayHandle, RelayStatus};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::{
    REMOTE_DIR, RETIRE_AFTER, RemoteError, Tunnel, read_settings, remove_settings, save_settings,
};
use crate::auth::Via;
use crate::state::AppState;
use crate::tls;

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

/// A relay that runs: the connector and the listener it feeds.
pub(super) struct RunningRelay {
    pub(super) kite: String,
    body: PagekiteBody,
    pub(super) status: watch::Receiver<RelayStatus>,
    relay: RelayHandle,
    tunnel: Tunnel,
}

impl RunningRelay {
    /// The API's view, with the status as it is now.
    pub(super) fn body(&self) -> PagekiteBody {
        let mut body = self.body.clone();
        let status = self.status.borrow();
        body.state = state_name(&status).into();
        body.message = status.to_string();
        body
    }

    /// Closes the tunnel and the connector.
    pub(super) async fn stop(self) {
        self.relay.shutdown().await;
        self.tunnel.stop().await;
    }

    /// Stops it a moment later, in the background: the request that replaced
    /// or removed it may have come through it, and its answer must get out.
    fn retire(self, remote: &super::Remote, runtime: &tokio::runtime::Handle) {
        remote.remove_host(&self.kite);
        runtime.spawn(async move {
            tokio::time::sleep(RETIRE_AFTER).await;
            self.stop().await;
        });
    }
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
        settings.secret = read_settings::<PagekiteSettings>(&path)?
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
    let existed = remove_settings(&data_dir.join(REMOTE_DIR).join(PAGEKITE_FILE))?;
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
        old.retire(remote, &remote.runtime()?);
    }
    forget_pagekite(state.data_dir())
}

/// Starts the relay of `settings` (replacing one that runs).
pub(super) async fn start_relay(
    state: &Arc<AppState>,
    mut settings: PagekiteSettings,
) -> Result<PagekiteBody, RemoteError> {
    settings.kite = relay_config(&settings, SocketAddr::from(([127, 0, 0, 1], 1)))?.kite;
    let remote = state.remote();
    let runtime = remote.runtime()?;
    let tls = tls_for(state.data_dir(), &settings)?;
    let mut running = remote.relay.lock().await;
    if let Some(old) = running.take() {
        old.retire(remote, &runtime);
    }
    let tunnel = Tunnel::start(state, Via::Relay, Some(tls.config), &runtime)?;
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
    remote.add_host(&settings.kite);
    tracing::info!(kite = %settings.kite, frontend = %settings.frontend, "relay started");
    *running = Some(RunningRelay {
        kite: settings.kite.clone(),
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
