//! Autocrypt Level 1.

/// Canonicalises an address for comparison (Autocrypt Level 1, appendix
/// "E-mail Address Canonicalization"): trimmed and lower-cased.
pub fn canonical_address(addr: &str) -> String {
    addr.trim().to_lowercase()
}
