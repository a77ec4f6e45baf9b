//! Key discovery beyond Autocrypt headers: keys attached to received mail,
//! keys announced in an `OpenPGP:` header, the Web Key Directory (WKD) of the
//! address's domain and keys.openpgp.org.
//!
//! Pure like the rest of the crate: this module builds the URLs to ask and
//! judges what came back; fetching is the network layer's job (so that it can
//! route the requests over Tor).

use std::fmt;
use std::time::SystemTime;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::{Digest, Sha1};

use crate::keys::{Certificate, KeyStatus};
use crate::{Error, Result};

/// Everything but RFC 3986's unreserved characters is percent-encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where a key came from, as stored beside a correspondent and shown to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// Attached to a message from them (`application/pgp-keys`).
    Attachment,
    /// The URL in their `OpenPGP:` header.
    Announced,
    /// Their domain's Web Key Directory, advanced method.
    WkdAdvanced,
    /// Their domain's Web Key Directory, direct method.
    WkdDirect,
    /// keys.openpgp.org (it publishes only addresses their owner confirmed).
    KeysOpenpgpOrg,
    /// Imported by the user from a file.
    Imported,
}

impl KeySource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Attachment => "attachment",
            KeySource::Announced => "announced",
            KeySource::WkdAdvanced => "wkd-advanced",
            KeySource::WkdDirect => "wkd-direct",
            KeySource::KeysOpenpgpOrg => "keys.openpgp.org",
            KeySource::Imported => "imported",
        }
    }

    /// Every source.
    pub const ALL: [KeySource; 6] = [
        KeySource::Attachment,
        KeySource::Announced,
        KeySource::WkdAdvanced,
        KeySource::WkdDirect,
        KeySource::KeysOpenpgpOrg,
        KeySource::Imported,
    ];

    /// Reads a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `https://` location split the way a connection needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsUrl {
    /// Host name (lower case, ASCII).
    pub host: String,
    /// Port (443 unless the URL said otherwise).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl HttpsUrl {
    /// Parses an absolute `https://host[:port]/path` URL. Anything else
    /// (plain http, user info, a missing host) is refused: keys fetched in
    /// clear could be swapped on the way.
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |why: &str| Error::Discovery(format!("{why}: {url:?}"));
        let rest = url
            .get(..8)
            .filter(|s| s.eq_ignore_ascii_case("https://"))
            .map(|_| &url[8..])
            .ok_or_else(|| bad("only https:// URLs are used for keys"))?;
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(bad("URLs with user names are refused"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.contains(']') || h.ends_with(']') => (
                h,
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| bad("bad port"))?,
            ),
            _ => (authority, 443),
        };
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'))
        {
            return Err(bad("bad host name"));
        }
        let path = path.split('#').next().unwrap_or("/");
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        Ok(HttpsUrl {
            host: host.to_ascii_lowercase(),
            port,
            path,
        })
    }
}

impl fmt::Display for HttpsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.port == 443 {
            write!(f, "https://{}{}", self.host, self.path)
        } else {
            write!(f, "https://{}:{}{}", self.host, self.port, self.path)
        }
    }
}

/// Splits an address into its local part (as written) and its domain (lower
/// case). Internationalised domain names are refused for now.
fn split_address(address: &str) -> Result<(&str, String)> {
    let address = address.trim();
    let (local, domain) = address
        .rsplit_once('@')
        .filter(|(l, d)| !l.is_empty() && !d.is_empty())
        .ok_or_else(|| Error::Discovery(format!("{address:?} is not an e-mail address")))?;
    if !domain
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return Err(Error::Discovery(format!(
            "cannot look up keys for the domain {domain:?} (only ASCII domain names are supported)"
        )));
    }
    Ok((local, domain.to_ascii_lowercase()))
}

/// The WKD hash of a local part: SHA-1 of its lower-cased form, in z-base-32
/// (32 characters).
pub fn wkd_hash(local: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";
    // ASCII letters only, as GnuPG and the draft do.
    let digest = Sha1::digest(local.to_ascii_lowercase().as_bytes());
    let mut out = String::with_capacity(32);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in &digest {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
    }
    // 160 bits is exactly 32 groups of five: nothing is left over.
    out
}

