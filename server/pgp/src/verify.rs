//! Decrypting and verifying OpenPGP data, and saying what came of it in plain
//! words ([`SignatureState`]).
//!
//! A signature is checked against the signing key as it was when the
//! signature was made (Sequoia's rules), and the key is then judged as it is
//! at `now`: a good signature by a key that has since expired or been
//! revoked is reported as such, so the user can tell.

use std::io::Read;
use std::time::SystemTime;

use sequoia_openpgp as openpgp;

use openpgp::KeyHandle;
use openpgp::cert::prelude::*;
use openpgp::crypto::{Password, SessionKey};
use openpgp::packet::{PKESK, SKESK, Signature};
use openpgp::parse::Parse;
use openpgp::parse::stream::{
    DecryptionHelper, DecryptorBuilder, DetachedVerifierBuilder, MessageLayer, MessageStructure,
    VerificationError, VerificationHelper, VerificationResult, VerifierBuilder,
};
use openpgp::types::{RevocationStatus, SymmetricAlgorithm};

use crate::keys::policy;
use crate::{Certificate, Error, Fingerprint, Result, SecretKey};

/// What a signature tells, in words the user can be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignatureState {
    /// The message carries no signature.
    NoSignature,
    /// The signature is correct and the key is valid now.
    Good,
    /// The signature does not match the content or cannot be valid: the
    /// message may have been changed.
    Bad,
    /// The signature may be fine, but we do not have the key that made it.
    UnknownKey,
    /// The signature is correct, but the key has expired.
    ExpiredKey,
    /// The signature is correct, but the key has been revoked.
    RevokedKey,
}

impl SignatureState {
    /// A short description for the user.
    pub fn describe(self) -> &'static str {
        match self {
            SignatureState::NoSignature => "not signed",
            SignatureState::Good => "good signature",
            SignatureState::Bad => "bad signature: the message may have been changed",
            SignatureState::UnknownKey => "signed with a key we do not have",
            SignatureState::ExpiredKey => "signed with a key that has expired",
            SignatureState::RevokedKey => "signed with a key that has been revoked",
        }
    }

    /// How much the state is worth when a message has several signatures:
    /// the best one is shown.
    fn rank(self) -> u8 {
        match self {
            SignatureState::Good => 5,
            SignatureState::ExpiredKey => 4,
            SignatureState::RevokedKey => 3,
            SignatureState::UnknownKey => 2,
            SignatureState::Bad => 1,
            SignatureState::NoSignature => 0,
        }
    }
}

/// One signature's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureOutcome {
    /// What the signature tells.
    pub state: SignatureState,
    /// The fingerprint of the signer's certificate (its primary key), when we
    /// have that certificate.
    pub signer: Option<Fingerprint>,
    /// The issuer named in the signature (fingerprint or key id, hex), which
    /// is all there is to go on when the key is unknown.
    pub issuer: Option<String>,
    /// When the signature says it was made.
    pub created: Option<SystemTime>,
    /// Why the state is not `Good`, in Sequoia's words, for the curious.
    pub detail: Option<String>,
}

/// The summary of several signatures: the best one, or `NoSignature`.
pub fn best(signatures: &[SignatureOutcome]) -> Option<&SignatureOutcome> {
    signatures.iter().max_by_key(|s| s.state.rank())
}

/// What [`decrypt`] found besides the plaintext.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Decrypted {
    /// The plaintext (the literal data packet's content).
    pub plaintext: Vec<u8>,
    /// Whether the data was encrypted (and so has been decrypted).
    pub encrypted: bool,
    /// The certificate whose key decrypted it, when it was one of ours.
    pub decrypted_with: Option<Fingerprint>,
    /// The signatures inside, in order.
    pub signatures: Vec<SignatureOutcome>,
}

impl std::fmt::Debug for Decrypted {
    /// Shows the plaintext's length, never its content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decrypted")
            .field("plaintext_len", &self.plaintext.len())
            .field("encrypted", &self.encrypted)
            .field("decrypted_with", &self.decrypted_with)
            .field("signatures", &self.signatures)
            .finish()
    }
}

/// Decrypts (when encrypted) and verifies an OpenPGP message, armored or
/// binary, including cleartext-signed text (`-----BEGIN PGP SIGNED MESSAGE-----`).
///
/// `keys` are our secret keys to try; `certs` the certificates signatures are
/// checked against. Integrity protection is required: data without it is
/// refused by Sequoia.
pub fn decrypt(
    data: &[u8],
    keys: &[SecretKey],
    certs: &[Certificate],
    now: SystemTime,
) -> Result<Decrypted> {
    run(data, keys, None, certs, now)
}

/// Decrypts a message encrypted with a password (a SKESK), verifying any
/// signatures against `certs`. A wrong password is [`Error::WrongSetupCode`].
pub(crate) fn decrypt_with_password(
    data: &[u8],
    password: &Password,
    now: SystemTime,
) -> Result<Decrypted> {
    run(data, &[], Some(password), &[], now)
}

