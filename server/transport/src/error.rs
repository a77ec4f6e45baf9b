//! Transport errors, in words a user can act on.

use serde::Serialize;

/// What went wrong talking to a mail server.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The server's name does not resolve.
    #[error(
        "the server {host} was not found: check its name, and that the box can reach the internet"
    )]
    HostNotFound {
        /// Host.
        host: String,
    },
    /// The TCP connection could not be made.
    #[error("{}", connect_message(host, *port, *kind, reason))]
    Connect {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// Refused, silent, or something else.
        kind: ConnectKind,
        /// Why, in the system's words.
        reason: String,
    },
    /// The server's certificate does not validate and is not the pinned one.
    #[error(
        "the server's certificate is not trusted ({reason}); its SHA-256 fingerprint is {fingerprint}: trust it only if it matches the one your provider shows"
    )]
    UntrustedCertificate {
        /// SHA-256 of the presented leaf certificate.
        fingerprint: String,
        /// What the validation said.
        reason: String,
    },
    /// TLS failed for another reason.
    #[error("secure connection failed: {0}")]
    Tls(String),
    /// The server refused the user name or password.
    #[error("the server refused the login: check the user name and password ({0})")]
    AuthFailed(String),
    /// The server broke the protocol or sent something that does not parse.
    #[error("the server sent something unexpected: {0}")]
    Protocol(String),
    /// The server sent more than the limit allows (a message or response too large).
    #[error(
        "the server sent more than {0} bytes in one response; the message is left on the server"
    )]
    TooLarge(u64),
    /// The server stopped answering.
    #[error("the server did not answer in time ({0})")]
    Timeout(String),
    /// The connection dropped.
    #[error("the connection was closed: {0}")]
    Closed(String),
    /// Storing fetched mail failed.
    #[error("storing mail failed: {0}")]
    Store(String),
    /// Settings that cannot work.
    #[error("{0}")]
    Config(String),
}

/// How a TCP connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectKind {
    /// The host answered that nothing listens on that port.
    Refused,
    /// Nothing answered within the time limit (often a firewall dropping the port).
    NoAnswer,
    /// Anything else (no route, network down).
    Other,
}

fn connect_message(host: &str, port: u16, kind: ConnectKind, reason: &str) -> String {
    match kind {
        ConnectKind::Refused => format!(
            "{host} refused a connection on port {port}: the server offers no mail service \
there, or a firewall blocks that port"
        ),
        ConnectKind::NoAnswer => format!(
            "{host} did not answer on port {port} ({reason}): a firewall may block that port, \
or the server is down"
        ),
        ConnectKind::Other => format!("cannot connect to {host}:{port}: {reason}"),
    }
}

impl Error {
    /// A stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            Error::HostNotFound { .. } => "server_not_found",
            Error::Connect { .. } | Error::Closed(_) => "connect_failed",
            Error::UntrustedCertificate { .. } => "untrusted_certificate",
            Error::Tls(_) => "tls",
            Error::AuthFailed(_) => "auth_failed",
            Error::Protocol(_) => "protocol",
            Error::TooLarge(_) => "too_large",
            Error::Timeout(_) => "timeout",
            Error::Store(_) => "store",
            Error::Config(_) => "config",
        }
    }

    /// The fingerprint to offer for pinning, for an untrusted certificate.
    pub fn fingerprint(&self) -> Option<&str> {
        match self {
            Error::UntrustedCertificate { fingerprint, .. } => Some(fingerprint),
            _ => None,
        }
    }

    /// The error as the API shows it.
    pub fn report(&self) -> ErrorReport {
        ErrorReport {
            code: self.code(),
            message: self.to_string(),
            fingerprint: self.fingerprint().map(str::to_owned),
        }
    }
}

/// An error as shown in account status.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorReport {
    /// Stable code.
    pub code: &'static str,
    /// Plain words.
    pub message: String,
    /// Certificate fingerprint to pin, for `untrusted_certificate`.
    pub fingerprint: Option<String>,
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Server text shown to users: one line, printable, at most 300 characters (a
/// hostile server's answer can be anything and must not flood logs or the UI).
pub fn server_text(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    if raw.chars().count() > 300 {
        out.push('…');
    }
    out.trim().to_owned()
}
