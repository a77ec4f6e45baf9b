//! The Tor client: created at once, bootstrapped in the background, its
//! progress reported through a watch.

use std::collections::BTreeMap;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arti_client::config::{CfgPath, TorClientConfigBuilder};
use arti_client::status::BootstrapStatus;
use arti_client::{BootstrapBehavior, TorClient, TorClientConfig};
use futures::StreamExt as _;
use tokio::sync::watch;
use tor_config::ExplicitOrAuto;
use tor_hscrypto::pk::HsId;
use tor_keymgr::config::ArtiKeystoreKind;
use tor_rtcompat::PreferredRuntime;

use crate::Error;

/// Where Tor keeps its files, and which network it joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorConfig {
    /// arti's persistent state (guards, onion service state such as replay
    /// logs; no keys: arti's keystore is in memory). Inside the box's data
    /// directory, e.g. `DATA/tor/state`; created with mode 0700.
    pub state_dir: PathBuf,
    /// arti's directory cache (consensus, descriptors), e.g.
    /// `DATA/tor/cache`; created with mode 0700.
    pub cache_dir: PathBuf,
    /// An arti configuration fragment in TOML (`[tor_network]`,
    /// `[path_rules]`, `[override_net_params]`...) naming another Tor
    /// network, such as a test network's `arti.toml`; `None` is the public
    /// Tor network. The state and cache directories and the primary
    /// keystore are always ours; its other settings apply (a test client
    /// adds `[storage.keystore.ctor] clients` to read `.auth_private` files).
    pub network: Option<PathBuf>,
}

/// How far Tor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TorStatus {
    /// Bootstrapping: connecting to the network and fetching its directory.
    Starting {
        /// A rough percentage.
        percent: u8,
        /// Why it seems stuck, if it does (offline, clock skew, the last
        /// bootstrap error...). Tor keeps trying.
        problem: Option<String>,
    },
    /// Tor can carry traffic.
    Ready,
}

/// The first retry of a failed bootstrap waits this long; each next one twice
/// as long, up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(5);
/// The longest wait between bootstrap attempts.
const RETRY_MAX: Duration = Duration::from_secs(300);

/// A Tor client (arti) running inside this process.
///
/// Dropping it stops the background bootstrap; the client itself lives while
/// an [`crate::OnionService`] or a [`crate::TorDialer`] still uses it.
pub struct Tor {
    pub(crate) client: Arc<TorClient<PreferredRuntime>>,
    /// arti's configuration as built (its state directory and permission
    /// rules are needed again for onion service state).
    pub(crate) arti_config: TorClientConfig,
    pub(crate) state_dir: PathBuf,
    status: watch::Receiver<TorStatus>,
    /// Set once a bootstrap has succeeded. arti's own status events can
    /// still say "not ready" for a moment after that.
    pub(crate) bootstrapped: Arc<AtomicBool>,
    /// The onion services launched on this client, by nickname: arti keeps
    /// an identity in its (in-memory) keystore once given.
    pub(crate) launched: Mutex<BTreeMap<String, HsId>>,
    bootstrapper: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Tor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tor")
            .field("status", &*self.status.borrow())
            .finish_non_exhaustive()
    }
}

impl Tor {
    /// Creates the client and starts bootstrapping in the background; returns
    /// at once. Follow [`Tor::status`], or await [`Tor::ready`].
    ///
    /// Must be called inside a Tokio runtime, which the client then uses.
    /// Installs rustls's ring crypto provider as the process default if none
    /// is installed yet (arti's TLS needs one).
    pub fn start(config: &TorConfig) -> Result<Tor, Error> {
        // Err means another provider is already installed, which serves too.
        let _ = rustls::crypto::ring::default_provider().install_default();
        create_private_dir(&config.state_dir)?;
        create_private_dir(&config.cache_dir)?;
        let runtime = PreferredRuntime::current().map_err(|e| {
            Error::Config(format!("Tor must be started inside a Tokio runtime: {e}"))
        })?;
        let arti_config = client_config(config)?;
        let client = TorClient::with_runtime(runtime)
            .config(arti_config.clone())
            .bootstrap_behavior(BootstrapBehavior::OnDemand)
            .create_unbootstrapped()?;
        let (tx, status) = watch::channel(TorStatus::Starting {
            percent: 0,
            problem: None,
        });
        let bootstrapped = Arc::new(AtomicBool::new(false));
        let bootstrapper =
            tokio::spawn(bootstrap_forever(client.clone(), tx, bootstrapped.clone()));
        Ok(Tor {
            client,
            arti_config,
            state_dir: config.state_dir.clone(),
            status,
            bootstrapped,
            launched: Mutex::new(BTreeMap::new()),
            bootstrapper,
        })
    }

    /// Starts Tor and waits until it has bootstrapped.
    pub async fn bootstrap(config: &TorConfig) -> Result<Tor, Error> {
        let tor = Tor::start(config)?;
        tor.ready().await?;
        Ok(tor)
    }

    /// Waits until Tor has bootstrapped (at once if it has). An error says
    /// why this attempt failed; Tor keeps trying in the background.
    pub async fn ready(&self) -> Result<(), Error> {
        self.client.bootstrap().await?;
        self.bootstrapped.store(true, Ordering::Release);
        Ok(())
    }

    /// Bootstrap progress, updated as it changes.
    pub fn status(&self) -> watch::Receiver<TorStatus> {
        self.status.clone()
    }
}

