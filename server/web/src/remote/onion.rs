//! The onion service: Tor inside the process ([`homepost_onion`]), the
//! service's identity in `DATA/tor/onion-identity` (mode 0600: the service
//! runs while the box is locked, so it cannot live in the vault), and its
//! visitors handed to a plain-HTTP listener on loopback marked [`Via::Onion`]
//! (Tor encrypts end to end and authenticates the address).
//!
//! Restricted discovery: with it on, only paired devices, each holding a
//! secret key the box showed once, can find the service; with it on and no
//! paired device the service is not published at all (arti's empty key list
//! would mean "anyone").

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use homepost_onion::{
    ClientAuthKey, OnionConfig, OnionIdentity, OnionService, OnionStatus, Tor, TorConfig, TorStatus,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::{
    REMOTE_DIR, RETIRE_AFTER, Remote, RemoteError, Tunnel, lock, read_settings, save_settings,
};
use crate::auth::Via;
use crate::state::AppState;

/// The onion service's settings, in [`REMOTE_DIR`].
const ONION_FILE: &str = "onion.json";
/// Tor's directories and the identity, in the data directory.
const TOR_DIR: &str = "tor";
const IDENTITY_FILE: &str = "onion-identity";
/// arti's name for the service.
const NICKNAME: &str = "homepost";
/// The port visitors use (`http://ADDRESS/`).
const PORT: u16 = 80;
/// The most devices that can be paired (each is a key in the descriptor).
const MAX_CLIENTS: usize = 32;

/// The onion service's settings as saved (`DATA/remote/onion.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnionSettings {
    /// Whether the service runs.
    pub enabled: bool,
    /// Whether only paired devices can find it.
    #[serde(default)]
    pub restricted: bool,
    /// The paired devices.
    #[serde(default)]
    pub clients: Vec<PairedClient>,
}

/// A paired device as saved: its name and the public half of its key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairedClient {
    /// Its id (to unpair it).
    pub id: String,
    /// What the user called it.
    pub name: String,
    /// When it was paired, Unix seconds.
    pub added_at: i64,
    /// `descriptor:x25519:<base32>`: the public key.
    pub key: String,
}

/// A paired device as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceBody {
    /// Its id (to unpair it).
    pub id: String,
    /// What the user called it.
    pub name: String,
    /// When it was paired, Unix seconds.
    pub added_at: i64,
}

/// The onion service as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OnionBody {
    /// `<56 characters>.onion`.
    pub address: String,
    /// `http://ADDRESS/`: open it in Tor Browser (or a browser behind Orbot).
    pub url: String,
    /// `starting` (Tor is starting), `publishing`, `running`, `unreachable`
    /// or `stopped`.
    pub state: String,
    /// The status in words.
    pub message: String,
    /// Whether only paired devices can find the service.
    pub restricted: bool,
    /// The paired devices.
    pub clients: Vec<DeviceBody>,
    /// A QR code of `url`, as SVG, for a phone's camera.
    pub qr_svg: String,
}

/// Tor inside the box, as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TorBody {
    /// `starting` or `ready`.
    pub state: String,
    /// How far bootstrapping is, 0 to 100.
    pub percent: u8,
    /// Why it seems stuck, if it does.
    pub problem: Option<String>,
}

/// A newly paired device, with its secret key: shown once, never stored.
#[derive(Serialize, ToSchema)]
pub struct OnionClientBody {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// When it was paired, Unix seconds.
    pub added_at: i64,
    /// The key Tor Browser asks for when it first opens the address (base32).
    #[schema(value_type = String)]
    pub key: Zeroizing<String>,
    /// The whole `.auth_private` line, for Orbot or C-tor's `ClientOnionAuthDir`.
    #[schema(value_type = String)]
    pub auth_private: Zeroizing<String>,
    /// A QR code of `key`, as SVG.
    #[schema(value_type = String)]
    pub qr_svg: Zeroizing<String>,
}

/// A published service and the listener it feeds.
struct RunningOnion {
    service: OnionService,
    tunnel: Tunnel,
}

/// The onion side of [`Remote`]: changed one step at a time (the mutex it
/// sits in), while [`OnionView`] answers the API at once.
#[derive(Default)]
pub(super) struct OnionSide {
    tor: Option<Arc<Tor>>,
    running: Option<RunningOnion>,
}

