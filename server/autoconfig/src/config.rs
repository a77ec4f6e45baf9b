//! What discovery finds: candidate configurations, each a list of servers
//! and the source it came from.

use crate::address::{EmailAddress, is_loopback};

/// The protocol a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// IMAP (incoming; preferred: folders and flags stay in step).
    Imap,
    /// POP3 (incoming, inbox only).
    Pop3,
    /// SMTP submission (outgoing).
    Smtp,
}

impl Protocol {
    /// The lower-case name ("imap", "pop3", "smtp").
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::Smtp => "smtp",
        }
    }
}

/// How the connection is protected, best first (the order ranks servers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Security {
    /// TLS from the first byte (993, 995, 465): RFC 8314's preference.
    Tls,
    /// A plain connection upgraded with STARTTLS/STLS (143, 110, 587).
    /// Homepost insists on the upgrade, so it is never silently plain.
    StartTls,
    /// No TLS at all: only ever kept for a server on this machine.
    Plain,
}

impl Security {
    /// The lower-case name, as `homepost account` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::StartTls => "starttls",
            Security::Plain => "plain",
        }
    }
}

/// The user name the server expects, as a form to fill with the address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Username {
    /// The whole address (`%EMAILADDRESS%`); also the guess for SRV and
    /// probed servers, as RFC 6186 advises.
    EmailAddress,
    /// The part before the `@` (`%EMAILLOCALPART%`).
    LocalPart,
    /// Something else, placeholders already filled in.
    Other(String),
}

impl Username {
    /// The user name for `address`.
    pub fn for_address(&self, address: &EmailAddress) -> String {
        match self {
            Username::EmailAddress => address.to_string(),
            Username::LocalPart => address.local_part().to_owned(),
            Username::Other(name) => name.clone(),
        }
    }
}

/// A login method a clientConfig file lists for a server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Authentication {
    /// The password, sent inside TLS (`password-cleartext`, `plain`).
    Password,
    /// A challenge-response with the password (`password-encrypted`: CRAM-MD5).
    PasswordEncrypted,
    /// OAuth2 sign-in through the provider's web page (not supported yet).
    OAuth2,
    /// Anything else, as the file names it (`client-IP-address`, `GSSAPI`, `NTLM`...).
    Other(String),
}

impl Authentication {
    /// From a clientConfig `<authentication>` value.
    pub fn from_config(value: &str) -> Self {
        match value.trim().to_ascii_lowercase().as_str() {
            "password-cleartext" | "plain" | "secure" => Authentication::Password,
            "password-encrypted" => Authentication::PasswordEncrypted,
            "oauth2" => Authentication::OAuth2,
            _ => Authentication::Other(value.trim().to_owned()),
        }
    }

    /// Whether Homepost can log in this way (with a password).
    pub fn uses_password(&self) -> bool {
        matches!(
            self,
            Authentication::Password | Authentication::PasswordEncrypted
        )
    }
}

/// One server of a candidate configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Server {
    /// What it speaks.
    pub protocol: Protocol,
    /// Its host name (lower case) or IP address.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is protected.
    pub security: Security,
    /// The user name to log in with.
    pub username: Username,
    /// The login methods its source lists (empty when the source does not
    /// say: SRV records and probes).
    pub authentication: Vec<Authentication>,
}

impl Server {
    /// Whether the source offers only logins Homepost cannot do yet (OAuth2
    /// and no password method).
    pub fn needs_oauth2(&self) -> bool {
        self.authentication.contains(&Authentication::OAuth2)
            && !self
                .authentication
                .iter()
                .any(Authentication::uses_password)
    }

    /// Whether this server may be used at all: TLS (implicit or STARTTLS), or
    /// plain only on this machine.
    pub fn acceptable(&self) -> bool {
        self.security != Security::Plain || is_loopback(&self.host)
    }

    /// The order servers are offered in: IMAP before POP3 (Homepost keeps
    /// folders and flags in step only over IMAP), then implicit TLS before
    /// STARTTLS before plain. Sorting is stable, so the source's own order
    /// decides among equals.
    pub fn rank(&self) -> (Protocol, Security) {
        (self.protocol, self.security)
    }
}

impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}:{} ({})",
            self.protocol.as_str(),
            self.host,
            self.port,
            self.security.as_str()
        )
    }
}