impl Drop for Tor {
    fn drop(&mut self) {
        self.bootstrapper.abort();
    }
}

/// arti's configuration: the network fragment if any, our directories, and a
/// keystore in memory only.
fn client_config(config: &TorConfig) -> Result<TorClientConfig, Error> {
    let mut builder = match &config.network {
        None => TorClientConfigBuilder::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            toml::from_str::<TorClientConfigBuilder>(&text)
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?
        }
    };
    builder
        .storage()
        .state_dir(CfgPath::new_literal(&config.state_dir))
        .cache_dir(CfgPath::new_literal(&config.cache_dir));
    // arti's native keystore would write the service's identity and its
    // descriptor keys unencrypted under the state directory; the identity is
    // ours (OnionIdentity) and the other keys are derived or short-lived.
    builder
        .storage()
        .keystore()
        .primary()
        .kind(ExplicitOrAuto::Explicit(ArtiKeystoreKind::Ephemeral));
    builder
        .build()
        .map_err(|e| Error::Config(format!("arti configuration: {e}")))
}

/// Creates `dir` (and missing parents) with mode 0700, and makes an existing
/// one 0700.
fn create_private_dir(dir: &Path) -> Result<(), Error> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| Error::io(dir, e))
}

/// Bootstraps, retrying with backoff until it succeeds, and forwards arti's
/// progress events to `tx` until the client goes away.
async fn bootstrap_forever(
    client: Arc<TorClient<PreferredRuntime>>,
    tx: watch::Sender<TorStatus>,
    bootstrapped: Arc<AtomicBool>,
) {
    let mut events = client.bootstrap_events();
    let mut last_error: Option<String> = None;
    let mut delay = RETRY_FIRST;
    let mut done = false;
    let attempt = |wait: Duration| {
        let client = client.clone();
        Box::pin(async move {
            tokio::time::sleep(wait).await;
            client.bootstrap().await
        })
    };
    let mut bootstrapping = attempt(Duration::ZERO);
    loop {
        tokio::select! {
            result = &mut bootstrapping, if !done => match result {
                Ok(()) => {
                    done = true;
                    last_error = None;
                    bootstrapped.store(true, Ordering::Release);
                    tracing::info!("Tor bootstrapped");
                    tx.send_if_modified(|current| {
                        let changed = *current != TorStatus::Ready;
                        *current = TorStatus::Ready;
                        changed
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?delay, "Tor bootstrap failed");
                    last_error = Some(e.to_string());
                    update(&tx, &client.bootstrap_status(), last_error.clone(), false);
                    bootstrapping = attempt(delay);
                    delay = (delay * 2).min(RETRY_MAX);
                }
            },
            event = events.next() => match event {
                Some(status) => update(&tx, &status, last_error.clone(), done),
                None => break,
            },
        }
    }
}

/// Publishes arti's bootstrap status as a [`TorStatus`] (if it changed).
/// Once bootstrapped, only a blockage arti names turns Ready back into
/// Starting: its events lag behind a finished bootstrap.
fn update(
    tx: &watch::Sender<TorStatus>,
    status: &BootstrapStatus,
    error: Option<String>,
    bootstrapped: bool,
) {
    let next = if status.ready_for_traffic() || (bootstrapped && status.blocked().is_none()) {
        TorStatus::Ready
    } else {
        TorStatus::Starting {
            // as_frac is in 0.0..=1.0; `as` saturates anything else.
            percent: (status.as_frac() * 100.0).round().clamp(0.0, 100.0) as u8,
            problem: status.blocked().map(|b| b.to_string()).or(error),
        }
    };
    tx.send_if_modified(|current| {
        let changed = *current != next;
        if changed {
            *current = next;
        }
        changed
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_fragment_is_read_and_storage_is_ours() {
        let dir = tempfile::tempdir().unwrap();
        let fragment = dir.path().join("arti.toml");
        std::fs::write(
            &fragment,
            r#"
[tor_network]
fallback_caches = [
    { rsa_identity = "6E43B74F094B9E8F06BB78A86ADB97AE901EB256", ed_identity = "24+H+SJzC0pjgvn0kN5M5laDUL2wItxl1wqIjMxBSYI", orports = ["127.0.0.1:34095"] },
]
[tor_network.authorities]
v3idents = ["C89258D674CC8B5251ABB754D67AB6726EC0BBF3"]
[storage]
state_dir = "/elsewhere"
[override_net_params]
hsdir_interval = 8
"#,
        )
        .unwrap();
        let config = TorConfig {
            state_dir: dir.path().join("tor/state"),
            cache_dir: dir.path().join("tor/cache"),
            network: Some(fragment.clone()),
        };
        let built = client_config(&config).unwrap();
        assert_eq!(
            built.keystore().primary_kind(),
            Some(ArtiKeystoreKind::Ephemeral)
        );
        let dirs = built.dir_mgr_config().unwrap();
        assert_eq!(dirs.cache_dir, dir.path().join("tor/cache"));
        assert_eq!(
            dirs.override_net_params.get("hsdir_interval"),
            Some(&8),
            "{:?}",
            dirs.override_net_params
        );
        assert_eq!(dirs.network.authorities().v3idents().len(), 1);

        std::fs::write(&fragment, "[tor_network\n").unwrap();
        let err = client_config(&config).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
    }

    #[test]
    fn directories_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("tor/state");
        create_private_dir(&state).unwrap();
        for d in [&state, &dir.path().join("tor")] {
            let mode = std::fs::metadata(d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&state).unwrap();
        let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
}
