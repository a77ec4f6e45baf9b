//! Homepost's HTTP side: the JSON API under `/api/v1` (docs/api.md), sessions with
//! CSRF tokens and login throttling, the security headers, TLS, and the embedded PWA.
//!
//! The server starts locked: it holds no key until someone unlocks it with the
//! passphrase, and it drops the keys again when the last session ends (logout,
//! lock, or idle timeout). It refuses to listen beyond loopback without TLS.

pub mod assets;
pub mod auth;
pub mod claim;
pub mod device;
pub mod error;
pub mod remote;
pub mod routes;
pub mod session;
pub mod state;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::web::{self, Data};
use actix_web::{App, HttpResponse, HttpServer};
use homepost_vault::KdfParams;
use utoipa::openapi::OpenApi;
use utoipa_actix_web::{AppExt, scope};

pub use auth::Via;
pub use state::AppState;
pub use tls::TlsSource;

/// The default address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:33411";
/// Largest JSON request body.
const JSON_LIMIT: usize = 256 * 1024;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data directory (vault, store, index).
    pub data_dir: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// TLS, required beyond loopback.
    pub tls: TlsSource,
    /// Argon2 cost for a vault created from the web.
    pub kdf: KdfParams,
    /// A session ends after this long without a request.
    pub idle_timeout: Duration,
    /// A session ends this long after it started, whatever happens.
    pub session_lifetime: Duration,
    /// How fetching and sending behave (outbox lifetime, retries, time limits).
    pub transport: homepost_transport::Options,
    /// Which sources OpenPGP key lookups may ask (they happen only when the
    /// user asks).
    pub key_lookup: homepost_net::LookupOptions,
    /// Host names the server answers to besides its addresses and `localhost`
    /// (the box's LAN or mDNS name, its onion address, its relay name).
    pub allowed_hosts: Vec<String>,
    /// Key lookups go through Tor (the box's resolver never sees the names).
    pub lookups_over_tor: bool,
    /// Another Tor network than the public one: an arti configuration
    /// fragment (a test network's).
    pub tor_network: Option<PathBuf>,
    /// The name server asked for SRV and MX records when setting an account
    /// up (default: the system's, from /etc/resolv.conf).
    pub name_server: Option<SocketAddr>,
    /// The ISPDB asked when a domain publishes no settings of its own, or
    /// `None` never to ask it.
    pub ispdb: Option<String>,
}

impl Config {
    /// Defaults for `data_dir`: loopback, no TLS, 30 minutes idle, 12 hours at most.
    pub fn new(data_dir: PathBuf) -> Self {
        Config {
            data_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 33411)),
            tls: TlsSource::Off,
            kdf: KdfParams::DEFAULT,
            idle_timeout: Duration::from_secs(30 * 60),
            session_lifetime: Duration::from_secs(12 * 60 * 60),
            transport: homepost_transport::Options::default(),
            key_lookup: homepost_net::LookupOptions::default(),
            allowed_hosts: Vec::new(),
            name_server: None,
            ispdb: Some(homepost_autoconfig::ISPDB_URL.to_owned()),
            lookups_over_tor: false,
            tor_network: None,
        }
    }
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Plain HTTP beyond loopback.
    #[error(
        "refusing to listen on {0} without TLS: anyone on that network could read your mail and \
your passphrase. Add --tls-self-signed (or --tls-cert FILE --tls-key FILE), or listen on 127.0.0.1"
    )]
    PlainNonLoopback(SocketAddr),
    /// The TLS certificate or key is unusable.
    #[error("TLS: {0}")]
    Tls(String),
    /// The address cannot be bound.
    #[error("cannot listen on {0}: {1} (is another Homepost already running there?)")]
    Bind(SocketAddr, #[source] std::io::Error),
    /// Tor could not be started (for lookups over Tor).
    #[error("{0}")]
    Tor(String),
    /// The server stopped with an error.
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Refuses plain HTTP on any address that is not loopback.
pub fn check_listen(addr: &SocketAddr, tls: &TlsSource) -> Result<(), Error> {
    if !addr.ip().is_loopback() && matches!(tls, TlsSource::Off) {
        return Err(Error::PlainNonLoopback(*addr));
    }
    Ok(())
}

/// The application: API, security middleware and PWA, on `state`, for the
/// listener `via` (which decides whether a request may count as the box's own).
pub fn app(
    state: Data<AppState>,
    via: auth::Via,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, _) = App::new()
        .into_utoipa_app()
        .app_data(state)
        .app_data(via)
        .app_data(
            web::JsonConfig::default()
                .limit(JSON_LIMIT)
                .error_handler(error::json_error),
        )
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        .service(scope::scope("/api/v1").configure(|cfg| {
            cfg.route("/openapi.json", web::get().to(openapi_json));
            routes::routes(cfg);
        }))
        .split_for_parts();
    app.default_service(web::to(assets::serve))
        .wrap(from_fn(auth::guard_and_harden))
}

