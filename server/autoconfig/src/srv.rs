//! RFC 6186 / RFC 8314 SRV records: which names to ask and how their
//! answers become servers. Pure; the lookups happen in discovery.

use crate::address::normalize_host;
use crate::config::{Protocol, Security, Server, Username};
use crate::dns::SrvRecord;

/// One SRV service name under the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The label prefix, e.g. `_imaps._tcp`.
    pub label: &'static str,
    /// What it offers.
    pub protocol: Protocol,
    /// Implicit TLS (RFC 8314's `s` names) or STARTTLS (RFC 6186's).
    pub security: Security,
}

/// The services asked for, in this order: RFC 8314's implicit-TLS names
/// and RFC 6186's STARTTLS ones (Homepost always requires the upgrade, so
/// `_imap._tcp` is never used without TLS).
pub const SERVICES: [Service; 6] = [
    Service {
        label: "_imaps._tcp",
        protocol: Protocol::Imap,
        security: Security::Tls,
    },
    Service {
        label: "_imap._tcp",
        protocol: Protocol::Imap,
        security: Security::StartTls,
    },
    Service {
        label: "_pop3s._tcp",
        protocol: Protocol::Pop3,
        security: Security::Tls,
    },
    Service {
        label: "_pop3._tcp",
        protocol: Protocol::Pop3,
        security: Security::StartTls,
    },
    Service {
        label: "_submissions._tcp",
        protocol: Protocol::Smtp,
        security: Security::Tls,
    },
    Service {
        label: "_submission._tcp",
        protocol: Protocol::Smtp,
        security: Security::StartTls,
    },
];

impl Service {
    /// The name to look up for `domain`.
    pub fn name(&self, domain: &str) -> String {
        format!("{}.{domain}", self.label)
    }
}

/// What one service's records say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Servers, best first.
    Servers(Vec<Server>),
    /// No records at all.
    None,
    /// A target of `.`: the domain says it does not offer the service
    /// (RFC 2782).
    NotOffered,
}

/// Turns `records` for `service` into servers: lowest priority first, then
/// highest weight (a fixed order rather than RFC 2782's weighted draw, so
/// the same DNS gives the same result), then by name. Records with port 0
/// or a target that is not a host name are dropped; if every record is
/// `.`, the service is not offered.
pub fn servers(service: Service, records: &[SrvRecord]) -> Answer {
    if records.is_empty() {
        return Answer::None;
    }
    let mut records: Vec<&SrvRecord> = records.iter().collect();
    records.sort_by(|a, b| {
        a.priority
            .cmp(&b.priority)
            .then(b.weight.cmp(&a.weight))
            .then(a.target.cmp(&b.target))
    });
    let offered: Vec<&SrvRecord> = records
        .into_iter()
        .filter(|r| r.target != "." && !r.target.is_empty())
        .collect();
    if offered.is_empty() {
        return Answer::NotOffered;
    }
    Answer::Servers(
        offered
            .into_iter()
            .filter(|r| r.port != 0)
            .filter_map(|r| {
                Some(Server {
                    protocol: service.protocol,
                    host: normalize_host(&r.target)?,
                    port: r.port,
                    security: service.security,
                    username: Username::EmailAddress,
                    authentication: Vec::new(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }

    #[test]
    fn ordered_by_priority_then_weight() {
        let Answer::Servers(s) = servers(
            SERVICES[0],
            &[
                rec(20, 0, 993, "c.example.org"),
                rec(10, 5, 993, "b.example.org."),
                rec(10, 50, 9993, "A.example.org"),
                rec(5, 0, 0, "zero-port.example.org"),
                rec(5, 0, 993, "not a host"),
            ],
        ) else {
            panic!("no servers");
        };
        let hosts: Vec<(&str, u16)> = s.iter().map(|s| (s.host.as_str(), s.port)).collect();
        assert_eq!(
            hosts,
            [
                ("a.example.org", 9993),
                ("b.example.org", 993),
                ("c.example.org", 993)
            ]
        );
        assert!(
            s.iter()
                .all(|s| s.security == Security::Tls && s.protocol == Protocol::Imap)
        );
        assert_eq!(s[0].username, Username::EmailAddress);
    }

    #[test]
    fn a_dot_target_means_not_offered() {
        assert_eq!(
            servers(SERVICES[1], &[rec(0, 0, 0, ".")]),
            Answer::NotOffered
        );
        assert_eq!(servers(SERVICES[1], &[]), Answer::None);
        let Answer::Servers(s) = servers(
            SERVICES[4],
            &[rec(0, 0, 0, "."), rec(1, 0, 465, "smtp.example.org")],
        ) else {
            panic!()
        };
        assert_eq!(s.len(), 1);
        assert_eq!(
            SERVICES[4].name("example.org"),
            "_submissions._tcp.example.org"
        );
    }
}
