//! The relay's tunnel end to end: Debian's `pagekite` as the frontend on
//! loopback, the server's connector registering the kite, and a phone's
//! browser (a TLS client trusting only the box's certificate for the kite
//! name) reaching the app through the frontend, where it counts as a stranger.

use std::net::{Ipv4Addr, TcpListener as StdListener};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use homepost_relay::RelayStatus;
use homepost_web::TlsSource;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::{config, for_host, get, http, post_json};

#[path = "../../../relay/tests/support/frontend.rs"]
#[allow(dead_code)]
mod frontend;

const KITE: &str = "box.homepost.test";
const SECRET: &str = "kite-secret-4d7f";

fn free_ports<const N: usize>() -> [u16; N] {
    let held: [StdListener; N] = std::array::from_fn(|_| {
        StdListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0")
    });
    held.map(|l| l.local_addr().expect("bound address").port())
}

/// What a browser on the internet sends: TLS to the frontend with the kite
/// name, trusting only `cert`; the whole response.
async fn via_relay(port: u16, cert: &CertificateDer<'static>, request: &str) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .unwrap();
    let mut stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(ServerName::try_from(KITE).unwrap(), tcp)
        .await
        .expect("TLS through the relay, verified against the box's certificate for the kite");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

async fn wait_for(status: &mut watch::Receiver<RelayStatus>, wanted: fn(&RelayStatus) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if wanted(&status.borrow_and_update()) {
            return;
        }
        let last = status.borrow().to_string();
        match tokio::time::timeout_at(deadline, status.changed()).await {
            Ok(Ok(())) => {}
            _ => panic!("the relay's status stayed at: {last}"),
        }
    }
}

