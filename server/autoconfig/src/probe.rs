//! Checking that a guessed server is a mail server: a [`Prober`] the caller
//! may supply, and a default that connects through the [`Dialer`], does TLS
//! (implicit, or after STARTTLS/STLS) with a valid certificate for the name,
//! and reads the greeting. It does not log in: checking the password is the
//! caller's next step.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use homepost_net::Dialer;
use rustls::RootCertStore;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsConnector;

use crate::address::is_loopback;
use crate::config::{Protocol, Security, Server};

/// Why a probe failed, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProbeError(pub String);

/// What [`Prober::probe`] returns.
pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ProbeError>> + Send + 'a>>;

/// Checks whether a server answers as a mail server of its protocol, with
/// its security. Discovery bounds each call with its own time limit.
pub trait Prober: Send + Sync {
    /// Probes `server`.
    fn probe<'a>(&'a self, server: &'a Server) -> ProbeFuture<'a>;
}

/// The default [`Prober`]: TCP through the dialer, TLS, the greeting.
#[derive(Clone)]
pub struct GreetingProber {
    dialer: Arc<dyn Dialer>,
    tls: TlsConnector,
}

impl std::fmt::Debug for GreetingProber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GreetingProber").finish_non_exhaustive()
    }
}

impl GreetingProber {
    /// A prober trusting the web PKI (Mozilla's roots, built in).
    pub fn new(dialer: Arc<dyn Dialer>) -> Self {
        Self::with_tls(dialer, crate::tls_connector(crate::web_roots()))
    }

    /// A prober trusting exactly `roots`.
    pub fn with_roots(dialer: Arc<dyn Dialer>, roots: RootCertStore) -> Self {
        Self::with_tls(dialer, crate::tls_connector(roots))
    }

    pub(crate) fn with_tls(dialer: Arc<dyn Dialer>, tls: TlsConnector) -> Self {
        GreetingProber { dialer, tls }
    }

    async fn run(&self, server: &Server) -> Result<(), ProbeError> {
        if server.security == Security::Plain && !is_loopback(&server.host) {
            return Err(ProbeError(
                "not probed: no TLS, and the server is not on this machine".into(),
            ));
        }
        let stream = self
            .dialer
            .dial(&server.host, server.port)
            .await
            .map_err(|e| ProbeError(format!("cannot connect: {e}")))?;
        match server.security {
            Security::Tls => {
                let tls = self.handshake(server, stream).await?;
                let mut lines = Lines::new(tls);
                greeting(server.protocol, &mut lines).await?;
                goodbye(server.protocol, &mut lines).await;
            }
            Security::StartTls => {
                let mut lines = Lines::new(stream);
                greeting(server.protocol, &mut lines).await?;
                upgrade(server.protocol, &mut lines).await?;
                let stream = lines.into_inner().ok_or_else(|| {
                    ProbeError("the server sent data before the TLS handshake".into())
                })?;
                let tls = self.handshake(server, stream).await?;
                goodbye(server.protocol, &mut Lines::new(tls)).await;
            }
            Security::Plain => {
                let mut lines = Lines::new(stream);
                greeting(server.protocol, &mut lines).await?;
                goodbye(server.protocol, &mut lines).await;
            }
        }
        Ok(())
    }

    async fn handshake<S>(
        &self,
        server: &Server,
        stream: S,
    ) -> Result<tokio_rustls::client::TlsStream<S>, ProbeError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let name = ServerName::try_from(server.host.clone())
            .map_err(|_| ProbeError("not a valid server name".into()))?;
        self.tls
            .connect(name, stream)
            .await
            .map_err(|e| ProbeError(format!("no secure connection: {e}")))
    }
}

impl Prober for GreetingProber {
    fn probe<'a>(&'a self, server: &'a Server) -> ProbeFuture<'a> {
        Box::pin(self.run(server))
    }
}

