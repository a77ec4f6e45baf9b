//! The connector against scripted "frontends" on loopback, for what Debian's
//! pagekite does not readily show: answers that are not PageKite, malformed
//! chunks, pings, streams it must refuse, flow-control reports, and a relay
//! that falls silent. Each must end in a clear status, never a panic, and the
//! connector must keep trying.

mod support;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use homepost_relay::{AnswerError, ChunkError, Relay, RelayError, RelayStatus};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SETTLE: Duration = Duration::from_secs(10);

/// A "frontend" on 127.0.0.1 that hands every connection to `script` and
/// counts them.
async fn scripted<F, Fut>(script: F) -> (u16, Arc<AtomicUsize>)
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(script(tcp));
        }
    });
    (port, connections)
}

/// Reads the connector's request head.
async fn read_head(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await.unwrap_or(0) == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// The answer that registers the kite.
fn registered() -> String {
    format!(
        "HTTP/1.1 200 OK\r\nX-PageKite-OK: https:{KITE}:salt\r\nX-PageKite-SessionID: 1:abc\r\n\r\n"
    )
}

fn chunk(body: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// Reads the connector's chunks until one contains `wanted`; all bodies read.
async fn read_until(tcp: &mut TcpStream, buf: &mut Vec<u8>, wanted: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        while let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(std::str::from_utf8(&buf[..eol]).expect("size"), 16)
                .expect("hex size");
            if buf.len() < eol + 2 + size {
                break;
            }
            let body = String::from_utf8_lossy(&buf[eol + 2..eol + 2 + size]).into_owned();
            buf.drain(..eol + 2 + size);
            let found = body.contains(wanted);
            bodies.push(body);
            if found {
                return bodies;
            }
        }
        let mut more = [0u8; 4096];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, tcp.read(&mut more)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&more[..n]),
            other => panic!("no chunk with {wanted:?} ({other:?}); got {bodies:?}"),
        }
    }
}

async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = tcp.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

