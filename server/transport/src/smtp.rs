//! SMTP submission with mail-send over rustls.

use std::time::Duration;

use homepost_store::{Endpoint, Security};
use mail_send::smtp::message::Message;
use mail_send::{Credentials, SmtpClientBuilder};

use crate::error::{Error, server_text};
use crate::tls::Tls;

/// How a submission attempt ended badly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth trying again later (4xx, connection trouble, time-outs, a login the
    /// user can fix).
    Temporary(String),
    /// The server refused the message for good (5xx): trying again cannot help.
    Permanent(String),
    /// The certificate is not trusted (kept apart so the account can offer it).
    Untrusted(Error),
}

impl SendError {
    /// The reason in plain words.
    pub fn reason(&self) -> String {
        match self {
            SendError::Temporary(r) | SendError::Permanent(r) => r.clone(),
            SendError::Untrusted(e) => e.to_string(),
        }
    }
}

/// Hands one message to the submission server. Returns once the server has
/// accepted it (the 250 after DATA).
pub async fn send(
    endpoint: &Endpoint,
    password: Option<&str>,
    mail_from: &str,
    rcpt_to: &[String],
    raw: &[u8],
    timeout: Duration,
) -> Result<(), SendError> {
    if endpoint.security == Security::Plain && !crate::tls::is_loopback(&endpoint.host) {
        return Err(SendError::Permanent(
            "unencrypted SMTP is only allowed to this machine".into(),
        ));
    }
    let tls = Tls::new(endpoint.pinned_sha256.as_deref())
        .map_err(|e| SendError::Temporary(e.to_string()))?;
    let mut builder = SmtpClientBuilder::new_with_tls_connector(
        endpoint.host.as_str(),
        endpoint.port,
        tls.connector(),
    )
    .implicit_tls(endpoint.security == Security::Tls)
    .helo_host("homepost.localhost")
    .timeout(timeout);
    if let Some(p) = password {
        builder = builder.credentials(Credentials::new(endpoint.username.as_str(), p));
    }
    let message = Message::new(
        mail_from,
        rcpt_to.iter().map(String::as_str).collect::<Vec<_>>(),
        raw,
    );
    let result = match endpoint.security {
        Security::Plain => match builder.connect_plain().await {
            Ok(mut c) => {
                let r = c.send(message).await;
                let _ = c.quit().await;
                r
            }
            Err(e) => Err(e),
        },
        Security::Tls | Security::Starttls => match builder.connect().await {
            Ok(mut c) => {
                let r = c.send(message).await;
                let _ = c.quit().await;
                r
            }
            Err(e) => Err(e),
        },
    };
    // A QUIT that fails after the 250 does not matter: the message was accepted.
    result.map(|_| ()).map_err(|e| classify(e, &tls))
}

fn classify(e: mail_send::Error, tls: &Tls) -> SendError {
    use mail_send::Error as E;
    match e {
        E::UnexpectedReply(r) => {
            let text = format!("{} {}", r.code(), server_text(r.message()));
            if (500..600).contains(&r.code()) {
                SendError::Permanent(format!("the server refused the message: {text}"))
            } else {
                SendError::Temporary(format!("the server said: {text}"))
            }
        }
        E::AuthenticationFailed(r) => SendError::Temporary(format!(
            "the server refused the login ({} {}): check the account's user name and password",
            r.code(),
            server_text(r.message())
        )),
        E::Tls(t) => match tls.explain(&t) {
            e @ Error::UntrustedCertificate { .. } => SendError::Untrusted(e),
            other => SendError::Temporary(other.to_string()),
        },
        E::Io(io) => {
            let text = io.to_string();
            if text.contains("certificate") {
                match tls.explain(&io) {
                    e @ Error::UntrustedCertificate { .. } => return SendError::Untrusted(e),
                    other => return SendError::Temporary(other.to_string()),
                }
            }
            SendError::Temporary(format!("connection failed: {}", server_text(&text)))
        }
        E::Timeout => SendError::Temporary("the server did not answer in time".into()),
        E::MissingStartTls => SendError::Temporary(
            "the server does not offer STARTTLS: choose TLS on its port or check the settings"
                .into(),
        ),
        E::UnsupportedAuthMechanism => {
            SendError::Temporary("the server offers no login method Homepost knows".into())
        }
        other => SendError::Temporary(server_text(&other.to_string())),
    }
}
