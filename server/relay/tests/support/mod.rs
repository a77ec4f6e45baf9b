//! Real parts for the relay's tests: Debian's `pagekite` as the frontend on
//! loopback (frontend.rs), a TLS site standing in for the box's HTTPS listener
//! with a self-signed certificate for the kite name, and a TLS client that
//! trusts only that certificate (site.rs).

// Each test binary uses part of this.
#![allow(dead_code, unused_imports)]

mod frontend;
mod site;

use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::time::Duration;

use homepost_relay::{Backoff, KiteSecret, RelayConfig, RelayStatus};
use tokio::sync::watch;

pub use frontend::Frontend;
pub use site::{Site, big_byte, fetch, upload};

pub const KITE: &str = "box.homepost.test";
pub const SECRET: &str = "kite-secret-4d7f";
/// The size of the `/big` download.
pub const BIG: usize = 10 * 1024 * 1024;

/// `N` different ports of 127.0.0.1 that were free a moment ago: all bound at
/// once while picked, so no two are the same.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let held: [StdListener; N] = std::array::from_fn(|_| {
        StdListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0")
    });
    held.map(|l| l.local_addr().expect("bound address").port())
}

/// A connector configuration for the tests: short delays so reconnection is
/// seen in seconds.
pub fn config(frontend_port: u16, local: SocketAddr, secret: &str) -> RelayConfig {
    let mut config = RelayConfig::new(
        format!("127.0.0.1:{frontend_port}"),
        KITE,
        KiteSecret::new(secret),
        local,
    );
    config.backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(800),
    };
    config.handshake_timeout = Duration::from_secs(5);
    config
}

/// The frontend's address on 127.0.0.1.
pub fn frontend_addr(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Waits until the status satisfies `wanted`, or fails after `within` naming
/// the statuses seen meanwhile.
pub async fn wait_for(
    status: &mut watch::Receiver<RelayStatus>,
    within: Duration,
    what: &str,
    wanted: impl Fn(&RelayStatus) -> bool,
) -> RelayStatus {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let current = status.borrow_and_update().clone();
        if wanted(&current) {
            return current;
        }
        let text = current.to_string();
        if seen.last() != Some(&text) {
            seen.push(text);
        }
        match tokio::time::timeout_at(deadline, status.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => panic!("the connector's status channel closed while waiting for {what}"),
            Err(_) => {
                let last = &seen[seen.len().saturating_sub(8)..];
                panic!(
                    "no {what} within {within:?}; statuses seen:\n  {}",
                    last.join("\n  ")
                )
            }
        }
    }
}

pub fn is_registered(status: &RelayStatus) -> bool {
    matches!(status, RelayStatus::Registered { .. })
}
