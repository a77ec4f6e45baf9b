//! Fetching a clientConfig file: HTTPS GET over the caller's [`Dialer`],
//! with autoconfig's own rules. Never plain http (a redirect to http:// is
//! refused, so an http-only answer is never read); redirects only within the
//! registrable domain first asked (a provider must not send the address to
//! someone else); a size limit on the body. The time limit is the caller's.
//!
//! `homepost_net::Client` is not used because its redirects may cross
//! domains, and it does not hand a redirect's target back to decide on.

use std::sync::Arc;

use bytes::Bytes;
use homepost_net::Dialer;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{ACCEPT, ACCEPT_ENCODING, HOST, LOCATION};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio_rustls::TlsConnector;
use url::Url;

use crate::address::registrable_domain;

/// Redirects followed at most.
const MAX_REDIRECTS: u8 = 3;

/// Why a clientConfig file could not be fetched. The texts name hosts and
/// URLs, never what the server sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// No connection (no such host, refused, unreachable).
    #[error("cannot connect to {host}: {why}")]
    Connect {
        /// The host.
        host: String,
        /// Why, in the dialer's words.
        why: String,
    },
    /// The TLS handshake failed (often: a certificate not valid for the name).
    #[error("no secure connection to {host}: {why}")]
    Tls {
        /// The host.
        host: String,
        /// Why.
        why: String,
    },
    /// The server broke the HTTP exchange.
    #[error("HTTP error from {host}: {why}")]
    Http {
        /// The host.
        host: String,
        /// Why.
        why: String,
    },
    /// An HTTP status other than 200 (404: no file there).
    #[error("the server answered HTTP {status}")]
    Status {
        /// The status.
        status: u16,
    },
    /// The body was larger than the limit.
    #[error("the answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// A redirect to plain http: an answer that could have been changed on
    /// the way is never used.
    #[error("refused: it redirects to plain http ({to})")]
    NotHttps {
        /// Where it pointed.
        to: String,
    },
    /// A redirect out of the domain first asked.
    #[error("refused: it redirects to another domain ({to})")]
    OtherDomain {
        /// Where it pointed.
        to: String,
    },
    /// Too many redirects, or one without a usable Location.
    #[error("redirect not followed: {why}")]
    Redirect {
        /// Why.
        why: &'static str,
    },
}

/// GETs clientConfig files.
#[derive(Clone)]
pub(crate) struct Fetcher {
    pub dialer: Arc<dyn Dialer>,
    pub tls: TlsConnector,
    pub max_body: usize,
}

impl Fetcher {
    /// GETs `url` (which must be https), following redirects within its
    /// registrable domain, and returns the body of a 200 answer.
    pub async fn get(&self, url: &Url) -> Result<Bytes, FetchError> {
        let domain = url.host_str().map(registrable_domain).unwrap_or_default();
        let mut url = url.clone();
        let mut redirects = 0;
        loop {
            if url.scheme() != "https" {
                return Err(FetchError::NotHttps {
                    to: url.to_string(),
                });
            }
            match self.once(&url).await? {
                Answer::Body(body) => return Ok(body),
                Answer::Status(status) => return Err(FetchError::Status { status }),
                Answer::Redirect(location) => {
                    if redirects >= MAX_REDIRECTS {
                        return Err(FetchError::Redirect {
                            why: "too many redirects",
                        });
                    }
                    redirects += 1;
                    let next =
                        location
                            .and_then(|l| url.join(&l).ok())
                            .ok_or(FetchError::Redirect {
                                why: "no usable Location",
                            })?;
                    if next.scheme() != "https" {
                        return Err(FetchError::NotHttps {
                            to: next.to_string(),
                        });
                    }
                    let host = next.host_str().unwrap_or_default();
                    if registrable_domain(host) != domain {
                        return Err(FetchError::OtherDomain {
                            to: next.to_string(),
                        });
                    }
                    url = next;
                }
            }
        }
    }

    async fn once(&self, url: &Url) -> Result<Answer, FetchError> {
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let tcp = self
            .dialer
            .dial(&host, port)
            .await
            .map_err(|e| FetchError::Connect {
                host: host.clone(),
                why: e.to_string(),
            })?;
        let tls_error = |why: String| FetchError::Tls {
            host: host.clone(),
            why,
        };
        let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
            .map_err(|_| tls_error("not a valid server name".into()))?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| tls_error(e.to_string()))?;
        let http = |e: hyper::Error| FetchError::Http {
            host: host.clone(),
            why: e.to_string(),
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(http)?;
        let driver = tokio::spawn(conn);
        let host_header = match url.port() {
            Some(p) if p != 443 => format!("{host}:{p}"),
            _ => host.clone(),
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let request = hyper::Request::get(path)
            .header(HOST, host_header)
            .header(ACCEPT, "application/xml, text/xml;q=0.9, */*;q=0.1")
            .header(ACCEPT_ENCODING, "identity")
            .body(Empty::<Bytes>::new())
            .map_err(|_| FetchError::Redirect {
                why: "not a valid request path",
            })?;
        let result = async {
            let response = sender.send_request(request).await.map_err(http)?;
            let status = response.status().as_u16();
            if (300..400).contains(&status) && status != 304 {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                return Ok(Answer::Redirect(location));
            }
            if status != 200 {
                return Ok(Answer::Status(status));
            }
            let body = Limited::new(response.into_body(), self.max_body)
                .collect()
                .await
                .map_err(|e| match e.downcast::<hyper::Error>() {
                    Ok(e) => http(*e),
                    Err(_) => FetchError::TooLarge {
                        limit: self.max_body,
                    },
                })?
                .to_bytes();
            Ok(Answer::Body(body))
        }
        .await;
        driver.abort();
        result
    }
}

enum Answer {
    Body(Bytes),
    Status(u16),
    Redirect(Option<String>),
}
