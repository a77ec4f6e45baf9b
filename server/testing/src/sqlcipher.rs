//! Every page of a SQLCipher database decrypted with its raw key, free pages
//! and the write-ahead log included: what a thief holding the key could read
//! of deleted data, which SQL cannot show.
//!
//! SQLCipher 4's defaults, as the store uses them: 4096-byte pages, each
//! encrypted with AES-256-CBC under the raw key, its IV in the 80 reserved
//! bytes at the page's end (16 of IV, 64 of HMAC-SHA512); page 1 begins with
//! the 16-byte salt in the clear.

use std::path::Path;

use aes::cipher::{Array, BlockCipherDecrypt, KeyInit};

const PAGE: usize = 4096;
const RESERVE: usize = 80;
const SALT: usize = 16;
/// A WAL file's header, and each frame's.
const WAL_HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

fn decrypt_page(cipher: &aes::Aes256, page: &[u8], first: bool) -> Vec<u8> {
    let start = if first { SALT } else { 0 };
    let end = PAGE - RESERVE;
    let mut prev: [u8; 16] = page[end..end + 16].try_into().unwrap_or([0; 16]);
    let mut out = Vec::with_capacity(PAGE);
    for block in page[start..end].chunks_exact(16) {
        let mut b = Array::try_from(block).unwrap_or_default();
        cipher.decrypt_block(&mut b);
        for (p, c) in b.iter().zip(prev) {
            out.push(p ^ c);
        }
        prev.copy_from_slice(block);
    }
    out
}

/// The decrypted content of every page of the database file `db` and of every
/// frame of its `-wal` file, if there is one.
pub fn decrypted_pages(db: &Path, key: &[u8; 32]) -> Vec<Vec<u8>> {
    let cipher = aes::Aes256::new_from_slice(key).expect("a 32-byte key");
    let file = std::fs::read(db).unwrap_or_else(|e| panic!("read {}: {e}", db.display()));
    let mut pages: Vec<Vec<u8>> = file
        .chunks_exact(PAGE)
        .enumerate()
        .map(|(i, page)| decrypt_page(&cipher, page, i == 0))
        .collect();
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(wal) = std::fs::read(&wal)
        && wal.len() > WAL_HEADER
    {
        for frame in wal[WAL_HEADER..].chunks_exact(FRAME_HEADER + PAGE) {
            let page_no = u32::from_be_bytes(frame[..4].try_into().unwrap_or([0; 4]));
            pages.push(decrypt_page(&cipher, &frame[FRAME_HEADER..], page_no == 1));
        }
    }
    pages
}

/// Whether `needle` appears in any decrypted page of `db` (or its WAL).
pub fn holds(db: &Path, key: &[u8; 32], needle: &[u8]) -> bool {
    decrypted_pages(db, key)
        .iter()
        .any(|p| p.windows(needle.len()).any(|w| w == needle))
}
