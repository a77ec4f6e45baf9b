//! The key hierarchy of a Homepost data directory.
//!
//! A passphrase goes through Argon2id (parameters stored beside the result) to a
//! key-encryption key, which unwraps a random 256-bit master key kept AEAD-wrapped in
//! `vault.json`. Every other key is derived from the master key with HKDF-SHA256, one
//! [`Purpose`] each, so no two uses share a key. Changing the passphrase rewraps the
//! master key only: nothing encrypted under the sub-keys has to change.
//!
//! Secrets live in [`SecretKey`] values that are zeroized when dropped; the passphrase
//! itself is never written anywhere.

mod check;
mod file;
pub mod spool;
pub mod strength;

pub use check::{FileGuard, FileState};

use std::fmt;
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The file, inside the data directory, that holds the wrapped master key.
pub const VAULT_FILE: &str = "vault.json";

/// Format version written into `vault.json` and bound into the wrapping AEAD.
const FORMAT_VERSION: u32 = 1;

/// Errors a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The passphrase does not unwrap the master key.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// There is no `vault.json` in the data directory.
    #[error("no vault in {0}: run `homepost init` first")]
    NotInitialised(PathBuf),
    /// `init` was asked for a directory that already has a vault.
    #[error("a vault already exists in {0}")]
    AlreadyInitialised(PathBuf),
    /// `vault.json` is not a vault this version understands.
    #[error("{path} is damaged or from an unknown version: {reason}")]
    Corrupt {
        /// The vault file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// The passphrase is unusable (for example empty).
    #[error("unusable passphrase: {0}")]
    BadPassphrase(&'static str),
    /// Reading or writing the vault file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The operating system's random number generator failed.
    #[error("no randomness available from the operating system")]
    Random,
}

/// What a derived key is for; each purpose gets its own HKDF output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The raw SQLCipher key of the message store.
    Sqlcipher,
    /// The key of the encrypted search index.
    Index,
    /// The key of encrypted backups.
    Backup,
    /// Keys protecting web sessions.
    Session,
}

impl Purpose {
    fn info(self) -> &'static [u8] {
        match self {
            Purpose::Sqlcipher => b"homepost v1 sqlcipher",
            Purpose::Index => b"homepost v1 index",
            Purpose::Backup => b"homepost v1 backup",
            Purpose::Session => b"homepost v1 session",
        }
    }
}

/// A 256-bit secret key, zeroized on drop and never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// The key bytes, for handing to a cipher.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    fn random() -> Result<Self, Error> {
        let mut key = SecretKey([0; 32]);
        getrandom::fill(&mut key.0).map_err(|_| Error::Random)?;
        Ok(key)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// A passphrase held in memory, zeroized on drop and never printed.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Passphrase(String);

impl Passphrase {
    /// Wraps a passphrase. Trailing newline characters (as read from a file) are removed.
    pub fn new(mut s: String) -> Self {
        while s.ends_with('\n') || s.ends_with('\r') {
            s.pop();
        }
        Passphrase(s)
    }

    /// Its length in characters (for strength rules; the text itself stays inside).
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }

    /// The text itself, to hand to the running server (the CLI's control
    /// socket); anything else keeps it inside.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

/// Argon2id cost parameters, stored with the vault so they can change between vaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Passes over memory.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// The default: 64 MiB, 4 passes, 1 lane. Memory stays well inside a small
    /// board's budget while unlocking costs about a second on a Raspberry Pi 4; see
    /// docs/performance.md for the measurement here and the estimate for a Pi.
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost: 64 * 1024,
        t_cost: 4,
        p_cost: 1,
    };

    /// Cheap parameters for tests only: a vault made with them is easy to brute-force.
    pub const INSECURE_FOR_TESTS: KdfParams = KdfParams {
        m_cost: 64,
        t_cost: 1,
        p_cost: 1,
    };

    fn argon2(&self) -> Result<Argon2<'static>, String> {
        let params = Params::new(self.m_cost, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| format!("invalid Argon2 parameters: {e}"))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// `vault.json` as stored.
