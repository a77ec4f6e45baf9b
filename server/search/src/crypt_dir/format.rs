//! The on-disk format of an encrypted index file, and the keys that seal it.
//!
//! ```text
//! file   = magic(8) file_id(16) chunk+
//! chunk  = XChaCha20-Poly1305(data_key, nonce, aad, plaintext) || tag(16)
//! nonce  = file_id(16) || chunk_index(u64 BE)
//! aad    = tantivy path bytes || chunk_index(u64 BE) || final(1 byte: 1 for the last chunk)
//! ```
//!
//! Every chunk but the last holds exactly [`CHUNK_SIZE`] plaintext bytes; the last holds
//! 0..=[`CHUNK_SIZE`] (0 only for an empty file). The file id is fresh random bytes for
//! every write, so no nonce is ever used twice under one key.

use std::io;
use std::path::Path;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, Tag, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Plaintext bytes per chunk: the unit of encryption and of random-access reads.
pub const CHUNK_SIZE: usize = 16 * 1024;
/// Identifies an encrypted index file and its format version.
pub(crate) const MAGIC: [u8; 8] = *b"HPIDX\0\0\x01";
/// Length of the random per-write file id.
pub(crate) const FILE_ID_LEN: usize = 16;
/// Magic plus file id.
pub(crate) const HEADER_LEN: usize = MAGIC.len() + FILE_ID_LEN;
/// Poly1305 tag length.
pub(crate) const TAG_LEN: usize = 16;
/// On-disk length of a full chunk.
pub(crate) const SEALED_CHUNK_LEN: usize = CHUNK_SIZE + TAG_LEN;
/// Suffix of every encrypted file in the directory.
pub(crate) const DATA_SUFFIX: &str = ".hpx";

const NAME_KEY_LABEL: &[u8] = b"homepost index names v1";
const DATA_KEY_LABEL: &[u8] = b"homepost index data v1";

/// A random per-write file id.
pub(crate) type FileId = [u8; FILE_ID_LEN];

/// The two keys derived from the index key: one names files, one seals their contents.
pub(crate) struct Keys {
    name_key: Zeroizing<[u8; 32]>,
    cipher: XChaCha20Poly1305,
}

impl Keys {
    /// Derives the name key and the data key from the index key with HMAC-SHA256 and
    /// distinct labels, so neither can be computed from the other.
    pub(crate) fn derive(key: &[u8; 32]) -> Keys {
        let name_key = Zeroizing::new(hmac_sha256(key, &[NAME_KEY_LABEL]));
        let data_key = Zeroizing::new(hmac_sha256(key, &[DATA_KEY_LABEL]));
        let cipher = XChaCha20Poly1305::new(&(*data_key).into());
        Keys { name_key, cipher }
    }

    /// The on-disk name stem of a tantivy path: 128 bits of HMAC in hex, so names
    /// reveal nothing about what a file holds.
    pub(crate) fn name_stem(&self, path: &Path) -> String {
        let mac = hmac_sha256(&self.name_key[..], &[path_bytes(path)]);
        hex::encode(&mac[..16])
    }

    /// The on-disk file name of the encrypted file for a tantivy path.
    pub(crate) fn disk_name(&self, path: &Path) -> String {
        let mut name = self.name_stem(path);
        name.push_str(DATA_SUFFIX);
        name
    }

    /// Encrypts one chunk and appends ciphertext and tag to `out`.
    pub(crate) fn seal_chunk(
        &self,
        chunk: ChunkRef<'_>,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .encrypt_inout_detached(&chunk.nonce(), &chunk.aad(), out[start..].as_mut().into())
            .map_err(|_| io::Error::other("index chunk encryption failed"))?;
        out.extend_from_slice(tag.as_slice());
        Ok(())
    }

    /// Decrypts one sealed chunk (ciphertext and tag) in place, leaving the plaintext.
    /// Returns `false`, and leaves `sealed` unspecified, if it does not authenticate.
    pub(crate) fn open_chunk(&self, chunk: ChunkRef<'_>, sealed: &mut Vec<u8>) -> bool {
        let Some(msg_len) = sealed.len().checked_sub(TAG_LEN) else {
            return false;
        };
        let (msg, tag) = sealed.split_at_mut(msg_len);
        let Ok(tag) = Tag::try_from(&*tag) else {
            return false;
        };
        let ok = self
            .cipher
            .decrypt_inout_detached(&chunk.nonce(), &chunk.aad(), msg.into(), &tag)
            .is_ok();
        sealed.truncate(msg_len);
        ok
    }
}

/// Identifies one chunk for its nonce and associated data.
#[derive(Clone, Copy)]
pub(crate) struct ChunkRef<'a> {
    pub(crate) path: &'a Path,
    pub(crate) file_id: &'a FileId,
    pub(crate) index: u64,
    pub(crate) is_final: bool,
}

impl ChunkRef<'_> {
    fn nonce(&self) -> XNonce {
        let mut nonce = [0u8; 24];
        nonce[..FILE_ID_LEN].copy_from_slice(self.file_id);
        nonce[FILE_ID_LEN..].copy_from_slice(&self.index.to_be_bytes());
        nonce.into()
    }

    fn aad(&self) -> Vec<u8> {
        let path = path_bytes(self.path);
        let mut aad = Vec::with_capacity(path.len() + 9);
        aad.extend_from_slice(path);
        aad.extend_from_slice(&self.index.to_be_bytes());
        aad.push(u8::from(self.is_final));
        aad
    }
}

/// Where the chunks of a file lie, computed from its on-disk length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Plaintext length of the file.
    pub(crate) plaintext_len: u64,
    /// Number of chunks (at least one).
    pub(crate) num_chunks: u64,
}

