//! The box's onion service: published with Homepost's identity, each
//! rendezvous stream to the virtual port copied to a loopback listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arti_client::config::onion_service::OnionServiceConfigBuilder;
use futures::{Stream, StreamExt as _};
use tokio::sync::{Semaphore, watch};
use tor_cell::relaycell::msg::{Connected, End, EndReason};
use tor_hsservice::config::restricted_discovery::HsClientNickname;
use tor_hsservice::status::{OnionServiceStatus, Problem, State};
use tor_hsservice::{HsNickname, RendRequest, RunningOnionService, StreamRequest};
use tor_persist::state_dir::StateDirectory;
use tor_proto::stream::IncomingStreamRequest;

use crate::{ClientAuthKey, Error, OnionIdentity, Tor};

/// At most this many proxied streams are open at once; further streams are
/// refused until one closes, so a flood cannot exhaust the box.
pub const MAX_STREAMS: usize = 64;

/// How long connecting to the local target may take before the stream is
/// refused.
const TARGET_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`OnionService::shutdown`] waits for arti's tasks to end.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

/// What to publish and where to send its streams.
#[derive(Debug)]
pub struct OnionConfig<'a> {
    /// arti's name for the service (its state lives under it): lowercase
    /// letters, digits, `-` and `_`, e.g. `homepost`.
    pub nickname: String,
    /// The service's identity; its address is the service's address.
    pub identity: &'a OnionIdentity,
    /// The loopback listener every accepted stream is connected to.
    pub target: SocketAddr,
    /// The virtual port clients connect to (80). Streams to any other port
    /// are refused.
    pub port: u16,
    /// With keys, only clients holding one of their secrets can find the
    /// service (restricted discovery); empty, anyone who knows the address.
    pub restricted_discovery: Vec<ClientAuthKey>,
}

/// How the service is doing, as arti reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnionStatus {
    /// Establishing introduction points and publishing the descriptor.
    Bootstrapping,
    /// Published and believed reachable (possibly with fewer introduction
    /// points than wanted).
    Running,
    /// Not reachable at the moment, and why; arti keeps trying.
    Unreachable(String),
    /// Shut down.
    Stopped,
}

/// A launched onion service. Dropping it (or [`OnionService::shutdown`])
/// takes the service down.
pub struct OnionService {
    address: String,
    status: watch::Receiver<OnionStatus>,
    status_tx: Arc<watch::Sender<OnionStatus>>,
    service: Option<Arc<RunningOnionService>>,
    /// Ends when arti's tasks for the service have ended (its status stream
    /// closes).
    status_task: Option<tokio::task::JoinHandle<()>>,
    proxy_task: Option<tokio::task::JoinHandle<()>>,
    /// Whether arti has released the service's state lock (taking and
    /// dropping it at once if so).
    lock_released: Box<dyn Fn() -> bool + Send + Sync>,
}

impl std::fmt::Debug for OnionService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnionService")
            .field("address", &self.address)
            .field("status", &*self.status.borrow())
            .finish_non_exhaustive()
    }
}