/// Whether an error is the one a case expects.
type ErrorCheck = fn(&RelayError) -> bool;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frontend_that_is_not_pagekite_is_an_error_and_the_connector_keeps_trying() {
    let site = Site::start().await;
    let mut noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    noise.extend_from_slice(b"\r\n\r\n");
    let ok_then_garbage = format!("{}1c\r\nthis is not a pagekite chunk", registered());
    let cases: [(&str, Vec<u8>, ErrorCheck); 5] = [
        (
            "an SSH banner",
            b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec(),
            |e| matches!(e, RelayError::Answer(AnswerError::NotHttp(_))),
        ),
        ("binary noise", noise, |e| {
            matches!(e, RelayError::Answer(_))
        }),
        (
            "an HTTP error",
            b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n".to_vec(),
            |e| matches!(e, RelayError::Answer(AnswerError::Status(_))),
        ),
        (
            "a bad chunk after registering",
            ok_then_garbage.into_bytes(),
            |e| matches!(e, RelayError::Framing(ChunkError::NoHeaderEnd)),
        ),
        (
            "a huge chunk size",
            format!("{}fffffffff\r\n", registered()).into_bytes(),
            |e| matches!(e, RelayError::Framing(ChunkError::TooLarge(_))),
        ),
    ];
    for (what, answer, expected) in cases {
        let answer = Arc::new(answer);
        let (port, connections) = scripted(move |mut tcp| {
            let answer = answer.clone();
            async move {
                read_head(&mut tcp).await;
                let _ = tcp.write_all(&answer).await;
                // Keep the connection open: the connector must end it.
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        })
        .await;
        let relay = Relay::spawn(config(port, site.addr, SECRET)).expect("valid configuration");
        let mut status = relay.status();
        let down = wait_for(&mut status, SETTLE, what, |s| {
            matches!(s, RelayStatus::Disconnected { .. })
        })
        .await;
        let RelayStatus::Disconnected { error, .. } = &down else {
            unreachable!()
        };
        assert!(expected(error), "{what}: unexpected error {error:?}");
        println!("{what}: {down}");
        let deadline = Instant::now() + SETTLE;
        while connections.load(Ordering::SeqCst) < 3 {
            assert!(
                Instant::now() < deadline,
                "{what}: the connector stopped trying"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // A task that had panicked would never report Stopped.
        relay.shutdown().await;
        assert!(matches!(*status.borrow(), RelayStatus::Stopped), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_streams_and_flow_control_follow_pagekite() {
    let local = echo_server().await;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Vec<String>>();
    let done_tx = Arc::new(std::sync::Mutex::new(Some(done_tx)));
    let (port, _) = scripted(move |mut tcp| {
        let done_tx = done_tx.clone();
        async move {
            read_head(&mut tcp).await;
            tcp.write_all(registered().as_bytes()).await.expect("answer");
            let mut buf = Vec::new();
            let mut seen = Vec::new();

            tcp.write_all(&chunk(b"NOOP: 1\r\nPING: 1765000000.5\r\n\r\n!")).await.expect("ping");
            seen.extend(read_until(&mut tcp, &mut buf, "PONG: 1765000000.5").await);

            // Data for a stream the connector does not know: it says EOF.
            tcp.write_all(&chunk(b"SID: 5\r\n\r\nlate")).await.expect("late data");
            seen.extend(read_until(&mut tcp, &mut buf, "SID: 5\r\nEOF: 1WR").await);

            // A stream for another kite: refused.
            let other = b"SID: 6\r\nProto: https\r\nHost: other.example\r\nPort: 443\r\n\r\nhello";
            tcp.write_all(&chunk(other)).await.expect("other kite");
            seen.extend(read_until(&mut tcp, &mut buf, "SID: 6\r\nEOF: 1WR").await);

            // A stream for the kite: its bytes reach the box's side (an echo)
            // and come back, and 3 KiB taken are reported (SKB).
            let mut open = format!(
                "SID: 7\r\nProto: https\r\nHost: {}\r\nPort: 443\r\nRIP: ::1\r\nRPort: 40000\r\n\r\n",
                KITE.to_uppercase()
            )
            .into_bytes();
            open.extend_from_slice(&[b'x'; 3072]);
            tcp.write_all(&chunk(&open)).await.expect("open a stream");
            seen.extend(read_until(&mut tcp, &mut buf, "SID: 7\r\nSKB: 3").await);
            seen.extend(read_until(&mut tcp, &mut buf, "xxxxxxxxxxxxxxxx").await);

            // The visitor closes: the box's side closes too, and says so.
            tcp.write_all(&chunk(b"SID: 7\r\nEOF: 1R\r\n\r\nBye!")).await.expect("eof");
            seen.extend(read_until(&mut tcp, &mut buf, "SID: 7\r\nEOF: 1R").await);
            if let Some(tx) = done_tx.lock().expect("lock").take() {
                let _ = tx.send(seen);
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    })
    .await;
    let relay = Relay::spawn(config(port, local, SECRET)).expect("valid configuration");
    let seen = tokio::time::timeout(SETTLE, done_rx)
        .await
        .expect("the script finished")
        .expect("result");
    let echoed: usize = seen
        .iter()
        .filter(|b| b.starts_with("SID: 7\r\n\r\n"))
        .map(|b| b.len() - "SID: 7\r\n\r\n".len())
        .sum();
    assert_eq!(echoed, 3072, "the echo came back whole: {seen:?}");
    assert!(is_registered(&relay.status().borrow()));
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_frontend_is_pinged_then_given_up() {
    let site = Site::start().await;
    let pinged = Arc::new(AtomicUsize::new(0));
    let counter = pinged.clone();
    let (port, connections) = scripted(move |mut tcp| {
        let counter = counter.clone();
        async move {
            read_head(&mut tcp).await;
            tcp.write_all(registered().as_bytes())
                .await
                .expect("answer");
            let mut buf = Vec::new();
            read_until(&mut tcp, &mut buf, "PING: ").await;
            counter.fetch_add(1, Ordering::SeqCst);
            // Never answer.
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    })
    .await;
    let mut config = config(port, site.addr, SECRET);
    config.ping_interval = Duration::from_millis(300);
    let relay = Relay::spawn(config).expect("valid configuration");
    let mut status = relay.status();
    let down = wait_for(&mut status, SETTLE, "giving up", |s| {
        matches!(s, RelayStatus::Disconnected { error, .. } if matches!(**error, RelayError::Silent(_)))
    })
    .await;
    println!("status: {down}");
    assert!(
        pinged.load(Ordering::SeqCst) >= 1,
        "the connector pinged before giving up"
    );
    wait_for(&mut status, SETTLE, "registration again", is_registered).await;
    assert!(connections.load(Ordering::SeqCst) >= 2);
    relay.shutdown().await;
}
