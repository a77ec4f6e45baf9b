//! Real servers on loopback for discovery tests: an HTTPS server with a test
//! CA serving clientConfig files under many host names, a listener that
//! accepts and never answers, an authoritative DNS server (hickory-server,
//! in process) with SRV and MX records, and a dialer that sends host names
//! where the test says (any other name "does not resolve").

#![allow(dead_code)] // Each test binary uses part of it.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::rr::rdata::{MX, SOA, SRV};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use homepost_net::dial::{BoxedConnection, DialFuture, Dialer};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// What the web server answers for a host and path (the query is ignored
/// but logged).
#[derive(Clone, Debug)]
pub enum Answer {
    /// 200 with this body.
    Body(Bytes),
    /// 302 to this location.
    Redirect(String),
    /// This status, empty body.
    Status(u16),
}

/// A test CA and certificates it signs.
pub struct Ca {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
    /// Trusts this CA only.
    pub roots: RootCertStore,
}

impl Ca {
    /// A new CA.
    pub fn new() -> Ca {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(issuer.der().clone()).unwrap();
        Ca { issuer, roots }
    }

    /// A server certificate for `names`, and its key.
    pub fn leaf(&self, names: &[&str]) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        (
            cert.der().clone(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
    }

    /// A TLS acceptor with a certificate for `names`.
    pub fn acceptor(&self, names: &[&str]) -> tokio_rustls::TlsAcceptor {
        let (cert, key) = self.leaf(names);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}

/// The running web server.
pub struct Web {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every request as `host/path?query`, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Web {
    /// Serves `files` ((host, path) to answer; anything else is 404) with a
    /// certificate from `ca` for every host named there and in `more_names`.
    pub async fn start(ca: &Ca, files: Vec<(&str, &str, Answer)>, more_names: &[&str]) -> Web {
        let mut names: Vec<&str> = files.iter().map(|(h, _, _)| *h).collect();
        names.extend_from_slice(more_names);
        names.sort_unstable();
        names.dedup();
        let acceptor = ca.acceptor(&names);
        let files: Arc<HashMap<(String, String), Answer>> = Arc::new(
            files
                .into_iter()
                .map(|(h, p, a)| ((h.to_owned(), p.to_owned()), a))
                .collect(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, files, log) = (acceptor.clone(), files.clone(), log.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service =
                        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
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
                                    Some(Answer::Status(s)) => {
                                        r = r.status(s);
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
        Web { addr, requests }
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// A listener that accepts connections and never says a word.
pub async fn silent() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    addr
}

/// Sends `host:port` or `host` where the map says; any other name fails
/// as if it did not resolve.
#[derive(Default)]
pub struct MapDialer {
    routes: HashMap<String, SocketAddr>,
    /// Every `host:port` dialed, in order.
    pub dialed: Mutex<Vec<String>>,
}

impl MapDialer {
    /// Routes `name` (a host, or `host:port`) to `to`.
    pub fn route(mut self, name: &str, to: SocketAddr) -> Self {
        self.routes.insert(name.to_owned(), to);
        self
    }

    /// Routes each host to `to`.
    pub fn routes(mut self, hosts: &[&str], to: SocketAddr) -> Self {
        for host in hosts {
            self.routes.insert((*host).to_owned(), to);
        }
        self
    }

    /// The hosts dialed so far, as `host:port`.
    pub fn dialed(&self) -> Vec<String> {
        self.dialed.lock().unwrap().clone()
    }
}

impl Dialer for MapDialer {
    fn dial<'a>(&'a self, host: &'a str, port: u16) -> DialFuture<'a> {
        Box::pin(async move {
            let key = format!("{host}:{port}");
            self.dialed.lock().unwrap().push(key.clone());
            let Some(to) = self.routes.get(&key).or_else(|| self.routes.get(host)) else {
                return Err(io::Error::new(io::ErrorKind::NotFound, "no such host"));
            };
            let s = tokio::net::TcpStream::connect(to).await?;
            Ok(Box::new(s) as BoxedConnection)
        })
    }
}

/// A record for the DNS server.
pub enum Rr {
    /// SRV: name, priority, weight, port, target.
    Srv(&'static str, u16, u16, u16, &'static str),
    /// MX: name, preference, exchange.
    Mx(&'static str, u16, &'static str),
}

/// An authoritative DNS server for one zone, on UDP and TCP of loopback.
pub struct DnsServer {
    /// Where it listens (the same port for UDP and TCP).
    pub addr: SocketAddr,
    _server: hickory_server::Server<Catalog>,
}

impl DnsServer {
    /// Serves `zone` with `records`.
    pub async fn start(zone: &str, records: Vec<Rr>) -> DnsServer {
        let origin = Name::from_ascii(format!("{zone}.")).unwrap();
        let mut handler = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
            origin.clone(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
        );
        let soa = SOA::new(
            Name::from_ascii(format!("ns.{zone}.")).unwrap(),
            Name::from_ascii(format!("hostmaster.{zone}.")).unwrap(),
            1,
            3600,
            600,
            86400,
            60,
        );
        assert!(handler.upsert_mut(Record::from_rdata(origin.clone(), 60, RData::SOA(soa)), 1));
        for rr in records {
            let (name, data) = match rr {
                Rr::Srv(name, priority, weight, port, target) => (
                    name,
                    RData::SRV(SRV::new(
                        priority,
                        weight,
                        port,
                        Name::from_ascii(target).unwrap(),
                    )),
                ),
                Rr::Mx(name, preference, exchange) => (
                    name,
                    RData::MX(MX::new(preference, Name::from_ascii(exchange).unwrap())),
                ),
            };
            let name = Name::from_ascii(format!("{name}.")).unwrap();
            assert!(handler.upsert_mut(Record::from_rdata(name, 60, data), 1));
        }
        let mut catalog = Catalog::new();
        let handlers: Vec<Arc<dyn ZoneHandler>> = vec![Arc::new(handler)];
        catalog.upsert(LowerName::new(&origin), handlers);
        // UDP and TCP on one port: the port the system gives the UDP socket
        // may be taken for TCP (another test's server), so try a few.
        let mut attempts = 0;
        let (udp, tcp, addr) = loop {
            let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let addr = udp.local_addr().unwrap();
            match tokio::net::TcpListener::bind(addr).await {
                Ok(tcp) => break (udp, tcp, addr),
                Err(e) if attempts < 20 => {
                    attempts += 1;
                    eprintln!("port {addr} taken for TCP ({e}); trying another");
                }
                Err(e) => panic!("no port free for both UDP and TCP: {e}"),
            }
        };
        let mut server = hickory_server::Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, std::time::Duration::from_secs(5), 4096);
        DnsServer {
            addr,
            _server: server,
        }
    }
}

/// A clientConfig with one IMAP server (SSL, 993) and one SMTP server
/// (STARTTLS, 587), user name the whole address.
pub fn file(imap: &str, smtp: &str) -> Answer {
    Answer::Body(Bytes::from(format!(
        r#"<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="x">
  <displayName>Provider of {imap}</displayName>
  <incomingServer type="imap"><hostname>{imap}</hostname><port>993</port>
    <socketType>SSL</socketType><username>%EMAILADDRESS%</username>
    <authentication>password-cleartext</authentication></incomingServer>
  <outgoingServer type="smtp"><hostname>{smtp}</hostname><port>587</port>
    <socketType>STARTTLS</socketType><username>%EMAILADDRESS%</username>
    <authentication>password-cleartext</authentication></outgoingServer>
</emailProvider></clientConfig>"#
    )))
}
