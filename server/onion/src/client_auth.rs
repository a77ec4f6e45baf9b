//! Restricted discovery ("client authorization"): the service encrypts the
//! part of its descriptor that says how to reach it to a list of x25519 keys,
//! so only clients holding one of the secret keys can connect.
//!
//! The text formats are C-tor's, which Tor Browser and arti also read: the
//! service's `authorized_clients/*.auth` files hold
//! `descriptor:x25519:<base32 public key>`, a client's `*.auth_private` file
//! holds `<56-character address without .onion>:descriptor:x25519:<base32
//! private key>` (see `CLIENT AUTHORIZATION` in tor(1)).

use std::fmt;
use std::str::FromStr;

use tor_hscrypto::pk::{HsClientDescEncKey, HsId};
use tor_llcrypto::pk::curve25519;
use zeroize::Zeroizing;

use crate::Error;

/// A client's public key, which the service is configured with.
///
/// `Display` and `FromStr` use C-tor's `authorized_clients` format,
/// `descriptor:x25519:<base32>` (base32 is read in either case).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAuthKey(HsClientDescEncKey);

/// A client's secret key, which only that client holds. Wiped on drop; its
/// `Debug` shows only the public half.
pub struct ClientAuthSecret {
    secret: Zeroizing<[u8; 32]>,
}

impl ClientAuthKey {
    /// A new key pair: give the public key to the service, the secret to the
    /// client (as an `.auth_private` line, [`ClientAuthSecret::to_auth_private`]).
    pub fn generate() -> Result<(ClientAuthKey, ClientAuthSecret), Error> {
        let mut secret = Zeroizing::new([0u8; 32]);
        getrandom::fill(secret.as_mut())
            .map_err(|e| Error::ClientAuth(format!("no randomness: {e}")))?;
        let secret = ClientAuthSecret { secret };
        Ok((secret.public(), secret))
    }

    /// The key as arti's restricted-discovery configuration takes it.
    pub(crate) fn arti_key(&self) -> HsClientDescEncKey {
        self.0.clone()
    }
}

impl fmt::Display for ClientAuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ClientAuthKey {
    type Err = Error;

    /// Parses `descriptor:x25519:<base32>` (surrounding white space allowed,
    /// as in a file's line).
    fn from_str(s: &str) -> Result<Self, Error> {
        HsClientDescEncKey::from_str(s.trim())
            .map(ClientAuthKey)
            .map_err(|e| Error::ClientAuth(format!("expected descriptor:x25519:<base32>: {e}")))
    }
}

impl ClientAuthSecret {
    /// The public key that belongs to this secret.
    pub fn public(&self) -> ClientAuthKey {
        let secret = curve25519::StaticSecret::from(*self.secret);
        ClientAuthKey(HsClientDescEncKey::from(curve25519::PublicKey::from(
            &secret,
        )))
    }

    /// The client's `.auth_private` line for the service at `onion_address`
    /// (with or without `.onion`), as Tor Browser and C-tor read it:
    /// `<56-char address>:descriptor:x25519:<base32 private key>`.
    pub fn to_auth_private(&self, onion_address: &str) -> Result<Zeroizing<String>, Error> {
        let address = parse_address(onion_address)?;
        let encoded = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(self.secret.as_ref()));
        Ok(Zeroizing::new(format!(
            "{address}:descriptor:x25519:{}",
            encoded.as_str()
        )))
    }

    /// Parses an `.auth_private` line into the service's address (with
    /// `.onion`) and the secret.
    pub fn parse_auth_private(line: &str) -> Result<(String, ClientAuthSecret), Error> {
        let bad = |what: &str| Error::ClientAuth(format!("not an .auth_private line: {what}"));
        let mut parts = line.trim().split(':');
        let (Some(address), Some(auth), Some(kind), Some(key), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad(
                "expected <address>:descriptor:x25519:<base32 private key>",
            ));
        };
        let address = parse_address(address)?;
        if auth != "descriptor" {
            return Err(bad("the second field must be \"descriptor\""));
        }
        if kind != "x25519" {
            return Err(bad("the key type must be \"x25519\""));
        }
        let upper = Zeroizing::new(key.to_ascii_uppercase());
        let decoded = Zeroizing::new(
            data_encoding::BASE32_NOPAD
                .decode(upper.as_bytes())
                .map_err(|_| bad("the key is not base32"))?,
        );
        let mut secret = Zeroizing::new([0u8; 32]);
        if decoded.len() != secret.len() {
            return Err(bad("the key is not 32 bytes"));
        }
        secret.copy_from_slice(&decoded);
        Ok((format!("{address}.onion"), ClientAuthSecret { secret }))
    }
}

impl fmt::Debug for ClientAuthSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuthSecret")
            .field("public", &self.public().to_string())
            .finish_non_exhaustive()
    }
}