#[derive(Serialize, Deserialize)]
struct VaultFile {
    version: u32,
    kdf: KdfSection,
    wrapped_master_key: WrappedKey,
    /// SHA-256 (hex) of what the wrapping binds, so that a damaged file is told
    /// apart from a wrong passphrase. Not a secret and no authentication: the
    /// AEAD is. Missing in files written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checksum: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct KdfSection {
    algorithm: String,
    #[serde(flatten)]
    params: KdfParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct WrappedKey {
    algorithm: String,
    nonce: String,
    ciphertext: String,
}

const KDF_NAME: &str = "argon2id-v19";
const WRAP_NAME: &str = "xchacha20poly1305";

/// An unlocked vault: the master key in memory, ready to derive sub-keys.
pub struct Vault {
    dir: PathBuf,
    master: SecretKey,
    /// The bytes of `vault.json` this vault was unlocked from or last wrote:
    /// known to be sound, so a damaged file can be written again from them.
    file: std::sync::Mutex<Vec<u8>>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Whether `dir` holds a vault.
    pub fn exists(dir: &Path) -> bool {
        dir.join(VAULT_FILE).is_file()
    }

    /// Creates a vault with a fresh random master key wrapped under `passphrase`.
    /// Refuses if one already exists, so a master key is never overwritten.
    pub fn create(dir: &Path, passphrase: &Passphrase, kdf: KdfParams) -> Result<Vault, Error> {
        if passphrase.bytes().is_empty() {
            return Err(Error::BadPassphrase("it is empty"));
        }
        let path = dir.join(VAULT_FILE);
        if path.exists() {
            return Err(Error::AlreadyInitialised(dir.to_path_buf()));
        }
        let master = SecretKey::random()?;
        let bytes = wrap(&master, passphrase, kdf)?;
        file::create_new(dir, &path, &bytes)?;
        Ok(Vault {
            dir: dir.to_path_buf(),
            master,
            file: std::sync::Mutex::new(bytes),
        })
    }

    /// Unlocks the vault in `dir` with `passphrase`. Reads only; a wrong passphrase
    /// leaves everything on disk as it was.
    pub fn unlock(dir: &Path, passphrase: &Passphrase) -> Result<Vault, Error> {
        let path = dir.join(VAULT_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotInitialised(dir.to_path_buf()));
            }
            Err(source) => {
                return Err(Error::Io {
                    context: format!("cannot read {}", path.display()),
                    source,
                });
            }
        };
        let master = unwrap(&path, &bytes, passphrase)?;
        Ok(Vault {
            dir: dir.to_path_buf(),
            master,
            file: std::sync::Mutex::new(bytes),
        })
    }

    /// Rewraps the master key under `new` with fresh salt and nonce. The data
    /// encrypted under sub-keys stays valid. The file is replaced atomically.
    pub fn change_passphrase(&self, new: &Passphrase, kdf: KdfParams) -> Result<(), Error> {
        if new.bytes().is_empty() {
            return Err(Error::BadPassphrase("it is empty"));
        }
        let bytes = wrap(&self.master, new, kdf)?;
        file::replace(&self.dir, &self.dir.join(VAULT_FILE), &bytes)?;
        *self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = bytes;
        Ok(())
    }

    /// What checks `vault.json` later, and writes it again if it is damaged,
    /// without keeping the master key.
    pub fn file_guard(&self) -> FileGuard {
        let bytes = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        FileGuard::new(self.dir.clone(), bytes)
    }

    /// Derives the key for one purpose (HKDF-SHA256 over the master key).
    pub fn subkey(&self, purpose: Purpose) -> SecretKey {
        let hk = Hkdf::<Sha256>::new(Some(b"homepost"), self.master.expose());
        let mut out = SecretKey([0; 32]);
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
        if hk.expand(purpose.info(), &mut out.0).is_err() {
            unreachable!("HKDF-SHA256 can always produce 32 bytes");
        }
        out
    }

    /// The data directory this vault belongs to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Additional data bound into the wrapping AEAD: the format and KDF parameters, so
/// a file whose parameters were edited does not unwrap.
fn wrap_aad(kdf: &KdfParams, salt: &[u8]) -> Vec<u8> {
    let mut aad = format!(
        "homepost vault v{FORMAT_VERSION} {KDF_NAME} m={} t={} p={} {WRAP_NAME} salt=",
        kdf.m_cost, kdf.t_cost, kdf.p_cost
    )
    .into_bytes();
    aad.extend_from_slice(salt);
    aad
}

fn derive_kek(passphrase: &Passphrase, salt: &[u8], kdf: &KdfParams) -> Result<SecretKey, String> {
    let mut kek = SecretKey([0; 32]);
    kdf.argon2()?
        .hash_password_into(passphrase.bytes(), salt, &mut kek.0)
        .map_err(|e| format!("Argon2 failed: {e}"))?;
    Ok(kek)
}

