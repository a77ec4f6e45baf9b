//! The backup's keys and sealed objects.
//!
//! One random 256-bit backup key per box. HKDF derives from it a key that names
//! objects (HMAC-SHA256 of their content: equal content, equal name, so nothing
//! is sent twice, and the server cannot tell which known mail is there) and a
//! key that seals them (XChaCha20-Poly1305, random nonce, the object's name as
//! associated data so the server cannot swap one for another). The backup key
//! itself travels in the folder wrapped twice: under the vault's backup sub-key
//! (opened with the passphrase, through the vault file sent beside it) and
//! under a recovery key the user keeps on paper.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// An object's name: a keyed hash of what it holds.
pub type Id = [u8; 32];

/// What an object holds; part of its name, so two kinds never share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A message's stored bytes, named by the message's SHA-256.
    Content,
    /// A piece of the copy of the store's rows.
    Rows,
    /// A snapshot: which pieces make the copy.
    Snapshot,
    /// An index: which pack holds which objects.
    Index,
    /// A pack's own table of contents.
    PackHeader,
    /// A part of an object too large for one pack (see [`SPLIT_MAGIC`]).
    Part,
}

/// How an object too large for a pack begins: then its plaintext is this line
/// and the hex names of its parts, one a line, whose contents joined are the
/// object's. No object's own plaintext starts so (a message's stored bytes are a
/// zstd frame, a piece of rows is JSON).
pub const SPLIT_MAGIC: &[u8] = b"HPSPLIT1\n";

impl Kind {
    fn tag(self) -> &'static [u8] {
        match self {
            Kind::Content => b"content",
            Kind::Rows => b"rows",
            Kind::Snapshot => b"snapshot",
            Kind::Index => b"index",
            Kind::PackHeader => b"pack",
            Kind::Part => b"part",
        }
    }
}

/// Random bytes from the operating system.
pub(crate) fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|_| Error::Random)?;
    Ok(b)
}

fn hkdf(key: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let hk = Hkdf::<Sha256>::new(Some(b"homepost backup"), key);
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's limit: expand cannot fail.
    let _ = hk.expand(info, out.as_mut());
    out
}

/// The backup key and what derives from it; wiped when dropped.
pub struct Keys {
    master: Zeroizing<[u8; 32]>,
    name: Zeroizing<[u8; 32]>,
    seal: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    /// A new random backup key.
    pub fn generate() -> Result<Keys> {
        Ok(Keys::from_bytes(&random::<32>()?))
    }

    /// The keys of backup key `master`.
    pub fn from_bytes(master: &[u8; 32]) -> Keys {
        Keys {
            master: Zeroizing::new(*master),
            name: hkdf(master, b"v1 name"),
            seal: hkdf(master, b"v1 seal"),
        }
    }

    /// The backup key, to keep in the store or wrap.
    pub fn expose(&self) -> &[u8; 32] {
        &self.master
    }

    /// The name of an object of `kind` holding `bytes`.
    pub fn id(&self, kind: Kind, bytes: &[u8]) -> Id {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.name.as_ref())
            .expect("HMAC accepts keys of any length");
        mac.update(kind.tag());
        mac.update(&[0]);
        mac.update(bytes);
        mac.finalize().into_bytes().into()
    }

    /// Compresses and seals `plain` as object `id`: nonce, then ciphertext.
    pub fn seal(&self, id: &Id, plain: &[u8]) -> Result<Vec<u8>> {
        let packed = zstd::bulk::compress(plain, 3).map_err(|e| Error::Io {
            what: "compressing an object".into(),
            source: e,
        })?;
        seal_with(&self.seal, id, &packed)
    }

    /// Opens object `id` sealed by [`seal`](Self::seal); fails if a single bit
    /// changed or it is another object. `limit` bounds the decompressed size.
    pub fn open(&self, id: &Id, sealed: &[u8], limit: usize) -> Result<Vec<u8>> {
        use std::io::Read as _;
        let packed = open_with(&self.seal, id, sealed)?;
        // Streamed, so memory grows with what the object holds, not with the
        // limit (zstd's bulk API reserves the whole limit up front).
        let damaged = || Error::Damaged(hex::encode(id));
        let decoder = zstd::stream::read::Decoder::new(packed.as_slice()).map_err(|_| damaged())?;
        let mut out = Vec::new();
        decoder
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| damaged())?;
        if out.len() > limit {
            return Err(damaged());
        }
        Ok(out)
    }
}

