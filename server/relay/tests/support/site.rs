//! A TLS site for the kite standing in for the box's HTTPS listener, and a TLS
//! client that trusts only its certificate.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Barrier;

use super::{BIG, KITE};

/// The byte at position `i` of the `/big` download.
pub fn big_byte(i: usize) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 11)) as u8
}

/// A TLS site for `KITE` on 127.0.0.1, standing in for the box's HTTPS
/// listener. `GET /` answers a greeting, `/big` 10 MiB, `/pair` answers only
/// once two `/pair` requests are inside the site at the same time, and
/// `POST /upload` says what it received.
pub struct Site {
    pub addr: SocketAddr,
    pub cert: CertificateDer<'static>,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Site {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Site {
    pub async fn start() -> Self {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec![KITE.to_owned()]).expect("params");
        let cert = params.self_signed(&key).expect("self-signed certificate");
        let der = cert.der().clone();
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let tls = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![der.clone()], key_der)
            .expect("server certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind the site");
        let addr = listener.local_addr().expect("site address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let pair = Arc::new(Barrier::new(2));
        let big: Arc<[u8]> = (0..BIG).map(big_byte).collect();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                let pair = pair.clone();
                let big = big.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Some((path, upload)) = read_request(&mut tls).await else {
                        return;
                    };
                    let received;
                    let body: &[u8] = match path.as_str() {
                        "/" => b"hello from the box",
                        "/big" => &big,
                        "/pair" => {
                            match tokio::time::timeout(Duration::from_secs(5), pair.wait()).await {
                                Ok(_) => b"paired",
                                Err(_) => b"alone",
                            }
                        }
                        "/upload" => {
                            let intact = upload.iter().enumerate().all(|(i, &b)| b == big_byte(i));
                            received = format!("received {} bytes, intact: {intact}", upload.len());
                            received.as_bytes()
                        }
                        _ => b"not found",
                    };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = tls.write_all(head.as_bytes()).await;
                    let _ = tls.write_all(body).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Self {
            addr,
            cert: der,
            accepted,
            task,
        }
    }
}

/// Reads a request: its path and its body (by `Content-Length`).
async fn read_request<S: AsyncReadExt + Unpin>(stream: &mut S) -> Option<(String, Vec<u8>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 || stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8(head).ok()?;
    let path = text.split_whitespace().nth(1)?.to_owned();
    let length = text
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    Some((path, body))
}

/// `GET path` over TLS to `addr` with SNI `KITE`, trusting only `cert`; the
/// response body (the status must be 200 and the length as announced).
pub async fn fetch(
    addr: SocketAddr,
    cert: &CertificateDer<'static>,
    path: &str,
) -> Result<Vec<u8>, String> {
    request(addr, cert, "GET", path, &[]).await
}

/// `POST /upload` of `body`, as `fetch`; the site answers how many bytes it
/// received and whether they are the `/big` pattern.
pub async fn upload(
    addr: SocketAddr,
    cert: &CertificateDer<'static>,
    body: &[u8],
) -> Result<Vec<u8>, String> {
    request(addr, cert, "POST", "/upload", body).await
}

async fn request(
    addr: SocketAddr,
    cert: &CertificateDer<'static>,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Vec<u8>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).map_err(|e| e.to_string())?;
    let tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let name = ServerName::try_from(KITE).map_err(|e| e.to_string())?;
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {addr}: {e}"))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {KITE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(body)
        .await
        .map_err(|e| format!("send the body: {e}"))?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response)
        .await
        .map_err(|e| format!("read from {addr}: {e}"))?;
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no response head ({} bytes)", response.len()))?;
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    if !head.starts_with("HTTP/1.1 200 ") {
        return Err(format!("status: {head}"));
    }
    let body = response.split_off(end + 4);
    let announced = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|n| n.parse::<usize>().ok());
    if announced != Some(body.len()) {
        return Err(format!(
            "{} body bytes, announced {announced:?}",
            body.len()
        ));
    }
    Ok(body)
}
