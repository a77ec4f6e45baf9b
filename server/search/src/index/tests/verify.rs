//! `SearchIndex::verify`: every file of the commit read and authenticated, the
//! live documents' ids listed; damage in any chunk of any file is named.

use std::fs;

use homepost_testing::disk::flip_bits;

use super::damage::{data_files, disk_path};
use super::*;
use crate::crypt_dir::CHUNK_SIZE;

/// An index of 3,000 documents, so that its larger files span many chunks.
fn large_index() -> (tempfile::TempDir, SearchIndex) {
    let tmp = tempfile::tempdir().unwrap();
    let (mut index, _) = SearchIndex::open(tmp.path(), &KEY).unwrap();
    for id in 0..3000u64 {
        let mut d = fixture()[(id % 10) as usize].clone();
        d.id = id + 100;
        d.body = format!("common w{}x w{}y", id * 7919 % 4000, id * 104_729 % 4000);
        index.upsert(&d).unwrap();
    }
    index.commit().unwrap();
    (tmp, index)
}

#[test]
fn a_sound_index_lists_every_live_id() {
    let (_tmp, mut index) = fixture_index();
    index.delete(2).unwrap();
    index.commit().unwrap();
    let mut calls = 0;
    let report = index.verify(|_, _| calls += 1);
    assert!(report.files_sound(), "{report:?}");
    // meta.json and six parts of each segment, and a deletion file.
    assert!(report.files_checked >= 8, "{report:?}");
    assert_eq!(calls, report.files_checked);
    let mut want: Vec<u64> = fixture()
        .iter()
        .map(|d| d.id)
        .filter(|&id| id != 2)
        .collect();
    want.sort_unstable();
    assert_eq!(report.ids, want);
}

#[test]
fn a_flipped_bit_in_any_chunk_is_named() {
    let (tmp, index) = large_index();
    assert!(index.verify(|_, _| {}).files_sound());
    let meta = disk_path(tmp.path(), "meta.json");
    let managed = disk_path(tmp.path(), ".managed.json");
    let sealed = (CHUNK_SIZE + 16) as u64;
    let mut tried = 0;
    for file in data_files(tmp.path()) {
        if file == managed {
            continue;
        }
        let len = fs::metadata(&file).unwrap().len();
        // The first chunk, a middle one and the last byte of the file, in turn.
        let mut offsets = vec![24 + 3, len - 1];
        if len > 3 * sealed {
            offsets.push(24 + sealed * (len / sealed / 2) + 5);
        }
        for at in offsets {
            flip_bits(&file, at, 0x08);
            let report = index.verify(|_, _| {});
            assert_eq!(report.files.len(), 1, "byte {at} of {file:?}: {report:?}");
            assert!(report.ids.is_empty());
            if file == meta {
                assert!(report.files[0].starts_with("meta.json"), "{report:?}");
            }
            flip_bits(&file, at, 0x08);
            tried += 1;
        }
    }
    assert!(tried > 10, "{tried}");
    assert!(index.verify(|_, _| {}).files_sound());
}

#[test]
fn missing_and_truncated_files_are_named() {
    let (tmp, index) = large_index();
    let managed = disk_path(tmp.path(), ".managed.json");
    let meta = disk_path(tmp.path(), "meta.json");
    let mut segment: Vec<_> = data_files(tmp.path())
        .into_iter()
        .filter(|f| *f != managed && *f != meta)
        .collect();
    segment.sort_by_key(|f| fs::metadata(f).unwrap().len());
    let biggest = segment.pop().unwrap();
    let smallest = segment.remove(0);
    let len = fs::metadata(&biggest).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&biggest)
        .unwrap()
        .set_len(len - 100)
        .unwrap();
    fs::remove_file(&smallest).unwrap();
    let report = index.verify(|_, _| {});
    assert_eq!(report.files.len(), 2, "{report:?}");
    assert!(report.ids.is_empty());
}

/// Every file on disk is one tantivy manages (and decrypts): none is left
/// behind where a deleted document's words could stay.
fn only_managed_files(dir: &std::path::Path) {
    use tantivy::Directory;
    let directory = EncryptedDirectory::open(dir, &KEY).unwrap();
    let managed = directory
        .atomic_read(std::path::Path::new(".managed.json"))
        .unwrap();
    let paths: Vec<String> = serde_json::from_slice(&managed).unwrap();
    let mut expected = vec![disk_path(dir, ".managed.json")];
    for path in &paths {
        expected.push(disk_path(dir, path));
        directory.atomic_read(std::path::Path::new(path)).unwrap();
    }
    let mut on_disk = data_files(dir);
    on_disk.sort();
    expected.sort();
    expected.dedup();
    assert_eq!(
        on_disk, expected,
        "files on disk that tantivy does not manage"
    );
}

/// Segments whose term dictionary holds `word` in the body, counting the
/// documents marked deleted (which a search leaves out).
fn in_dictionary(index: &mut SearchIndex, word: &str) -> u64 {
    index.reload().unwrap();
    let term = tantivy::Term::from_field_text(index.fields.body, word);
    index.reader.searcher().doc_freq(&term).unwrap()
}

#[test]
fn a_purge_leaves_no_word_of_a_deleted_document() {
    let (tmp, mut index) = large_index();
    let mut secret = fixture()[0].clone();
    secret.id = 99_999;
    secret.body = "zanzibarquokka the only copy".into();
    // In a segment with other documents (a segment left empty is dropped
    // whole), then another commit after it.
    index.upsert(&secret).unwrap();
    for id in 0..50 {
        let mut other = fixture()[1].clone();
        other.id = 90_000 + id;
        index.upsert(&other).unwrap();
    }
    index.commit().unwrap();
    let mut other = fixture()[1].clone();
    other.id = 88_888;
    index.upsert(&other).unwrap();
    index.commit().unwrap();
    assert_eq!(in_dictionary(&mut index, "zanzibarquokka"), 1);
    index.delete(99_999).unwrap();
    index.commit().unwrap();
    assert_eq!(index.count("zanzibarquokka").unwrap(), 0);
    index.purge_deleted().unwrap();
    assert_eq!(in_dictionary(&mut index, "zanzibarquokka"), 0);
    only_managed_files(tmp.path());
    assert_eq!(index.num_docs(), 3051);
    let report = index.verify(|_, _| {});
    assert!(report.files_sound(), "{report:?}");
}
