//! A connection test before an account is saved: log in to the incoming server
//! (IMAP or POP3, listing IMAP folders) and to the submission server, and say in
//! plain words what failed.
//!
//! When the server refuses the whole address as the user name, the address's
//! local part is tried once more (many servers, Dovecot's default among them,
//! know their users by it), and the answer says which one worked.

use std::time::Duration;

use homepost_store::{Endpoint, Protocol, Security};
use mail_send::{Credentials, SmtpClientBuilder};
use serde::Serialize;

use crate::Timeouts;
use crate::error::{ConnectKind, Error, server_text};
use crate::imap::{Folder, Imap};
use crate::pop3::Pop3;
use crate::tls::{Tls, is_loopback};

/// What one side of the test found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    /// Logged in.
    pub ok: bool,
    /// The user name that worked (or the last one tried).
    pub username: String,
    /// The IMAP server's folders (empty for POP3, SMTP or a failure).
    pub folders: Vec<Folder>,
    /// Why not, when not.
    pub error: Option<Problem>,
}

/// A failed test in words a user can act on.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    /// `wrong_password`, `server_not_found`, `blocked_port`, `no_answer`,
    /// `untrusted_certificate`, `tls`, `plain_refused` or `protocol`.
    pub code: &'static str,
    /// Plain words.
    pub message: String,
    /// The certificate's SHA-256 fingerprint, for `untrusted_certificate`.
    pub fingerprint: Option<String>,
}

impl Problem {
    fn from_error(e: &Error) -> Problem {
        let code = match e {
            Error::AuthFailed(_) => "wrong_password",
            Error::HostNotFound { .. } => "server_not_found",
            Error::Connect {
                kind: ConnectKind::NoAnswer,
                ..
            }
            | Error::Timeout(_) => "no_answer",
            Error::Connect { .. } | Error::Closed(_) => "blocked_port",
            Error::UntrustedCertificate { .. } => "untrusted_certificate",
            Error::Tls(_) => "tls",
            _ => "protocol",
        };
        let message = match e {
            Error::AuthFailed(said) => format!(
                "the server refused the user name or password: check them (the server said: {said})"
            ),
            other => other.to_string(),
        };
        Problem {
            code,
            message,
            fingerprint: e.fingerprint().map(str::to_owned),
        }
    }

    fn plain_refused(endpoint: &Endpoint) -> Problem {
        Problem {
            code: "plain_refused",
            message: format!(
                "{} offers no encryption on port {}: Homepost sends passwords and mail only \
over TLS or STARTTLS to another machine",
                endpoint.host, endpoint.port
            ),
            fingerprint: None,
        }
    }
}

/// The user names to try: as given, then the local part when the given one is
/// the whole address.
fn usernames(endpoint: &Endpoint, email: &str) -> Vec<String> {
    let mut names = vec![endpoint.username.clone()];
    if endpoint.username.eq_ignore_ascii_case(email)
        && let Some((local, _)) = email.rsplit_once('@')
        && !local.is_empty()
    {
        names.push(local.to_owned());
    }
    names
}

fn plain_off_loopback(endpoint: &Endpoint) -> bool {
    endpoint.security == Security::Plain && !is_loopback(&endpoint.host)
}

/// A failed check of `endpoint`, before any login.
fn failed(endpoint: &Endpoint, problem: Problem) -> Check {
    Check {
        ok: false,
        username: endpoint.username.clone(),
        folders: Vec::new(),
        error: Some(problem),
    }
}

/// Runs `login` as each of [`usernames`] in turn, going on to the next only
/// when the server refused the login; the folders come from `login`.
async fn each_username<F, Fut>(endpoint: &Endpoint, email: &str, mut login: F) -> Check
where
    F: FnMut(Endpoint) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Folder>, Error>>,
{
    let mut last = Check {
        ok: false,
        username: endpoint.username.clone(),
        folders: Vec::new(),
        error: None,
    };
    for name in usernames(endpoint, email) {
        let mut at = endpoint.clone();
        at.username = name.clone();
        last.username = name;
        match login(at).await {
            Ok(folders) => {
                last.ok = true;
                last.folders = folders;
                last.error = None;
                return last;
            }
            Err(e) => {
                let retry = matches!(e, Error::AuthFailed(_));
                last.error = Some(Problem::from_error(&e));
                if !retry {
                    return last;
                }
            }
        }
    }
    last
}

