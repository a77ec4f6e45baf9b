//! Discovery: every source in two rounds, each round in parallel, the
//! results ordered by precedence, not by which answered first.
//!
//! Round one asks only the address's own domain and its mail provider: the
//! domain's autoconfig host and well-known file, its SRV records, its MX
//! record and then the mail exchanger's domain's autoconfig. Round two asks
//! only if needed: Mozilla's ISPDB (a third party: only when the domain
//! published no file itself), and probing common host names (only when
//! round one gave no complete configuration).

use std::sync::Arc;
use std::time::Duration;

use homepost_net::Dialer;
use rustls::RootCertStore;
use tokio_rustls::TlsConnector;
use url::Url;

use crate::Error;
use crate::address::{EmailAddress, registrable_domain};
use crate::config::{AutoconfigKind, Candidate, Server, Source};
use crate::dns::Dns;
use crate::hints::hints;
use crate::https::Fetcher;
use crate::probe::{GreetingProber, Prober};
use crate::report::{Discovery, Step};
use crate::sources::{Run, provider_url, skipped, well_known_url};

/// Mozilla's ISPDB, as Thunderbird asks it (the domain is appended).
pub const ISPDB_URL: &str = "https://autoconfig.thunderbird.net/v1.1/";

/// How discovery behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Time limit for each request, lookup or probe.
    pub timeout: Duration,
    /// Largest clientConfig file read.
    pub max_body: usize,
    /// The ISPDB's base URL (https; the domain is appended), or `None` to
    /// never ask it: asking tells Mozilla the domain being set up.
    pub ispdb: Option<String>,
    /// Whether to probe common host names when nothing else gave a
    /// complete configuration.
    pub probe: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(5),
            max_body: 256 * 1024,
            ispdb: Some(ISPDB_URL.to_owned()),
            probe: true,
        }
    }
}

/// Finds the servers for an address. Every connection goes through the
/// caller's [`Dialer`] (so over Tor when it is the Tor dialer); SRV and MX
/// lookups go through the caller's [`Dns`], and are skipped without one.
#[derive(Clone)]
pub struct Discoverer {
    dialer: Arc<dyn Dialer>,
    tls: TlsConnector,
    dns: Option<Arc<dyn Dns>>,
    prober: Option<Arc<dyn Prober>>,
    options: Options,
}