/// Which kind of clientConfig location a file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AutoconfigKind {
    /// `https://autoconfig.DOMAIN/mail/config-v1.1.xml?emailaddress=...`.
    Provider,
    /// `https://DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml`.
    WellKnown,
    /// Mozilla's ISPDB (`https://autoconfig.thunderbird.net/v1.1/DOMAIN`).
    Ispdb,
}

impl AutoconfigKind {
    /// A short name for logs and the UI.
    pub fn as_str(self) -> &'static str {
        match self {
            AutoconfigKind::Provider => "autoconfig",
            AutoconfigKind::WellKnown => "well-known",
            AutoconfigKind::Ispdb => "ISPDB",
        }
    }
}

/// Where a candidate came from. The derived order is the precedence: a
/// candidate from an earlier source is preferred, however fast a later one
/// answered.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// A clientConfig file for the address's domain, from this URL.
    Autoconfig {
        /// Which location.
        kind: AutoconfigKind,
        /// The URL asked (before redirects).
        url: String,
    },
    /// RFC 6186 / RFC 8314 SRV records of the domain.
    Srv,
    /// A clientConfig file for the registrable domain of the domain's mail
    /// exchanger (how domains hosted by a big provider are found).
    Mx {
        /// Which location.
        kind: AutoconfigKind,
        /// The MX host the domain was taken from.
        mx_host: String,
        /// That host's registrable domain, whose configuration this is.
        domain: String,
        /// The URL asked.
        url: String,
    },
    /// Common host names that answered with a mail server's greeting.
    Probe,
}

impl Source {
    /// A stable short name: `autoconfig`, `well_known`, `ispdb`, `srv`, `mx`
    /// or `probe`.
    pub fn code(&self) -> &'static str {
        match self {
            Source::Autoconfig { kind, .. } => match kind {
                AutoconfigKind::Provider => "autoconfig",
                AutoconfigKind::WellKnown => "well_known",
                AutoconfigKind::Ispdb => "ispdb",
            },
            Source::Srv => "srv",
            Source::Mx { .. } => "mx",
            Source::Probe => "probe",
        }
    }

    /// Where it came from, in plain words, for an address at `domain`.
    pub fn describe(&self, domain: &str) -> String {
        match self {
            Source::Autoconfig { kind, url } => match kind {
                AutoconfigKind::Provider => format!("{domain}'s settings file ({url})"),
                AutoconfigKind::WellKnown => format!("{domain}'s website ({url})"),
                AutoconfigKind::Ispdb => "Thunderbird's database of mail providers (ISPDB)".into(),
            },
            Source::Srv => format!("{domain}'s DNS (SRV records)"),
            Source::Mx {
                mx_host,
                domain: provider,
                ..
            } => format!(
                "the provider that receives {domain}'s mail ({provider}, by its MX record {mx_host})"
            ),
            Source::Probe => {
                format!("trying common server names (imap.{domain}, smtp.{domain}, mail.{domain})")
            }
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Autoconfig { kind, url } => write!(f, "{} ({url})", kind.as_str()),
            Source::Srv => f.write_str("SRV records"),
            Source::Mx {
                kind, mx_host, url, ..
            } => write!(f, "mail exchanger {mx_host}: {} ({url})", kind.as_str()),
            Source::Probe => f.write_str("probing common server names"),
        }
    }
}

/// One configuration to offer the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Where it came from.
    pub source: Source,
    /// The provider's name, when the source gives one.
    pub provider: Option<String>,
    /// IMAP and POP3 servers, best first.
    pub incoming: Vec<Server>,
    /// SMTP submission servers, best first.
    pub outgoing: Vec<Server>,
}

impl Candidate {
    /// Whether it has both an incoming and an outgoing server.
    pub fn is_complete(&self) -> bool {
        !self.incoming.is_empty() && !self.outgoing.is_empty()
    }

    /// Sorts each list best first (see [`Server::rank`]) and drops
    /// duplicates. Returns the servers refused for being plain off loopback.
    pub(crate) fn tidy(&mut self) -> Vec<Server> {
        let mut refused = Vec::new();
        for list in [&mut self.incoming, &mut self.outgoing] {
            let mut kept: Vec<Server> = Vec::with_capacity(list.len());
            for server in list.drain(..) {
                if !server.acceptable() {
                    refused.push(server);
                } else if !kept.iter().any(|k| {
                    k.host == server.host && k.port == server.port && k.protocol == server.protocol
                }) {
                    kept.push(server);
                }
            }
            kept.sort_by_key(Server::rank);
            *list = kept;
        }
        refused
    }
}