/// The OpenAPI 3.1 document of the API, collected from the routes themselves.
pub fn openapi() -> OpenApi {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .service(scope::scope("/api/v1").configure(|cfg| {
            routes::routes(cfg);
        }))
        .split_for_parts();
    doc.info.title = "Homepost".into();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.info.description = Some(
        "The API of a Homepost box. Authenticate with POST /api/v1/session; send the \
returned csrf_token as X-CSRF-Token on every state-changing request."
            .into(),
    );
    doc
}

async fn openapi_json() -> HttpResponse {
    static DOC: OnceLock<String> = OnceLock::new();
    let json = DOC.get_or_init(|| {
        openapi()
            .to_pretty_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(json.clone())
}

/// A started server.
pub struct Running {
    /// The address it listens on (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// `https://...` or `http://...`.
    pub url: String,
    /// SHA-256 of the TLS certificate, if TLS is on.
    pub fingerprint: Option<String>,
    /// While the box has no vault: the one-time code that claims it, to show on
    /// the console (never in the log).
    pub setup_token: Option<zeroize::Zeroizing<String>>,
    state: Data<AppState>,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    reaper: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Waits until the server stops (SIGINT or SIGTERM), then locks.
    pub async fn wait(self) -> Result<(), Error> {
        let result = match self.task.await {
            Ok(r) => r.map_err(Error::Io),
            Err(e) => Err(Error::Io(std::io::Error::other(e))),
        };
        self.reaper.abort();
        self.state.remote().shutdown().await;
        self.state.lock().await;
        result
    }

    /// Stops the server gracefully and locks.
    pub async fn stop(self) -> Result<(), Error> {
        self.handle.stop(true).await;
        self.wait().await
    }

    /// The shared state (for tests).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A handle on the shared state, for the local control socket's commands.
    pub fn shared_state(&self) -> std::sync::Arc<AppState> {
        self.state.clone().into_inner()
    }
}

/// Binds and starts the server in the background; it starts locked.
pub async fn start(config: Config) -> Result<Running, Error> {
    check_listen(&config.listen, &config.tls)?;
    let tls = tls::load(&config.tls, &config.data_dir)?;
    let state = Data::from(AppState::new(
        config.data_dir.clone(),
        config.kdf,
        config.idle_timeout,
        config.session_lifetime,
    ));
    state.set_network(config.listen.ip(), config.allowed_hosts.clone());
    state.set_transport_options(config.transport.clone());
    state.remote().set_runtime(
        tokio::runtime::Handle::current(),
        config.tor_network.clone(),
    );
    let dialer: Arc<dyn homepost_net::Dialer> = if config.lookups_over_tor {
        let tor = state.remote().tor().await;
        Arc::new(tor.map_err(|e| Error::Tor(e.to_string()))?.dialer())
    } else {
        Arc::new(homepost_net::Direct)
    };
    state.set_discovery(routes::account_setup::DiscoverySetup::new(
        dialer.clone(),
        config.lookups_over_tor,
        config.name_server,
        config.ispdb.clone(),
    ));
    state.set_key_lookup(homepost_net::Client::new(dialer), config.key_lookup);
    let app_state = state.clone();
    let server = HttpServer::new(move || app(app_state.clone(), Via::Direct))
        .workers(2)
        .shutdown_timeout(5);
    let (server, fingerprint) = match tls {
        Some(t) => (
            server.bind_rustls_0_23(config.listen, t.config),
            Some(t.fingerprint),
        ),
        None => (server.bind(config.listen), None),
    };
    let server = server.map_err(|e| Error::Bind(config.listen, e))?;
    let addr = server.addrs().first().copied().unwrap_or(config.listen);
    let server = server.run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    remote::resume(&state.clone().into_inner()).await;
    let reaper_state: Arc<AppState> = state.clone().into_inner();
    let reaper = tokio::spawn(async move {
        loop {
            tokio::time::sleep(reaper_state.reap_interval()).await;
            reaper_state.reap().await;
        }
    });
    let scheme = if fingerprint.is_some() {
        "https"
    } else {
        "http"
    };
    Ok(Running {
        setup_token: state.setup_token(),
        url: format!("{scheme}://{addr}/"),
        addr,
        fingerprint,
        state,
        handle,
        task,
        reaper,
    })
}
