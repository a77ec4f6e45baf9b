//! Reaching the box from outside the home network through a PageKite relay.
//!
//! The connector opens one TCP connection out to a PageKite frontend (the
//! relay), registers the box's kite name with the kite's shared secret, and
//! from then on the relay sends each visitor's connection down that tunnel,
//! where the connector opens a connection to the box's own HTTPS listener and
//! copies the bytes both ways. TLS stays end to end: the relay routes by the
//! name in the TLS ClientHello (SNI) and forwards encrypted records; only the
//! box holds the certificate's key. See docs/remote.md.
//!
//! ```no_run
//! # async fn example() -> Result<(), homepost_relay::ConfigError> {
//! use homepost_relay::{KiteSecret, Relay, RelayConfig};
//! let config = RelayConfig::new(
//!     "relay.example.net:443",
//!     "box.example.net",
//!     KiteSecret::new("the kite's secret"),
//!     "127.0.0.1:8443".parse().unwrap(),
//! );
//! let relay = Relay::spawn(config)?;
//! let mut status = relay.status();
//! status.changed().await.ok();
//! println!("{}", *status.borrow());
//! relay.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod backoff;
mod chunk;
mod error;
mod handshake;
mod secret;
mod stream;
mod tunnel;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{Instrument, info_span, warn};

pub use backoff::Backoff;
pub use chunk::ChunkError;
pub use error::{ConfigError, RelayError};
pub use handshake::{AnswerError, Refusal};
pub use secret::KiteSecret;

/// Where the relay is, which kite to register, and where the box listens.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The PageKite frontend, `host:port`.
    pub frontend: String,
    /// The kite name: the domain name visitors use, which the relay routes to
    /// this box (compared without regard to case).
    pub kite: String,
    /// The kite's shared secret.
    pub secret: KiteSecret,
    /// The box's HTTPS listener, which every relayed stream is connected to.
    pub local: SocketAddr,
    /// Delays between reconnection attempts.
    pub backoff: Backoff,
    /// How long the relay may take to answer each handshake step.
    pub handshake_timeout: Duration,
    /// After this long without a byte from the relay, ping it; after twice
    /// this long, give the tunnel up and reconnect.
    pub ping_interval: Duration,
}

impl RelayConfig {
    /// A configuration with the usual delays: backoff from 1 s to 5 min, 30 s
    /// for the handshake, a ping after 60 s of silence.
    pub fn new(
        frontend: impl Into<String>,
        kite: impl Into<String>,
        secret: KiteSecret,
        local: SocketAddr,
    ) -> Self {
        Self {
            frontend: frontend.into(),
            kite: kite.into(),
            secret,
            local,
            backoff: Backoff::default(),
            handshake_timeout: Duration::from_secs(30),
            ping_interval: Duration::from_secs(60),
        }
    }

    /// Checks the configuration and brings the kite name to lower case, as the
    /// relay compares it ([`Relay::spawn`] does this too).
    pub fn checked(mut self) -> Result<Self, ConfigError> {
        self.kite = self.kite.trim().to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if self.kite.len() > 253 || !self.kite.split('.').all(label_ok) {
            return Err(ConfigError::Kite(self.kite));
        }
        let port_ok = self.frontend.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !port_ok || self.frontend.chars().any(char::is_whitespace) {
            return Err(ConfigError::Frontend(self.frontend));
        }
        if self.secret.is_empty() || !self.secret.expose().iter().all(u8::is_ascii_graphic) {
            return Err(ConfigError::Secret);
        }
        self.ping_interval = self.ping_interval.max(Duration::from_millis(100));
        Ok(self)
    }
}

/// What the connector is doing, for the API and the app.
#[derive(Debug, Clone)]
pub enum RelayStatus {
    /// Connecting to the relay; `attempt` counts from 1 since the last time
    /// the kite was registered.
    Connecting {
        /// Which attempt this is.
        attempt: u32,
    },
    /// The relay took the kite: visitors reach the box as `https://KITE/`.
    Registered {
        /// The kite name.
        kite: String,
    },
    /// The relay refused the kite; the connector asks again in `retry_in`.
    Refused {
        /// Why, in words for the user.
        refusal: Refusal,
        /// The wait before the next attempt.
        retry_in: Duration,
    },
    /// The tunnel could not be set up or broke; the connector tries again in
    /// `retry_in`.
    Disconnected {
        /// What went wrong.
        error: Arc<RelayError>,
        /// The wait before the next attempt.
        retry_in: Duration,
    },
    /// The connector was shut down.
    Stopped,
}

