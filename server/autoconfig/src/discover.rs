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

use futures_util::future::join_all;
use homepost_net::Dialer;
use rustls::RootCertStore;
use tokio_rustls::TlsConnector;
use url::Url;

use crate::Error;
use crate::address::{EmailAddress, normalize_host, registrable_domain};
use crate::clientconfig;
use crate::config::{AutoconfigKind, Candidate, Protocol, Security, Server, Source, Username};
use crate::dns::Dns;
use crate::hints::hints;
use crate::https::{FetchError, Fetcher};
use crate::probe::{GreetingProber, Prober};
use crate::report::{Attempt, Discovery, Outcome, Step};
use crate::srv::{self, SERVICES};

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

fn provider_url(domain: &str, address: &EmailAddress) -> String {
    match Url::parse(&format!("https://autoconfig.{domain}/mail/config-v1.1.xml")) {
        Ok(mut url) => {
            url.query_pairs_mut()
                .append_pair("emailaddress", &address.to_string());
            url.to_string()
        }
        Err(_) => format!("https://autoconfig.{domain}/"),
    }
}

fn well_known_url(domain: &str) -> String {
    format!("https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml")
}

fn skipped(step: Step, target: impl Into<String>, why: &str) -> (Attempt, Option<Candidate>) {
    (
        Attempt::new(step, target, Outcome::Skipped(why.to_owned())),
        None,
    )
}