impl Tor {
    /// Launches the onion service with `config.identity` and proxies its
    /// streams to `config.target`. Returns at once; follow
    /// [`OnionService::status`] to see it become reachable. Works before Tor
    /// has bootstrapped (it starts publishing once Tor is ready).
    ///
    /// The identity goes to arti's in-memory keystore only. Must be called
    /// inside the Tokio runtime Tor was started in.
    pub fn launch_onion(&self, config: OnionConfig<'_>) -> Result<OnionService, Error> {
        let nickname = HsNickname::new(config.nickname.clone()).map_err(|e| {
            Error::Config(format!("onion service nickname {:?}: {e}", config.nickname))
        })?;
        let mut builder = OnionServiceConfigBuilder::default();
        builder.nickname(nickname.clone());
        if !config.restricted_discovery.is_empty() {
            let discovery = builder.restricted_discovery();
            discovery.enabled(true);
            for (i, key) in config.restricted_discovery.iter().enumerate() {
                let name: HsClientNickname = format!("client-{i}")
                    .parse()
                    .map_err(|e| Error::Config(format!("client nickname: {e}")))?;
                discovery
                    .static_keys()
                    .access()
                    .push((name, key.arti_key()));
            }
        }
        let service_config = builder
            .build()
            .map_err(|e| Error::Config(format!("onion service: {e}")))?;

        let id = config.identity.hs_id();
        let launched = {
            let mut launched = self
                .launched
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match launched.get(&config.nickname) {
                Some(earlier) if *earlier != id => {
                    return Err(Error::NicknameInUse(config.nickname));
                }
                Some(_) => None,
                None => {
                    launched.insert(config.nickname.clone(), id);
                    Some(())
                }
            }
        };
        // arti refuses to insert an identity its keystore already holds: on a
        // relaunch under the same nickname the earlier insert serves. (The
        // insert comes first, so it stands even if that launch failed.)
        let result = match launched {
            Some(()) => self
                .client
                .launch_onion_service_with_hsid(service_config, config.identity.keypair())
                .map(|o| o.map(|(service, requests)| (service, requests.boxed()))),
            None => self
                .client
                .launch_onion_service(service_config)
                .map(|o| o.map(|(service, requests)| (service, requests.boxed()))),
        };
        let (service, requests) = match result {
            Ok(Some(launched)) => launched,
            Ok(None) => return Err(Error::Config("the onion service is disabled".into())),
            Err(e) => return Err(e.into()),
        };
        // Without our key in its keystore arti would have made up an identity:
        // never publish the box under another address.
        if service.onion_address() != Some(id) {
            return Err(Error::Config(
                "arti launched the onion service with another identity".into(),
            ));
        }

        let address = config.identity.onion_address();
        let lock_released = {
            let arti_config = self.arti_config.clone();
            let state_dir = self.state_dir.clone();
            Box::new(move || {
                StateDirectory::new(&state_dir, arti_config.fs_mistrust())
                    .is_ok_and(|dir| dir.acquire_instance(&nickname).is_ok())
            })
        };
        tracing::info!(nickname = %config.nickname, "onion service launched");
        let (status_tx, status) = watch::channel(map_status(&service.status()));
        let status_tx = Arc::new(status_tx);
        let status_task = tokio::spawn(forward_status(service.status_events(), status_tx.clone()));
        let proxy_task = tokio::spawn(proxy_streams(requests, config.port, config.target));
        Ok(OnionService {
            address,
            status,
            status_tx,
            service: Some(service),
            status_task: Some(status_task),
            proxy_task: Some(proxy_task),
            lock_released,
        })
    }
}

impl OnionService {
    /// The service's address, `<56 base32 characters>.onion`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The service's status, updated as it changes.
    pub fn status(&self) -> watch::Receiver<OnionStatus> {
        self.status.clone()
    }

    /// Takes the service down: no new streams are accepted and arti stops
    /// maintaining its introduction points; open streams end when their
    /// circuits close. Waits (up to [`SHUTDOWN_WAIT`]) until arti's tasks for
    /// the service have let go of its state directory, so the nickname can be
    /// launched again at once (arti refuses while its lock is held).
    pub async fn shutdown(mut self) {
        self.service = None;
        if let Some(proxy) = self.proxy_task.take() {
            proxy.abort();
        }
        let deadline = tokio::time::Instant::now() + SHUTDOWN_WAIT;
        if let Some(status) = self.status_task.take() {
            let _ = tokio::time::timeout_at(deadline, status).await;
        }
        while !(self.lock_released)() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.status_tx.send_replace(OnionStatus::Stopped);
    }
}

impl Drop for OnionService {
    /// Takes the service down without waiting (see [`OnionService::shutdown`]).
    fn drop(&mut self) {
        self.service = None;
        for task in [self.proxy_task.take(), self.status_task.take()]
            .into_iter()
            .flatten()
        {
            task.abort();
        }
        self.status_tx.send_replace(OnionStatus::Stopped);
    }
}

/// Forwards arti's status events, translated, until the service goes away.
async fn forward_status(
    mut events: impl Stream<Item = OnionServiceStatus> + Unpin,
    tx: Arc<watch::Sender<OnionStatus>>,
) {
    while let Some(status) = events.next().await {
        let next = map_status(&status);
        if next != *tx.borrow() {
            tracing::info!(status = ?next, "onion service status");
        }
        tx.send_if_modified(|current| {
            let changed = *current != next;
            if changed {
                *current = next;
            }
            changed
        });
    }
}

