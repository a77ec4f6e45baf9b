//! Keys: generating an Autocrypt key for an identity, importing and exporting
//! public certificates and secret keys, fingerprints.
//!
//! A [`SecretKey`] holds secret key material. Sequoia keeps unencrypted secret
//! key material encrypted in memory and zeroes it when dropped (its
//! `Protected` type); exports of secret keys come back in [`Zeroizing`]
//! buffers so the caller's copy is wiped too. Neither type's `Debug` output
//! shows anything but fingerprints and user ids.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::crypto::Password;
use openpgp::packet::{Packet, UserID};
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::SerializeInto;
use openpgp::types::{Features, KeyFlags, RevocationStatus};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// The policy every decision in this crate is made under: Sequoia's standard
/// policy (no SHA-1 signatures, no weak ciphers) as it stands at `now`.
/// Its cut-off dates are compared with `now`, not the machine's clock, so
/// that a fixed clock fixes every decision.
pub(crate) fn policy(now: SystemTime) -> StandardPolicy<'static> {
    StandardPolicy::at(now)
}

/// An OpenPGP v4 fingerprint (40 hex digits) or v6 fingerprint (64 hex digits).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(openpgp::Fingerprint);

impl Fingerprint {
    /// Upper-case hex digits without spaces, as stored and compared.
    pub fn to_hex(&self) -> String {
        self.0.to_hex()
    }

    /// Hex digits in groups of four, for people to compare by eye.
    pub fn to_spaced_hex(&self) -> String {
        self.0.to_spaced_hex()
    }

    pub(crate) fn from_openpgp(fpr: openpgp::Fingerprint) -> Self {
        Fingerprint(fpr)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.0.to_hex())
    }
}

impl FromStr for Fingerprint {
    type Err = Error;

    /// Parses hex digits (spaces allowed, any case) of a v4 or v6 fingerprint.
    fn from_str(s: &str) -> Result<Self> {
        let hex: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if hex.len() != 40 && hex.len() != 64 {
            return Err(Error::NotAKey(format!(
                "a fingerprint has 40 or 64 hex digits, this has {}",
                hex.len()
            )));
        }
        match openpgp::Fingerprint::from_hex(&hex) {
            Ok(fpr @ (openpgp::Fingerprint::V4(_) | openpgp::Fingerprint::V6(_))) => {
                Ok(Fingerprint(fpr))
            }
            Ok(_) | Err(_) => Err(Error::NotAKey(format!("{s:?} is not a fingerprint"))),
        }
    }
}

/// Whether a certificate can be used now, in words a person understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Valid, not expired, not revoked, and has a key that can encrypt.
    Usable,
    /// The certificate or all its encryption keys have expired.
    Expired,
    /// The certificate has been revoked.
    Revoked,
    /// The certificate is valid but has no encryption key, or none the policy accepts.
    NoEncryptionKey,
    /// The certificate is not valid under the policy at all (for example only
    /// SHA-1 self-signatures, or created in the future).
    Invalid,
}

/// The key flags of a key that encrypts (mail in transit and at rest): what
/// we make and what we encrypt to.
pub(crate) fn encryption_flags() -> KeyFlags {
    KeyFlags::empty()
        .set_transport_encryption()
        .set_storage_encryption()
}

/// A public OpenPGP certificate ("public key"): never holds secret key material.
#[derive(Clone, PartialEq)]
pub struct Certificate(Cert);

impl Certificate {
    /// Reads one certificate, ASCII-armored or binary. Secret key material,
    /// if present, is dropped.
    pub fn from_bytes(data: &[u8]) -> Result<Self> {
        let mut certs = Self::all_from_bytes(data)?;
        match certs.len() {
            1 => Ok(certs.remove(0)),
            n => Err(Error::NotOneKey(n)),
        }
    }

    /// Reads a keyring: every certificate in the data, armored or binary.
    pub fn all_from_bytes(data: &[u8]) -> Result<Vec<Self>> {
        Ok(parse_certs(data)?
            .into_iter()
            .map(|c| Certificate(c.strip_secret_key_material()))
            .collect())
    }

