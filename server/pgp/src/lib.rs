//! OpenPGP for Homepost, with Sequoia: keys, PGP/MIME (RFC 3156), protected
//! headers (RFC 9788), Autocrypt Level 1 and the Autocrypt Setup Message.
//!
//! The crate is a pure core over bytes: it takes raw RFC 5322 messages, keys
//! and a clock (`now`), and returns raw messages, keys and outcomes. It
//! stores nothing and does no I/O; the store, web and transport crates wire it
//! in. Every decision that depends on time takes `now` as a parameter so that
//! tests can use a fixed clock.

pub mod autocrypt;
pub mod discovery;
mod error;
pub mod keys;
mod mime;
pub mod pgpmime;
pub mod protected;
pub mod setup;
pub mod sign;
pub mod verify;

pub use error::{Error, Result};
pub use keys::{Certificate, Fingerprint, KeyStatus, SecretKey};
pub use pgpmime::{Opened, Protection, encrypt_message, open_message, sign_message};
pub use protected::ProtectedHeaders;
pub use sequoia_openpgp as openpgp;
pub use sequoia_openpgp::crypto::Password;
pub use verify::{SignatureOutcome, SignatureState};
