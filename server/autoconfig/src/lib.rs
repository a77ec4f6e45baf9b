//! Finding a mail account's servers from the address alone, as Thunderbird
//! and Delta Chat do: Thunderbird autoconfig files (the domain's own, then
//! Mozilla's ISPDB), RFC 6186/8314 SRV records, the mail exchanger's
//! provider, and probing common host names. See docs/autoconfig.md.
//!
//! A library only: it finds candidates and says where each came from and
//! what failed; logging in with the password is the caller's next step.
//! Connections go through a [`homepost_net::Dialer`] (Tor can carry them);
//! SRV and MX lookups through a [`Dns`] the caller supplies or leaves out.
//!
//! ```no_run
//! # async fn f() -> Result<(), homepost_autoconfig::Error> {
//! use std::sync::Arc;
//! use homepost_autoconfig::{Discoverer, HickoryDns};
//! let dns = HickoryDns::system().ok();
//! let mut discoverer = Discoverer::new(Arc::new(homepost_net::Direct));
//! if let Some(dns) = dns {
//!     discoverer = discoverer.with_dns(Arc::new(dns));
//! }
//! let found = discoverer.discover("alice@example.org").await?;
//! if let Some(best) = found.best() {
//!     println!("{:?}", best.incoming[0]);
//! }
//! # Ok(()) }
//! ```

pub mod address;
pub mod clientconfig;
pub mod config;
pub mod discover;
pub mod dns;
pub mod hints;
pub mod https;
pub mod probe;
pub mod report;
mod sources;
pub mod srv;

pub use address::EmailAddress;
pub use config::{
    Authentication, AutoconfigKind, Candidate, Protocol, Security, Server, Source, Username,
};
pub use discover::{Discoverer, ISPDB_URL, Options};
pub use dns::{Dns, DnsError, DnsFuture, HickoryDns, MxRecord, SrvRecord};
pub use hints::{Hint, HintKind};
pub use https::FetchError;
pub use probe::{GreetingProber, ProbeError, ProbeFuture, Prober};
pub use report::{Attempt, Discovery, Outcome, Step};

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// Why discovery could not start. Everything that fails later, source by
/// source, is in [`Discovery::log`] instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The address cannot be looked up.
    #[error("{address:?} is not an e-mail address Homepost can look up: {why}")]
    InvalidAddress {
        /// What was given.
        address: String,
        /// Why not.
        why: &'static str,
    },
    /// The configured ISPDB URL is not an https:// URL.
    #[error("the ISPDB address {url:?} is not an https:// URL")]
    InvalidIspdbUrl {
        /// What was configured.
        url: String,
    },
}

/// Mozilla's root certificates, built in (the box's own store plays no part).
pub(crate) fn web_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    roots
}

/// A TLS client trusting `roots`, with ring as the provider (as the rest of
/// Homepost).
pub(crate) fn tls_connector(roots: RootCertStore) -> TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_or_else(
            |_| unreachable!("ring supports TLS 1.2 and 1.3"),
            |b| b.with_root_certificates(roots).with_no_client_auth(),
        );
    TlsConnector::from(Arc::new(config))
}
