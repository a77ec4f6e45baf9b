//! The account fetchers and the outbox sender.
//!
//! This module holds what they share: the per-account loop that reconnects with
//! backoff, and small helpers. [`fetch`] gets mail over IMAP and POP3, [`flags`]
//! keeps read/flagged in step with the server, [`send`] works through the outbox.

mod fetch;
mod flags;
mod pop3;
mod send;

use std::sync::Arc;
use std::time::Duration;

use homepost_store::Protocol;
use tokio::sync::Notify;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::{Shared, SyncState};

pub(crate) use send::run_outbox;

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `base * 2^(n-1)`, capped, times a random factor in [0.8, 1.2) so that many
/// clients do not come back at the same moment.
pub(crate) fn backoff(base: Duration, max: Duration, n: u32) -> Duration {
    let exp = base
        .saturating_mul(1u32 << n.saturating_sub(1).min(20))
        .min(max);
    let mut r = [0u8; 2];
    let _ = getrandom::fill(&mut r);
    let unit = f64::from(u16::from_le_bytes(r)) / 65_536.0;
    exp.mul_f64(0.8 + 0.4 * unit)
}

fn store_err(e: impl std::fmt::Display) -> Error {
    Error::Store(e.to_string())
}

async fn wait(wake: &Notify, d: Duration) {
    let _ = tokio::time::timeout(d, wake.notified()).await;
}

/// The fetcher of one account: connects, syncs, waits for news; on errors waits
/// longer and longer (a wake-up, such as "sync now", cuts the wait short).
pub(crate) async fn run_incoming(shared: Arc<Shared>, account: i64, wake: Arc<Notify>) {
    let mut failures = 0u32;
    loop {
        let acc = match shared.store.account(account).await {
            Ok(Some(a)) => a,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(account, error = %e, "cannot read the account");
                wait(&wake, shared.opts.reconnect_max).await;
                continue;
            }
        };
        let Some(incoming) = acc.config.incoming.clone() else {
            return;
        };
        let password = match shared.store.account_secrets(account).await {
            Ok(Some(s)) => Zeroizing::new(s.incoming.clone().unwrap_or_default()),
            _ => Zeroizing::new(String::new()),
        };
        shared.set_status(account, true, |s| {
            s.state = SyncState::Connecting;
            s.detail = format!("Connecting to {}", incoming.endpoint.host);
            s.next_attempt = None;
        });
        let outcome = match incoming.protocol {
            Protocol::Imap => fetch::imap_session(&shared, &acc, &incoming, &password, &wake).await,
            Protocol::Pop3 => pop3::pop3_pass(&shared, &acc, &incoming, &password).await,
        };
        drop(password);
        let delay = match outcome {
            Ok(()) => {
                failures = 0;
                Duration::from_secs(u64::from(incoming.poll_seconds.max(10)))
            }
            Err(e) => {
                failures += 1;
                let delay = backoff(
                    shared.opts.reconnect_base,
                    shared.opts.reconnect_max,
                    failures,
                );
                tracing::warn!(account, error = %e, retry_in = delay.as_secs(), "fetching failed");
                shared.set_status(account, true, |s| {
                    s.state = SyncState::Error;
                    s.detail = e.to_string();
                    s.progress = None;
                    s.error = Some(e.report());
                    s.next_attempt = Some(now() + delay.as_secs() as i64);
                });
                delay
            }
        };
        if failures == 0 {
            shared.set_status(account, true, |s| {
                s.state = SyncState::Waiting;
                s.detail = "Up to date; checking again later".into();
                s.next_attempt = Some(now() + delay.as_secs() as i64);
            });
        }
        wait(&wake, delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_secs(60);
        let max = Duration::from_secs(3600);
        let first = backoff(base, max, 1);
        assert!(first >= Duration::from_secs(48) && first < Duration::from_secs(72));
        let tenth = backoff(base, max, 10);
        assert!(tenth >= Duration::from_secs(2880) && tenth < Duration::from_secs(4320));
        assert!(backoff(base, max, 1000) < Duration::from_secs(4320));
    }
}
