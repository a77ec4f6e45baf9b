use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use homepost_testing::disk::flip_bits;
use proptest::prelude::*;
use tantivy::Directory;
use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{INDEX_WRITER_LOCK, META_LOCK, TerminatingWrite, WatchCallback};

use super::format::{HEADER_LEN, Layout, SEALED_CHUNK_LEN};
use super::{CHUNK_SIZE, EncryptedDirectory};

const C: usize = CHUNK_SIZE;
const SIZES: [usize; 7] = [0, 1, C - 1, C, C + 1, 3 * C, 3 * C + 5];
const KEY: [u8; 32] = [7; 32];

fn directory() -> (tempfile::TempDir, EncryptedDirectory) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = EncryptedDirectory::open(tmp.path(), &KEY).unwrap();
    (tmp, dir)
}

/// Deterministic bytes that differ from chunk to chunk.
fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect()
}

/// Writes `bytes` through `open_write`, in pieces of the given sizes (cycled).
fn write_file(dir: &EncryptedDirectory, path: &str, bytes: &[u8], pieces: &[usize]) {
    let mut w = dir.open_write(Path::new(path)).unwrap();
    let mut rest = bytes;
    let mut i = 0;
    while !rest.is_empty() {
        let n = pieces
            .get(i % pieces.len().max(1))
            .copied()
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        w.write_all(&rest[..n]).unwrap();
        rest = &rest[n..];
        i += 1;
    }
    w.terminate().unwrap();
}

fn read_all(dir: &EncryptedDirectory, path: &str) -> io::Result<Vec<u8>> {
    let handle = dir
        .get_file_handle(Path::new(path))
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(handle.read_bytes(0..handle.len())?.as_slice().to_vec())
}

fn open_error_kind(dir: &EncryptedDirectory, path: &str) -> Option<io::ErrorKind> {
    match dir.get_file_handle(Path::new(path)) {
        Ok(_) => None,
        Err(OpenReadError::IoError { io_error, .. }) => Some(io_error.kind()),
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

fn all_disk_bytes(root: &Path) -> Vec<(String, Vec<u8>)> {
    fs::read_dir(root)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any range of any file reads back exactly the plaintext, whatever the write
    /// pattern, and the on-disk size follows the format.
    #[test]
    fn round_trip_with_random_ranges(
        size_index in 0..SIZES.len(),
        seed in any::<u8>(),
        pieces in proptest::collection::vec(1usize..(2 * C), 1..5),
        ranges in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 1..24),
    ) {
        let (_tmp, dir) = directory();
        let len = SIZES[size_index];
        let plain = data(len, seed);
        write_file(&dir, "f.idx", &plain, &pieces);
        let disk_len = fs::metadata(dir.disk_path(Path::new("f.idx"))).unwrap().len();
        prop_assert_eq!(disk_len, Layout::disk_len(len as u64));
        let handle = dir.get_file_handle(Path::new("f.idx")).unwrap();
        prop_assert_eq!(handle.len(), len);
        for (a, b) in ranges {
            let (a, b) = (a.index(len + 1), b.index(len + 1));
            let range = a.min(b)..a.max(b);
            let got = handle.read_bytes(range.clone()).unwrap();
            prop_assert_eq!(got.as_slice(), &plain[range]);
        }
        prop_assert_eq!(read_all(&dir, "f.idx").unwrap(), plain);
    }

    /// The length computed from the on-disk size is the plaintext length.
    #[test]
    fn layout_inverts_disk_len(len in 0u64..(10 * C as u64)) {
        let layout = Layout::from_disk_len(Layout::disk_len(len)).unwrap();
        prop_assert_eq!(layout.plaintext_len, len);
        prop_assert_eq!(layout.num_chunks, len.div_ceil(C as u64).max(1));
    }
}

#[test]
fn atomic_round_trip_at_every_size() {
    let (_tmp, dir) = directory();
    for (i, &len) in SIZES.iter().enumerate() {
        let path = format!("atomic{i}.json");
        let plain = data(len, i as u8);
        dir.atomic_write(Path::new(&path), &plain).unwrap();
        assert_eq!(
            dir.atomic_read(Path::new(&path)).unwrap(),
            plain,
            "size {len}"
        );
        // Atomic and streamed files share one format.
        assert_eq!(read_all(&dir, &path).unwrap(), plain);
        // Rewriting replaces, with a fresh file id.
        let before = fs::read(dir.disk_path(Path::new(&path))).unwrap();
        dir.atomic_write(Path::new(&path), &plain).unwrap();
        let after = fs::read(dir.disk_path(Path::new(&path))).unwrap();
        assert_ne!(before[8..HEADER_LEN], after[8..HEADER_LEN]);
    }
    // No temporary file is left behind.
    assert!(
        all_disk_bytes(dir.root())
            .iter()
            .all(|(name, _)| Path::new(name).extension().is_some_and(|e| e == "hpx"))
    );
}

#[test]
fn flipped_byte_is_detected_only_where_read() {
    let (_tmp, dir) = directory();
    let plain = data(3 * C + 5, 1);
    write_file(&dir, "f.pos", &plain, &[4096]);
    let file = dir.disk_path(Path::new("f.pos"));
    // Damage chunk 1.
    flip_bits(&file, (HEADER_LEN + SEALED_CHUNK_LEN + 100) as u64, 0x01);
    let handle = dir.get_file_handle(Path::new("f.pos")).unwrap();
    assert_eq!(handle.read_bytes(0..C).unwrap().as_slice(), &plain[..C]);
    let err = handle.read_bytes(C + 10..C + 20).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("f.pos"), "{err}");
    assert!(handle.read_bytes(0..3 * C).is_err());
    assert!(dir.atomic_read(Path::new("f.pos")).is_err());
}