/// The two WKD locations of an address: the advanced method on the
/// `openpgpkey.` subdomain, and the direct method on the domain itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WkdUrls {
    /// `https://openpgpkey.DOMAIN/.well-known/openpgpkey/DOMAIN/hu/HASH?l=LOCAL`
    pub advanced: HttpsUrl,
    /// `https://DOMAIN/.well-known/openpgpkey/hu/HASH?l=LOCAL`
    pub direct: HttpsUrl,
}

/// The WKD URLs for `address`.
pub fn wkd_urls(address: &str) -> Result<WkdUrls> {
    let (local, domain) = split_address(address)?;
    let hash = wkd_hash(local);
    let l = utf8_percent_encode(local, COMPONENT);
    Ok(WkdUrls {
        advanced: HttpsUrl {
            host: format!("openpgpkey.{domain}"),
            port: 443,
            path: format!("/.well-known/openpgpkey/{domain}/hu/{hash}?l={l}"),
        },
        direct: HttpsUrl {
            host: domain,
            port: 443,
            path: format!("/.well-known/openpgpkey/hu/{hash}?l={l}"),
        },
    })
}

/// The keys.openpgp.org (VKS API) URL that returns the key for `address`.
pub fn keys_openpgp_org_url(address: &str) -> Result<HttpsUrl> {
    let (local, domain) = split_address(address)?;
    let email = format!("{local}@{domain}");
    Ok(HttpsUrl {
        host: "keys.openpgp.org".to_owned(),
        port: 443,
        path: format!(
            "/vks/v1/by-email/{}",
            utf8_percent_encode(&email, COMPONENT)
        ),
    })
}

/// What a fetched or attached keyring offers for one address.
#[derive(Debug, Clone, Default)]
pub struct KeysFor {
    /// The best certificate that carries the address: usable for encryption
    /// if any is, else the first.
    pub best: Option<Certificate>,
    /// Certificates in the data that do not carry the address (ignored).
    pub other_addresses: usize,
}

/// Picks the certificates in `data` (a keyring, armored or binary) that carry
/// `address` in a user id; a key server or directory could otherwise hand out
/// anyone's key for anyone.
pub fn keys_for(data: &[u8], address: &str, now: SystemTime) -> Result<KeysFor> {
    // A keyring from a stranger is looked at up to this many certificates.
    const MAX_CERTS: usize = 16;
    let certs = Certificate::all_from_bytes(data)?;
    let mut out = KeysFor::default();
    let mut matching = Vec::new();
    for c in certs.into_iter().take(MAX_CERTS) {
        if c.has_valid_address(address, now) {
            matching.push(c);
        } else {
            out.other_addresses += 1;
        }
    }
    let usable = matching
        .iter()
        .position(|c| c.status(now) == KeyStatus::Usable)
        .unwrap_or(0);
    if !matching.is_empty() {
        out.best = Some(matching.swap_remove(usable));
    }
    Ok(out)
}

/// The first key attached to a message (`application/pgp-keys` parts, or
/// attachments holding an armored public key block) that carries `address`.
/// Parts over 256 KiB are skipped and at most four key parts are read: the
/// sender may be anyone.
pub fn attached_key(message: &[u8], address: &str, now: SystemTime) -> Option<Certificate> {
    use mail_parser::MimeHeaders;
    const MAX_PART: usize = 256 << 10;
    const MAX_KEY_PARTS: usize = 4;
    let parsed = crate::mime::parse_entity(message)?;
    let mut read = 0;
    for part in &parsed.parts {
        let is_keys = part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("application")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("pgp-keys"))
        });
        let body = part.contents();
        if body.len() > MAX_PART {
            continue;
        }
        let armored_attachment = part.attachment_name().is_some()
            && memchr::memmem::find(body, b"-----BEGIN PGP PUBLIC KEY BLOCK-----").is_some();
        if !is_keys && !armored_attachment {
            continue;
        }
        if let Ok(KeysFor {
            best: Some(cert), ..
        }) = keys_for(body, address, now)
        {
            return Some(cert);
        }
        read += 1;
        if read >= MAX_KEY_PARTS {
            break;
        }
    }
    None
}

/// An `OpenPGP:` header (draft-josefsson-openpgp-mailnews-header): the
/// sender's key fingerprint and where to fetch the key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenPgpHeader {
    /// `id=`: a fingerprint (or long key id), upper-case hex without spaces.
    pub id: Option<String>,
    /// `url=`: where the key is published, when it is https.
    pub url: Option<HttpsUrl>,
}

