//! The crate's one error type: each variant says in plain words what went wrong
//! and is something a caller can act on.

use crate::Fingerprint;

/// Everything that can go wrong in this crate.
///
/// Messages never contain secret key material, passphrases or message text.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes given as a key are not an OpenPGP key or certificate.
    #[error("not an OpenPGP key: {0}")]
    NotAKey(String),
    /// Several keys were given where exactly one was expected.
    #[error("expected one OpenPGP key, found {0}")]
    NotOneKey(usize),
    /// A public certificate was given where a secret key is needed.
    #[error("this is a public key only; a secret key is needed")]
    NoSecretKey,
    /// The secret key is protected by a passphrase that was not given or is wrong.
    #[error("the secret key is protected by a passphrase, which is missing or wrong")]
    LockedSecretKey,
    /// The key has no subkey that is valid and capable of signing now.
    #[error("the key {0} has no usable signing key")]
    NoSigningKey(Fingerprint),
    /// The certificate has no subkey that is valid and capable of encryption now.
    #[error("the key {0} has no usable encryption key (expired, revoked or missing)")]
    NoEncryptionKey(Fingerprint),
    /// A name and address that cannot form a user id.
    #[error("cannot make a user id of {0}")]
    InvalidUserId(String),
    /// The certificate has no user id with this address.
    #[error("the key {0} has no user id for {1}")]
    NoSuchUserId(Fingerprint, String),
    /// The message is not well-formed MIME where this crate needs it to be.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The entity to sign breaks RFC 3156's rules (8-bit data, trailing whitespace).
    #[error("cannot sign this entity as it stands: {0}")]
    NotCanonical(String),
    /// None of the given secret keys can decrypt the message.
    #[error("none of our keys can decrypt this message")]
    NoDecryptionKey,
    /// The message is encrypted with a cipher this build's crypto library
    /// lacks (for example Camellia in a vendored OpenSSL).
    #[error("the message is encrypted with {0}, which this build cannot decrypt")]
    UnsupportedAlgorithm(String),
    /// The setup code does not decrypt the Autocrypt Setup Message.
    #[error("the setup code is wrong")]
    WrongSetupCode,
    /// The message is not an Autocrypt Setup Message Homepost can import.
    #[error("not a usable Autocrypt Setup Message: {0}")]
    NotASetupMessage(String),
    /// An Autocrypt or Autocrypt-Gossip header is invalid and must be ignored.
    #[error("invalid Autocrypt header: {0}")]
    InvalidAutocryptHeader(String),
    /// An address or URL that keys cannot be looked up for.
    #[error("{0}")]
    Discovery(String),
    /// An OpenPGP operation failed; the text is Sequoia's explanation.
    #[error("OpenPGP operation failed: {0}")]
    OpenPgp(String),
}

impl Error {
    /// Wraps an error from Sequoia, keeping its whole chain of causes as text.
    pub(crate) fn openpgp(e: impl Into<anyhow::Error>) -> Self {
        Error::OpenPgp(format!("{:#}", e.into()))
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