/// "5 s", or "300 ms" below a second.
fn seconds(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// Sums up a candidate's servers for the log.
fn summary(c: &Candidate) -> String {
    let list = |servers: &[Server]| {
        servers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (c.incoming.is_empty(), c.outgoing.is_empty()) {
        (false, false) => format!("{}; {}", list(&c.incoming), list(&c.outgoing)),
        (false, true) => format!("{} (no outgoing server)", list(&c.incoming)),
        (true, false) => format!("{} (no incoming server)", list(&c.outgoing)),
        (true, true) => "no servers".into(),
    }
}

/// The MX round: the mail exchanger and what its domain's files gave.
struct MxRound {
    log: Vec<Attempt>,
    /// The preferred mail exchanger and its registrable domain.
    exchanger: Option<(String, String)>,
    candidates: Vec<Candidate>,
}

/// One discovery's shared state.
struct Run<'a> {
    fetcher: Fetcher,
    address: &'a EmailAddress,
    timeout: Duration,
}

impl Run<'_> {
    /// Fetches and reads one clientConfig file.
    async fn autoconfig(
        &self,
        url: String,
        step: Step,
        source: impl FnOnce(String) -> Source,
    ) -> (Attempt, Option<Candidate>) {
        let fail = |why: String| (Attempt::new(step, url.clone(), Outcome::Failed(why)), None);
        let Ok(parsed) = Url::parse(&url) else {
            return fail("not a valid URL".into());
        };
        let body = match tokio::time::timeout(self.timeout, self.fetcher.get(&parsed)).await {
            Err(_) => return fail(format!("no answer within {}", seconds(self.timeout))),
            Ok(Err(FetchError::Status { status: 404 | 410 })) => {
                let nothing = Outcome::Nothing("HTTP 404".into());
                return (Attempt::new(step, url, nothing), None);
            }
            Ok(Err(e)) => return fail(e.to_string()),
            Ok(Ok(body)) => body,
        };
        let config = match clientconfig::parse(&body, self.address) {
            Ok(config) => config,
            Err(e) => return fail(e.to_string()),
        };
        let mut candidate = Candidate {
            source: source(url.clone()),
            provider: config.display_name,
            incoming: config.incoming,
            outgoing: config.outgoing,
        };
        let mut notes: Vec<String> = config
            .skipped
            .into_iter()
            .map(|s| format!("skipped {s}"))
            .collect();
        notes.extend(
            candidate
                .tidy()
                .into_iter()
                .map(|s| format!("refused {s}: no TLS, and the server is not on this machine")),
        );
        let (outcome, candidate) = if candidate.incoming.is_empty() && candidate.outgoing.is_empty()
        {
            let why = "the file lists no server Homepost can use";
            (Outcome::Failed(why.into()), None)
        } else {
            (Outcome::Found(summary(&candidate)), Some(candidate))
        };
        let mut attempt = Attempt::new(step, url, outcome);
        attempt.notes = notes;
        (attempt, candidate)
    }

    /// Looks up the six SRV names at once.
    async fn srv(&self, dns: Option<&dyn Dns>, domain: &str) -> (Vec<Attempt>, Option<Candidate>) {
        let Some(dns) = dns else {
            let why = "DNS lookups are off (over Tor, SRV records cannot be looked up)";
            let attempt = Attempt::new(
                Step::Srv,
                format!("_*._tcp.{domain}"),
                Outcome::Skipped(why.into()),
            );
            return (vec![attempt], None);
        };
        let answers = join_all(SERVICES.iter().map(|service| async move {
            let name = service.name(domain);
            let result = tokio::time::timeout(self.timeout, dns.srv(&name)).await;
            (*service, name, result)
        }))
        .await;
        let mut log = Vec::new();
        let mut candidate = Candidate {
            source: Source::Srv,
            provider: None,
            incoming: Vec::new(),
            outgoing: Vec::new(),
        };
        for (service, name, result) in answers {
            let outcome = match result {
                Err(_) => Outcome::Failed(format!("no answer within {}", seconds(self.timeout))),
                Ok(Err(e)) => Outcome::Failed(e.to_string()),
                Ok(Ok(records)) => match srv::servers(service, &records) {
                    srv::Answer::None => Outcome::Nothing("no SRV records".into()),
                    srv::Answer::NotOffered => Outcome::NotOffered,
                    srv::Answer::Servers(servers) if servers.is_empty() => {
                        Outcome::Failed("no usable record (port 0 or a bad host name)".into())
                    }
                    srv::Answer::Servers(servers) => {
                        let found = servers
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ");
                        if service.protocol == Protocol::Smtp {
                            candidate.outgoing.extend(servers);
                        } else {
                            candidate.incoming.extend(servers);
                        }
                        Outcome::Found(found)
                    }
                },
            };
            log.push(Attempt::new(Step::Srv, name, outcome));
        }
        candidate.tidy();
        let found = !candidate.incoming.is_empty() || !candidate.outgoing.is_empty();
        (log, found.then_some(candidate))
    }

    /// Finds the mail exchanger, then asks its domain's own files.
    async fn mx(&self, dns: Option<&dyn Dns>, domain: &str) -> MxRound {
        let mut round = MxRound {
            log: Vec::new(),
            exchanger: None,
            candidates: Vec::new(),
        };
        let Some(dns) = dns else {
            let why = "DNS lookups are off (over Tor, MX records cannot be looked up)";
            round
                .log
                .push(Attempt::new(Step::Mx, domain, Outcome::Skipped(why.into())));
            return round;
        };
        let mut records = match tokio::time::timeout(self.timeout, dns.mx(domain)).await {
            Err(_) => {
                let why = format!("no answer within {}", seconds(self.timeout));
                round
                    .log
                    .push(Attempt::new(Step::Mx, domain, Outcome::Failed(why)));
                return round;
            }
            Ok(Err(e)) => {
                round.log.push(Attempt::new(
                    Step::Mx,
                    domain,
                    Outcome::Failed(e.to_string()),
                ));
                return round;
            }
            Ok(Ok(records)) => records,
        };
        records.sort_by(|a, b| (a.preference, &a.exchange).cmp(&(b.preference, &b.exchange)));
        // "." is RFC 7505's null MX: the domain takes no mail.
        let Some(host) = records
            .iter()
            .filter(|r| r.exchange != ".")
            .find_map(|r| normalize_host(&r.exchange))
        else {
            let why = if records.is_empty() {
                "no MX records"
            } else {
                "no usable mail exchanger"
            };
            round
                .log
                .push(Attempt::new(Step::Mx, domain, Outcome::Nothing(why.into())));
            return round;
        };
        let base = registrable_domain(&host);
        let mut attempt =
            Attempt::new(Step::Mx, domain, Outcome::Found(format!("{host} ({base})")));
        round.exchanger = Some((host.clone(), base.clone()));
        if base == domain {
            attempt
                .notes
                .push("the mail exchanger is in the domain itself: nothing more to ask".into());
            round.log.push(attempt);
            return round;
        }
        round.log.push(attempt);
        let source = |kind| {
            let (host, base) = (host.clone(), base.clone());
            move |url| Source::Mx {
                kind,
                mx_host: host,
                domain: base,
                url,
            }
        };
        let (own, well_known) = tokio::join!(
            self.autoconfig(
                provider_url(&base, self.address),
                Step::Mx,
                source(AutoconfigKind::Provider)
            ),
            self.autoconfig(
                well_known_url(&base),
                Step::Mx,
                source(AutoconfigKind::WellKnown)
            ),
        );
        for (attempt, candidate) in [own, well_known] {
            round.log.push(attempt);
            round.candidates.extend(candidate);
        }
        round
    }

    /// Probes imap./mail./smtp. names on the usual ports, all at once.
    async fn probe(&self, prober: &dyn Prober, domain: &str) -> (Vec<Attempt>, Option<Candidate>) {
        let mut plan: Vec<Server> = Vec::new();
        let mut add = |protocol, hosts: [&str; 2], ports: [(u16, Security); 2]| {
            for (port, security) in ports {
                for host in hosts {
                    plan.push(Server {
                        protocol,
                        host: format!("{host}.{domain}"),
                        port,
                        security,
                        username: Username::EmailAddress,
                        authentication: Vec::new(),
                    });
                }
            }
        };
        add(
            Protocol::Imap,
            ["imap", "mail"],
            [(993, Security::Tls), (143, Security::StartTls)],
        );
        add(
            Protocol::Smtp,
            ["smtp", "mail"],
            [(465, Security::Tls), (587, Security::StartTls)],
        );
        let results = join_all(plan.iter().map(|server| async move {
            tokio::time::timeout(self.timeout, prober.probe(server)).await
        }))
        .await;
        let mut log = Vec::new();
        let mut candidate = Candidate {
            source: Source::Probe,
            provider: None,
            incoming: Vec::new(),
            outgoing: Vec::new(),
        };
        for (server, result) in plan.into_iter().zip(results) {
            let target = format!(
                "{}:{} ({})",
                server.host,
                server.port,
                server.security.as_str()
            );
            let outcome = match result {
                Err(_) => Outcome::Failed(format!("no answer within {}", seconds(self.timeout))),
                Ok(Err(e)) => Outcome::Failed(e.to_string()),
                Ok(Ok(())) => {
                    let what = format!(
                        "an {} server",
                        server.protocol.as_str().to_ascii_uppercase()
                    );
                    if server.protocol == Protocol::Smtp {
                        candidate.outgoing.push(server);
                    } else {
                        candidate.incoming.push(server);
                    }
                    Outcome::Found(what)
                }
            };
            log.push(Attempt::new(Step::Probe, target, outcome));
        }
        candidate.tidy();
        let found = !candidate.incoming.is_empty() || !candidate.outgoing.is_empty();
        (log, found.then_some(candidate))
    }
}