    pub(crate) fn from_cert(cert: Cert) -> Self {
        Certificate(cert.strip_secret_key_material())
    }

    pub(crate) fn cert(&self) -> &Cert {
        &self.0
    }

    /// The primary key's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(self.0.fingerprint())
    }

    /// Whether `fpr` is the primary key or one of the subkeys of this certificate.
    pub fn has_key(&self, fpr: &Fingerprint) -> bool {
        self.0.keys().any(|k| k.key().fingerprint() == fpr.0)
    }

    /// The e-mail addresses in the user ids, lower-cased, in certificate order.
    pub fn addresses(&self) -> Vec<String> {
        self.0
            .userids()
            .filter_map(|u| u.userid().email_normalized().ok().flatten())
            .collect()
    }

    /// Whether a user id carries this address (compared case-insensitively).
    pub fn has_address(&self, addr: &str) -> bool {
        let addr = crate::autocrypt::canonical_address(addr);
        self.addresses().contains(&addr)
    }

    /// Whether a user id that is valid at `now` (self-signed under the policy)
    /// carries this address. Anyone can add an unsigned user id to a key.
    pub fn has_valid_address(&self, addr: &str, now: SystemTime) -> bool {
        let addr = crate::autocrypt::canonical_address(addr);
        let p = policy(now);
        self.0.with_policy(&p, now).is_ok_and(|vc| {
            vc.userids()
                .any(|u| u.userid().email_normalized().ok().flatten().as_deref() == Some(&addr))
        })
    }

    /// Whether the certificate can be encrypted to at `now`, and if not, why.
    pub fn status(&self, now: SystemTime) -> KeyStatus {
        let p = policy(now);
        let Ok(vc) = self.0.with_policy(&p, now) else {
            return if let RevocationStatus::Revoked(_) = self.0.revocation_status(&p, now) {
                KeyStatus::Revoked
            } else {
                KeyStatus::Invalid
            };
        };
        if let RevocationStatus::Revoked(_) = vc.revocation_status() {
            return KeyStatus::Revoked;
        }
        if vc.alive().is_err() {
            return KeyStatus::Expired;
        }
        let enc = || {
            vc.keys()
                .supported()
                .revoked(false)
                .key_flags(encryption_flags())
        };
        if enc().alive().next().is_some() {
            KeyStatus::Usable
        } else if enc().next().is_some() {
            KeyStatus::Expired
        } else {
            KeyStatus::NoEncryptionKey
        }
    }

    /// Adds the signatures in `data` (armored or binary), such as a
    /// revocation certificate or new self-signatures, to this certificate.
    /// Signatures that do not belong to it are kept aside by Sequoia and have
    /// no effect.
    pub fn add_signatures(&self, data: &[u8]) -> Result<Certificate> {
        let pile =
            openpgp::PacketPile::from_bytes(data).map_err(|e| Error::NotAKey(format!("{e:#}")))?;
        let sigs: Vec<Packet> = pile
            .into_children()
            .filter(|p| matches!(p, Packet::Signature(_)))
            .collect();
        if sigs.is_empty() {
            return Err(Error::NotAKey("no signature in the data".into()));
        }
        self.0
            .clone()
            .insert_packets(sigs)
            .map(|(cert, _)| Certificate::from_cert(cert))
            .map_err(Error::openpgp)
    }

    /// Merges another copy of the same certificate into this one (new
    /// self-signatures, subkeys, revocations). Copies of different keys are
    /// an error.
    pub fn merge(&self, other: &Certificate) -> Result<Certificate> {
        self.0
            .clone()
            .merge_public(other.0.clone())
            .map(Certificate::from_cert)
            .map_err(Error::openpgp)
    }

    /// Binary serialization (a transferable public key).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.0.to_vec().map_err(Error::openpgp)
    }

    /// ASCII-armored serialization, for export.
    pub fn to_armored(&self) -> Result<String> {
        let bytes = self.0.armored().to_vec().map_err(Error::openpgp)?;
        String::from_utf8(bytes).map_err(|_| Error::OpenPgp("armor is not UTF-8".into()))
    }

    /// The certificate cut down to what Autocrypt sends (Level 1, "OpenPGP
    /// Based key data"): the primary key, the user id for `addr` (or the
    /// primary user id when none matches) with its self-signature, and one
    /// valid encryption subkey with its binding signature.
    ///
    /// A key whose primary key cannot sign (common for imported RSA and DSA
    /// keys) also keeps one valid signing subkey, so that peers can still
    /// verify its signatures; the spec's five packets become seven.
    pub fn minimal(&self, addr: &str, now: SystemTime) -> Result<Certificate> {
        let p = policy(now);
        let vc = self.0.with_policy(&p, now).map_err(Error::openpgp)?;
        let addr = crate::autocrypt::canonical_address(addr);
        let uid = vc
            .userids()
            .find(|u| u.userid().email_normalized().ok().flatten().as_deref() == Some(&addr))
            .map_or_else(|| vc.primary_userid(), Ok)
            .map_err(|_| Error::NoSuchUserId(self.fingerprint(), addr.clone()))?;
        let sub = vc
            .keys()
            .subkeys()
            .supported()
            .alive()
            .revoked(false)
            .key_flags(encryption_flags())
            .next()
            .ok_or_else(|| Error::NoEncryptionKey(self.fingerprint()))?;
        let mut packets: Vec<Packet> = vec![
            vc.primary_key().key().clone().into(),
            uid.userid().clone().into(),
            uid.binding_signature().clone().into(),
            sub.key().clone().into(),
            sub.binding_signature().clone().into(),
        ];
        if !vc.primary_key().for_signing()
            && let Some(signing) = vc
                .keys()
                .subkeys()
                .supported()
                .alive()
                .revoked(false)
                .for_signing()
                .next()
        {
            packets.push(signing.key().clone().into());
            packets.push(signing.binding_signature().clone().into());
        }
        Cert::from_packets(packets.into_iter())
            .map(Certificate)
            .map_err(Error::openpgp)
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("fingerprint", &self.fingerprint())
            .field("addresses", &self.addresses())
            .finish()
    }
}

