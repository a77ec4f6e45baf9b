//! The onion service: reachable through Tor at its stable address, other
//! ports refused, the identity never written by arti.

use std::time::{Duration, Instant};

use homepost_net::dial::Dialer as _;
use homepost_onion::{Error, MAX_STREAMS, OnionConfig, OnionIdentity, OnionStatus};
use std::os::unix::fs::PermissionsExt as _;

use super::network::{bootstrapped, files_holding, get_until_ok, http_server, network, tor_dirs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_onion_service_answers_at_its_stable_address_and_keeps_no_key_on_disk() {
    // The identity: the same file gives the same address; a copy others can
    // read is refused.
    let keys = tempfile::tempdir().unwrap();
    let key_path = keys.path().join("tor/onion.key");
    let identity = OnionIdentity::load_or_create(&key_path).unwrap();
    let again = OnionIdentity::load_or_create(&key_path).unwrap();
    assert_eq!(again.onion_address(), identity.onion_address());
    let exposed = keys.path().join("exposed.key");
    std::fs::copy(&key_path, &exposed).unwrap();
    std::fs::set_permissions(&exposed, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = OnionIdentity::load_or_create(&exposed).unwrap_err();
    assert!(matches!(err, Error::IdentityPermissions { .. }), "{err}");

    let target = http_server().await;
    let service_dirs = tor_dirs(None);
    let client_dirs = tor_dirs(None);
    let (service_tor, client_tor) =
        tokio::join!(bootstrapped(&service_dirs), bootstrapped(&client_dirs));

    let launched = Instant::now();
    let service = service_tor
        .launch_onion(OnionConfig {
            nickname: "homepost".into(),
            identity: &identity,
            target,
            port: 80,
            restricted_discovery: Vec::new(),
        })
        .unwrap();
    assert_eq!(service.address(), identity.onion_address());
    let mut status = service.status();

    let dialer = client_tor.dialer();
    let took = get_until_ok(&dialer, service.address(), 80, Duration::from_secs(300)).await;
    eprintln!(
        "MEASURED: onion service reachable {:.1} s after launch ({:.1} s including the wait here)",
        took.as_secs_f64(),
        launched.elapsed().as_secs_f64()
    );
    // Running means published on the HSDir rings of two time periods. A
    // network younger than two shared-random rounds (16 minutes here) has
    // no previous shared random value, so half the time arti sees only one
    // ring and reports DegradedUnreachable, truthfully: then Unreachable with
    // that reason is the right answer.
    let two_rings = std::fs::read_to_string(network().join("auth1/cached-microdesc-consensus"))
        .is_ok_and(|c| c.contains("\nshared-rand-previous-value "));
    let settled = tokio::time::timeout(
        Duration::from_secs(120),
        status.wait_for(|s| {
            *s == OnionStatus::Running
                || (!two_rings
                    && matches!(s, OnionStatus::Unreachable(why) if why.contains("time period")))
        }),
    )
    .await
    .map(|r| r.is_ok());
    assert!(
        settled == Ok(true),
        "the service did not report Running within 120 s (network has two rings: {two_rings}): {:?}",
        *status.borrow()
    );
    eprintln!(
        "MEASURED: the service reported {:?} {:.1} s after launch",
        *status.borrow(),
        launched.elapsed().as_secs_f64()
    );

    // C-tor (what Tor Browser and Orbot run) reaches it too, through the
    // network's C-tor client.
    let socks = std::fs::read_to_string(network().join("socks")).unwrap();
    let url = format!("http://{}/", service.address());
    let mut c_tor = None;
    for _ in 0..10 {
        let out = tokio::process::Command::new("curl")
            .args(["-sS", "--max-time", "30", "--socks5-hostname"])
            .arg(format!("127.0.0.1:{}", socks.trim()))
            .arg(&url)
            .output()
            .await
            .expect("run curl");
        if out.status.success() {
            c_tor = Some(String::from_utf8_lossy(&out.stdout).into_owned());
            break;
        }
        eprintln!(
            "curl through C-tor: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    assert_eq!(c_tor.as_deref(), Some(super::network::BODY));

    // Another port: refused with an END cell, promptly.
    let other = tokio::time::timeout(Duration::from_secs(60), dialer.dial(service.address(), 81))
        .await
        .expect("a stream to port 81 neither failed nor succeeded within 60 s");
    let Err(err) = other else {
        panic!("a stream to port 81 was accepted");
    };
    eprintln!("port 81: {err}");
    // Port 80 still works on the same circuit.
    get_until_ok(&dialer, service.address(), 80, Duration::from_secs(60)).await;

    // A flood: MAX_STREAMS streams held open (the test server waits for a
    // request that never comes), then one more is refused; closing one lets
    // the next in.
    let mut held = Vec::new();
    for i in 0..MAX_STREAMS {
        let conn =
            tokio::time::timeout(Duration::from_secs(60), dialer.dial(service.address(), 80))
                .await
                .unwrap_or_else(|_| panic!("stream {i} timed out"))
                .unwrap_or_else(|e| panic!("stream {i}: {e}"));
        held.push(conn);
    }
    let extra = tokio::time::timeout(Duration::from_secs(60), dialer.dial(service.address(), 80))
        .await
        .expect("the stream over the limit neither failed nor succeeded within 60 s");
    assert!(extra.is_err(), "stream {} was accepted", MAX_STREAMS + 1);
    drop(held.pop());
    get_until_ok(&dialer, service.address(), 80, Duration::from_secs(30)).await;
    drop(held);

    // Nothing arti wrote holds the identity: neither the seed nor the
    // expanded secret (what its native keystore would store) nor its scalar.
    let expanded = identity.expanded_secret_for_tests();
    for dir in [
        &service_dirs.config.state_dir,
        &service_dirs.config.cache_dir,
    ] {
        for secret in [&identity.seed()[..], &expanded[..], &expanded[..32]] {
            let found = files_holding(dir, secret);
            assert!(found.is_empty(), "key material in {found:?}");
        }
    }
    assert!(
        !service_dirs.config.state_dir.join("keystore").exists(),
        "arti created an on-disk keystore"
    );

    // Shut down: the status says so. The nickname can be launched again with
    // the same identity on the same client, not with another.
    service.shutdown().await;
    assert_eq!(*status.borrow_and_update(), OnionStatus::Stopped);
    let other_identity = OnionIdentity::generate().unwrap();
    let err = service_tor
        .launch_onion(OnionConfig {
            nickname: "homepost".into(),
            identity: &other_identity,
            target,
            port: 80,
            restricted_discovery: Vec::new(),
        })
        .unwrap_err();
    assert!(matches!(err, Error::NicknameInUse(_)), "{err}");
    let relaunched = service_tor
        .launch_onion(OnionConfig {
            nickname: "homepost".into(),
            identity: &again,
            target,
            port: 80,
            restricted_discovery: Vec::new(),
        })
        .unwrap();
    assert_eq!(relaunched.address(), identity.onion_address());
}
