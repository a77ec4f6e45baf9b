//! Making signatures and encrypting: the OpenPGP side of outgoing mail.

use std::io::Write;
use std::time::SystemTime;

use sequoia_openpgp as openpgp;

use openpgp::armor;
use openpgp::crypto::KeyPair;
use openpgp::parse::Parse;
use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message, Recipient, Signer};
use openpgp::types::{HashAlgorithm, RevocationStatus};

use crate::keys::policy;
use crate::{Certificate, Error, Result, SecretKey};

/// The signing key pair of `key` valid at `now`.
fn signing_keypair(key: &SecretKey, now: SystemTime) -> Result<KeyPair> {
    let no_key = || Error::NoSigningKey(key.fingerprint());
    let p = policy(now);
    let vc = key.cert().with_policy(&p, now).map_err(|_| no_key())?;
    if vc.alive().is_err() || matches!(vc.revocation_status(), RevocationStatus::Revoked(_)) {
        return Err(no_key());
    }
    let ka = vc
        .keys()
        .secret()
        .supported()
        .alive()
        .revoked(false)
        .for_signing()
        .next()
        .ok_or_else(no_key)?;
    ka.key()
        .clone()
        .into_keypair()
        .map_err(|_| Error::LockedSecretKey)
}

/// A detached, ASCII-armored signature over `data` exactly as given, and the
/// hash algorithm it used (for RFC 3156's `micalg`).
pub fn sign_detached(
    data: &[u8],
    key: &SecretKey,
    now: SystemTime,
) -> Result<(String, HashAlgorithm)> {
    let keypair = signing_keypair(key, now)?;
    let mut out = Vec::new();
    {
        let message = Message::new(&mut out);
        let message = Armorer::new(message)
            .kind(armor::Kind::Signature)
            .build()
            .map_err(Error::openpgp)?;
        let mut signer = Signer::new(message, keypair)
            .map_err(Error::openpgp)?
            .detached()
            .creation_time(now)
            .build()
            .map_err(Error::openpgp)?;
        signer.write_all(data).map_err(Error::openpgp)?;
        signer.finalize().map_err(Error::openpgp)?;
    }
    let sig = openpgp::Packet::from_bytes(&out).map_err(Error::openpgp)?;
    let hash = match sig {
        openpgp::Packet::Signature(s) => s.hash_algo(),
        _ => return Err(Error::OpenPgp("the signer wrote no signature".into())),
    };
    let text = String::from_utf8(out).map_err(|_| Error::OpenPgp("armor is not UTF-8".into()))?;
    Ok((text, hash))
}

/// RFC 3156's `micalg` name of a hash algorithm (`pgp-sha256`, ...).
pub fn micalg(hash: HashAlgorithm) -> String {
    format!(
        "pgp-{}",
        hash.to_string().to_ascii_lowercase().replace('-', "")
    )
}

/// Encrypts `data` to every certificate in `recipients` (all their valid
/// encryption subkeys at `now`), signing it first with `signer` if given,
/// and armors the result (`-----BEGIN PGP MESSAGE-----`).
///
/// Fails with [`Error::NoEncryptionKey`] naming the first certificate that
/// cannot be encrypted to, rather than silently leaving someone out.
pub fn encrypt(
    data: &[u8],
    signer: Option<&SecretKey>,
    recipients: &[&Certificate],
    now: SystemTime,
) -> Result<String> {
    let p = policy(now);
    let mut keys = Vec::new();
    for cert in recipients {
        let no_key = || Error::NoEncryptionKey(cert.fingerprint());
        let vc = cert.cert().with_policy(&p, now).map_err(|_| no_key())?;
        if vc.alive().is_err() || matches!(vc.revocation_status(), RevocationStatus::Revoked(_)) {
            return Err(no_key());
        }
        let before = keys.len();
        keys.extend(
            vc.keys()
                .supported()
                .alive()
                .revoked(false)
                .key_flags(crate::keys::encryption_flags())
                .map(Recipient::from),
        );
        if keys.len() == before {
            return Err(no_key());
        }
    }
    if keys.is_empty() {
        return Err(Error::OpenPgp("no recipient to encrypt to".into()));
    }
    let keypair = signer.map(|k| signing_keypair(k, now)).transpose()?;

    let mut out = Vec::new();
    {
        let message = Message::new(&mut out);
        let message = Armorer::new(message).build().map_err(Error::openpgp)?;
        let message = Encryptor::for_recipients(message, keys)
            .build()
            .map_err(Error::openpgp)?;
        let message = match keypair {
            Some(pair) => {
                let mut s = Signer::new(message, pair)
                    .map_err(Error::openpgp)?
                    .creation_time(now);
                for cert in recipients {
                    s = s.add_intended_recipient(cert.cert());
                }
                s.build().map_err(Error::openpgp)?
            }
            None => message,
        };
        let mut literal = LiteralWriter::new(message)
            .build()
            .map_err(Error::openpgp)?;
        literal.write_all(data).map_err(Error::openpgp)?;
        literal.finalize().map_err(Error::openpgp)?;
    }
    String::from_utf8(out).map_err(|_| Error::OpenPgp("armor is not UTF-8".into()))
}
