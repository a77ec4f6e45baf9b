//! Autocrypt Level 1 (<https://autocrypt.org/level1.html>): the `Autocrypt`
//! and `Autocrypt-Gossip` headers ([`header`]), the state kept for each peer
//! and the spec's update rules ([`peer`]), and the encryption recommendation
//! shown while composing ([`recommend`]).
//!
//! Everything here is a pure function over data and a clock: the store keeps
//! the [`PeerState`] rows, the caller decides what is spam.

pub mod header;
pub mod peer;
pub mod recommend;
pub mod tofu;

pub use header::{AutocryptHeader, PreferEncrypt};
pub use peer::{GossipUpdate, PeerState, SenderUpdate};
pub use recommend::{GroupRecommendation, RecipientRecommendation, Recommendation};

/// Canonicalises an address for comparison and as the key of the peer table
/// (Level 1 appendix, "E-mail Address Canonicalization"): trimmed, angle
/// brackets removed, lower-cased. (IDNA conversion of the domain is left out:
/// the addresses compared here come from the same headers.)
pub fn canonical_address(addr: &str) -> String {
    let addr = addr.trim();
    let addr = addr
        .strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .unwrap_or(addr);
    addr.trim().to_lowercase()
}
