//! The connector against Debian's pagekite as the frontend relay, on loopback:
//! pages and a 10 MiB download through the relay with TLS verified against the
//! box's own certificate, streams at once, a wrong secret, a kite already
//! taken, and a frontend that dies and comes back.

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use homepost_relay::{Refusal, Relay, RelayStatus};
use support::*;

const SETTLE: Duration = Duration::from_secs(10);

/// The first request after registering: pagekite's auth thread answers the
/// connector a moment before its main loop routes the kite, so a visitor that
/// arrives in that moment is turned away; a real visitor would retry too.
async fn first_fetch(frontend: &Frontend, site: &Site, path: &str) -> Vec<u8> {
    let port = frontend.port;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match fetch(frontend_addr(port), &site.cert, path).await {
            Ok(body) => return body,
            Err(error) if Instant::now() < deadline => {
                eprintln!("first fetch through the relay failed, retrying: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!(
                "fetch {path} through the relay: {error}\n{}",
                frontend.tail()
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_and_ten_mib_arrive_through_the_relay_with_tls_end_to_end() {
    let site = Site::start().await;
    let frontend = Frontend::start();
    let relay =
        Relay::spawn(config(frontend.port, site.addr, SECRET)).expect("valid configuration");
    let mut status = relay.status();
    let registered = wait_for(&mut status, SETTLE, "registration", is_registered).await;
    assert_eq!(registered.to_string(), format!("registered as {KITE}"));

    let page = first_fetch(&frontend, &site, "/").await;
    assert_eq!(page, b"hello from the box");

    let started = Instant::now();
    let direct = fetch(site.addr, &site.cert, "/big")
        .await
        .expect("direct download");
    let direct_time = started.elapsed();
    let started = Instant::now();
    let relayed = fetch(frontend_addr(frontend.port), &site.cert, "/big")
        .await
        .unwrap_or_else(|e| panic!("10 MiB through the relay: {e}\n{}", frontend.tail()));
    let relayed_time = started.elapsed();
    assert_eq!(direct.len(), BIG);
    assert_eq!(relayed.len(), BIG);
    if let Some(i) = (0..BIG).find(|&i| relayed[i] != big_byte(i)) {
        panic!("the relayed download differs at byte {i}");
    }
    let rate = |t: Duration| BIG as f64 / 1024.0 / 1024.0 / t.as_secs_f64();
    println!(
        "10 MiB download: direct {:.0} ms ({:.0} MiB/s), through pagekite {:.0} ms ({:.1} MiB/s), {:.1}x slower",
        direct_time.as_secs_f64() * 1000.0,
        rate(direct_time),
        relayed_time.as_secs_f64() * 1000.0,
        rate(relayed_time),
        relayed_time.as_secs_f64() / direct_time.as_secs_f64(),
    );

    relay.shutdown().await;
    assert!(matches!(*status.borrow(), RelayStatus::Stopped));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_arrives_through_the_relay_intact() {
    let site = Site::start().await;
    let frontend = Frontend::start();
    let relay =
        Relay::spawn(config(frontend.port, site.addr, SECRET)).expect("valid configuration");
    wait_for(&mut relay.status(), SETTLE, "registration", is_registered).await;
    first_fetch(&frontend, &site, "/").await;

    // pagekite's frontend passes uploads on in 1 KiB chunks and stops reading
    // the visitor while the box has not reported taking them (SKB).
    let size = 4 * 1024 * 1024;
    let body: Vec<u8> = (0..size).map(big_byte).collect();
    let started = Instant::now();
    let direct = upload(site.addr, &site.cert, &body)
        .await
        .expect("direct upload");
    let direct_time = started.elapsed();
    let started = Instant::now();
    let answer = upload(frontend_addr(frontend.port), &site.cert, &body)
        .await
        .unwrap_or_else(|e| panic!("upload through the relay: {e}\n{}", frontend.tail()));
    let relayed_time = started.elapsed();
    println!(
        "4 MiB upload: direct {} ms, through pagekite {} ms",
        direct_time.as_millis(),
        relayed_time.as_millis()
    );
    let expected = format!("received {size} bytes, intact: true");
    assert_eq!(String::from_utf8_lossy(&direct), expected);
    assert_eq!(String::from_utf8_lossy(&answer), expected);
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_requests_at_once_go_on_two_streams() {
    let site = Site::start().await;
    let frontend = Frontend::start();
    let relay =
        Relay::spawn(config(frontend.port, site.addr, SECRET)).expect("valid configuration");
    let mut status = relay.status();
    wait_for(&mut status, SETTLE, "registration", is_registered).await;
    first_fetch(&frontend, &site, "/").await;

    // Each /pair answers only while the other is inside the site too.
    let addr = frontend_addr(frontend.port);
    let (a, b) = tokio::join!(
        fetch(addr, &site.cert, "/pair"),
        fetch(addr, &site.cert, "/pair")
    );
    assert_eq!(a.expect("first request"), b"paired");
    assert_eq!(b.expect("second request"), b"paired");
    assert_eq!(site.accepted.load(Ordering::SeqCst), 3);
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused_with_words_that_say_what_to_do() {
    let site = Site::start().await;
    let frontend = Frontend::start();
    let relay = Relay::spawn(config(frontend.port, site.addr, "not-the-secret"))
        .expect("valid configuration");
    let mut status = relay.status();
    let refused = wait_for(&mut status, SETTLE, "a refusal", |s| {
        matches!(s, RelayStatus::Refused { .. })
    })
    .await;
    let RelayStatus::Refused { refusal, .. } = &refused else {
        unreachable!()
    };
    assert_eq!(*refusal, Refusal::WrongSecret);
    let text = refused.to_string();
    println!("status: {text}");
    assert!(text.contains("rejected this box's kite secret"), "{text}");
    assert!(text.contains("set it again"), "{text}");
    assert!(text.contains("trying again in"), "{text}");

    // It keeps asking (with backoff), and nothing reaches the box meanwhile.
    wait_for(
        &mut status,
        SETTLE,
        "another attempt",
        |s| matches!(s, RelayStatus::Connecting { attempt } if *attempt >= 3),
    )
    .await;
    assert!(
        fetch(frontend_addr(frontend.port), &site.cert, "/")
            .await
            .is_err()
    );
    assert_eq!(site.accepted.load(Ordering::SeqCst), 0);
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connector_comes_back_after_the_frontend_restarts() {
    let site = Site::start().await;
    let mut frontend = Frontend::start();
    let relay =
        Relay::spawn(config(frontend.port, site.addr, SECRET)).expect("valid configuration");
    let mut status = relay.status();
    wait_for(&mut status, SETTLE, "registration", is_registered).await;
    assert_eq!(
        first_fetch(&frontend, &site, "/").await,
        b"hello from the box"
    );

    frontend.kill();
    let down = wait_for(&mut status, SETTLE, "the tunnel to drop", |s| {
        matches!(s, RelayStatus::Disconnected { .. })
    })
    .await;
    println!("status: {down}");
    // Let a few attempts fail against the closed port before it returns.
    tokio::time::sleep(Duration::from_millis(500)).await;

    frontend.restart();
    let started = Instant::now();
    wait_for(
        &mut status,
        SETTLE,
        "registration after the restart",
        is_registered,
    )
    .await;
    println!(
        "registered again {} ms after the restart",
        started.elapsed().as_millis()
    );
    assert_eq!(
        first_fetch(&frontend, &site, "/").await,
        b"hello from the box"
    );
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_box_with_the_same_kite_is_told_it_is_taken() {
    let site = Site::start().await;
    let frontend = Frontend::start();
    let first =
        Relay::spawn(config(frontend.port, site.addr, SECRET)).expect("valid configuration");
    wait_for(&mut first.status(), SETTLE, "registration", is_registered).await;

    let second =
        Relay::spawn(config(frontend.port, site.addr, SECRET)).expect("valid configuration");
    let refused = wait_for(&mut second.status(), SETTLE, "a refusal", |s| {
        matches!(s, RelayStatus::Refused { .. })
    })
    .await;
    println!("status: {refused}");
    assert!(matches!(
        &refused,
        RelayStatus::Refused {
            refusal: Refusal::Duplicate,
            ..
        }
    ));
    assert!(
        is_registered(&first.status().borrow()),
        "the first box keeps the kite"
    );
    second.shutdown().await;
    first.shutdown().await;
}
