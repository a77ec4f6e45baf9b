//! The Tor dialer: names resolved at the exit, never locally.

use std::io::ErrorKind;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use homepost_net::dial::Dialer as _;
use homepost_onion::{Tor, TorStatus};

use super::network::{get_until_ok, http_server, network, tor_dirs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dialer_reaches_a_server_by_a_name_only_the_exit_can_resolve() {
    let dirs = tor_dirs(None);
    let tor = Tor::start(&dirs.config).unwrap();
    let dialer = tor.dialer();

    // Before bootstrap: refused at once, saying why.
    let Err(early) = dialer.dial("early.tor-net.test", 80).await else {
        panic!("dialed before Tor bootstrapped");
    };
    assert_eq!(early.kind(), ErrorKind::NotConnected, "{early}");
    assert_eq!(early.to_string(), "Tor is still starting");

    let mut status = tor.status();
    tokio::time::timeout(Duration::from_secs(120), tor.ready())
        .await
        .expect("no bootstrap within 120 s")
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        status.wait_for(|s| *s == TorStatus::Ready),
    )
    .await
    .expect("the status did not turn Ready")
    .unwrap();

    // A fresh name under tor-net.test: the exit's DNS server answers
    // 127.0.0.1 for it, this machine's resolver knows no such name. Reaching
    // the server by it shows the name was resolved at the exit; the exit's
    // DNS log shows the lookup arrived there.
    let target = http_server().await;
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("dialer-{nonce:x}.tor-net.test");
    assert!(
        tokio::net::lookup_host((name.as_str(), target.port()))
            .await
            .is_err(),
        "the local resolver knows {name}: the test would prove nothing"
    );
    let took = get_until_ok(&dialer, &name, target.port(), Duration::from_secs(120)).await;
    eprintln!(
        "MEASURED: first request through the exit {:.1} s",
        took.as_secs_f64()
    );
    let looked_up = std::fs::read_to_string(network().join("dns.log")).unwrap();
    assert!(
        looked_up.lines().any(|l| l == name),
        "the exit never looked up {name}"
    );

    // Names of this machine are refused by arti itself; names the exit
    // cannot resolve fail with a clear message.
    let Err(local) = dialer.dial("localhost", target.port()).await else {
        panic!("localhost was dialed through Tor");
    };
    assert_eq!(local.kind(), ErrorKind::PermissionDenied, "{local}");
    let missing = format!("missing-{nonce:x}.example");
    let Err(unknown) = tokio::time::timeout(Duration::from_secs(60), dialer.dial(&missing, 80))
        .await
        .expect("no answer within 60 s")
    else {
        panic!("{missing} was reached");
    };
    eprintln!("{missing}: {unknown:?}");
    assert!(
        unknown
            .to_string()
            .starts_with(&format!("Tor could not reach {missing}:80: ")),
        "{unknown}"
    );
}