/// What the API shows, kept apart from the slow changes.
#[derive(Default)]
pub(super) struct OnionView {
    network: Option<PathBuf>,
    /// The settings in force and the address, while the service is on.
    on: Option<(OnionSettings, String, String)>,
    status: Option<watch::Receiver<OnionStatus>>,
    tor: Option<watch::Receiver<TorStatus>>,
    /// Bumped by every change; a change that is overtaken does not launch.
    generation: Arc<AtomicU64>,
}

impl OnionView {
    pub(super) fn set_network(&mut self, network: Option<PathBuf>) {
        self.network = network;
    }

    pub(super) fn status(&self) -> Option<watch::Receiver<OnionStatus>> {
        self.status.clone()
    }

    pub(super) fn bodies(&self) -> (Option<OnionBody>, Option<TorBody>) {
        let tor = self.tor.as_ref().map(|t| match &*t.borrow() {
            TorStatus::Ready => TorBody {
                state: "ready".into(),
                percent: 100,
                problem: None,
            },
            TorStatus::Starting { percent, problem } => TorBody {
                state: "starting".into(),
                percent: *percent,
                problem: problem.clone(),
            },
        });
        let onion = self.on.as_ref().map(|(settings, address, qr_svg)| {
            let (state, message) = match (&self.status, &tor) {
                _ if settings.restricted && settings.clients.is_empty() => (
                    "stopped",
                    "only paired devices may find the box, and none is paired: pair a device"
                        .to_owned(),
                ),
                (_, Some(t)) if t.state == "starting" => (
                    "starting",
                    match &t.problem {
                        Some(p) => format!("Tor is starting ({}%): {p}", t.percent),
                        None => format!("Tor is starting ({}%)", t.percent),
                    },
                ),
                (Some(status), _) => match &*status.borrow() {
                    OnionStatus::Bootstrapping => (
                        "publishing",
                        "publishing the service in the Tor network".to_owned(),
                    ),
                    OnionStatus::Running => ("running", "reachable over Tor".to_owned()),
                    OnionStatus::Unreachable(why) => ("unreachable", why.clone()),
                    OnionStatus::Stopped => ("stopped", "stopped".to_owned()),
                },
                (None, _) => ("publishing", "starting the service".to_owned()),
            };
            OnionBody {
                url: format!("http://{address}/"),
                address: address.clone(),
                state: state.into(),
                message,
                restricted: settings.restricted,
                clients: settings
                    .clients
                    .iter()
                    .map(|c| DeviceBody {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        added_at: c.added_at,
                    })
                    .collect(),
                qr_svg: qr_svg.clone(),
            }
        });
        (onion, tor)
    }
}

impl OnionSide {
    /// The Tor client, started on first use.
    fn tor(&mut self, remote: &Remote) -> Result<Arc<Tor>, RemoteError> {
        if let Some(tor) = &self.tor {
            return Ok(tor.clone());
        }
        let runtime = remote.runtime()?;
        let _entered = runtime.enter();
        let dir = remote.data_dir.join(TOR_DIR);
        let network = lock(&remote.onion_view).network.clone();
        let tor = Tor::start(&TorConfig {
            state_dir: dir.join("state"),
            cache_dir: dir.join("cache"),
            network,
        })
        .map_err(|e| RemoteError::Tor(e.to_string()))?;
        let tor = Arc::new(tor);
        lock(&remote.onion_view).tor = Some(tor.status());
        self.tor = Some(tor.clone());
        Ok(tor)
    }

    pub(super) async fn shutdown(&mut self, remote: &Remote) {
        if let Some(old) = self.running.take() {
            old.service.shutdown().await;
            old.tunnel.stop().await;
        }
        if let Some((_, address, _)) = lock(&remote.onion_view).on.take() {
            remote.remove_host(&address);
        }
    }
}

impl Remote {
    /// The Tor client, started on first use (for the onion service and
    /// lookups over Tor).
    pub async fn tor(&self) -> Result<Arc<Tor>, RemoteError> {
        self.onion.lock().await.tor(self)
    }
}

