//! A local HTTPS server for key lookup tests (WKD and VKS files under
//! several host names, one test CA) and a dialer that sends every host name
//! to it. Built with the `test-support` feature; used by this crate's tests
//! and the web API's.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::dial::{BoxedConnection, DialFuture, Dialer};
use crate::http::{Client, Limits};

/// What the test server answers for a host and path (query ignored).
#[derive(Clone, Debug)]
pub enum Answer {
    /// 200 with this body.
    Body(Bytes),
    /// 302 to this location.
    Redirect(&'static str),
}

/// What the server serves: (host, path) to answer; anything else is 404.
pub type Files = HashMap<(String, String), Answer>;

/// Sends every host to the test server, except those it refuses (as if they
/// did not resolve) and `silent.example`, which accepts and never answers.
pub struct Loopback {
    server: SocketAddr,
    silent: SocketAddr,
    refuse: Vec<&'static str>,
    /// Every host name dialed, in order.
    pub dialed: Mutex<Vec<String>>,
}

impl Dialer for Loopback {
    fn dial<'a>(&'a self, host: &'a str, _port: u16) -> DialFuture<'a> {
        Box::pin(async move {
            self.dialed.lock().unwrap().push(host.to_owned());
            if self.refuse.contains(&host) {
                return Err(io::Error::new(io::ErrorKind::NotFound, "no such host"));
            }
            let to = if host == "silent.example" {
                self.silent
            } else {
                self.server
            };
            let s = tokio::net::TcpStream::connect(to).await?;
            Ok(Box::new(s) as BoxedConnection)
        })
    }
}

/// The host names the server's certificate is valid for.
pub const NAMES: &[&str] = &[
    // Reached through the private Tor network, whose exit resolves them.
    "openpgpkey.wkd.tor-net.test",
    "wkd.tor-net.test",
    "openpgpkey.example.org",
    "example.org",
    "openpgpkey.direct.example",
    "direct.example",
    "openpgpkey.elsewhere.example",
    "elsewhere.example",
    "openpgpkey.wrong.example",
    "wrong.example",
    "openpgpkey.big.example",
    "big.example",
    "openpgpkey.redirect.example",
    "redirect.example",
    "keys.openpgp.org",
    "silent.example",
    "openpgpkey.example.net",
    "example.net",
];

/// The running server.
pub struct Server {
    /// Where it listens on loopback.
    pub addr: SocketAddr,
    silent: SocketAddr,
    /// Trusts the server's CA only.
    pub roots: RootCertStore,
    /// Every request as `host/path?query`, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// A client whose dialer sends every name here, refusing `refuse` as if
    /// those names did not resolve.
    pub fn client(&self, refuse: Vec<&'static str>, limits: Limits) -> (Client, Arc<Loopback>) {
        let dialer = Arc::new(Loopback {
            server: self.addr,
            silent: self.silent,
            refuse,
            dialed: Mutex::new(Vec::new()),
        });
        let client = Client::with_roots(dialer.clone(), self.roots.clone()).with_limits(limits);
        (client, dialer)
    }

    /// A dialer to this server, for a client with other roots.
    pub fn dialer(&self) -> Arc<Loopback> {
        Arc::new(Loopback {
            server: self.addr,
            silent: self.silent,
            refuse: Vec::new(),
            dialed: Mutex::new(Vec::new()),
        })
    }
}

/// A CA and a server certificate for every test host name.
fn certificates() -> (
    RootCertStore,
    CertificateDer<'static>,
    PrivateKeyDer<'static>,
) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(
        NAMES
            .iter()
            .map(std::string::ToString::to_string)
            .collect::<Vec<_>>(),
    )
    .unwrap()
    .signed_by(&leaf_key, &ca)
    .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    (
        roots,
        leaf.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
    )
}

/// Starts the server (and a listener that accepts and never answers, where
/// `silent.example` goes) on loopback.
pub async fn serve(files: Files) -> Server {
    let (roots, cert, key) = certificates();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let files = Arc::new(files);
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, files, log) = (acceptor.clone(), files.clone(), log.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let host = req
                        .headers()
                        .get(hyper::header::HOST)
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    let full = req
                        .uri()
                        .path_and_query()
                        .map(|p| p.as_str().to_owned())
                        .unwrap_or_default();
                    log.lock().unwrap().push(format!("{host}{full}"));
                    let answer = files.get(&(host, req.uri().path().to_owned())).cloned();
                    async move {
                        let mut r = hyper::Response::builder();
                        let body = match answer {
                            Some(Answer::Body(b)) => b,
                            Some(Answer::Redirect(to)) => {
                                r = r.status(302).header("location", to);
                                Bytes::new()
                            }
                            None => {
                                r = r.status(404);
                                Bytes::from_static(b"not found")
                            }
                        };
                        Ok::<_, std::convert::Infallible>(r.body(Full::new(body)).unwrap())
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Server {
        addr,
        silent: silent_addr,
        roots,
        requests,
    }
}

/// A file entry for [`serve`].
pub fn file(host: &str, path: String, answer: Answer) -> ((String, String), Answer) {
    ((host.to_owned(), path), answer)
}