impl fmt::Display for RelayStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |d: &Duration| {
            let secs = d.as_secs_f64();
            if secs < 10.0 {
                format!("{secs:.1}")
            } else {
                format!("{secs:.0}")
            }
        };
        match self {
            Self::Connecting { attempt: 1 } => f.write_str("connecting to the relay"),
            Self::Connecting { attempt } => {
                write!(f, "connecting to the relay (attempt {attempt})")
            }
            Self::Registered { kite } => write!(f, "registered as {kite}"),
            Self::Refused { refusal, retry_in } => {
                write!(
                    f,
                    "refused: {refusal}; trying again in {} s",
                    secs(retry_in)
                )
            }
            Self::Disconnected { error, retry_in } => {
                write!(
                    f,
                    "disconnected: {error}; trying again in {} s",
                    secs(retry_in)
                )
            }
            Self::Stopped => f.write_str("stopped"),
        }
    }
}

/// The PageKite backend connector.
pub struct Relay;

impl Relay {
    /// Starts the connector on the current tokio runtime: it connects, keeps
    /// the kite registered and reconnects until shut down.
    pub fn spawn(config: RelayConfig) -> Result<RelayHandle, ConfigError> {
        let config = config.checked()?;
        let (status_tx, status) = watch::channel(RelayStatus::Connecting { attempt: 1 });
        let (stop, stop_rx) = watch::channel(false);
        let span = info_span!("relay", frontend = %config.frontend, kite = %config.kite);
        let task = tokio::spawn(run(config, status_tx, stop_rx).instrument(span));
        Ok(RelayHandle { status, stop, task })
    }
}

/// A running connector. Dropping it stops the connector too.
pub struct RelayHandle {
    status: watch::Receiver<RelayStatus>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RelayHandle {
    /// The connector's status, updated as it changes.
    pub fn status(&self) -> watch::Receiver<RelayStatus> {
        self.status.clone()
    }

    /// Closes the tunnel and every relayed stream, and waits until the
    /// connector has stopped.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
    }
}

/// Resolves when the connector should stop: asked to, or its handle dropped.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

async fn run(
    config: RelayConfig,
    status: watch::Sender<RelayStatus>,
    mut stop: watch::Receiver<bool>,
) {
    let mut delays = backoff::Delays::new(config.backoff);
    let mut session = None;
    let mut attempt = 1;
    loop {
        status.send_replace(RelayStatus::Connecting { attempt });
        let mut registered = false;
        let error = tokio::select! {
            error = tunnel::run(&config, &status, &mut session, &mut registered) => error,
            () = stopped(&mut stop) => break,
        };
        if registered {
            delays.reset();
            attempt = 1;
        } else {
            attempt += 1;
        }
        let retry_in = delays.next(backoff::jitter());
        warn!(%error, retry_in_ms = retry_in.as_millis(), "relay tunnel down");
        status.send_replace(match error {
            RelayError::Refused(refusal) => RelayStatus::Refused { refusal, retry_in },
            error => RelayStatus::Disconnected {
                error: Arc::new(error),
                retry_in,
            },
        });
        tokio::select! {
            () = tokio::time::sleep(retry_in) => {}
            () = stopped(&mut stop) => break,
        }
    }
    status.send_replace(RelayStatus::Stopped);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(frontend: &str, kite: &str, secret: &str) -> RelayConfig {
        RelayConfig::new(
            frontend,
            kite,
            KiteSecret::new(secret),
            "127.0.0.1:1".parse().unwrap(),
        )
    }

    #[test]
    fn configuration_is_checked() {
        let ok = config("relay.example:443", " Box.Example.NET ", "abc123")
            .checked()
            .unwrap();
        assert_eq!(ok.kite, "box.example.net");
        assert!(matches!(
            config("relay:443", "bad kite", "s").checked(),
            Err(ConfigError::Kite(_))
        ));
        assert!(matches!(
            config("relay:443", "a:b", "s").checked(),
            Err(ConfigError::Kite(_))
        ));
        assert!(matches!(
            config("relay", "k", "s").checked(),
            Err(ConfigError::Frontend(_))
        ));
        assert!(matches!(
            config("relay:0", "k", "s").checked(),
            Err(ConfigError::Frontend(_))
        ));
        assert_eq!(
            config("relay:443", "k", "").checked().unwrap_err(),
            ConfigError::Secret
        );
        assert_eq!(
            config("relay:443", "k", "pä").checked().unwrap_err(),
            ConfigError::Secret
        );
    }

    #[test]
    fn config_debug_hides_the_secret() {
        let text = format!("{:?}", config("relay:443", "k", "hunter2"));
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn statuses_read_as_sentences() {
        let refused = RelayStatus::Refused {
            refusal: Refusal::WrongSecret,
            retry_in: Duration::from_millis(1500),
        };
        let text = refused.to_string();
        assert!(
            text.starts_with("refused: the relay rejected this box's kite secret"),
            "{text}"
        );
        assert!(text.ends_with("trying again in 1.5 s"), "{text}");
        assert_eq!(
            RelayStatus::Registered {
                kite: "k.example".into()
            }
            .to_string(),
            "registered as k.example"
        );
    }
}
