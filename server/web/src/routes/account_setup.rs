//! Setting an account up from the address and password alone: finding its
//! servers (`POST /accounts/discover`, docs/autoconfig.md) and a real login
//! to each before saving (`POST /accounts/test`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::post;
use actix_web::web::{Data, Json};
use homepost_autoconfig::{Candidate, Discoverer, HickoryDns, Options};
use homepost_store::{Endpoint, Protocol};
use homepost_transport::check::{self, Check};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use zeroize::Zeroizing;

use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(discover).service(test_account);
}

/// How discovery reaches the world: set once at start from the configuration.
#[derive(Clone)]
pub struct DiscoverySetup {
    /// Every connection goes through it (Tor when key lookups go over Tor).
    pub dialer: Arc<dyn homepost_net::Dialer>,
    /// SRV and MX lookups: `None` over Tor (an exit resolves only addresses).
    pub dns: Option<Arc<dyn homepost_autoconfig::Dns>>,
    /// The ISPDB's base URL, or `None` not to ask Mozilla.
    pub ispdb: Option<String>,
}

impl DiscoverySetup {
    /// Direct connections and the system's resolver (or `name_server`), or
    /// Tor without DNS when `dialer` is Tor's.
    pub fn new(
        dialer: Arc<dyn homepost_net::Dialer>,
        over_tor: bool,
        name_server: Option<SocketAddr>,
        ispdb: Option<String>,
    ) -> DiscoverySetup {
        let dns: Option<Arc<dyn homepost_autoconfig::Dns>> = if over_tor {
            None
        } else {
            match name_server {
                Some(addr) => Some(Arc::new(HickoryDns::with_name_server(addr))),
                None => match HickoryDns::system() {
                    Ok(dns) => Some(Arc::new(dns)),
                    Err(e) => {
                        tracing::warn!(error = %e, "no resolver for SRV and MX lookups");
                        None
                    }
                },
            }
        };
        DiscoverySetup { dialer, dns, ispdb }
    }

    fn discoverer(&self) -> Discoverer {
        let mut d = Discoverer::new(self.dialer.clone()).with_options(Options {
            ispdb: self.ispdb.clone(),
            ..Options::default()
        });
        if let Some(dns) = &self.dns {
            d = d.with_dns(dns.clone());
        }
        d
    }
}

/// Certificates the user trusted at a connection test that then logged in:
/// `POST /accounts` keeps such a pin (see `homepost_core::accounts::add`).
#[derive(Default)]
pub struct TestedPins(Mutex<Vec<(String, u16, String, Instant)>>);

/// How long a tested pin may be saved with a new account.
const PIN_FRESH: Duration = Duration::from_secs(30 * 60);

impl TestedPins {
    fn remember(&self, host: &str, port: u16, fingerprint: &str) {
        let mut pins = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        pins.retain(|p| now.duration_since(p.3) < PIN_FRESH);
        if pins.len() >= 32 {
            pins.remove(0);
        }
        pins.push((host.to_owned(), port, fingerprint.to_owned(), now));
    }

    /// Whether `host:port` logged in with this pin lately.
    pub fn tested(&self, host: &str, port: u16, fingerprint: &str) -> bool {
        let pins = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pins.iter().any(|p| {
            p.0.eq_ignore_ascii_case(host)
                && p.1 == port
                && p.2 == fingerprint
                && p.3.elapsed() < PIN_FRESH
        })
    }
}

/// An address to find the servers of.
#[derive(Deserialize, ToSchema)]
pub struct DiscoverBody {
    email: String,
}

/// A server found for the address.
#[derive(Serialize, ToSchema)]
pub struct FoundServer {
    /// `imap`, `pop3` or `smtp`.
    protocol: &'static str,
    host: String,
    port: u16,
    /// `tls`, `starttls` or `plain` (plain only ever on this machine).
    security: &'static str,
    /// The user name to try first.
    username: String,
    /// The source lists only OAuth2 sign-in, which Homepost cannot do yet.
    oauth2_only: bool,
}

/// One configuration and where it came from.
#[derive(Serialize, ToSchema)]
pub struct FoundConfig {
    /// `autoconfig`, `well_known`, `ispdb`, `srv`, `mx` or `probe`.
    source: &'static str,
    /// Where it came from, in plain words.
    from: String,
    /// The provider's name, when the source gives one.
    provider: Option<String>,
    incoming: Vec<FoundServer>,
    outgoing: Vec<FoundServer>,
}

/// A note about the provider.
#[derive(Serialize, ToSchema)]
pub struct HintView {
    provider: String,
    /// `app_password`, `oauth2`, `enable_access` or `no_access`.
    kind: &'static str,
    text: String,
}

/// What discovery found.
#[derive(Serialize, ToSchema)]
pub struct DiscoverView {
    email: String,
    /// By precedence of their source.
    candidates: Vec<FoundConfig>,
    /// The candidate to offer: the first with both an incoming and an outgoing server.
    best: Option<usize>,
    hints: Vec<HintView>,
    /// Every source tried, in plain words (to show when nothing was found).
    log: Vec<String>,
}

fn config_view(c: &Candidate, address: &homepost_autoconfig::EmailAddress) -> FoundConfig {
    let server = |s: &homepost_autoconfig::Server| FoundServer {
        protocol: s.protocol.as_str(),
        host: s.host.clone(),
        port: s.port,
        security: match s.security {
            homepost_autoconfig::Security::Tls => "tls",
            homepost_autoconfig::Security::StartTls => "starttls",
            homepost_autoconfig::Security::Plain => "plain",
        },
        username: s.username.for_address(address),
        oauth2_only: s.needs_oauth2(),
    };
    FoundConfig {
        source: c.source.code(),
        from: c.source.describe(address.domain()),
        provider: c.provider.clone(),
        incoming: c.incoming.iter().map(server).collect(),
        outgoing: c.outgoing.iter().map(server).collect(),
    }
}

