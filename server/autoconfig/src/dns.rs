//! SRV and MX lookups: a trait the caller supplies, and a default over
//! hickory-resolver.
//!
//! These cannot go through Tor: a Tor exit resolves only A, AAAA and PTR
//! records for its clients. With Tor on, the caller passes no [`Dns`] to
//! discovery, which then skips the SRV and MX sources and says so in its log
//! (see docs/autoconfig.md).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

/// One SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    /// Lower is tried first.
    pub priority: u16,
    /// Among equal priorities, higher is chosen more often.
    pub weight: u16,
    /// The service's port.
    pub port: u16,
    /// The host, without the trailing dot; `.` (empty before it) means the
    /// service is not offered.
    pub target: String,
}

/// One MX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxRecord {
    /// Lower is preferred.
    pub preference: u16,
    /// The mail exchanger's host, without the trailing dot.
    pub exchange: String,
}

/// A lookup failed (not "no such name": that is an empty answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DNS lookup of {name} failed: {why}")]
pub struct DnsError {
    /// The name looked up.
    pub name: String,
    /// Why, in the resolver's words.
    pub why: String,
}

/// What a [`Dns`] lookup returns.
pub type DnsFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DnsError>> + Send + 'a>>;

/// Looks up SRV and MX records. A name that does not exist, or has no
/// records of the type, gives an empty list, not an error.
pub trait Dns: Send + Sync {
    /// The SRV records of `name` (e.g. `_imaps._tcp.example.org`).
    fn srv<'a>(&'a self, name: &'a str) -> DnsFuture<'a, Vec<SrvRecord>>;
    /// The MX records of `domain`.
    fn mx<'a>(&'a self, domain: &'a str) -> DnsFuture<'a, Vec<MxRecord>>;
}

/// The default [`Dns`]: hickory-resolver over UDP (TCP when an answer is
/// truncated), without a search list (names are always fully qualified).
#[derive(Clone)]
pub struct HickoryDns {
    resolver: TokioResolver,
}

impl std::fmt::Debug for HickoryDns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HickoryDns").finish_non_exhaustive()
    }
}

impl HickoryDns {
    /// The name servers of the system's configuration (`/etc/resolv.conf`).
    pub fn system() -> Result<Self, DnsError> {
        let (config, _) =
            hickory_resolver::system_conf::read_system_conf().map_err(|e| DnsError {
                name: "/etc/resolv.conf".into(),
                why: e.to_string(),
            })?;
        let (_, _, servers) = config.into_parts();
        Ok(Self::with_servers(servers))
    }

    /// The name server at `address` only (another port than 53 is fine: a
    /// test's DNS server on loopback).
    pub fn with_name_server(address: SocketAddr) -> Self {
        let mut server = NameServerConfig::udp_and_tcp(address.ip());
        for connection in &mut server.connections {
            connection.port = address.port();
        }
        Self::with_servers(vec![server])
    }

    fn with_servers(servers: Vec<NameServerConfig>) -> Self {
        let config = ResolverConfig::from_parts(None, Vec::new(), servers);
        let mut options = ResolverOpts::default();
        options.timeout = Duration::from_secs(2);
        options.attempts = 2;
        options.ndots = 0;
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        *builder.options_mut() = options;
        let resolver = builder.build().unwrap_or_else(|_| {
            // Building fails only for configurations this code never makes
            // (an encrypted transport without TLS support compiled in).
            unreachable!("a plain UDP/TCP resolver always builds")
        });
        HickoryDns { resolver }
    }
}

/// A name as hickory wants it: fully qualified, so no search list applies.
fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_owned()
    } else {
        format!("{name}.")
    }
}

fn host(name: &hickory_resolver::proto::rr::Name) -> String {
    let text = name.to_ascii();
    let trimmed = text.trim_end_matches('.');
    if trimmed.is_empty() {
        ".".to_owned()
    } else {
        trimmed.to_ascii_lowercase()
    }
}

impl Dns for HickoryDns {
    fn srv<'a>(&'a self, name: &'a str) -> DnsFuture<'a, Vec<SrvRecord>> {
        Box::pin(async move {
            match self.resolver.srv_lookup(fqdn(name)).await {
                Ok(lookup) => Ok(lookup
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::SRV(srv) => Some(SrvRecord {
                            priority: srv.priority,
                            weight: srv.weight,
                            port: srv.port,
                            target: host(&srv.target),
                        }),
                        _ => None,
                    })
                    .collect()),
                Err(e) if e.is_no_records_found() => Ok(Vec::new()),
                Err(e) => Err(DnsError {
                    name: name.to_owned(),
                    why: e.to_string(),
                }),
            }
        })
    }

    fn mx<'a>(&'a self, domain: &'a str) -> DnsFuture<'a, Vec<MxRecord>> {
        Box::pin(async move {
            match self.resolver.mx_lookup(fqdn(domain)).await {
                Ok(lookup) => Ok(lookup
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::MX(mx) => Some(MxRecord {
                            preference: mx.preference,
                            exchange: host(&mx.exchange),
                        }),
                        _ => None,
                    })
                    .collect()),
                Err(e) if e.is_no_records_found() => Ok(Vec::new()),
                Err(e) => Err(DnsError {
                    name: domain.to_owned(),
                    why: e.to_string(),
                }),
            }
        })
    }
}
