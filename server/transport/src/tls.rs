//! TLS for mail servers: the usual web PKI, or a certificate the user pinned.
//!
//! A certificate that does not validate is refused, and its fingerprint is kept so
//! the error can offer it to the user; once the user confirms it, that exact leaf
//! certificate (by SHA-256) is accepted for that server, and nothing else that
//! fails validation is.

use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::{ConnectKind, Error, Result};

/// SHA-256 of a DER certificate as colon-separated upper-case hex pairs.
pub fn fingerprint(der: &[u8]) -> String {
    colon_hex(&Sha256::digest(der))
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Normalises a fingerprint a user pasted (any case, with or without colons or
/// spaces); `None` unless it is 32 bytes of hex.
pub fn normalize_fingerprint(s: &str) -> Option<String> {
    let hex: String = s.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
    let bytes = hex::decode(&hex).ok()?;
    (bytes.len() == 32).then(|| colon_hex(&bytes))
}

#[derive(Debug)]
struct PinningVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Option<String>,
    seen: Arc<Mutex<Option<String>>>,
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = fingerprint(end_entity);
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(fp.clone());
        }
        if self.pinned.as_deref() == Some(fp.as_str()) {
            return Ok(ServerCertVerified::assertion());
        }
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// A TLS client for one server, remembering the certificate it was shown.
pub struct Tls {
    connector: TlsConnector,
    seen: Arc<Mutex<Option<String>>>,
}

impl Tls {
    /// A client trusting the web PKI roots, plus `pinned` (a fingerprint) if given.
    pub fn new(pinned: Option<&str>) -> Result<Tls> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| Error::Tls(e.to_string()))?;
        let seen = Arc::new(Mutex::new(None));
        let verifier = PinningVerifier {
            webpki,
            pinned: pinned.and_then(normalize_fingerprint),
            seen: seen.clone(),
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(Tls {
            connector: TlsConnector::from(Arc::new(config)),
            seen,
        })
    }

    /// The connector, for libraries that make their own handshake.
    pub fn connector(&self) -> TlsConnector {
        self.connector.clone()
    }

    /// Turns a failed handshake into an error that offers the certificate.
    pub fn explain(&self, e: &dyn std::fmt::Display) -> Error {
        let seen = self.seen.lock().ok().and_then(|s| s.clone());
        match seen {
            Some(fingerprint) if is_cert_error(&e.to_string()) => Error::UntrustedCertificate {
                fingerprint,
                reason: crate::error::server_text(&e.to_string()),
            },
            _ => Error::Tls(crate::error::server_text(&e.to_string())),
        }
    }

    /// The TLS handshake over `tcp` for `host`.
    pub async fn handshake<S>(&self, host: &str, tcp: S) -> Result<TlsStream<S>>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| Error::Config(format!("{host:?} is not a valid server name")))?;
        self.connector
            .connect(name, tcp)
            .await
            .map_err(|e| self.explain(&e))
    }
}

fn is_cert_error(s: &str) -> bool {
    s.contains("certificate") || s.contains("Certificate") || s.contains("UnknownIssuer")
}

/// Opens a TCP connection with a time limit. A name that does not resolve, a
/// refused port and silence are told apart, for errors a user can act on.
pub async fn tcp(host: &str, port: u16, timeout: std::time::Duration) -> Result<TcpStream> {
    let no_answer = || Error::Connect {
        host: host.to_owned(),
        port,
        kind: ConnectKind::NoAnswer,
        reason: format!("no answer within {} s", timeout.as_secs()),
    };
    let started = tokio::time::Instant::now();
    let addrs: Vec<std::net::SocketAddr> =
        match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(addrs)) => addrs.collect(),
            Ok(Err(_)) => Vec::new(),
            Err(_) => return Err(no_answer()),
        };
    if addrs.is_empty() {
        return Err(Error::HostNotFound {
            host: host.to_owned(),
        });
    }
    let left = timeout.saturating_sub(started.elapsed());
    match tokio::time::timeout(left, TcpStream::connect(&addrs[..])).await {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Ok(Err(e)) => Err(Error::Connect {
            host: host.to_owned(),
            port,
            kind: match e.kind() {
                std::io::ErrorKind::ConnectionRefused => ConnectKind::Refused,
                std::io::ErrorKind::TimedOut => ConnectKind::NoAnswer,
                _ => ConnectKind::Other,
            },
            reason: e.to_string(),
        }),
        Err(_) => Err(no_answer()),
    }
}

pub use homepost_store::is_loopback;