/// A secret key (a "transferable secret key"): the certificate with its secret
/// key material, unlocked and ready to sign and decrypt.
#[derive(Clone)]
pub struct SecretKey(Cert);

impl SecretKey {
    /// Generates an Autocrypt Level 1 key for `name <addr>`: an Ed25519
    /// primary key for certification and signing and a Cv25519 subkey for
    /// encryption (transport and storage), as an OpenPGP v4 key that
    /// advertises only the SEIPDv1 feature so that GnuPG 2.2 and every
    /// Autocrypt client can read what is encrypted to it. It does not expire.
    pub fn generate(name: Option<&str>, addr: &str, now: SystemTime) -> Result<Self> {
        let userid = match name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => UserID::from_address(Some(name), None, addr),
            None => UserID::from_address(None, None, addr),
        }
        .map_err(|e| Error::InvalidUserId(format!("{addr:?}: {e}")))?;
        let (cert, _revocation) = CertBuilder::new()
            .set_profile(openpgp::Profile::RFC4880)
            .and_then(|b| b.set_features(Features::empty().set_seipdv1()))
            .map_err(Error::openpgp)?
            .set_cipher_suite(CipherSuite::Cv25519)
            .set_creation_time(now)
            .set_primary_key_flags(KeyFlags::empty().set_certification().set_signing())
            .add_userid(userid)
            .add_subkey(encryption_flags(), None, None)
            .generate()
            .map_err(Error::openpgp)?;
        Ok(SecretKey(cert))
    }

    /// Reads one secret key, ASCII-armored or binary, whose secret key
    /// material is not protected by a passphrase.
    pub fn from_bytes(data: &[u8]) -> Result<Self> {
        Self::read(data, None)
    }

    /// Reads one secret key whose secret key material may be protected by
    /// `passphrase`, and unlocks it.
    pub fn from_bytes_with_passphrase(data: &[u8], passphrase: &Password) -> Result<Self> {
        Self::read(data, Some(passphrase))
    }

    fn read(data: &[u8], passphrase: Option<&Password>) -> Result<Self> {
        let mut certs = parse_certs(data)?;
        if certs.len() != 1 {
            return Err(Error::NotOneKey(certs.len()));
        }
        let cert = certs.remove(0);
        if !cert.is_tsk() {
            return Err(Error::NoSecretKey);
        }
        let cert = unlock(cert, passphrase)?;
        Ok(SecretKey(cert))
    }

    pub(crate) fn cert(&self) -> &Cert {
        &self.0
    }

    /// The primary key's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(self.0.fingerprint())
    }

    /// The public half, to give to others.
    pub fn certificate(&self) -> Certificate {
        Certificate::from_cert(self.0.clone())
    }

    /// The e-mail addresses in the user ids, lower-cased.
    pub fn addresses(&self) -> Vec<String> {
        self.certificate().addresses()
    }

    /// Binary serialization with the secret key material, in a buffer that is
    /// zeroed when dropped.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        self.0
            .as_tsk()
            .to_vec()
            .map(Zeroizing::new)
            .map_err(Error::openpgp)
    }

    /// ASCII-armored serialization with the secret key material
    /// (`-----BEGIN PGP PRIVATE KEY BLOCK-----`), zeroed when dropped.
    pub fn to_armored(&self) -> Result<Zeroizing<String>> {
        self.to_armored_with_headers(&[])
    }

    /// Like [`SecretKey::to_armored`], with extra armor headers such as
    /// `Autocrypt-Prefer-Encrypt`.
    pub fn to_armored_with_headers(&self, headers: &[(&str, &str)]) -> Result<Zeroizing<String>> {
        use openpgp::armor::{Kind, Writer};
        use openpgp::serialize::Serialize;
        let mut out = Zeroizing::new(Vec::new());
        {
            let mut w = Writer::with_headers(&mut *out, Kind::SecretKey, headers.iter().copied())
                .map_err(Error::openpgp)?;
            self.0.as_tsk().serialize(&mut w).map_err(Error::openpgp)?;
            w.finalize().map_err(Error::openpgp)?;
        }
        let text = std::str::from_utf8(&out)
            .map_err(|_| Error::OpenPgp("armor is not UTF-8".into()))?
            .to_owned();
        Ok(Zeroizing::new(text))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("fingerprint", &self.fingerprint())
            .field("addresses", &self.addresses())
            .finish_non_exhaustive()
    }
}