fn settings_path(data_dir: &Path) -> PathBuf {
    data_dir.join(REMOTE_DIR).join(ONION_FILE)
}

fn identity(data_dir: &Path) -> Result<OnionIdentity, RemoteError> {
    OnionIdentity::load_or_create(&data_dir.join(TOR_DIR).join(IDENTITY_FILE))
        .map_err(|e| RemoteError::Tor(e.to_string()))
}

/// The saved onion settings, if any.
pub fn saved_onion(data_dir: &Path) -> Result<Option<OnionSettings>, RemoteError> {
    read_settings(&settings_path(data_dir))
}

/// The box's onion address (its identity is created on first use).
pub fn onion_address(data_dir: &Path) -> Result<String, RemoteError> {
    Ok(identity(data_dir)?.onion_address())
}

/// Changes the saved settings while no server runs: on or off, restricted
/// or not.
pub fn set_onion_offline(
    data_dir: &Path,
    enabled: bool,
    restricted: Option<bool>,
) -> Result<OnionSettings, RemoteError> {
    let mut settings = saved_onion(data_dir)?.unwrap_or_default();
    settings.enabled = enabled;
    if let Some(r) = restricted {
        settings.restricted = r;
    }
    if enabled {
        identity(data_dir)?;
    }
    save_settings(&settings_path(data_dir), &settings)?;
    Ok(settings)
}

/// Pairs a device: a new key pair whose public half is saved and whose
/// secret is returned once. Works with or without a running server (which
/// must then [`apply`] the settings).
pub fn add_client(data_dir: &Path, name: &str) -> Result<OnionClientBody, RemoteError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(RemoteError::Settings(
            "give the device a name of 1 to 64 characters".into(),
        ));
    }
    let mut settings = saved_onion(data_dir)?.unwrap_or_default();
    if settings.clients.len() >= MAX_CLIENTS {
        return Err(RemoteError::Settings(format!(
            "at most {MAX_CLIENTS} devices can be paired: unpair one first"
        )));
    }
    let address = onion_address(data_dir)?;
    let (public, secret) =
        ClientAuthKey::generate().map_err(|e| RemoteError::Tor(e.to_string()))?;
    let auth_private = secret
        .to_auth_private(&address)
        .map_err(|e| RemoteError::Tor(e.to_string()))?;
    let key = Zeroizing::new(
        auth_private
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned(),
    );
    let mut id_bytes = [0u8; 4];
    getrandom::fill(&mut id_bytes).map_err(|e| RemoteError::Tor(e.to_string()))?;
    let client = PairedClient {
        id: hex::encode(id_bytes),
        name: name.to_owned(),
        added_at: crate::routes::unix_now(),
        key: public.to_string(),
    };
    settings.clients.push(client.clone());
    save_settings(&settings_path(data_dir), &settings)?;
    Ok(OnionClientBody {
        qr_svg: Zeroizing::new(qr_svg(&key)?),
        id: client.id,
        name: client.name,
        added_at: client.added_at,
        key,
        auth_private,
    })
}

/// Unpairs a device: its key no longer finds the service.
pub fn remove_client(data_dir: &Path, id: &str) -> Result<(), RemoteError> {
    let mut settings = saved_onion(data_dir)?.unwrap_or_default();
    let before = settings.clients.len();
    settings.clients.retain(|c| c.id != id);
    if settings.clients.len() == before {
        return Err(RemoteError::NotFound(format!("no paired device {id}")));
    }
    save_settings(&settings_path(data_dir), &settings)
}

/// Turns the onion service on (or changes whether it is restricted) in the
/// running server.
pub async fn enable_onion(
    state: &Arc<AppState>,
    restricted: bool,
) -> Result<OnionBody, RemoteError> {
    set_onion_offline(state.data_dir(), true, Some(restricted))?;
    apply(state).await?;
    let (body, _) = lock(&state.remote().onion_view).bodies();
    body.ok_or_else(|| RemoteError::Tor("the onion service did not start".into()))
}

/// Turns the onion service off (its address is kept for next time);
/// whether it was on.
pub async fn disable_onion(state: &Arc<AppState>) -> Result<bool, RemoteError> {
    let was_on = saved_onion(state.data_dir())?.is_some_and(|s| s.enabled);
    set_onion_offline(state.data_dir(), false, None)?;
    apply(state).await?;
    Ok(was_on)
}