impl std::fmt::Debug for Discoverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discoverer")
            .field("dns", &self.dns.is_some())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Discoverer {
    /// Discovery over `dialer`, trusting the web PKI, without DNS (add it
    /// with [`Discoverer::with_dns`] unless Tor is on), probing with
    /// [`GreetingProber`].
    pub fn new(dialer: Arc<dyn Dialer>) -> Self {
        Discoverer {
            dialer,
            tls: crate::tls_connector(crate::web_roots()),
            dns: None,
            prober: None,
            options: Options::default(),
        }
    }

    /// Trusts exactly `roots` for HTTPS and the default prober's TLS.
    #[must_use]
    pub fn with_roots(mut self, roots: RootCertStore) -> Self {
        self.tls = crate::tls_connector(roots);
        self
    }

    /// Looks up SRV and MX records with `dns`.
    #[must_use]
    pub fn with_dns(mut self, dns: Arc<dyn Dns>) -> Self {
        self.dns = Some(dns);
        self
    }

    /// Probes with `prober` instead of [`GreetingProber`].
    #[must_use]
    pub fn with_prober(mut self, prober: Arc<dyn Prober>) -> Self {
        self.prober = Some(prober);
        self
    }

    /// Other options.
    #[must_use]
    pub fn with_options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// Finds candidate configurations for `address`. Failures of single
    /// sources are in [`Discovery::log`]; only an address that cannot be
    /// looked up, or an ISPDB URL that is not https, is an error.
    pub async fn discover(&self, address: &str) -> Result<Discovery, Error> {
        let address = EmailAddress::parse(address)?;
        let ispdb = match &self.options.ispdb {
            None => None,
            Some(base) => Some(ispdb_base(base)?),
        };
        let domain = address.domain().to_owned();
        let run = Run {
            fetcher: Fetcher {
                dialer: self.dialer.clone(),
                tls: self.tls.clone(),
                max_body: self.options.max_body,
            },
            address: &address,
            timeout: self.options.timeout,
        };
        let _span = tracing::debug_span!("autoconfig", domain = %domain).entered();

        // Round one: the domain itself and its mail provider.
        let (provider, well_known, srv, mx) = tokio::join!(
            run.autoconfig(
                provider_url(&domain, &address),
                Step::Autoconfig(AutoconfigKind::Provider),
                |url| Source::Autoconfig {
                    kind: AutoconfigKind::Provider,
                    url
                }
            ),
            run.autoconfig(
                well_known_url(&domain),
                Step::Autoconfig(AutoconfigKind::WellKnown),
                |url| Source::Autoconfig {
                    kind: AutoconfigKind::WellKnown,
                    url
                }
            ),
            run.srv(self.dns.as_deref(), &domain),
            run.mx(self.dns.as_deref(), &domain),
        );

        // Round two, only as far as needed.
        let own_file = provider.1.is_some() || well_known.1.is_some();
        let complete = [&provider.1, &well_known.1, &srv.1]
            .into_iter()
            .flatten()
            .chain(&mx.candidates)
            .any(Candidate::is_complete);
        let ask_ispdb: Result<&str, &str> = match (&ispdb, own_file) {
            (None, _) => Err("turned off (asking tells Mozilla the domain)"),
            (Some(_), true) => Err("the domain publishes its own configuration"),
            (Some(base), false) => Ok(base),
        };
        let mx_ispdb = match (&ispdb, &mx.exchanger) {
            (None, _) | (_, None) => None,
            (Some(_), Some((_, base))) if *base == domain => None,
            (Some(base_url), Some((host, base))) => Some((base_url, host.clone(), base.clone())),
        };
        let default_prober;
        let prober: &dyn Prober = match &self.prober {
            Some(p) => p.as_ref(),
            None => {
                default_prober = GreetingProber::with_tls(self.dialer.clone(), self.tls.clone());
                &default_prober
            }
        };
        let (ispdb_found, mx_ispdb_found, probed) = tokio::join!(
            async {
                match ask_ispdb {
                    Ok(base) => {
                        let url = format!("{base}{domain}");
                        run.autoconfig(url, Step::Autoconfig(AutoconfigKind::Ispdb), |url| {
                            Source::Autoconfig {
                                kind: AutoconfigKind::Ispdb,
                                url,
                            }
                        })
                        .await
                    }
                    Err(why) => {
                        let base = ispdb.as_deref().unwrap_or(ISPDB_URL);
                        let url = format!("{base}{domain}");
                        skipped(Step::Autoconfig(AutoconfigKind::Ispdb), url, why)
                    }
                }
            },
            async {
                let (base_url, host, base) = mx_ispdb?;
                let url = format!("{base_url}{base}");
                if complete || !mx.candidates.is_empty() {
                    return Some(skipped(
                        Step::Mx,
                        url,
                        "an earlier source already gave a configuration",
                    ));
                }
                Some(
                    run.autoconfig(url, Step::Mx, |url| Source::Mx {
                        kind: AutoconfigKind::Ispdb,
                        mx_host: host,
                        domain: base,
                        url,
                    })
                    .await,
                )
            },
            async {
                if !self.options.probe {
                    (vec![skipped(Step::Probe, &domain, "turned off").0], None)
                } else if complete {
                    let why = "an earlier source already gave a complete configuration";
                    (vec![skipped(Step::Probe, &domain, why).0], None)
                } else {
                    run.probe(prober, &domain).await
                }
            },
        );

        // Everything, in precedence order.
        let mut log = vec![provider.0, well_known.0, ispdb_found.0];
        let mut candidates: Vec<Candidate> = [provider.1, well_known.1, ispdb_found.1, srv.1]
            .into_iter()
            .flatten()
            .collect();
        log.extend(srv.0);
        log.extend(mx.log);
        candidates.extend(mx.candidates);
        if let Some((attempt, candidate)) = mx_ispdb_found {
            log.push(attempt);
            candidates.extend(candidate);
        }
        log.extend(probed.0);
        candidates.extend(probed.1);
        candidates.sort_by(|a, b| a.source.cmp(&b.source));
        let mut unique: Vec<Candidate> = Vec::with_capacity(candidates.len());
        for c in candidates {
            if !unique
                .iter()
                .any(|u| u.incoming == c.incoming && u.outgoing == c.outgoing)
            {
                unique.push(c);
            }
        }

        let mut domains: Vec<String> = vec![domain.clone()];
        domains.extend(mx.exchanger.iter().map(|(host, _)| host.clone()));
        for c in &unique {
            domains.extend(c.incoming.iter().chain(&c.outgoing).map(|s| s.host.clone()));
        }
        let oauth2: Vec<String> = unique
            .iter()
            .filter(|c| {
                c.incoming
                    .iter()
                    .chain(&c.outgoing)
                    .any(Server::needs_oauth2)
            })
            .map(|c| {
                c.provider.clone().unwrap_or_else(|| {
                    let host = c.incoming.first().or(c.outgoing.first());
                    host.map_or_else(|| domain.clone(), |s| registrable_domain(&s.host))
                })
            })
            .collect();
        let hints = hints(
            domains.iter().map(String::as_str),
            oauth2.iter().map(String::as_str),
        );
        for attempt in &log {
            tracing::debug!(%attempt, "autoconfig");
        }
        Ok(Discovery {
            address,
            candidates: unique,
            hints,
            log,
        })
    }
}

/// Checks the configured ISPDB base: https, ending in `/`.
fn ispdb_base(base: &str) -> Result<String, Error> {
    let invalid = || Error::InvalidIspdbUrl {
        url: base.to_owned(),
    };
    let url = Url::parse(base).map_err(|_| invalid())?;
    if url.scheme() != "https" || url.host_str().is_none() {
        return Err(invalid());
    }
    let mut base = url.to_string();
    if !base.ends_with('/') {
        base.push('/');
    }
    Ok(base)
}
