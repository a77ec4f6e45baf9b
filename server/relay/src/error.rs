//! What can go wrong, for a caller to show or act on.

use std::io;
use std::time::Duration;

use crate::chunk::ChunkError;
use crate::handshake::{AnswerError, Refusal};

/// Why a tunnel to the frontend could not be set up or ended. Every one of
/// them makes the connector wait and try again; the status says which.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The frontend could not be reached.
    #[error("could not connect to the relay at {frontend}: {source}")]
    Connect {
        /// The frontend as configured (`host:port`).
        frontend: String,
        /// What the system said.
        source: io::Error,
    },
    /// The frontend did not answer the handshake in time.
    #[error("the relay did not answer within {:.1} s", .0.as_secs_f64())]
    Timeout(Duration),
    /// The frontend's answer to the handshake is not PageKite's.
    #[error("the relay's answer is not PageKite: {0} (is the address a PageKite relay?)")]
    Answer(#[from] AnswerError),
    /// The frontend closed the connection before answering.
    #[error("the relay closed the connection without answering (is the address a PageKite relay?)")]
    NoAnswer,
    /// The frontend asked to sign a second challenge.
    #[error("the relay asked for a second signature; it did not accept the first")]
    ChallengeAgain,
    /// The frontend refused the kite.
    #[error("{0}")]
    Refused(Refusal),
    /// The frontend sent something that is not PageKite's framing.
    #[error("the relay sent a malformed tunnel chunk: {0}")]
    Framing(#[from] ChunkError),
    /// The frontend closed the tunnel.
    #[error("the relay closed the tunnel")]
    Closed,
    /// Nothing came from the frontend, not even an answer to a ping.
    #[error("no word from the relay for {:.1} s, not even an answer to a ping", .0.as_secs_f64())]
    Silent(Duration),
    /// Reading from or writing to the frontend failed.
    #[error("the connection to the relay broke: {0}")]
    Io(#[from] io::Error),
}

/// A configuration the connector cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The kite name is not a DNS name.
    #[error("the kite name {0:?} is not a domain name (letters, digits, '-' and '.')")]
    Kite(String),
    /// The frontend is not `host:port`.
    #[error("the relay address {0:?} is not host:port")]
    Frontend(String),
    /// The secret is empty or has characters PageKite cannot sign with.
    #[error(
        "the kite secret must be letters, digits and ASCII punctuation, as the relay shows it; \
         the one given is empty or has spaces or other characters"
    )]
    Secret,
}
