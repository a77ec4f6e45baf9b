//! A small HTTPS GET client: hyper's HTTP/1.1 connection over rustls over
//! whatever the [`Dialer`] opens, with limits on time, size and redirects.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use homepost_pgp::discovery::HttpsUrl;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{ACCEPT, ACCEPT_ENCODING, HOST, LOCATION};
use hyper_util::rt::TokioIo;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::dial::Dialer;

/// Bounds on one request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// For the whole request, redirects included.
    pub timeout: Duration,
    /// Largest body read (keys are small; a key server's answer for one
    /// address stays far below this).
    pub max_body: usize,
    /// Redirects followed (to https only).
    pub max_redirects: u8,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(30),
            max_body: 1 << 20,
            max_redirects: 3,
        }
    }
}

/// Why a request failed. The texts name the host and say what happened; they
/// never quote what the server sent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No connection could be made (name not found, refused, unreachable).
    #[error("cannot connect to {host}: {source}")]
    Connect {
        /// The host.
        host: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS handshake failed (often: a certificate not valid for the name).
    #[error("no secure connection to {host}: {source}")]
    Tls {
        /// The host.
        host: String,
        /// Why.
        source: std::io::Error,
    },
    /// The server broke the HTTP exchange.
    #[error("HTTP error from {host}: {source}")]
    Http {
        /// The host.
        host: String,
        /// Why.
        source: hyper::Error,
    },
    /// The answer was larger than [`Limits::max_body`].
    #[error("the answer from {host} is larger than {limit} bytes")]
    TooLarge {
        /// The host.
        host: String,
        /// The limit.
        limit: usize,
    },
    /// The request took longer than [`Limits::timeout`].
    #[error("{url} did not answer within {secs} s")]
    Timeout {
        /// The URL first asked.
        url: String,
        /// The limit in seconds.
        secs: u64,
    },
    /// A redirect that is not followed: to plain http, unreadable, or too many.
    #[error("redirect from {url} not followed: {why}")]
    Redirect {
        /// Where the redirect came from.
        url: String,
        /// Why it was not followed.
        why: &'static str,
    },
}

/// A completed request.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The body (read only for 2xx answers; empty otherwise).
    pub body: Bytes,
    /// The URL that gave this answer (after redirects).
    pub url: HttpsUrl,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// An HTTPS client over a [`Dialer`].
#[derive(Clone)]
pub struct Client {
    dialer: Arc<dyn Dialer>,
    tls: TlsConnector,
    limits: Limits,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client that trusts the web PKI (Mozilla's roots, built in: the box's
    /// own certificate store plays no part).
    pub fn new(dialer: Arc<dyn Dialer>) -> Self {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Self::with_roots(dialer, roots)
    }

    /// A client that trusts exactly `roots` (tests, private deployments).
    pub fn with_roots(dialer: Arc<dyn Dialer>, roots: RootCertStore) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_or_else(
                |_| unreachable!("ring supports TLS 1.2 and 1.3"),
                |b| b.with_root_certificates(roots).with_no_client_auth(),
            );
        Client {
            dialer,
            tls: TlsConnector::from(Arc::new(config)),
            limits: Limits::default(),
        }
    }

    /// The same client with other limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// GETs `url`, following https redirects. Any status is a [`Response`];
    /// only failures to get one are errors.
    pub async fn get(&self, url: &HttpsUrl) -> Result<Response, Error> {
        let secs = self.limits.timeout.as_secs();
        tokio::time::timeout(self.limits.timeout, self.follow(url))
            .await
            .map_err(|_| Error::Timeout {
                url: url.to_string(),
                secs,
            })?
    }

    async fn follow(&self, first: &HttpsUrl) -> Result<Response, Error> {
        let mut url = first.clone();
        let mut redirects = 0;
        loop {
            let (status, location, body) = self.once(&url).await?;
            if !(300..400).contains(&status) || status == 304 {
                return Ok(Response { status, body, url });
            }
            let redirect = |why| Error::Redirect {
                url: url.to_string(),
                why,
            };
            if redirects >= self.limits.max_redirects {
                return Err(redirect("too many redirects"));
            }
            redirects += 1;
            let location = location.ok_or_else(|| redirect("no Location"))?;
            url = if location.starts_with('/') && !location.starts_with("//") {
                HttpsUrl {
                    path: location,
                    ..url.clone()
                }
            } else if location.contains("://") || location.starts_with("//") {
                HttpsUrl::parse(&location).map_err(|_| redirect("not an https:// URL"))?
            } else {
                // Relative to the current path's directory.
                let path = url.path.split('?').next().unwrap_or("/");
                let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
                HttpsUrl {
                    path: format!("{dir}{location}"),
                    ..url.clone()
                }
            };
        }
    }

    async fn once(&self, url: &HttpsUrl) -> Result<(u16, Option<String>, Bytes), Error> {
        let host = url.host.clone();
        let tcp = self
            .dialer
            .dial(&url.host, url.port)
            .await
            .map_err(|source| Error::Connect {
                host: host.clone(),
                source,
            })?;
        let name =
            ServerName::try_from(url.host.trim_matches(['[', ']']).to_owned()).map_err(|_| {
                Error::Tls {
                    host: host.clone(),
                    source: std::io::Error::other("not a valid server name"),
                }
            })?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|source| Error::Tls {
                host: host.clone(),
                source,
            })?;
        let http = |source| Error::Http {
            host: host.clone(),
            source,
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(http)?;
        // The connection is driven beside the request and dropped with it.
        let driver = tokio::spawn(conn);
        let host_header = if url.port == 443 {
            url.host.clone()
        } else {
            format!("{}:{}", url.host, url.port)
        };
        let request = hyper::Request::get(url.path.as_str())
            .header(HOST, host_header)
            .header(
                ACCEPT,
                "application/octet-stream, application/pgp-keys, */*",
            )
            .header(ACCEPT_ENCODING, "identity")
            .body(Empty::<Bytes>::new())
            .map_err(|_| Error::Redirect {
                url: url.to_string(),
                why: "not a valid request path",
            })?;
        let result = async {
            let response = sender.send_request(request).await.map_err(http)?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if !(200..300).contains(&status) {
                return Ok((status, location, Bytes::new()));
            }
            let body = Limited::new(response.into_body(), self.limits.max_body)
                .collect()
                .await
                .map_err(|e| match e.downcast::<hyper::Error>() {
                    Ok(e) => http(*e),
                    Err(_) => Error::TooLarge {
                        host: host.clone(),
                        limit: self.limits.max_body,
                    },
                })?
                .to_bytes();
            Ok((status, location, body))
        }
        .await;
        driver.abort();
        result
    }
}
