//! The `Autocrypt` header (Level 1 section 2.1) and its twin, the
//! `Autocrypt-Gossip` header (section 2.7): parsing by the spec's rules and
//! writing our own.

use std::fmt;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::canonical_address;
use crate::{Certificate, Error, Result};

/// Headers above this size are treated as invalid (Level 1 section 2.1).
pub const MAX_HEADER_BYTES: usize = 10 * 1024;

/// The sender's or the user's encryption preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PreferEncrypt {
    /// No preference stated (the default).
    #[default]
    NoPreference,
    /// Encrypt by default with others who also say `mutual`.
    Mutual,
}

impl PreferEncrypt {
    /// The attribute value: `mutual` or `nopreference`.
    pub fn as_str(self) -> &'static str {
        match self {
            PreferEncrypt::NoPreference => "nopreference",
            PreferEncrypt::Mutual => "mutual",
        }
    }

    /// Reads an attribute value: `mutual` is `Mutual`, anything else is no
    /// preference (Level 1: "any other value ... should be interpreted as
    /// nopreference").
    pub fn from_attribute(value: &str) -> Self {
        if value.trim().eq_ignore_ascii_case("mutual") {
            PreferEncrypt::Mutual
        } else {
            PreferEncrypt::NoPreference
        }
    }
}

/// A valid `Autocrypt` or `Autocrypt-Gossip` header.
#[derive(Clone, PartialEq)]
pub struct AutocryptHeader {
    /// The address the key is for, canonicalised.
    pub addr: String,
    /// The stated preference (always `NoPreference` in gossip).
    pub prefer_encrypt: PreferEncrypt,
    /// The key from `keydata`.
    pub key: Certificate,
}

impl fmt::Debug for AutocryptHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutocryptHeader")
            .field("addr", &self.addr)
            .field("prefer_encrypt", &self.prefer_encrypt)
            .field("key", &self.key.fingerprint())
            .finish()
    }
}

impl AutocryptHeader {
    /// Parses a header value (what follows `Autocrypt:`, folded or not).
    ///
    /// Invalid, by the spec: a missing `addr` or `keydata`, an unknown
    /// critical attribute (a name without a leading `_`), a `type` other than
    /// `1`, keydata that is not base64 of exactly one OpenPGP certificate, or
    /// a header over 10 KiB. Unknown non-critical attributes (`_name`) are
    /// ignored.
    pub fn parse(value: &str) -> Result<Self> {
        let invalid = |why: &str| Error::InvalidAutocryptHeader(why.to_owned());
        if value.len() + "Autocrypt: ".len() > MAX_HEADER_BYTES {
            return Err(invalid("larger than 10 KiB"));
        }
        let mut addr = None;
        let mut prefer_encrypt = PreferEncrypt::NoPreference;
        let mut keydata = None;
        for attribute in value.split(';') {
            let attribute = attribute.trim();
            if attribute.is_empty() {
                continue;
            }
            let Some((name, val)) = attribute.split_once('=') else {
                return Err(invalid("an attribute without a value"));
            };
            let name = name.trim().to_ascii_lowercase();
            match name.as_str() {
                "addr" => {
                    if addr.is_some() {
                        return Err(invalid("addr given twice"));
                    }
                    addr = Some(canonical_address(val));
                }
                "prefer-encrypt" => prefer_encrypt = PreferEncrypt::from_attribute(val),
                "keydata" => {
                    if keydata.is_some() {
                        return Err(invalid("keydata given twice"));
                    }
                    keydata = Some(val);
                }
                // Level 1.0 had a critical `type` attribute whose only value was 1.
                "type" if val.trim() == "1" => {}
                "type" => return Err(invalid("unknown key type")),
                n if n.starts_with('_') => {}
                _ => return Err(invalid(&format!("unknown critical attribute {name:?}"))),
            }
        }
        let addr = addr.ok_or_else(|| invalid("no addr attribute"))?;
        if !homepost_mail::compose::is_address(&addr) {
            return Err(invalid("addr is not an address"));
        }
        let keydata = keydata.ok_or_else(|| invalid("no keydata attribute"))?;
        let b64: String = keydata
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let bytes = STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| invalid("keydata is not base64"))?;
        let key = Certificate::from_bytes(&bytes)
            .map_err(|e| invalid(&format!("keydata is not one OpenPGP key ({e})")))?;
        Ok(AutocryptHeader {
            addr,
            prefer_encrypt,
            key,
        })
    }

    /// Our own header for `addr`: the minimal form of `key` (primary key, the
    /// user id for `addr`, one encryption subkey) and our preference.
    pub fn new(
        addr: &str,
        key: &Certificate,
        prefer_encrypt: PreferEncrypt,
        now: SystemTime,
    ) -> Result<Self> {
        let addr = canonical_address(addr);
        if !homepost_mail::compose::is_address(&addr) {
            return Err(Error::InvalidAutocryptHeader(format!(
                "{addr:?} is not an address"
            )));
        }
        Ok(AutocryptHeader {
            key: key.minimal(&addr, now)?,
            addr,
            prefer_encrypt,
        })
    }

    /// A gossip header for a recipient: their minimal key, no preference
    /// (Level 1 section 2.7: gossip SHOULD NOT include prefer-encrypt).
    pub fn gossip(addr: &str, key: &Certificate, now: SystemTime) -> Result<Self> {
        Self::new(addr, key, PreferEncrypt::NoPreference, now)
    }

    /// The header value, with `keydata` last and its base64 folded into
    /// lines of 76 characters (CRLF and a space before each).
    pub fn to_value(&self) -> Result<String> {
        let b64 = STANDARD.encode(self.key.to_bytes()?);
        let mut out = format!("addr={};", self.addr);
        if self.prefer_encrypt == PreferEncrypt::Mutual {
            out.push_str(" prefer-encrypt=mutual;");
        }
        out.push_str(" keydata=");
        for chunk in b64.as_bytes().chunks(76) {
            out.push_str("\r\n ");
            // Base64 is ASCII, so every chunk is valid UTF-8.
            out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        }
        Ok(out)
    }

    /// The whole `Autocrypt: ...` field (without a final line ending).
    pub fn to_field(&self) -> Result<String> {
        Ok(format!("Autocrypt: {}", self.to_value()?))
    }

    /// The whole `Autocrypt-Gossip: ...` field (without a final line ending).
    pub fn to_gossip_field(&self) -> Result<String> {
        Ok(format!("Autocrypt-Gossip: {}", self.to_value()?))
    }
}

/// The one valid header among the values of several `Autocrypt` (or
/// `Autocrypt-Gossip` for one address) fields whose `addr` equals
/// `from_addr`. Invalid ones are skipped; when more than one is valid, all
/// are discarded (Level 1 section 2.3).
pub fn select(values: &[String], from_addr: &str) -> Option<AutocryptHeader> {
    let from_addr = canonical_address(from_addr);
    let mut valid = values
        .iter()
        .filter_map(|v| AutocryptHeader::parse(v).ok())
        .filter(|h| h.addr == from_addr);
    let first = valid.next()?;
    match valid.next() {
        Some(_) => None,
        None => Some(first),
    }
}
