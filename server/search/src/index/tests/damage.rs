//! A damaged index on disk: rebuilt from the store when opening finds the damage,
//! reported as corruption when a search finds it, never mistaken for an I/O error.

use std::fs;
use std::path::Path;

use homepost_testing::disk::flip_bits;

use super::*;
use crate::Error;
use crate::crypt_dir::{CHUNK_SIZE, EncryptedDirectory};

pub(super) fn disk_path(dir: &Path, tantivy_path: &str) -> std::path::PathBuf {
    EncryptedDirectory::open(dir, &KEY)
        .unwrap()
        .disk_path(Path::new(tantivy_path))
}

pub(super) fn data_files(dir: &Path) -> Vec<std::path::PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hpx"))
        .collect()
}

fn assert_rebuilt(dir: &Path, key: &[u8; 32], old_id: &str) -> SearchIndex {
    let (index, outcome) = SearchIndex::open(dir, key).unwrap();
    assert!(
        matches!(outcome, OpenOutcome::Rebuilt { .. }),
        "{outcome:?}"
    );
    assert_ne!(index.index_id(), old_id);
    assert_eq!(index.num_docs(), 0);
    // The rebuilt index is usable.
    let (mut index, outcome) = {
        drop(index);
        SearchIndex::open(dir, key).unwrap()
    };
    assert_eq!(outcome, OpenOutcome::Opened);
    index.upsert(&fixture()[1]).unwrap();
    index.commit().unwrap();
    assert_eq!(index.count("thanks").unwrap(), 1);
    index
}

/// The index's files on disk but its metadata (`meta.json`, `.managed.json`).
fn segment_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let keep = [disk_path(dir, "meta.json"), disk_path(dir, ".managed.json")];
    data_files(dir)
        .into_iter()
        .filter(|f| !keep.contains(f))
        .collect()
}

#[test]
fn damaged_meta_is_rebuilt() {
    let (tmp, index) = fixture_index();
    let id = index.index_id().to_string();
    drop(index);
    flip_bits(&disk_path(tmp.path(), "meta.json"), 40, 0x40);
    assert_rebuilt(tmp.path(), &KEY, &id);
}

#[test]
fn missing_segment_files_are_rebuilt() {
    let (tmp, index) = fixture_index();
    let id = index.index_id().to_string();
    drop(index);
    for file in segment_files(tmp.path()) {
        fs::remove_file(file).unwrap();
    }
    assert_rebuilt(tmp.path(), &KEY, &id);
}

#[test]
fn damaged_segment_file_is_rebuilt() {
    let (tmp, index) = fixture_index();
    let id = index.index_id().to_string();
    drop(index);
    for file in segment_files(tmp.path()) {
        flip_bits(&file, fs::metadata(&file).unwrap().len() - 1, 0x40);
    }
    assert_rebuilt(tmp.path(), &KEY, &id);
}

#[test]
fn another_key_rebuilds() {
    let (tmp, index) = fixture_index();
    let id = index.index_id().to_string();
    drop(index);
    assert_rebuilt(tmp.path(), &[1; 32], &id);
    // The old files are gone, not left beside the new ones.
    assert!(data_files(tmp.path()).len() < 20);
}

#[test]
fn garbage_meta_is_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = EncryptedDirectory::open(tmp.path(), &KEY).unwrap();
    tantivy::Directory::atomic_write(&dir, Path::new("meta.json"), b"not json").unwrap();
    assert_rebuilt(tmp.path(), &KEY, "");
}

#[test]
fn io_errors_are_not_rebuilds() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    fs::write(&file, b"x").unwrap();
    assert!(matches!(SearchIndex::open(&file, &KEY), Err(Error::Io(_))));
}