/// The 56 base32 characters of a v3 onion address (lowercase, checked), given
/// with or without `.onion`.
fn parse_address(address: &str) -> Result<String, Error> {
    let bare = address.trim();
    let bare = bare
        .strip_suffix(".onion")
        .or_else(|| bare.strip_suffix(".ONION"))
        .unwrap_or(bare)
        .to_ascii_lowercase();
    format!("{bare}.onion")
        .parse::<HsId>()
        .map_err(|e| Error::ClientAuth(format!("{address:?} is not a v3 onion address: {e}")))?;
    Ok(bare)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OnionIdentity;

    #[test]
    fn keys_round_trip_through_c_tor_formats() {
        let service = OnionIdentity::from_seed(Zeroizing::new([3u8; 32])).onion_address();
        let (public, secret) = ClientAuthKey::generate().unwrap();
        assert_eq!(secret.public(), public);

        let line = public.to_string();
        assert!(line.starts_with("descriptor:x25519:"), "{line}");
        assert_eq!(line.len(), "descriptor:x25519:".len() + 52);
        assert_eq!(line.parse::<ClientAuthKey>().unwrap(), public);
        assert_eq!(
            format!(" {}\n", line.to_ascii_lowercase())
                .parse::<ClientAuthKey>()
                .unwrap(),
            public
        );

        let private = secret.to_auth_private(&service).unwrap();
        let bare = service.trim_end_matches(".onion");
        assert!(
            private.starts_with(&format!("{bare}:descriptor:x25519:")),
            "{}",
            private.as_str()
        );
        assert_eq!(private.len(), 56 + ":descriptor:x25519:".len() + 52);
        let (address, parsed) = ClientAuthSecret::parse_auth_private(&private).unwrap();
        assert_eq!(address, service);
        assert_eq!(parsed.public(), public);
        // Without .onion, and in lowercase, as some tools write it.
        assert_eq!(
            secret.to_auth_private(bare).unwrap().as_str(),
            private.as_str()
        );
        let (_, lower) =
            ClientAuthSecret::parse_auth_private(&format!("{}\n", private.to_ascii_lowercase()))
                .unwrap();
        assert_eq!(lower.public(), public);
        assert!(!format!("{secret:?}").contains(&private[57 + 18..]));
    }

    #[test]
    fn a_known_c_tor_key_pair() {
        // x25519 test vector (RFC 7748 section 6.1, Alice): C-tor's base32 of
        // the raw private key, and of the public key it implies.
        let private = hex_bytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let public = hex_bytes("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        let service = OnionIdentity::from_seed(Zeroizing::new([5u8; 32])).onion_address();
        let line = format!(
            "{}:descriptor:x25519:{}",
            service.trim_end_matches(".onion"),
            data_encoding::BASE32_NOPAD.encode(&private)
        );
        let (_, secret) = ClientAuthSecret::parse_auth_private(&line).unwrap();
        assert_eq!(
            secret.public().to_string(),
            format!(
                "descriptor:x25519:{}",
                data_encoding::BASE32_NOPAD.encode(&public)
            )
        );
    }

    #[test]
    fn malformed_lines_are_refused() {
        let service = OnionIdentity::from_seed(Zeroizing::new([3u8; 32])).onion_address();
        let bare = service.trim_end_matches(".onion");
        let key = data_encoding::BASE32_NOPAD.encode(&[9u8; 32]);
        for line in [
            String::new(),
            format!("{bare}:descriptor:x25519"),
            format!("{bare}:descriptor:ed25519:{key}"),
            format!("{bare}:intro:x25519:{key}"),
            format!("{bare}:descriptor:x25519:{key}:extra"),
            format!("{}:descriptor:x25519:{key}", &bare[1..]),
            format!("{}a:descriptor:x25519:{key}", &bare[..55]),
            format!("{bare}:descriptor:x25519:{}", &key[..40]),
            format!("{bare}:descriptor:x25519:{key}!"),
        ] {
            assert!(
                ClientAuthSecret::parse_auth_private(&line).is_err(),
                "{line}"
            );
        }
        for line in [
            "descriptor:x25519",
            "x25519:ABC",
            "descriptor:x25519:AAAA",
            "intro:x25519:ZPRRMIV6DV6SJFL7SFBSVLJ5VUNPGCDFEVZ7M23LTLVTCCXJQBKA",
        ] {
            assert!(line.parse::<ClientAuthKey>().is_err(), "{line}");
        }
        let (_, secret) = ClientAuthKey::generate().unwrap();
        assert!(secret.to_auth_private("example.org").is_err());
    }

    fn hex_bytes(s: &str) -> Vec<u8> {
        data_encoding::HEXLOWER.decode(s.as_bytes()).unwrap()
    }
}