fn run(
    data: &[u8],
    keys: &[SecretKey],
    password: Option<&Password>,
    certs: &[Certificate],
    now: SystemTime,
) -> Result<Decrypted> {
    let helper = Helper {
        keys,
        password,
        certs,
        now,
        out: Decrypted::default(),
    };
    let p = policy(now);
    if is_cleartext_signed(data) {
        // Sequoia's Decryptor does not do the cleartext signature framework;
        // its Verifier does.
        let mut verifier = VerifierBuilder::from_bytes(data)
            .map_err(Error::openpgp)?
            .with_policy(&p, now, helper)
            .map_err(Error::openpgp)?;
        let mut plaintext = Vec::new();
        verifier
            .read_to_end(&mut plaintext)
            .map_err(Error::openpgp)?;
        let mut out = std::mem::take(&mut verifier.helper_mut().out);
        out.plaintext = plaintext;
        return Ok(out);
    }
    let builder = DecryptorBuilder::from_bytes(data).map_err(Error::openpgp)?;
    let mut decryptor = builder
        .with_policy(&p, now, helper)
        .map_err(classify_failure)?;
    let mut plaintext = Vec::new();
    decryptor.read_to_end(&mut plaintext).map_err(|e| {
        // A wrong password can pass SEIPDv1's quick check (1 in 65536) and
        // then fail the integrity check.
        if password.is_some() {
            Error::WrongSetupCode
        } else {
            Error::openpgp(e)
        }
    })?;
    let mut out = std::mem::take(&mut decryptor.helper_mut().out);
    out.plaintext = plaintext;
    Ok(out)
}

/// Whether `data` is a cleartext-signed text (RFC 9580 section 7).
fn is_cleartext_signed(data: &[u8]) -> bool {
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    data[start..].starts_with(b"-----BEGIN PGP SIGNED MESSAGE-----")
}

/// Sequoia reports a helper's failure through its error chain; find ours.
fn classify_failure(e: anyhow::Error) -> Error {
    match e.downcast_ref::<Failure>() {
        Some(Failure::NoKey) => Error::NoDecryptionKey,
        Some(Failure::WrongPassword) => Error::WrongSetupCode,
        Some(Failure::Unsupported(algo)) => Error::UnsupportedAlgorithm(algo.clone()),
        None => Error::openpgp(e),
    }
}

/// Verifies a detached signature (armored or binary) over `data` exactly as
/// given. Returns one outcome per signature.
pub fn verify_detached(
    data: &[u8],
    signature: &[u8],
    certs: &[Certificate],
    now: SystemTime,
) -> Result<Vec<SignatureOutcome>> {
    let helper = Helper {
        keys: &[],
        password: None,
        certs,
        now,
        out: Decrypted::default(),
    };
    let p = policy(now);
    let mut verifier = DetachedVerifierBuilder::from_bytes(signature)
        .map_err(|e| Error::Malformed(format!("the signature is not OpenPGP: {e:#}")))?
        .with_policy(&p, now, helper)
        .map_err(Error::openpgp)?;
    verifier.verify_bytes(data).map_err(Error::openpgp)?;
    Ok(std::mem::take(&mut verifier.helper_mut().out.signatures))
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("none of our keys can decrypt this message")]
    NoKey,
    #[error("wrong password")]
    WrongPassword,
    #[error("unsupported cipher {0}")]
    Unsupported(String),
}

struct Helper<'a> {
    keys: &'a [SecretKey],
    password: Option<&'a Password>,
    certs: &'a [Certificate],
    now: SystemTime,
    out: Decrypted,
}

impl VerificationHelper for Helper<'_> {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.certs.iter().map(|c| c.cert().clone()).collect())
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure {
            match layer {
                MessageLayer::Encryption { .. } => self.out.encrypted = true,
                MessageLayer::Compression { .. } => {}
                MessageLayer::SignatureGroup { results } => {
                    for r in results {
                        self.out.signatures.push(classify(r, self.now));
                    }
                }
            }
        }
        Ok(())
    }
}

impl DecryptionHelper for Helper<'_> {
    fn decrypt(
        &mut self,
        pkesks: &[PKESK],
        skesks: &[SKESK],
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> openpgp::Result<Option<Cert>> {
        // Our keys decrypt old mail too: no policy or time applies here, only
        // that the key is the one the message was encrypted to.
        let mut unsupported = None;
        for pkesk in pkesks {
            for key in self.keys {
                let cert = key.cert();
                let candidates = cert.keys().secret().filter(|ka| match pkesk.recipient() {
                    Some(handle) => handle.aliases(KeyHandle::from(ka.key().fingerprint())),
                    None => true,
                });
                for ka in candidates {
                    let Ok(mut pair) = ka.key().clone().into_keypair() else {
                        continue;
                    };
                    let Some((algo, sk)) = pkesk.decrypt(&mut pair, sym_algo) else {
                        continue;
                    };
                    if decrypt(algo, &sk) {
                        self.out.decrypted_with =
                            Some(Fingerprint::from_openpgp(cert.fingerprint()));
                        return Ok(Some(cert.clone()));
                    }
                    // Our key opened the session key, but the cipher it is
                    // for is not in this build's crypto library.
                    if let Some(algo) = algo.or(sym_algo).filter(|a| !a.is_supported()) {
                        unsupported = Some(algo);
                    }
                }
            }
        }
        if let Some(password) = self.password {
            for skesk in skesks {
                if let Ok((algo, sk)) = skesk.decrypt(password)
                    && decrypt(algo, &sk)
                {
                    return Ok(None);
                }
            }
            return Err(Failure::WrongPassword.into());
        }
        match unsupported {
            Some(algo) => Err(Failure::Unsupported(algo.to_string()).into()),
            None => Err(Failure::NoKey.into()),
        }
    }
}