/// Finds an address's servers: its domain's autoconfig file, SRV records, its
/// mail exchanger's provider, then probing common names (docs/autoconfig.md).
/// Over Tor when key lookups go over Tor. Takes up to about 15 seconds.
#[utoipa::path(tag = "accounts", request_body = DiscoverBody, responses(
    (status = 200, body = DiscoverView), (status = 400, body = ErrorBody, description = "invalid_account")))]
#[post("/accounts/discover")]
async fn discover(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<DiscoverBody>,
) -> Result<Json<DiscoverView>, ApiError> {
    let email = body.into_inner().email.trim().to_owned();
    let found = state
        .discovery()
        .discoverer()
        .discover(&email)
        .await
        .map_err(|e| ApiError::bad_request("invalid_account", e.to_string()))?;
    let best = found
        .best()
        .and_then(|b| found.candidates.iter().position(|c| c == b));
    Ok(Json(DiscoverView {
        email: found.address.to_string(),
        candidates: found
            .candidates
            .iter()
            .map(|c| config_view(c, &found.address))
            .collect(),
        best,
        hints: found
            .hints
            .iter()
            .map(|h| HintView {
                provider: h.provider.clone(),
                kind: h.kind.code(),
                text: h.text.clone(),
            })
            .collect(),
        log: found.log.iter().map(ToString::to_string).collect(),
    }))
}

/// An incoming server to test, with its password.
#[derive(Deserialize, ToSchema)]
pub struct TestIncoming {
    /// `imap` or `pop3`.
    protocol: Protocol,
    #[serde(flatten)]
    endpoint: Endpoint,
    password: String,
}

/// An outgoing server to test, with its password.
#[derive(Deserialize, ToSchema)]
pub struct TestOutgoing {
    #[serde(flatten)]
    endpoint: Endpoint,
    password: String,
}

/// The servers to log in to.
#[derive(Deserialize, ToSchema)]
pub struct TestBody {
    /// The account's address (the local part is tried as the user name when
    /// the whole address is refused).
    email: String,
    incoming: Option<TestIncoming>,
    outgoing: Option<TestOutgoing>,
}

/// What each login found (`null` for a side not tested).
#[derive(Serialize, ToSchema)]
pub struct TestView {
    /// `{ok, username, folders: [{name, special}], error: {code, message, fingerprint} | null}`.
    #[schema(value_type = Option<Object>)]
    incoming: Option<Check>,
    /// As `incoming`, without folders.
    #[schema(value_type = Option<Object>)]
    outgoing: Option<Check>,
}

/// Logs in to the incoming and the outgoing server (at the same time) without
/// saving anything, and says in plain words what failed: `wrong_password`,
/// `server_not_found`, `blocked_port`, `no_answer`, `untrusted_certificate`
/// (with the fingerprint to compare and pin), `tls`, `plain_refused`, `protocol`.
#[utoipa::path(tag = "accounts", request_body = TestBody, responses((status = 200, body = TestView)))]
#[post("/accounts/test")]
async fn test_account(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<TestBody>,
) -> Result<Json<TestView>, ApiError> {
    let TestBody {
        email,
        incoming,
        outgoing,
    } = body.into_inner();
    // Someone is waiting at the screen: shorter than the fetcher's limits, long
    // enough for a slow server over a slow link.
    let timeouts = homepost_transport::Timeouts {
        connect: Duration::from_secs(10),
        between_bytes: Duration::from_secs(20),
        command: Duration::from_secs(30),
    };
    let test_in = async {
        match incoming {
            Some(i) => {
                let password = Zeroizing::new(i.password);
                let c = check::incoming(i.protocol, &i.endpoint, &password, &email, timeouts).await;
                Some((i.endpoint, c))
            }
            None => None,
        }
    };
    let test_out = async {
        match outgoing {
            Some(o) => {
                let password = Zeroizing::new(o.password);
                let c = check::outgoing(&o.endpoint, &password, &email, timeouts.command).await;
                Some((o.endpoint, c))
            }
            None => None,
        }
    };
    let (incoming, outgoing) = tokio::join!(test_in, test_out);
    let keep = |side: Option<(Endpoint, Check)>| {
        side.map(|(endpoint, c)| {
            let pin = endpoint
                .pinned_sha256
                .as_deref()
                .and_then(homepost_transport::tls::normalize_fingerprint);
            if let (true, Some(pin)) = (c.ok, pin) {
                state
                    .tested_pins()
                    .remember(&endpoint.host, endpoint.port, &pin);
            }
            c
        })
    };
    Ok(Json(TestView {
        incoming: keep(incoming),
        outgoing: keep(outgoing),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_tor_no_dns_is_asked() {
        let dialer: Arc<dyn homepost_net::Dialer> = Arc::new(homepost_net::Direct);
        let ns = Some(SocketAddr::from(([127, 0, 0, 1], 53)));
        let tor = DiscoverySetup::new(dialer.clone(), true, ns, None);
        assert!(tor.dns.is_none(), "SRV/MX lookups would leave Tor");
        let direct = DiscoverySetup::new(dialer, false, ns, None);
        assert!(direct.dns.is_some());
    }

    #[test]
    fn a_tested_pin_is_kept_for_that_server_only() {
        let pins = TestedPins::default();
        pins.remember("mail.example.org", 993, "AB:CD");
        assert!(pins.tested("MAIL.example.org", 993, "AB:CD"));
        assert!(!pins.tested("mail.example.org", 995, "AB:CD"));
        assert!(!pins.tested("mail.example.org", 993, "AB:CE"));
        assert!(!pins.tested("other.example.org", 993, "AB:CD"));
    }
}
