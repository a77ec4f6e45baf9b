//! Asking each source once: a clientConfig URL, the SRV names, the MX
//! record (and the mail exchanger's files), the probes. Each is bounded by
//! the discovery's time limit and reports an [`Attempt`] for the log.

use std::time::Duration;

use futures_util::future::join_all;
use url::Url;

use crate::address::{EmailAddress, normalize_host, registrable_domain};
use crate::clientconfig;
use crate::config::{AutoconfigKind, Candidate, Protocol, Security, Server, Source, Username};
use crate::dns::Dns;
use crate::https::{FetchError, Fetcher};
use crate::probe::Prober;
use crate::report::{Attempt, Outcome, Step};
use crate::srv::{self, SERVICES};

pub(crate) fn provider_url(domain: &str, address: &EmailAddress) -> String {
    match Url::parse(&format!("https://autoconfig.{domain}/mail/config-v1.1.xml")) {
        Ok(mut url) => {
            url.query_pairs_mut()
                .append_pair("emailaddress", &address.to_string());
            url.to_string()
        }
        Err(_) => format!("https://autoconfig.{domain}/"),
    }
}

pub(crate) fn well_known_url(domain: &str) -> String {
    format!("https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml")
}

pub(crate) fn skipped(
    step: Step,
    target: impl Into<String>,
    why: &str,
) -> (Attempt, Option<Candidate>) {
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
pub(crate) struct MxRound {
    pub log: Vec<Attempt>,
    /// The preferred mail exchanger and its registrable domain.
    pub exchanger: Option<(String, String)>,
    pub candidates: Vec<Candidate>,
}

/// One discovery's shared state.
pub(crate) struct Run<'a> {
    pub fetcher: Fetcher,
    pub address: &'a EmailAddress,
    pub timeout: Duration,
}

impl Run<'_> {
    /// Fetches and reads one clientConfig file.
    pub(crate) async fn autoconfig(
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
    pub(crate) async fn srv(
        &self,
        dns: Option<&dyn Dns>,
        domain: &str,
    ) -> (Vec<Attempt>, Option<Candidate>) {
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
    pub(crate) async fn mx(&self, dns: Option<&dyn Dns>, domain: &str) -> MxRound {
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
    pub(crate) async fn probe(
        &self,
        prober: &dyn Prober,
        domain: &str,
    ) -> (Vec<Attempt>, Option<Candidate>) {
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
