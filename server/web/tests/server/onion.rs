//! The onion service end to end on a private Tor network on loopback
//! (tests/peers/tor-net; `HOMEPOST_TOR_NET` names one already running): the
//! server publishes its onion service from the saved settings, a second Tor
//! client reaches the app through it, and there it counts as a stranger.

use std::time::{Duration, Instant};

use homepost_net::dial::Dialer;
use homepost_onion::TorDialer;
use homepost_web::TlsSource;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{config, for_host, get, http, post_json};

#[path = "../../../onion/tests/tor/network.rs"]
#[allow(dead_code)]
mod network;

/// `request` over a new stream through Tor to `address:80`, the whole
/// response (arti may end a finished stream with an error: tolerated).
async fn via_onion(tor: &TorDialer, address: &str, request: &str) -> std::io::Result<String> {
    let mut conn = tor.dial(address, 80).await?;
    conn.write_all(request.as_bytes()).await?;
    conn.flush().await?;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match conn.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) if !out.is_empty() => break,
            Err(e) => return Err(e),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_onion_service_reaches_the_app_and_counts_as_a_stranger() {
    let network = network::network();
    let dir = tempfile::tempdir().unwrap();
    homepost_web::remote::set_onion_offline(dir.path(), true, Some(false)).unwrap();
    let address = homepost_web::remote::onion_address(dir.path()).unwrap();
    let mut cfg = config(dir.path(), "127.0.0.1:0", TlsSource::Off);
    cfg.tor_network = Some(network.join("arti.toml"));
    let started = Instant::now();
    let running = homepost_web::start(cfg).await.unwrap();

    let client_dirs = network::tor_dirs(None);
    let client = network::bootstrapped(&client_dirs).await;
    let tor = client.dialer();
    let status_req = get("/api/v1/status");
    let res = loop {
        match via_onion(&tor, &address, &for_host(&status_req, &address)).await {
            Ok(res) if res.starts_with("HTTP/1.1 200") => break res,
            other => {
                let body = running.state().remote().body().await;
                assert!(
                    started.elapsed() < Duration::from_secs(180),
                    "the onion service is not reachable: {other:?}; {:?}",
                    body.onion
                );
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    eprintln!(
        "onion service reachable {:.1} s after the server started",
        started.elapsed().as_secs_f64()
    );
    assert!(res.contains(r#""setup_token_required":true"#), "{res}");
    // arti calls the service running only once every introduction point and
    // descriptor upload worked; on this small network it may stay at
    // publishing or degraded while visitors already get through.
    let body = running.state().remote().body().await;
    let onion = body.onion.unwrap();
    assert_eq!(onion.address, address);
    assert!(
        ["publishing", "running", "unreachable"].contains(&onion.state.as_str()),
        "{onion:?}"
    );
    assert!(onion.qr_svg.starts_with("<?xml") || onion.qr_svg.starts_with("<svg"));
    assert_eq!(body.tor.unwrap().state, "ready");

    // Naming the box 127.0.0.1 over the onion does not make it the box's own.
    let res = via_onion(&tor, &address, &for_host(&status_req, "127.0.0.1"))
        .await
        .unwrap();
    assert!(res.contains(r#""setup_token_required":true"#), "{res}");
    let claim = post_json("/api/v1/vault", r#"{"passphrase":"correct horse battery"}"#);
    let res = via_onion(&tor, &address, &for_host(&claim, "127.0.0.1"))
        .await
        .unwrap();
    assert!(res.starts_with("HTTP/1.1 403"), "{res}");
    let res = via_onion(&tor, &address, &for_host(&status_req, "evil.example"))
        .await
        .unwrap();
    assert!(res.starts_with("HTTP/1.1 421"), "{res}");

    // Claimed at home, unlocked and searched over the onion.
    let res = http(TcpStream::connect(running.addr).await.unwrap(), &claim).await;
    assert!(res.starts_with("HTTP/1.1 201"), "{res}");
    let unlock = post_json(
        "/api/v1/session",
        r#"{"passphrase":"correct horse battery"}"#,
    );
    let res = via_onion(&tor, &address, &for_host(&unlock, &address))
        .await
        .unwrap();
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    let cookie = res
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or(l.strip_prefix("Set-Cookie: "))
        })
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("homepost_session="), "{cookie}");
    let search = format!(
        "GET /api/v1/search?q=hello HTTP/1.1\r\nHost: {address}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    );
    let direct_search = search.replacen(&format!("Host: {address}"), "Host: localhost", 1);
    let mut over_tor = Duration::ZERO;
    let mut direct = Duration::ZERO;
    const ROUNDS: u32 = 5;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let res = via_onion(&tor, &address, &search).await.unwrap();
        over_tor += t.elapsed();
        assert!(res.starts_with("HTTP/1.1 200"), "{res}");
        let t = Instant::now();
        let res = http(
            TcpStream::connect(running.addr).await.unwrap(),
            &direct_search,
        )
        .await;
        direct += t.elapsed();
        assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    }
    eprintln!(
        "an API search (new stream each): {:.1} ms over the onion, {:.2} ms direct",
        over_tor.as_secs_f64() * 1000.0 / f64::from(ROUNDS),
        direct.as_secs_f64() * 1000.0 / f64::from(ROUNDS),
    );

    // Pairing hands out a key once; restricted discovery keeps it listed.
    let paired = homepost_web::remote::pair_client(&running.shared_state(), "Anna's phone")
        .await
        .unwrap();
    assert!(
        paired
            .auth_private
            .starts_with(address.trim_end_matches(".onion"))
    );
    assert_eq!(paired.key.len(), 52);
    let on = homepost_web::remote::enable_onion(&running.shared_state(), true)
        .await
        .unwrap();
    assert!(on.restricted);
    assert_eq!(on.clients.len(), 1);
    assert_eq!(on.clients[0].name, "Anna's phone");
    let saved = std::fs::read_to_string(dir.path().join("remote/onion.json")).unwrap();
    assert!(
        !saved.contains(paired.key.as_str()),
        "the secret key was stored"
    );
    // The identity is the owner's only, and the same address comes back.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("tor/onion-identity"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    running.stop().await.unwrap();
    assert_eq!(
        homepost_web::remote::onion_address(dir.path()).unwrap(),
        address
    );
}

/// Sends every connection to one port of the host the Tor exit resolves (the
/// test HTTPS server's), as WKD's port 443 would be on the internet.
struct AtPort(TorDialer, u16);

impl Dialer for AtPort {
    fn dial<'a>(&'a self, host: &'a str, _port: u16) -> homepost_net::dial::DialFuture<'a> {
        self.0.dial(host, self.1)
    }
}

/// A key lookup over Tor finds the key while the box's own resolver does not
/// even know the name: it was resolved at the Tor exit (whose DNS log has it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_lookups_over_tor_resolve_at_the_exit() {
    use homepost_net::testing::{Answer, file, serve};
    let network = network::network();
    let gpg = homepost_testing::gnupg::Gpg::new();
    gpg.generate("dana@wkd.tor-net.test");
    let key = gpg.run(&["--export", "dana@wkd.tor-net.test"], b"").stdout;
    let hash = homepost_pgp::discovery::wkd_hash("dana");
    let server = serve(std::collections::HashMap::from([file(
        "openpgpkey.wkd.tor-net.test",
        format!("/.well-known/openpgpkey/wkd.tor-net.test/hu/{hash}"),
        Answer::Body(key.into()),
    )]))
    .await;
    assert!(
        tokio::net::lookup_host(("openpgpkey.wkd.tor-net.test", 443))
            .await
            .is_err(),
        "this machine's resolver knows the test name: the test would prove nothing"
    );
    let dirs = network::tor_dirs(None);
    let tor = network::bootstrapped(&dirs).await;
    let client = homepost_net::Client::with_roots(
        std::sync::Arc::new(AtPort(tor.dialer(), server.addr.port())),
        server.roots.clone(),
    );
    let options = homepost_net::LookupOptions {
        announced: false,
        wkd: true,
        keys_openpgp_org: false,
    };
    let found = homepost_net::lookup(
        &client,
        "dana@wkd.tor-net.test",
        None,
        options,
        std::time::SystemTime::now(),
    )
    .await
    .unwrap();
    assert!(found.found.is_some(), "{:?}", found.attempts);
    let dns = std::fs::read_to_string(network.join("dns.log")).unwrap();
    assert!(dns.contains("openpgpkey.wkd.tor-net.test"), "{dns}");
}