/// Turns Sequoia's verdict on one signature into ours, judging the key at `now`.
fn classify(result: VerificationResult<'_>, now: SystemTime) -> SignatureOutcome {
    match result {
        Ok(good) => {
            let cert = good.ka.cert();
            let (state, detail) = judge_now(cert, &good.ka.key().fingerprint(), now);
            outcome(good.sig, state, Some(cert), detail)
        }
        Err(VerificationError::MissingKey { sig }) => {
            outcome(sig, SignatureState::UnknownKey, None, None)
        }
        Err(VerificationError::BadKey { sig, ka, error }) => {
            let state = if matches!(
                ka.valid_cert().revocation_status(),
                RevocationStatus::Revoked(_)
            ) || matches!(ka.revocation_status(), RevocationStatus::Revoked(_))
            {
                SignatureState::RevokedKey
            } else if ka.valid_cert().alive().is_err() || ka.alive().is_err() {
                SignatureState::ExpiredKey
            } else {
                SignatureState::Bad
            };
            outcome(sig, state, Some(ka.cert()), Some(format!("{error:#}")))
        }
        Err(VerificationError::UnboundKey { sig, cert, error }) => {
            // A hard revocation makes the certificate unusable at any time.
            let state =
                if let RevocationStatus::Revoked(_) = cert.revocation_status(&policy(now), now) {
                    SignatureState::RevokedKey
                } else {
                    SignatureState::Bad
                };
            outcome(sig, state, Some(cert), Some(format!("{error:#}")))
        }
        Err(VerificationError::BadSignature { sig, ka, error }) => outcome(
            sig,
            SignatureState::Bad,
            Some(ka.cert()),
            Some(format!("{error:#}")),
        ),
        Err(VerificationError::MalformedSignature { sig, error }) => {
            outcome(sig, SignatureState::Bad, None, Some(format!("{error:#}")))
        }
        Err(VerificationError::UnknownSignature { sig }) => SignatureOutcome {
            state: SignatureState::Bad,
            signer: None,
            issuer: None,
            created: None,
            detail: Some(format!("unreadable signature: {}", sig.error())),
        },
        Err(e) => SignatureOutcome {
            state: SignatureState::Bad,
            signer: None,
            issuer: None,
            created: None,
            detail: Some(e.to_string()),
        },
    }
}

/// A correct signature's key, judged at `now`.
fn judge_now(
    cert: &Cert,
    key: &openpgp::Fingerprint,
    now: SystemTime,
) -> (SignatureState, Option<String>) {
    if let RevocationStatus::Revoked(_) = cert.revocation_status(&policy(now), now) {
        return (
            SignatureState::RevokedKey,
            Some("the certificate is revoked".into()),
        );
    }
    let p = policy(now);
    let vc = match cert.with_policy(&p, now) {
        Ok(vc) => vc,
        Err(e) => return (SignatureState::ExpiredKey, Some(format!("{e:#}"))),
    };
    if let Err(e) = vc.alive() {
        return (SignatureState::ExpiredKey, Some(format!("{e:#}")));
    }
    let Some(ka) = vc.keys().key_handle(key.clone()).next() else {
        return (
            SignatureState::ExpiredKey,
            Some("the signing key is no longer valid".into()),
        );
    };
    if let RevocationStatus::Revoked(_) = ka.revocation_status() {
        return (
            SignatureState::RevokedKey,
            Some("the signing key is revoked".into()),
        );
    }
    if let Err(e) = ka.alive() {
        return (SignatureState::ExpiredKey, Some(format!("{e:#}")));
    }
    (SignatureState::Good, None)
}

fn outcome(
    sig: &Signature,
    state: SignatureState,
    cert: Option<&Cert>,
    detail: Option<String>,
) -> SignatureOutcome {
    SignatureOutcome {
        state,
        signer: cert.map(|c| Fingerprint::from_openpgp(c.fingerprint())),
        issuer: sig
            .get_issuers()
            .first()
            .map(sequoia_openpgp::KeyHandle::to_hex),
        created: sig.signature_creation_time(),
        detail,
    }
}
