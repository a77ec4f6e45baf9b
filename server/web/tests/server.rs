//! The server on real sockets: where it may listen, TLS with the printed
//! fingerprint, and the cookie over TLS; the relay's tunnel (remote.rs) and
//! the onion service (onion.rs).

#[path = "server/onion.rs"]
mod onion;
#[path = "server/remote.rs"]
mod remote;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use homepost_vault::KdfParams;
use homepost_web::{Config, Error, TlsSource};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

fn config(dir: &std::path::Path, listen: &str, tls: TlsSource) -> Config {
    let mut c = Config::new(dir.to_path_buf());
    c.listen = listen.parse().unwrap();
    c.tls = tls;
    c.kdf = KdfParams::INSECURE_FOR_TESTS;
    c.idle_timeout = Duration::from_secs(60);
    c
}

async fn http<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, request: &str) -> String {
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
}

/// `request` with its `Host: localhost` replaced (a visitor through a tunnel
/// names the box as it likes).
fn for_host(request: &str, host: &str) -> String {
    request.replacen("Host: localhost", &format!("Host: {host}"), 1)
}

fn post_json(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_refused_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    for addr in ["0.0.0.0:0", "[::]:0", "192.168.1.10:33411", "10.0.0.2:0"] {
        let err = homepost_web::start(config(dir.path(), addr, TlsSource::Off))
            .await
            .err()
            .unwrap_or_else(|| panic!("{addr} was accepted without TLS"));
        assert!(matches!(err, Error::PlainNonLoopback(_)), "{addr}: {err}");
        let msg = err.to_string();
        assert!(
            msg.contains("without TLS") && msg.contains("--tls-self-signed"),
            "{msg}"
        );
    }
    // Nothing was created for a refused start.
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_plain_http_serves_the_app_without_a_banner() {
    let dir = tempfile::tempdir().unwrap();
    let running = homepost_web::start(config(dir.path(), "127.0.0.1:0", TlsSource::Off))
        .await
        .unwrap();
    assert!(running.fingerprint.is_none());
    assert!(running.url.starts_with("http://127.0.0.1:"));
    let res = http(
        TcpStream::connect(running.addr).await.unwrap(),
        &get("/api/v1/status"),
    )
    .await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    assert!(res.contains(r#""state":"no_vault""#), "{res}");
    assert!(!res.to_ascii_lowercase().contains("\r\nserver:"), "{res}");
    // A second server cannot take the same port: a clear error.
    let err = homepost_web::start(config(
        dir.path(),
        &running.addr.to_string(),
        TlsSource::Off,
    ))
    .await
    .err()
    .unwrap();
    assert!(matches!(err, Error::Bind(..)), "{err}");
    running.stop().await.unwrap();
}

/// Accepts exactly the certificate with this SHA-256 fingerprint: what a user does
/// by comparing the printed fingerprint with the browser's.
#[derive(Debug)]
struct Pinned(String);

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if homepost_web::tls::fingerprint(end_entity) == self.0 {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("fingerprint mismatch".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

async fn tls_connect(
    addr: SocketAddr,
    fingerprint: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, std::io::Error> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(Pinned(fingerprint.to_string())))
    .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_tls_beyond_loopback_with_a_stable_fingerprint_and_secure_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let running = homepost_web::start(config(dir.path(), "0.0.0.0:0", TlsSource::SelfSigned))
        .await
        .unwrap();
    let fp = running.fingerprint.clone().unwrap();
    assert_eq!(fp.len(), 32 * 3 - 1, "{fp}");
    let port = running.addr.port();
    let local: SocketAddr = ([127, 0, 0, 1], port).into();

    // The printed fingerprint is the one presented; another is refused.
    assert!(tls_connect(local, "00:11").await.is_err());
    let tls = tls_connect(local, &fp).await.unwrap();
    let res = http(
        tls,
        &post_json("/api/v1/vault", r#"{"passphrase":"correct horse battery"}"#),
    )
    .await;
    assert!(res.starts_with("HTTP/1.1 201"), "{res}");
    let cookie = res
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap()
        .to_string();
    for part in [
        "__Host-homepost_session=",
        "Secure",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(cookie.contains(part), "{part} missing: {cookie}");
    }
    // Plain HTTP on the TLS port gets nowhere.
    let plain = http(
        TcpStream::connect(local).await.unwrap(),
        &get("/api/v1/status"),
    )
    .await;
    assert!(
        !plain.contains("no_vault") && !plain.contains("unlocked"),
        "{plain}"
    );
    running.stop().await.unwrap();

    // The key is private to the owner, and a restart presents the same certificate.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("tls/key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "key.pem is readable by others: {mode:o}");
    }
    let again = homepost_web::start(config(dir.path(), "127.0.0.1:0", TlsSource::SelfSigned))
        .await
        .unwrap();
    assert_eq!(again.fingerprint.as_deref(), Some(fp.as_str()));
    again.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_certificate_files_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    let tls = TlsSource::Files {
        cert: cert.clone(),
        key: dir.path().join("missing-key.pem"),
    };
    let err = homepost_web::start(config(dir.path(), "0.0.0.0:0", tls))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, Error::Tls(_)), "{err}");
    assert!(err.to_string().contains("cert.pem"), "{err}");
}

/// Mail with many shared words, so that a search over all of them takes a while.
fn wordy_mbox(n: usize) -> String {
    let words: Vec<String> = (0..100).map(|w| format!("word{w}")).collect();
    let mut mbox = String::new();
    for i in 0..n {
        let body: Vec<&str> = (0..60)
            .map(|k| words[(i * 7 + k * 13) % 100].as_str())
            .collect();
        mbox.push_str(&format!(
            "From a@b Tue Mar  5 10:00:00 2024\nFrom: Sender {i} <s{i}@example.org>\nTo: bob@example.com\nSubject: note {i}\nMessage-ID: <w{i}@example.org>\nDate: Tue, 05 Mar 2024 10:00:00 +0000\n\n{}\n\n",
            body.join(" ")
        ));
    }
    mbox
}

/// The request, its answer, and when it was answered relative to the others.
async fn timed(addr: SocketAddr, request: String) -> (String, std::time::Instant) {
    let res = http(TcpStream::connect(addr).await.unwrap(), &request).await;
    (res, std::time::Instant::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn status_answers_while_searches_run() {
    let dir = tempfile::tempdir().unwrap();
    let vault = homepost_vault::Vault::create(
        dir.path(),
        &homepost_vault::Passphrase::new("correct horse battery".into()),
        KdfParams::INSECURE_FOR_TESTS,
    )
    .unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("in.mbox"), wordy_mbox(3000)).unwrap();
    let mut lib = homepost_core::library::Library::open(dir.path(), &vault)
        .await
        .unwrap();
    lib.import(
        homepost_mail::ImportSources::new(vec![src.path().join("in.mbox")]),
        &["inbox".to_string()],
        1_700_000_000,
        |_| {},
    )
    .await
    .unwrap();
    lib.close().await;
    let running = homepost_web::start(config(dir.path(), "127.0.0.1:0", TlsSource::Off))
        .await
        .unwrap();
    let addr = running.addr;
    let res = http(
        TcpStream::connect(addr).await.unwrap(),
        &post_json(
            "/api/v1/session",
            r#"{"passphrase":"correct horse battery"}"#,
        ),
    )
    .await;
    let cookie = res
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: homepost_session="))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no session: {res}"))
        .to_owned();
    let query: Vec<String> = (0..100).map(|w| format!("word{w}")).collect();
    let search = format!(
        "GET /api/v1/search?q={}&sort=relevance&limit=200&cursor=2500 HTTP/1.1\r\nHost: localhost\r\nCookie: homepost_session={cookie}\r\nConnection: close\r\n\r\n",
        query.join("%20OR%20")
    );
    // How long one search takes here: enough of them at once keep both of the
    // server's workers busy for about a second if they run there.
    let started = std::time::Instant::now();
    let (one, _) = timed(addr, search.clone()).await;
    assert!(one.starts_with("HTTP/1.1 200"), "{one}");
    let each = started.elapsed().max(Duration::from_millis(1));
    let n =
        usize::try_from((2 * Duration::from_secs(1).as_micros() / each.as_micros()).clamp(8, 200))
            .unwrap();
    let searches: Vec<_> = (0..n)
        .map(|_| tokio::spawn(timed(addr, search.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let sent = std::time::Instant::now();
    let (status, status_done) = timed(addr, get("/api/v1/status")).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let mut last_done = status_done;
    for s in searches {
        let (res, done) = s.await.unwrap();
        assert!(res.starts_with("HTTP/1.1 200"), "{res}");
        last_done = last_done.max(done);
    }
    // Searching on the workers, status waited behind the searches queued there;
    // with searches on the blocking pool, one core left free, it is answered
    // while they run. The bar is relative to this machine's own search time.
    let status_wait = status_done - sent;
    let all = last_done - sent;
    assert!(
        status_wait * 10 < all,
        "status took {status_wait:?} while {n} searches ({each:?} each) took {all:?}"
    );
    running.stop().await.unwrap();
}