fn save_settings(dir: &Path, frontend: u16, secret: &str) {
    let remote = dir.join("remote");
    std::fs::create_dir_all(&remote).unwrap();
    let json = serde_json::json!({
        "frontend": format!("127.0.0.1:{frontend}"),
        "kite": KITE.to_ascii_uppercase(),
        "secret": secret,
    });
    std::fs::write(remote.join("pagekite.json"), json.to_string()).unwrap();
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    response.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_reaches_the_app_and_counts_as_a_stranger() {
    let mut frontend = frontend::Frontend::start();
    let dir = tempfile::tempdir().unwrap();
    save_settings(dir.path(), frontend.port, SECRET);
    let running = homepost_web::start(config(dir.path(), "127.0.0.1:0", TlsSource::Off))
        .await
        .unwrap();
    let mut status = running
        .state()
        .remote()
        .relay_status()
        .await
        .expect("the saved relay starts with the server");
    wait_for(&mut status, |s| matches!(s, RelayStatus::Registered { .. })).await;
    let pem = dir.path().join("tls/relay").join(KITE).join("cert.pem");
    let cert = CertificateDer::from_pem_file(&pem).expect("the kite's certificate");

    // Through the relay, naming the box 127.0.0.1: still a stranger, who
    // needs the setup code; the box's own browser does not.
    let status_req = get("/api/v1/status");
    let res = via_relay(frontend.port, &cert, &for_host(&status_req, "127.0.0.1")).await;
    assert!(res.starts_with("HTTP/1.1 200"), "{}", frontend.tail());
    assert!(res.contains(r#""setup_token_required":true"#), "{res}");
    let res = http(TcpStream::connect(running.addr).await.unwrap(), &status_req).await;
    assert!(res.contains(r#""setup_token_required":false"#), "{res}");
    let claim = post_json("/api/v1/vault", r#"{"passphrase":"correct horse battery"}"#);
    let res = via_relay(frontend.port, &cert, &for_host(&claim, "127.0.0.1")).await;
    assert!(res.starts_with("HTTP/1.1 403"), "{res}");
    assert!(res.contains("setup_token_required"), "{res}");
    // The app itself, by the kite name.
    let res = via_relay(frontend.port, &cert, &for_host(&get("/"), KITE)).await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    assert!(
        res.contains("<!doctype html>") || res.contains("<!DOCTYPE html>"),
        "{res}"
    );
    // A name the box does not answer to is refused, through the relay too.
    let res = via_relay(frontend.port, &cert, &for_host(&status_req, "evil.example")).await;
    assert!(res.starts_with("HTTP/1.1 421"), "{res}");

    // The owner claims the box at home, then unlocks from the phone by the
    // kite name: the cookie is the TLS one, pinned to the host.
    let res = http(TcpStream::connect(running.addr).await.unwrap(), &claim).await;
    assert!(res.starts_with("HTTP/1.1 201"), "{res}");
    let unlock = post_json(
        "/api/v1/session",
        r#"{"passphrase":"correct horse battery"}"#,
    );
    let res = via_relay(frontend.port, &cert, &for_host(&unlock, KITE)).await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    let cookie = header(&res, "set-cookie").unwrap_or_default().to_owned();
    assert!(
        cookie.starts_with("__Host-homepost_session=") && cookie.contains("Secure"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let csrf = res
        .split(r#""csrf_token":""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let authed = |method: &str, path: &str, body: &str| {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {KITE}\r\nConnection: close\r\nCookie: {session}\r\n\
X-CSRF-Token: {csrf}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let res = via_relay(frontend.port, &cert, &authed("GET", "/api/v1/remote", "")).await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    let fingerprint = homepost_web::tls::fingerprint(&cert);
    for part in [
        r#""state":"registered""#,
        &format!(r#""kite":"{KITE}""#),
        &format!(r#""url":"https://{KITE}/""#),
        &format!(r#""fingerprint":"{fingerprint}""#),
    ] {
        assert!(res.contains(part), "{part} missing: {res}");
    }
    assert!(!res.contains(SECRET), "{res}");

    // A wrong setting is refused and changes nothing; a wrong secret is
    // saved, and the relay's refusal shows as the status.
    let bad = r#"{"frontend":"127.0.0.1:1","kite":"not a name","secret":"x"}"#;
    let res = via_relay(
        frontend.port,
        &cert,
        &authed("PUT", "/api/v1/remote/pagekite", bad),
    )
    .await;
    assert!(res.starts_with("HTTP/1.1 400"), "{res}");
    assert!(res.contains("bad_settings"), "{res}");
    let wrong = format!(
        r#"{{"frontend":"127.0.0.1:{}","kite":"{KITE}","secret":"wrong-secret"}}"#,
        frontend.port
    );
    let res = via_relay(
        frontend.port,
        &cert,
        &authed("PUT", "/api/v1/remote/pagekite", &wrong),
    )
    .await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    let mut status = running.state().remote().relay_status().await.unwrap();
    wait_for(&mut status, |s| matches!(s, RelayStatus::Refused { .. })).await;
    let body = running.state().remote().body().await;
    let relay = body.pagekite.unwrap();
    assert_eq!(relay.state, "refused");
    assert!(relay.message.contains("secret"), "{}", relay.message);
    let saved = std::fs::read_to_string(dir.path().join("remote/pagekite.json")).unwrap();
    assert!(saved.contains("wrong-secret"), "{saved}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("remote/pagekite.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // Removing it from the box's own browser closes the way in.
    let remove = format!(
        "DELETE /api/v1/remote/pagekite HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
Cookie: {}\r\nX-CSRF-Token: {csrf}\r\n\r\n",
        session.replace("__Host-homepost_session", "homepost_session")
    );
    // (The plain listener's cookie has the plain name: a session is one
    // session whichever way it came in.)
    let res = http(TcpStream::connect(running.addr).await.unwrap(), &remove).await;
    assert!(res.starts_with("HTTP/1.1 204"), "{res}");
    assert!(!dir.path().join("remote/pagekite.json").exists());
    assert!(running.state().remote().relay_status().await.is_none());
    frontend.kill();
    running.stop().await.unwrap();
}