/// Decrypts every secret key packet that is protected, with `passphrase`.
fn unlock(cert: Cert, passphrase: Option<&Password>) -> Result<Cert> {
    let mut unlocked = Vec::new();
    for ka in cert.keys().secret() {
        let key = ka.key();
        if key.has_unencrypted_secret() {
            continue;
        }
        let Some(passphrase) = passphrase else {
            return Err(Error::LockedSecretKey);
        };
        let key = key
            .clone()
            .decrypt_secret(passphrase)
            .map_err(|_| Error::LockedSecretKey)?;
        let packet: Packet = if ka.primary() {
            key.role_into_primary().into()
        } else {
            key.role_into_subordinate().into()
        };
        unlocked.push(packet);
    }
    if unlocked.is_empty() {
        return Ok(cert);
    }
    cert.insert_packets(unlocked)
        .map(|(cert, _)| cert)
        .map_err(Error::openpgp)
}

/// Parses all certificates in `data`, refusing anything that is not OpenPGP
/// key material with a plain reason.
fn parse_certs(data: &[u8]) -> Result<Vec<Cert>> {
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::NotAKey("the data is empty".into()));
    }
    let parser = CertParser::from_bytes(data).map_err(|e| Error::NotAKey(format!("{e:#}")))?;
    let mut certs = Vec::new();
    for cert in parser {
        certs.push(cert.map_err(|e| Error::NotAKey(format!("{e:#}")))?);
    }
    if certs.is_empty() {
        return Err(Error::NotAKey("no key found in the data".into()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests;