fn wrap(master: &SecretKey, passphrase: &Passphrase, kdf: KdfParams) -> Result<Vec<u8>, Error> {
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut salt).map_err(|_| Error::Random)?;
    getrandom::fill(&mut nonce).map_err(|_| Error::Random)?;
    let kek = derive_kek(passphrase, &salt, &kdf).map_err(|reason| Error::Corrupt {
        path: PathBuf::from(VAULT_FILE),
        reason,
    })?;
    let cipher = XChaCha20Poly1305::new_from_slice(kek.expose()).map_err(|_| Error::Random)?;
    let aad = wrap_aad(&kdf, &salt);
    let ciphertext = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: master.expose(),
                aad: &aad,
            },
        )
        .map_err(|_| Error::Random)?;
    let file = VaultFile {
        version: FORMAT_VERSION,
        kdf: KdfSection {
            algorithm: KDF_NAME.into(),
            params: kdf,
            salt: B64.encode(salt),
        },
        wrapped_master_key: WrappedKey {
            algorithm: WRAP_NAME.into(),
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(&ciphertext),
        },
        checksum: Some(check::checksum(&aad, &nonce, &ciphertext)),
    };
    let mut json = serde_json::to_vec_pretty(&file).map_err(|e| Error::Corrupt {
        path: PathBuf::from(VAULT_FILE),
        reason: e.to_string(),
    })?;
    json.push(b'\n');
    Ok(json)
}

/// The parts of a `vault.json` that parsed, with sound lengths, costs and checksum.
struct Parsed {
    kdf: KdfParams,
    salt: Vec<u8>,
    nonce: [u8; 24],
    ciphertext: Vec<u8>,
    /// Whether the file carried a checksum (and it matched).
    checksummed: bool,
}

/// Parses a `vault.json` and checks everything that can be checked without the
/// passphrase.
fn parse(path: &Path, bytes: &[u8]) -> Result<Parsed, Error> {
    let corrupt = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let file: VaultFile =
        serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not valid JSON: {e}")))?;
    if file.version != FORMAT_VERSION {
        return Err(corrupt(format!("format version {}", file.version)));
    }
    if file.kdf.algorithm != KDF_NAME || file.wrapped_master_key.algorithm != WRAP_NAME {
        return Err(corrupt("unknown algorithm".into()));
    }
    let salt = B64
        .decode(&file.kdf.salt)
        .map_err(|e| corrupt(format!("bad salt: {e}")))?;
    let nonce: [u8; 24] = B64
        .decode(&file.wrapped_master_key.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| corrupt("bad nonce".into()))?;
    let ciphertext = B64
        .decode(&file.wrapped_master_key.ciphertext)
        .map_err(|e| corrupt(format!("bad ciphertext: {e}")))?;
    if salt.len() < 16 {
        return Err(corrupt("salt too short".into()));
    }
    let kdf = file.kdf.params;
    if let Some(sum) = &file.checksum
        && *sum != check::checksum(&wrap_aad(&kdf, &salt), &nonce, &ciphertext)
    {
        return Err(corrupt(
            "it is damaged (its checksum does not match): restore vault.json from a backup".into(),
        ));
    }
    // Argon2 runs before the AEAD can reject an edited file: refuse costs no
    // genuine vault has, rather than allocate gigabytes or run for hours.
    if kdf.m_cost > 4 * 1024 * 1024 || kdf.t_cost > 64 || kdf.p_cost > 16 {
        return Err(corrupt("key-derivation cost out of range".into()));
    }
    Ok(Parsed {
        kdf,
        salt,
        nonce,
        ciphertext,
        checksummed: file.checksum.is_some(),
    })
}

fn unwrap(path: &Path, bytes: &[u8], passphrase: &Passphrase) -> Result<SecretKey, Error> {
    let corrupt = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let Parsed {
        kdf,
        salt,
        nonce,
        ciphertext,
        ..
    } = parse(path, bytes)?;
    let kek = derive_kek(passphrase, &salt, &kdf).map_err(corrupt)?;
    let cipher = XChaCha20Poly1305::new_from_slice(kek.expose())
        .map_err(|_| corrupt("bad key length".into()))?;
    let aad = wrap_aad(&kdf, &salt);
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| Error::WrongPassphrase)?,
    );
    let mut master = SecretKey([0; 32]);
    if plain.len() != 32 {
        return Err(corrupt("wrapped key has the wrong length".into()));
    }
    master.0.copy_from_slice(&plain);
    Ok(master)
}

#[cfg(test)]
mod tests;