/// Logs in to an incoming server (and lists its folders, for IMAP).
pub async fn incoming(
    protocol: Protocol,
    endpoint: &Endpoint,
    password: &str,
    email: &str,
    timeouts: Timeouts,
) -> Check {
    if plain_off_loopback(endpoint) {
        return failed(endpoint, Problem::plain_refused(endpoint));
    }
    each_username(endpoint, email, |at| async move {
        match protocol {
            Protocol::Imap => {
                let mut imap = Imap::connect(&at, password, timeouts).await?;
                let folders = imap.folders().await;
                imap.logout().await;
                folders
            }
            Protocol::Pop3 => {
                let pop = Pop3::connect(&at, password, timeouts).await?;
                pop.quit().await.map(|()| Vec::new())
            }
        }
    })
    .await
}

/// Logs in to a submission server (EHLO, TLS, AUTH) and says goodbye, sending
/// nothing.
pub async fn outgoing(
    endpoint: &Endpoint,
    password: &str,
    email: &str,
    timeout: Duration,
) -> Check {
    if plain_off_loopback(endpoint) {
        return failed(endpoint, Problem::plain_refused(endpoint));
    }
    // Name resolution and the TCP connection first, for errors that say which.
    if let Err(e) = crate::tls::tcp(&endpoint.host, endpoint.port, timeout).await {
        return failed(endpoint, Problem::from_error(&e));
    }
    each_username(endpoint, email, |at| async move {
        smtp_login(&at, password, timeout)
            .await
            .map(|()| Vec::new())
    })
    .await
}

async fn smtp_login(endpoint: &Endpoint, password: &str, timeout: Duration) -> Result<(), Error> {
    let tls = Tls::new(endpoint.pinned_sha256.as_deref())?;
    let client = SmtpClientBuilder::new_with_tls_connector(
        endpoint.host.as_str(),
        endpoint.port,
        tls.connector(),
    )
    .implicit_tls(endpoint.security == Security::Tls)
    .helo_host("homepost.localhost")
    .timeout(timeout)
    .credentials(Credentials::new(endpoint.username.as_str(), password));
    let result = if endpoint.security == Security::Plain {
        match client.connect_plain().await {
            Ok(c) => {
                let _ = c.quit().await;
                Ok(())
            }
            Err(e) => Err(e),
        }
    } else {
        match client.connect().await {
            Ok(c) => {
                let _ = c.quit().await;
                Ok(())
            }
            Err(e) => Err(e),
        }
    };
    result.map_err(|e| smtp_error(&tls, e))
}

/// mail-send's error as one of ours.
fn smtp_error(tls: &Tls, e: mail_send::Error) -> Error {
    use mail_send::Error as E;
    match e {
        E::AuthenticationFailed(r) => Error::AuthFailed(server_text(r.message())),
        E::UnexpectedReply(r) if matches!(r.code(), 534 | 535) => {
            Error::AuthFailed(server_text(r.message()))
        }
        E::Tls(t) => tls.explain(&t),
        E::Io(io) if io.to_string().contains("certificate") => tls.explain(&io),
        E::Io(io) => Error::Closed(server_text(&io.to_string())),
        E::Timeout => Error::Timeout("the submission server".into()),
        E::MissingStartTls => Error::Tls(
            "the server does not offer STARTTLS: choose TLS on its port, or check the port".into(),
        ),
        E::UnsupportedAuthMechanism => {
            Error::Protocol("the server offers no login method Homepost knows".into())
        }
        other => Error::Protocol(server_text(&other.to_string())),
    }
}