impl Layout {
    /// The layout of a file of `disk_len` bytes, or `None` if no valid file has that
    /// length (shorter than a header and one empty chunk).
    pub(crate) fn from_disk_len(disk_len: u64) -> Option<Layout> {
        let body = disk_len.checked_sub(HEADER_LEN as u64)?;
        if body < TAG_LEN as u64 {
            return None;
        }
        let num_chunks = body.div_ceil(SEALED_CHUNK_LEN as u64);
        // A last chunk too short to hold its tag (a torn write) is no valid length.
        let last = body - (num_chunks - 1) * SEALED_CHUNK_LEN as u64;
        if last < TAG_LEN as u64 {
            return None;
        }
        let plaintext_len = body - TAG_LEN as u64 * num_chunks;
        Some(Layout {
            plaintext_len,
            num_chunks,
        })
    }

    /// The on-disk length of a file holding `plaintext_len` bytes.
    pub(crate) fn disk_len(plaintext_len: u64) -> u64 {
        let num_chunks = plaintext_len.div_ceil(CHUNK_SIZE as u64).max(1);
        HEADER_LEN as u64 + plaintext_len + num_chunks * TAG_LEN as u64
    }

    /// Byte offset in the file of chunk `index`.
    pub(crate) fn chunk_offset(index: u64) -> u64 {
        HEADER_LEN as u64 + index * SEALED_CHUNK_LEN as u64
    }

    /// On-disk length (ciphertext and tag) of chunk `index`.
    pub(crate) fn sealed_len(&self, index: u64) -> usize {
        if index + 1 < self.num_chunks {
            SEALED_CHUNK_LEN
        } else {
            // The last chunk holds what the full chunks before it do not.
            (self.plaintext_len - index * CHUNK_SIZE as u64) as usize + TAG_LEN
        }
    }

    /// Whether chunk `index` is the last one.
    pub(crate) fn is_final(&self, index: u64) -> bool {
        index + 1 == self.num_chunks
    }
}

/// Seals a whole file in memory: header and chunks, with a fresh file id.
pub(crate) fn seal_file(keys: &Keys, path: &Path, data: &[u8]) -> io::Result<Vec<u8>> {
    let file_id = new_file_id()?;
    let mut out = Vec::with_capacity(Layout::disk_len(data.len() as u64) as usize);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&file_id);
    let mut chunks = data.chunks(CHUNK_SIZE).peekable();
    if chunks.peek().is_none() {
        let chunk = ChunkRef {
            path,
            file_id: &file_id,
            index: 0,
            is_final: true,
        };
        keys.seal_chunk(chunk, &[], &mut out)?;
    }
    let mut index = 0u64;
    while let Some(plaintext) = chunks.next() {
        let chunk = ChunkRef {
            path,
            file_id: &file_id,
            index,
            is_final: chunks.peek().is_none(),
        };
        keys.seal_chunk(chunk, plaintext, &mut out)?;
        index += 1;
    }
    Ok(out)
}

/// Opens a whole sealed file held in memory; fails with `InvalidData` if any part of
/// it does not authenticate.
pub(crate) fn open_file(keys: &Keys, path: &Path, sealed: &[u8]) -> io::Result<Vec<u8>> {
    let file_id = parse_header(path, sealed)?;
    let layout = Layout::from_disk_len(sealed.len() as u64).ok_or_else(|| too_short(path))?;
    let mut out = Vec::with_capacity(layout.plaintext_len as usize);
    let mut buf = Vec::with_capacity(SEALED_CHUNK_LEN);
    for index in 0..layout.num_chunks {
        let start = Layout::chunk_offset(index) as usize;
        let end = start + layout.sealed_len(index);
        let Some(sealed_chunk) = sealed.get(start..end) else {
            return Err(too_short(path));
        };
        buf.clear();
        buf.extend_from_slice(sealed_chunk);
        let chunk = ChunkRef {
            path,
            file_id: &file_id,
            index,
            is_final: layout.is_final(index),
        };
        if !keys.open_chunk(chunk, &mut buf) {
            return Err(not_authentic(path, index));
        }
        out.extend_from_slice(&buf);
    }
    Ok(out)
}

/// Checks the magic and returns the file id of a file starting with `header`.
pub(crate) fn parse_header(path: &Path, header: &[u8]) -> io::Result<FileId> {
    let (Some(magic), Some(id)) = (
        header.get(..MAGIC.len()),
        header.get(MAGIC.len()..HEADER_LEN),
    ) else {
        return Err(too_short(path));
    };
    if magic != MAGIC {
        return Err(invalid(path, "is not a Homepost encrypted index file"));
    }
    let mut file_id = [0u8; FILE_ID_LEN];
    file_id.copy_from_slice(id);
    Ok(file_id)
}

/// A fresh random file id.
pub(crate) fn new_file_id() -> io::Result<FileId> {
    let mut id = [0u8; FILE_ID_LEN];
    getrandom::fill(&mut id).map_err(|e| io::Error::other(format!("no random numbers: {e}")))?;
    Ok(id)
}

/// The error for a chunk that failed authentication.
pub(crate) fn not_authentic(path: &Path, index: u64) -> io::Error {
    invalid(
        path,
        &format!("failed authentication at chunk {index}: it is damaged or was altered"),
    )
}

/// The error for a file too short to be valid.
pub(crate) fn too_short(path: &Path) -> io::Error {
    invalid(path, "is truncated")
}

fn invalid(path: &Path, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("encrypted index file {} {what}", path.display()),
    )
}

fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}
