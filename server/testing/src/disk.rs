//! Files at rest: what a test reads to prove that nothing is stored in clear,
//! and the damage it does to prove that corruption is caught.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Every file under `dir`, at any depth, in name order.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The first file under `dir` whose bytes contain `needle`, if any.
pub fn file_containing(dir: &Path, needle: &[u8]) -> Option<PathBuf> {
    files(dir).into_iter().find(|path| {
        fs::read(path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
            .windows(needle.len())
            .any(|w| w == needle)
    })
}

/// Flips the bits of `mask` in the byte at `offset` of `file`, in place.
pub fn flip_bits(file: &Path, offset: u64, mask: u8) {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(file)
        .unwrap_or_else(|e| panic!("open {}: {e}", file.display()));
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, offset).unwrap();
    b[0] ^= mask;
    f.write_all_at(&b, offset).unwrap();
}
