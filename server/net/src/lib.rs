//! Homepost's outgoing requests other than mail: OpenPGP key lookups (the
//! Web Key Directory, keys.openpgp.org and URLs announced in mail).
//!
//! Every connection is opened by a [`Dialer`]. [`Direct`] uses TCP and the
//! system resolver; a Tor dialer (arti) can take its place without anything
//! else changing, since dialers get host names, never resolved addresses.
//! Requests are HTTPS only, with a time limit, a size limit and no cookies,
//! user agent or referrer.

pub mod dial;
pub mod http;
pub mod keys;
#[cfg(feature = "test-support")]
pub mod testing;

pub use dial::{Dialer, Direct};
pub use http::{Client, Error, Limits, Response};
pub use keys::{Attempt, Lookup, LookupOptions, Outcome, lookup};