/// The greeting each protocol opens with.
async fn greeting<S: AsyncRead + AsyncWrite + Unpin>(
    protocol: Protocol,
    lines: &mut Lines<S>,
) -> Result<(), ProbeError> {
    let line = lines.read_line().await?;
    let ok = match protocol {
        Protocol::Imap => line.starts_with("* OK") || line.starts_with("* PREAUTH"),
        Protocol::Pop3 => line.starts_with("+OK"),
        Protocol::Smtp => {
            // A multi-line 220 greeting ends with "220 ".
            let mut line = line;
            while line.starts_with("220-") {
                line = lines.read_line().await?;
            }
            line.starts_with("220")
        }
    };
    if ok {
        Ok(())
    } else {
        Err(ProbeError(format!(
            "it does not greet like an {} server",
            protocol.as_str().to_ascii_uppercase()
        )))
    }
}

/// Asks for STARTTLS (STLS for POP3) and waits for the go-ahead.
async fn upgrade<S: AsyncRead + AsyncWrite + Unpin>(
    protocol: Protocol,
    lines: &mut Lines<S>,
) -> Result<(), ProbeError> {
    let refused = || ProbeError("the server does not offer STARTTLS".into());
    match protocol {
        Protocol::Imap => {
            lines.write(b"a1 STARTTLS\r\n").await?;
            loop {
                let line = lines.read_line().await?;
                if line.starts_with("* ") {
                    continue;
                }
                return if line.starts_with("a1 OK") {
                    Ok(())
                } else {
                    Err(refused())
                };
            }
        }
        Protocol::Pop3 => {
            lines.write(b"STLS\r\n").await?;
            if lines.read_line().await?.starts_with("+OK") {
                Ok(())
            } else {
                Err(refused())
            }
        }
        Protocol::Smtp => {
            // A neutral EHLO name, as Thunderbird sends: the box's own name is
            // nobody's business.
            lines.write(b"EHLO [127.0.0.1]\r\n").await?;
            loop {
                let line = lines.read_line().await?;
                if line.starts_with("250-") {
                    continue;
                }
                if !line.starts_with("250") {
                    return Err(ProbeError("the server refused EHLO".into()));
                }
                break;
            }
            lines.write(b"STARTTLS\r\n").await?;
            if lines.read_line().await?.starts_with("220") {
                Ok(())
            } else {
                Err(refused())
            }
        }
    }
}

/// Says goodbye politely; failures do not matter any more.
async fn goodbye<S: AsyncRead + AsyncWrite + Unpin>(protocol: Protocol, lines: &mut Lines<S>) {
    let command: &[u8] = match protocol {
        Protocol::Imap => b"a2 LOGOUT\r\n",
        Protocol::Pop3 | Protocol::Smtp => b"QUIT\r\n",
    };
    let _ = lines.write(command).await;
    let _ = lines.stream.shutdown().await;
}

/// Longest line read from a server.
const MAX_LINE: usize = 4096;

/// Reads CRLF-terminated lines without reading past what was asked for
/// (the stream is handed to TLS after STARTTLS).
struct Lines<S> {
    stream: S,
    buffer: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Lines<S> {
    fn new(stream: S) -> Self {
        Lines {
            stream,
            buffer: Vec::new(),
        }
    }

    async fn read_line(&mut self) -> Result<String, ProbeError> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                return Ok(String::from_utf8_lossy(&line).trim_end().to_owned());
            }
            if self.buffer.len() > MAX_LINE {
                return Err(ProbeError("the server sent an overlong line".into()));
            }
            let mut chunk = [0u8; 512];
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(|e| ProbeError(format!("reading failed: {e}")))?;
            if n == 0 {
                return Err(ProbeError("the server closed the connection".into()));
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), ProbeError> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|e| ProbeError(format!("writing failed: {e}")))
    }

    /// The stream, if nothing beyond the last line was read (data sent
    /// ahead of the TLS handshake would be an injection attempt).
    fn into_inner(self) -> Option<S> {
        self.buffer.is_empty().then_some(self.stream)
    }
}