#[test]
fn nothing_readable_on_disk() {
    let (tmp, index) = fixture_index();
    drop(index);
    let words: &[&[u8]] = &[
        b"Quarterly",
        b"quarterly",
        b"alice",
        b"example",
        b"inbox",
        b"caf",
        b"budget",
        b"invoice",
        b"tantivy",
        b"a1@x",
        b"report",
        b"jpeg",
    ];
    for entry in fs::read_dir(tmp.path()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let (stem, suffix) = name.split_once('.').unwrap();
        assert!(
            stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit()),
            "{name}"
        );
        assert!(matches!(suffix, "hpx" | "lock"), "{name}");
        let bytes = fs::read(entry.path()).unwrap();
        for word in words {
            assert!(
                !bytes.windows(word.len()).any(|w| w == *word),
                "{name} contains {}",
                String::from_utf8_lossy(word)
            );
        }
    }
}

/// Damage found only while searching (in a chunk the open did not read) is reported
/// as corruption, and clearing the index recovers from it.
#[test]
fn damage_found_by_a_search_is_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut index, _) = SearchIndex::open(tmp.path(), &KEY).unwrap();
    let vocabulary: Vec<String> = (0..4000).map(|i| format!("w{i}x")).collect();
    for id in 0..3000u64 {
        let body: Vec<&str> = (0..40)
            .map(|j| vocabulary[((id * 7919 + j * 104_729) % 4000) as usize].as_str())
            .collect();
        let mut d = fixture()[(id % 10) as usize].clone();
        d.id = id + 100;
        d.body = format!("common {}", body.join(" "));
        index.upsert(&d).unwrap();
    }
    index.commit().unwrap();
    drop(index);
    let (mut index, outcome) = SearchIndex::open(tmp.path(), &KEY).unwrap();
    assert_eq!(outcome, OpenOutcome::Opened);
    // Damage every chunk but the last of every multi-chunk file.
    let chunk = (CHUNK_SIZE + 16) as u64;
    let mut damaged = 0;
    for file in data_files(tmp.path()) {
        let len = fs::metadata(&file).unwrap().len();
        let mut offset = 24 + 10;
        while offset + chunk < len {
            flip_bits(&file, offset, 0x40);
            offset += chunk;
            damaged += 1;
        }
    }
    assert!(damaged > 0);
    let result = index.search(
        "common",
        &SearchOptions {
            sort: Sort::Relevance,
            ..SearchOptions::default()
        },
    );
    assert!(matches!(result, Err(Error::Corrupt(_))), "{result:?}");
    // What the library does: clear, commit, feed again.
    index.clear().unwrap();
    index.commit().unwrap();
    for d in fixture() {
        index.upsert(&d).unwrap();
    }
    index.commit().unwrap();
    assert_eq!(ids(&index, "quarterly"), set(&[1, 2, 10]));
}

/// A process killed during a commit leaves files that commit wrote but never
/// named (here a deletion file). The next writer would write a file of the
/// same name: it must clear the leftovers first, not fail for good.
#[test]
fn leftovers_of_a_killed_commit_do_not_block_the_next() {
    let (tmp, index) = fixture_index();
    drop(index);
    let before: Vec<_> = data_files(tmp.path());
    let saved = tempfile::tempdir().unwrap();
    for f in &before {
        fs::copy(f, saved.path().join(f.file_name().unwrap())).unwrap();
    }
    let (mut index, _) = SearchIndex::open(tmp.path(), &KEY).unwrap();
    index.delete(2).unwrap();
    index.commit().unwrap();
    drop(index);
    // Back to the state before that commit, but with the files it added (and
    // tantivy's list of the files it manages, which it updates before it
    // writes one), as a kill before the new meta.json leaves it.
    let managed = disk_path(tmp.path(), ".managed.json");
    for f in before.iter().filter(|f| **f != managed) {
        fs::copy(saved.path().join(f.file_name().unwrap()), f).unwrap();
    }
    assert!(data_files(tmp.path()).len() > before.len());
    let (mut index, outcome) = SearchIndex::open(tmp.path(), &KEY).unwrap();
    assert_eq!(outcome, OpenOutcome::Opened);
    assert_eq!(index.num_docs(), fixture().len() as u64);
    index.delete(2).unwrap();
    index.commit().unwrap();
    assert_eq!(index.num_docs(), fixture().len() as u64 - 1);
}