impl OpenPgpHeader {
    /// Parses the header's value; unknown attributes are ignored, an
    /// insecure URL is dropped.
    pub fn parse(value: &str) -> Self {
        let mut out = OpenPgpHeader::default();
        for attr in value.split(';') {
            let Some((name, v)) = attr.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"');
            match name.trim().to_ascii_lowercase().as_str() {
                "id" => {
                    let hex: String = v.chars().filter(|c| !c.is_whitespace()).collect();
                    if hex.len() >= 16 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                        out.id = Some(hex.to_ascii_uppercase());
                    }
                }
                "url" => out.url = HttpsUrl::parse(v).ok(),
                _ => {}
            }
        }
        out
    }

    /// The `OpenPGP:` header of a message, if it has one.
    pub fn from_message(message: &[u8]) -> Option<Self> {
        let message = crate::mime::to_crlf(message);
        let (head, _) = crate::mime::split_head_body(&message);
        let fields = crate::mime::header_fields(head);
        crate::mime::find(&fields, "OpenPGP").map(|f| Self::parse(&f.value()))
    }

    /// Whether the header names a whole fingerprint (v4: 40 hex digits, v6:
    /// 64), not just a key id that others could match.
    pub fn names_a_fingerprint(&self) -> bool {
        self.id
            .as_ref()
            .is_some_and(|id| matches!(id.len(), 40 | 64))
    }

    /// Whether `cert` is the key the header names by its whole fingerprint.
    pub fn matches(&self, cert: &Certificate) -> bool {
        self.names_a_fingerprint()
            && self.id.as_deref() == Some(cert.fingerprint().to_hex().as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wkd_hash_and_urls_match_the_draft_example() {
        // draft-koch-openpgp-webkey-service, section 3.1.
        assert_eq!(wkd_hash("Joe.Doe"), "iy9q119eutrkn8s1mk4r39qejnbu3n5q");
        let urls = wkd_urls("Joe.Doe@Example.ORG").unwrap();
        assert_eq!(
            urls.advanced.to_string(),
            "https://openpgpkey.example.org/.well-known/openpgpkey/example.org/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe"
        );
        assert_eq!(
            urls.direct.to_string(),
            "https://example.org/.well-known/openpgpkey/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe"
        );
    }

    #[test]
    fn local_parts_are_percent_encoded_and_bad_addresses_refused() {
        let urls = wkd_urls("a+b c@example.org").unwrap();
        assert!(
            urls.direct.path.ends_with("?l=a%2Bb%20c"),
            "{}",
            urls.direct
        );
        assert_eq!(
            keys_openpgp_org_url("Alice+x@Example.org")
                .unwrap()
                .to_string(),
            "https://keys.openpgp.org/vks/v1/by-email/Alice%2Bx%40example.org"
        );
        for bad in [
            "",
            "no-at",
            "@example.org",
            "a@",
            "a@exämple.org",
            "a@ex/ample",
        ] {
            assert!(wkd_urls(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn https_urls_only() {
        let u = HttpsUrl::parse("HTTPS://Keys.Example.org:8443/k.asc#frag").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("keys.example.org", 8443, "/k.asc")
        );
        assert_eq!(HttpsUrl::parse("https://example.org").unwrap().path, "/");
        for bad in [
            "http://example.org/k",
            "https://user@example.org/k",
            "https:///k",
            "https://exa mple.org/",
            "https://example.org:0/",
            "ftp://x/",
        ] {
            assert!(HttpsUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn openpgp_header_attributes() {
        let h = OpenPgpHeader::parse(
            "id=0123 4567 89AB CDEF 0123  4567 89ab cdef 0123 4567; url=\"https://example.org/key.asc\"; preference=signencrypt",
        );
        assert_eq!(
            h.id.as_deref(),
            Some("0123456789ABCDEF0123456789ABCDEF01234567")
        );
        assert_eq!(h.url.unwrap().to_string(), "https://example.org/key.asc");
        let insecure = OpenPgpHeader::parse("url=http://example.org/key.asc; id=zz");
        assert_eq!(insecure, OpenPgpHeader::default());
    }

    #[test]
    fn key_sources_round_trip() {
        for s in KeySource::ALL {
            assert_eq!(KeySource::from_name(s.as_str()), Some(s));
        }
        assert_eq!(KeySource::from_name("autocrypt"), None);
    }
}