/// Pairs a device in the running server (see [`add_client`]).
pub async fn pair_client(
    state: &Arc<AppState>,
    name: &str,
) -> Result<OnionClientBody, RemoteError> {
    let paired = add_client(state.data_dir(), name)?;
    apply(state).await?;
    Ok(paired)
}

/// Unpairs a device in the running server.
pub async fn unpair_client(state: &Arc<AppState>, id: &str) -> Result<(), RemoteError> {
    remove_client(state.data_dir(), id)?;
    apply(state).await
}

pub(super) async fn resume(state: &Arc<AppState>) -> Result<(), RemoteError> {
    if saved_onion(state.data_dir())?.is_some_and(|s| s.enabled) {
        apply(state).await?;
    }
    Ok(())
}

/// Brings the running service in line with the saved settings. What the API
/// shows changes at once; a service that runs is replaced a moment later in
/// the background (the request that asked may have come through it), and
/// the new one is launched after it.
pub async fn apply(state: &Arc<AppState>) -> Result<(), RemoteError> {
    let remote = state.remote();
    let data_dir = state.data_dir();
    let settings = saved_onion(data_dir)?.unwrap_or_default();
    let publish = settings.enabled && !(settings.restricted && settings.clients.is_empty());
    let runtime = remote.runtime()?;
    // Tor and the identity first: their errors belong to this request.
    if settings.enabled {
        remote.onion.lock().await.tor(remote)?;
    }
    let generation = {
        let mut view = lock(&remote.onion_view);
        if let Some((_, old, _)) = view.on.take() {
            remote.remove_host(&old);
        }
        view.status = None;
        if settings.enabled {
            let address = identity(data_dir)?.onion_address();
            let qr = qr_svg(&format!("http://{address}/"))?;
            remote.add_host(&address);
            view.on = Some((settings.clone(), address, qr));
        }
        view.generation.fetch_add(1, Ordering::SeqCst) + 1
    };
    let state = state.clone();
    runtime.spawn(async move {
        let remote = state.remote();
        let current = || lock(&remote.onion_view).generation.load(Ordering::SeqCst);
        let mut side = remote.onion.lock().await;
        // A newer change does its own replacing.
        if current() != generation {
            return;
        }
        if let Some(old) = side.running.take() {
            tokio::time::sleep(RETIRE_AFTER).await;
            old.service.shutdown().await;
            old.tunnel.stop().await;
        }
        if !publish || current() != generation {
            return;
        }
        match launch(&state, &mut side, &settings) {
            Ok(running) => {
                lock(&remote.onion_view).status = Some(running.service.status());
                side.running = Some(running);
            }
            Err(e) => tracing::error!(error = %e, "the onion service is not started"),
        }
    });
    Ok(())
}

fn launch(
    state: &Arc<AppState>,
    side: &mut OnionSide,
    settings: &OnionSettings,
) -> Result<RunningOnion, RemoteError> {
    let remote = state.remote();
    let runtime = remote.runtime()?;
    let tor = side.tor(remote)?;
    let identity = identity(state.data_dir())?;
    let keys = if settings.restricted {
        settings
            .clients
            .iter()
            .map(|c| c.key.parse::<ClientAuthKey>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RemoteError::Settings(format!("a paired device's key: {e}")))?
    } else {
        Vec::new()
    };
    let tunnel = Tunnel::start(state, Via::Onion, None, &runtime)?;
    let _entered = runtime.enter();
    let service = tor
        .launch_onion(OnionConfig {
            nickname: NICKNAME.into(),
            identity: &identity,
            target: tunnel.addr,
            port: PORT,
            restricted_discovery: keys,
        })
        .map_err(|e| RemoteError::Tor(e.to_string()))?;
    tracing::info!(restricted = settings.restricted, "onion service started");
    Ok(RunningOnion { service, tunnel })
}

/// A QR code of `text` as SVG.
fn qr_svg(text: &str) -> Result<String, RemoteError> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| RemoteError::Settings(format!("cannot draw a QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}