#[test]
fn flipped_header_or_tag_is_detected() {
    for offset in [0u64, 9, (HEADER_LEN + 5 + 16) as u64 - 1] {
        let (_tmp, dir) = directory();
        write_file(&dir, "f", b"hello", &[]);
        flip_bits(&dir.disk_path(Path::new("f")), offset, 0x01);
        assert_eq!(
            open_error_kind(&dir, "f"),
            Some(io::ErrorKind::InvalidData),
            "offset {offset}"
        );
    }
}

#[test]
fn truncated_file_is_detected() {
    let (_tmp, dir) = directory();
    let plain = data(2 * C + 100, 2);
    write_file(&dir, "f", &plain, &[C]);
    let file = dir.disk_path(Path::new("f"));
    let full = fs::read(&file).unwrap();
    // Cut inside the last chunk, at the chunk boundary (dropping the final chunk
    // entirely), and to nothing but a header.
    for len in [
        full.len() - 1,
        full.len() - (100 + 16),
        HEADER_LEN + 16 - 1,
        HEADER_LEN,
        3,
    ] {
        fs::write(&file, &full[..len]).unwrap();
        assert_eq!(
            open_error_kind(&dir, "f"),
            Some(io::ErrorKind::InvalidData),
            "length {len}"
        );
        assert!(dir.atomic_read(Path::new("f")).is_err());
    }
}

#[test]
fn chunk_from_another_file_is_detected() {
    let (_tmp, dir) = directory();
    let a = data(3 * C, 3);
    let b = data(3 * C, 4);
    write_file(&dir, "a", &a, &[]);
    write_file(&dir, "b", &b, &[]);
    let (fa, fb) = (dir.disk_path(Path::new("a")), dir.disk_path(Path::new("b")));
    let mut bytes_a = fs::read(&fa).unwrap();
    let bytes_b = fs::read(&fb).unwrap();
    let chunk1 = HEADER_LEN + SEALED_CHUNK_LEN..HEADER_LEN + 2 * SEALED_CHUNK_LEN;
    bytes_a[chunk1.clone()].copy_from_slice(&bytes_b[chunk1]);
    fs::write(&fa, &bytes_a).unwrap();
    let handle = dir.get_file_handle(Path::new("a")).unwrap();
    assert!(handle.read_bytes(0..10).is_ok());
    assert_eq!(
        handle.read_bytes(C..C + 1).unwrap_err().kind(),
        io::ErrorKind::InvalidData
    );
    // Chunks swapped within one file are detected too.
    let mut swapped = fs::read(&fb).unwrap();
    let (c0, c1) =
        swapped[HEADER_LEN..HEADER_LEN + 2 * SEALED_CHUNK_LEN].split_at_mut(SEALED_CHUNK_LEN);
    c0.swap_with_slice(c1);
    fs::write(&fb, &swapped).unwrap();
    let handle = dir.get_file_handle(Path::new("b")).unwrap();
    assert!(handle.read_bytes(0..1).is_err());
}

#[test]
fn renamed_file_is_detected() {
    let (_tmp, dir) = directory();
    write_file(&dir, "old.idx", b"some index bytes", &[]);
    dir.atomic_write(Path::new("meta.json"), b"{}").unwrap();
    // Put one file where another is expected.
    fs::rename(
        dir.disk_path(Path::new("old.idx")),
        dir.disk_path(Path::new("new.idx")),
    )
    .unwrap();
    assert_eq!(
        open_error_kind(&dir, "new.idx"),
        Some(io::ErrorKind::InvalidData)
    );
    fs::copy(
        dir.disk_path(Path::new("meta.json")),
        dir.disk_path(Path::new(".managed.json")),
    )
    .unwrap();
    let err = dir.atomic_read(Path::new(".managed.json")).unwrap_err();
    assert!(
        matches!(err, OpenReadError::IoError { io_error, .. } if io_error.kind() == io::ErrorKind::InvalidData)
    );
}

#[test]
fn wrong_key_cannot_read() {
    let (tmp, dir) = directory();
    dir.atomic_write(Path::new("meta.json"), b"{\"segments\":[]}")
        .unwrap();
    let other = EncryptedDirectory::open(tmp.path(), &[8; 32]).unwrap();
    // Another key does not even find the file under its name...
    assert!(!other.exists(Path::new("meta.json")).unwrap());
    // ...and cannot decrypt it where it is.
    fs::copy(
        dir.disk_path(Path::new("meta.json")),
        other.disk_path(Path::new("meta.json")),
    )
    .unwrap();
    assert!(other.atomic_read(Path::new("meta.json")).is_err());
}

