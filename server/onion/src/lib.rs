//! Homepost's Tor, in process (arti): the box's onion service and a dialer
//! that sends secondary requests (OpenPGP key lookups) through Tor.
//!
//! - [`Tor::start`] creates the client and bootstraps it in the background,
//!   reporting progress as a [`TorStatus`] watch, so the server never waits for
//!   Tor; [`Tor::bootstrap`] waits.
//! - [`OnionIdentity`] is the service's 32-byte ed25519 seed, kept by Homepost
//!   (arti's keystore is in-memory only: nothing secret is written under its
//!   state directory). The same seed always gives the same `.onion` address.
//! - [`Tor::launch_onion`] publishes the service and copies each rendezvous
//!   stream to a loopback listener; [`ClientAuthKey`] restricts who can find it.
//! - [`TorDialer`] is a [`homepost_net::Dialer`]: names are resolved by the
//!   exit, never locally; `.onion` names work too.

mod client_auth;
mod dial;
mod error;
mod identity;
mod service;
mod tor;

pub use client_auth::{ClientAuthKey, ClientAuthSecret};
pub use dial::TorDialer;
pub use error::Error;
pub use identity::OnionIdentity;
pub use service::{MAX_STREAMS, OnionConfig, OnionService, OnionStatus, SHUTDOWN_WAIT};
pub use tor::{Tor, TorConfig, TorStatus};