/// arti's states in three (the fourth, Stopped, is set by
/// [`OnionService`] itself): the degraded-but-reachable state counts as
/// running, every unreachable one carries arti's reason.
fn map_status(status: &OnionServiceStatus) -> OnionStatus {
    let state = status.state();
    match state {
        // arti reports Shutdown from launch until its tasks first report;
        // Stopped is ours to say, when the service is shut down or dropped.
        State::Shutdown | State::Bootstrapping => OnionStatus::Bootstrapping,
        State::Running | State::DegradedReachable => OnionStatus::Running,
        _ => OnionStatus::Unreachable(
            status
                .current_problem()
                .map_or_else(|| describe_state(state), describe_problem),
        ),
    }
}

/// Why arti calls the service unreachable when it names no error.
fn describe_state(state: State) -> String {
    match state {
        // Also the case while the consensus lacks the shared random value
        // of the neighbouring time period (a young network).
        State::DegradedUnreachable => {
            "the descriptor is not published for every time period yet".into()
        }
        State::Recovering => "recovering from a lost introduction point or a failed upload".into(),
        State::Broken => "broken, without a reason given".into(),
        other => format!("{other:?}"),
    }
}

fn describe_problem(problem: &Problem) -> String {
    fn join<E: std::fmt::Display>(errors: &[E]) -> String {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
    match problem {
        Problem::Runtime(e) => e.to_string(),
        Problem::DescriptorUpload(errors) => {
            format!("could not publish the descriptor: {}", join(errors))
        }
        Problem::Ipt(errors) => {
            format!("could not establish introduction points: {}", join(errors))
        }
        other => format!("{other:?}"),
    }
}

/// Accepts every rendezvous, then each stream to `port` (up to
/// [`MAX_STREAMS`] at once), and copies it to a new connection to `target`.
async fn proxy_streams(
    requests: impl Stream<Item = RendRequest> + Send + 'static,
    port: u16,
    target: SocketAddr,
) {
    let permits = Arc::new(Semaphore::new(MAX_STREAMS));
    let streams = tor_hsservice::handle_rend_requests(requests);
    futures::pin_mut!(streams);
    while let Some(request) = streams.next().await {
        let wanted =
            matches!(request.request(), IncomingStreamRequest::Begin(b) if b.port() == port);
        let permit = if wanted {
            permits.clone().try_acquire_owned().ok()
        } else {
            None
        };
        match permit {
            Some(permit) => {
                tokio::spawn(async move {
                    proxy_one(request, target).await;
                    drop(permit);
                });
            }
            None => {
                if wanted {
                    tracing::warn!("onion service: {MAX_STREAMS} streams open, one refused");
                }
                // DONE, as arti advises: other reasons would tell this
                // implementation apart from C-tor's.
                tokio::spawn(async move {
                    let _ = request.reject(End::new_with_reason(EndReason::DONE)).await;
                });
            }
        }
    }
}

/// Connects to `target`, accepts the stream, and copies both ways until
/// either side closes.
async fn proxy_one(request: StreamRequest, target: SocketAddr) {
    let local = match tokio::time::timeout(
        TARGET_CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect(target),
    )
    .await
    {
        Ok(Ok(local)) => local,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "onion service: the local listener refused");
            let _ = request.reject(End::new_misc()).await;
            return;
        }
        Err(_) => {
            tracing::warn!("onion service: the local listener did not answer");
            let _ = request.reject(End::new_misc()).await;
            return;
        }
    };
    let _ = local.set_nodelay(true);
    let mut remote = match request.accept(Connected::new_empty()).await {
        Ok(stream) => stream,
        Err(e) => {
            tracing::debug!(error = %e, "onion service: stream closed before it was accepted");
            return;
        }
    };
    let mut local = local;
    if let Err(e) = tokio::io::copy_bidirectional(&mut remote, &mut local).await {
        tracing::debug!(error = %e, "onion service: stream ended with an error");
    }
}