#[test]
fn no_plaintext_on_disk() {
    let (_tmp, dir) = directory();
    let token = b"zebrasecretword";
    let mut plain = Vec::new();
    for _ in 0..3000 {
        plain.extend_from_slice(token);
        plain.push(b' ');
    }
    write_file(&dir, "secret.term", &plain, &[1000]);
    dir.atomic_write(Path::new("meta.json"), &plain).unwrap();
    write_file(&dir, "empty", b"", &[]);
    for (name, bytes) in all_disk_bytes(dir.root()) {
        assert!(!contains(&bytes, token), "{name} holds plaintext");
        assert!(!contains(&bytes, b"zebra"), "{name} holds plaintext");
        assert!(!name.contains("secret") && !name.contains("meta") && !name.contains("term"));
        let stem = name.strip_suffix(".hpx").unwrap();
        assert_eq!(stem.len(), 32);
        assert!(stem.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}

#[test]
fn directory_contract() {
    let (_tmp, dir) = directory();
    let p = Path::new("seg.store");
    assert!(!dir.exists(p).unwrap());
    assert!(matches!(
        dir.get_file_handle(p),
        Err(OpenReadError::FileDoesNotExist(_))
    ));
    assert!(matches!(
        dir.atomic_read(p),
        Err(OpenReadError::FileDoesNotExist(_))
    ));
    assert!(matches!(
        dir.delete(p),
        Err(DeleteError::FileDoesNotExist(_))
    ));
    write_file(&dir, "seg.store", b"x", &[]);
    assert!(dir.exists(p).unwrap());
    assert!(matches!(
        dir.open_write(p),
        Err(OpenWriteError::FileAlreadyExists(_))
    ));
    // A handle keeps its data readable after the file is deleted.
    let handle = dir.get_file_handle(p).unwrap();
    dir.delete(p).unwrap();
    assert!(!dir.exists(p).unwrap());
    assert_eq!(handle.read_bytes(0..1).unwrap().as_slice(), b"x");
    // Reads outside the file are errors, not panics.
    assert!(handle.read_bytes(0..2).is_err());
    #[allow(clippy::reversed_empty_ranges)]
    let backwards = 1..0;
    assert!(handle.read_bytes(backwards).is_err());
    dir.sync_directory().unwrap();
    // An unterminated write never reads back as a valid file.
    {
        let mut w = dir.open_write(Path::new("partial")).unwrap();
        w.write_all(&data(C + 1, 0)).unwrap();
        w.flush().unwrap();
    }
    assert!(dir.get_file_handle(Path::new("partial")).is_err());
}

#[test]
fn locks_are_exclusive_and_released_on_drop() {
    let (tmp, dir) = directory();
    let held = dir.acquire_lock(&INDEX_WRITER_LOCK).unwrap();
    // Another handle on the directory (as another process would open it).
    let other = EncryptedDirectory::open(tmp.path(), &KEY).unwrap();
    assert!(matches!(
        other.acquire_lock(&INDEX_WRITER_LOCK),
        Err(LockError::LockBusy)
    ));
    // Another lock is independent.
    drop(other.acquire_lock(&META_LOCK).unwrap());
    drop(held);
    drop(other.acquire_lock(&INDEX_WRITER_LOCK).unwrap());
}

#[test]
fn watchers_hear_commits_to_meta_json() {
    let (_tmp, dir) = directory();
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let _handle = dir
        .watch(WatchCallback::new(move || {
            let _ = tx.lock().unwrap().send(());
        }))
        .unwrap();
    dir.atomic_write(Path::new(".managed.json"), b"[]").unwrap();
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
    dir.clone()
        .atomic_write(Path::new("meta.json"), b"{}")
        .unwrap();
    rx.recv_timeout(Duration::from_secs(5)).unwrap();
}

#[test]
fn removes_only_its_own_files() {
    let (_tmp, dir) = directory();
    write_file(&dir, "a", b"a", &[]);
    dir.atomic_write(Path::new("meta.json"), b"{}").unwrap();
    let lock = dir.acquire_lock(&INDEX_WRITER_LOCK).unwrap();
    fs::write(dir.root().join("README"), b"not ours").unwrap();
    assert_eq!(dir.remove_index_files().unwrap(), 2);
    drop(lock);
    let mut names: Vec<String> = all_disk_bytes(dir.root())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    names.sort();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"README".to_string()));
    assert!(
        names
            .iter()
            .any(|n| Path::new(n).extension().is_some_and(|e| e == "lock"))
    );
}

#[test]
fn torn_last_chunk_length_is_invalid_not_an_underflow() {
    for short in 1..16u64 {
        let len = (HEADER_LEN + SEALED_CHUNK_LEN) as u64 + short;
        assert!(Layout::from_disk_len(len).is_none(), "length {len}");
    }
    let ok = Layout::from_disk_len((HEADER_LEN + SEALED_CHUNK_LEN + 16) as u64).unwrap();
    assert_eq!(ok.num_chunks, 2);
    assert_eq!(ok.sealed_len(1), 16);
}