/// XChaCha20-Poly1305 under `key` with `ad` bound in.
pub(crate) fn seal_with(key: &[u8; 32], ad: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
    let cipher = XChaCha20Poly1305::new_from_slice(key).map_err(|_| Error::Random)?;
    let nonce: [u8; 24] = random()?;
    let sealed = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plain,
                aad: ad,
            },
        )
        .map_err(|_| Error::Random)?;
    let mut out = Vec::with_capacity(24 + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens what [`seal_with`] sealed; the error names the object by `ad`.
pub(crate) fn open_with(key: &[u8; 32], ad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
    let damaged = || Error::Damaged(hex::encode(ad));
    if sealed.len() < 24 + 16 {
        return Err(damaged());
    }
    let cipher = XChaCha20Poly1305::new_from_slice(key).map_err(|_| Error::Random)?;
    let nonce = XNonce::try_from(&sealed[..24]).map_err(|_| damaged())?;
    cipher
        .decrypt(
            &nonce,
            Payload {
                msg: &sealed[24..],
                aad: ad,
            },
        )
        .map_err(|_| damaged())
}

/// The alphabet of recovery keys: Crockford's base32, no I, L, O or U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A recovery key: 160 random bits the user writes down, shown as eight groups
/// of four characters. Opens the backup when the passphrase is lost.
pub struct RecoveryKey(Zeroizing<[u8; 20]>);

impl RecoveryKey {
    /// A new random recovery key.
    pub fn generate() -> Result<RecoveryKey> {
        Ok(RecoveryKey(Zeroizing::new(random()?)))
    }

    /// Reads a recovery key as the user types it: case, spaces and dashes do
    /// not matter, and O, I, L read as 0, 1, 1.
    pub fn parse(text: &str) -> Result<RecoveryKey> {
        let mut bits: u64 = 0;
        let mut nbits = 0;
        let mut out = Zeroizing::new(Vec::with_capacity(20));
        let mut count = 0;
        for c in text.chars().filter(|c| !c.is_whitespace() && *c != '-') {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            let v = ALPHABET
                .iter()
                .position(|&a| char::from(a) == c)
                .ok_or(Error::BadRecoveryKey)?;
            bits = (bits << 5) | v as u64;
            nbits += 5;
            count += 1;
            if nbits >= 8 {
                nbits -= 8;
                out.push((bits >> nbits) as u8);
                bits &= (1 << nbits) - 1;
            }
        }
        let bytes: [u8; 20] = out
            .as_slice()
            .try_into()
            .map_err(|_| Error::BadRecoveryKey)?;
        if count != 32 {
            return Err(Error::BadRecoveryKey);
        }
        Ok(RecoveryKey(Zeroizing::new(bytes)))
    }

    /// The key as the user writes it down: `XXXX-XXXX-…`, eight groups.
    pub fn display(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(40));
        let mut bits: u64 = 0;
        let mut nbits = 0;
        let mut n = 0;
        for &b in self.0.iter() {
            bits = (bits << 8) | u64::from(b);
            nbits += 8;
            while nbits >= 5 {
                nbits -= 5;
                if n > 0 && n % 4 == 0 {
                    s.push('-');
                }
                s.push(char::from(ALPHABET[((bits >> nbits) & 31) as usize]));
                bits &= (1 << nbits) - 1;
                n += 1;
            }
        }
        s
    }

    /// The key that wraps the backup key.
    pub(crate) fn wrapping_key(&self) -> Zeroizing<[u8; 32]> {
        hkdf(self.0.as_ref(), b"v1 recovery")
    }
}

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_opens_only_as_itself_and_unchanged() {
        let keys = Keys::generate().unwrap();
        let id = keys.id(Kind::Rows, b"hello");
        assert_eq!(id, keys.id(Kind::Rows, b"hello"));
        assert_ne!(id, keys.id(Kind::Content, b"hello"));
        assert_ne!(id, Keys::generate().unwrap().id(Kind::Rows, b"hello"));
        let sealed = keys.seal(&id, b"hello").unwrap();
        assert_eq!(keys.open(&id, &sealed, 100).unwrap(), b"hello");
        let other = keys.id(Kind::Rows, b"other");
        assert!(matches!(
            keys.open(&other, &sealed, 100),
            Err(Error::Damaged(_))
        ));
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(
                keys.open(&id, &bad, 100).is_err(),
                "bit flip at {i} accepted"
            );
        }
    }

    #[test]
    fn a_recovery_key_reads_back_as_written_and_forgivingly() {
        let key = RecoveryKey::generate().unwrap();
        let shown = key.display();
        assert_eq!(shown.len(), 39);
        let again = RecoveryKey::parse(&shown).unwrap();
        assert_eq!(*again.0, *key.0);
        let sloppy = shown.to_lowercase().replace('-', " ").replace('0', "o");
        assert_eq!(*RecoveryKey::parse(&sloppy).unwrap().0, *key.0);
        assert!(RecoveryKey::parse(&shown[..30]).is_err());
        assert!(RecoveryKey::parse("UUUU").is_err());
    }
}
