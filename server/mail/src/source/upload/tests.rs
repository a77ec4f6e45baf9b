//! Uploads of every supported kind, built in memory as a user's tools write them.

use std::io::{Cursor, Write};

use super::super::{ImportSources, RawMessage, SourceError};
use super::{Upload, zip_time};

fn message(subject: &str) -> Vec<u8> {
    format!("From: a@example.org\nSubject: {subject}\n\nbody of {subject}\n").into_bytes()
}

fn mbox(subjects: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in subjects {
        out.extend_from_slice(b"From a@example.org Thu Jan  1 00:00:00 1970\n");
        out.extend_from_slice(&message(s));
        out.push(b'\n');
    }
    out
}

fn upload(name: &str, bytes: Vec<u8>) -> Upload {
    Upload {
        name: name.into(),
        size: bytes.len() as u64,
        reader: Box::new(Cursor::new(bytes)),
    }
}

fn read(uploads: Vec<Upload>) -> (Vec<RawMessage>, Vec<SourceError>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for item in ImportSources::uploads(uploads) {
        match item {
            Ok(m) => ok.push(m),
            Err(e) => errors.push(e),
        }
    }
    (ok, errors)
}

fn subject(m: &RawMessage) -> String {
    let text = String::from_utf8_lossy(&m.raw);
    text.lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default()
        .to_owned()
}

/// The members of a Maildir packed by a Mac's Finder, with the files real
/// Maildirs hold besides mail.
fn maildir_members() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("Mail/cur/1.host:2,S", message("seen")),
        ("Mail/cur/2.host,2,FS", message("flagged comma")),
        ("Mail/new/3.host:2,S", message("new")),
        ("Mail/tmp/4.host", message("in delivery")),
        ("Mail/.Sent/cur/5.host!2,RS", message("sent")),
        ("Mail/dovecot-uidlist", b"3 V1 N4\n".to_vec()),
        ("Mail/maildirfolder", Vec::new()),
        ("__MACOSX/Mail/cur/._1.host:2,S", b"\0\x05\x16\x07".to_vec()),
        ("Mail/.DS_Store", b"\0\0\0\x01Bud1".to_vec()),
        ("notes.txt", b"not mail".to_vec()),
        ("Archive.mbox", mbox(&["old one", "old two"])),
    ]
}

fn expected() -> Vec<(String, Vec<String>)> {
    let t = |s: &str, tags: &[&str]| (s.to_owned(), tags.iter().map(|t| (*t).to_owned()).collect());
    vec![
        t("seen", &["read"]),
        t("flagged comma", &["flagged", "read"]),
        t("new", &[]),
        t("sent", &["replied", "read"]),
        t("old one", &[]),
        t("old two", &[]),
    ]
}

fn tar_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_600_000_000);
        header.set_cksum();
        builder
            .append_data(&mut header, name, data.as_slice())
            .unwrap();
    }
    builder.into_inner().unwrap()
}

fn zip_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::from_date_and_time(2020, 9, 13, 12, 26, 40).unwrap());
    for (name, data) in members {
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn subjects_and_tags(messages: &[RawMessage]) -> Vec<(String, Vec<String>)> {
    messages
        .iter()
        .map(|m| (subject(m), m.tags.clone()))
        .collect()
}

#[test]
fn an_mbox_upload_is_split_and_numbered() {
    let (messages, errors) = read(vec![upload("phone.mbox", mbox(&["one", "two", "three"]))]);
    assert!(errors.is_empty(), "{errors:?}");
    let subjects: Vec<String> = messages.iter().map(subject).collect();
    assert_eq!(subjects, ["one", "two", "three"]);
    assert_eq!(messages[2].mbox_number, Some(3));
    assert!(
        messages[0].origin.starts_with("phone.mbox@0"),
        "{}",
        messages[0].origin
    );
}

#[test]
fn an_eml_upload_is_one_message() {
    let (messages, errors) = read(vec![upload("note.eml", message("only"))]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].origin, "note.eml");
    assert_eq!(messages[0].mbox_number, None);
}

#[test]
fn a_zipped_maildir_keeps_its_flags_and_skips_what_is_not_mail() {
    let (messages, errors) = read(vec![upload("Mail.zip", zip_of(&maildir_members()))]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(subjects_and_tags(&messages), expected());
    assert_eq!(messages[0].origin, "Mail.zip: Mail/cur/1.host:2,S");
    assert_eq!(messages[0].file_time, Some(1_600_000_000));
}

#[test]
fn a_tar_and_a_tar_gz_read_like_the_zip() {
    let tar = tar_of(&maildir_members());
    for (name, bytes) in [("Mail.tar", tar.clone()), ("Mail.tar.gz", gzip(&tar))] {
        let (messages, errors) = read(vec![upload(name, bytes)]);
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert_eq!(subjects_and_tags(&messages), expected(), "{name}");
        assert_eq!(messages[0].file_time, Some(1_600_000_000), "{name}");
    }
}

#[test]
fn a_gzipped_mbox_is_read() {
    let (messages, errors) = read(vec![upload("all.mbox.gz", gzip(&mbox(&["a", "b"])))]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(messages.len(), 2);
}

#[test]
fn a_damaged_zip_is_one_clear_error_and_the_next_upload_still_reads() {
    let mut zip = zip_of(&maildir_members());
    zip.truncate(zip.len() - 30); // loses the end of the central directory
    let (messages, errors) = read(vec![
        upload("broken.zip", zip),
        upload("ok.eml", message("ok")),
    ]);
    assert_eq!(messages.iter().map(subject).collect::<Vec<_>>(), ["ok"]);
    assert_eq!(errors.len(), 1);
    let text = errors[0].to_string();
    assert!(
        text.contains("broken.zip") && text.contains("zip"),
        "{text}"
    );
}

#[test]
fn a_truncated_tar_keeps_what_came_before_the_cut() {
    let tar = tar_of(&maildir_members());
    let cut = tar.len() / 2;
    let (messages, errors) = read(vec![upload("cut.tar", tar[..cut].to_vec())]);
    assert!(!messages.is_empty());
    assert!(messages.len() < expected().len());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].to_string().contains("cut.tar"), "{}", errors[0]);
}

#[test]
fn progress_grows_to_the_total_over_several_uploads() {
    let first = zip_of(&maildir_members());
    let second = mbox(&["x", "y"]);
    let total = (first.len() + second.len()) as u64;
    let sources = ImportSources::uploads(vec![upload("a.zip", first), upload("b.mbox", second)]);
    assert_eq!(sources.total_bytes(), total);
    let progress: Vec<u64> = sources
        .filter_map(Result::ok)
        .map(|m| m.progress_bytes)
        .collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert!(progress.iter().all(|&p| p <= total), "{progress:?}");
    assert_eq!(progress.last(), Some(&total));
}

#[test]
fn zip_times_convert_to_unix_seconds() {
    let t = zip::DateTime::from_date_and_time(2020, 9, 13, 12, 26, 40).unwrap();
    assert_eq!(zip_time(t), Some(1_600_000_000));
    let t = zip::DateTime::from_date_and_time(1980, 1, 1, 0, 0, 0).unwrap();
    assert_eq!(zip_time(t), Some(315_532_800));
}

#[test]
fn formats_homepost_does_not_read_are_refused_by_name() {
    let (messages, errors) = read(vec![upload(
        "mail.7z",
        b"7z\xbc\xaf\x27\x1c\x00\x04rest".to_vec(),
    )]);
    assert!(messages.is_empty());
    let text = errors[0].to_string();
    assert!(
        text.contains("mail.7z") && text.contains("7-Zip") && text.contains("mbox"),
        "{text}"
    );
    let (_, errors) = read(vec![upload("x.tar.gz", gzip(b"\xfd7zXZ\x00 inner xz"))]);
    assert!(errors[0].to_string().contains("xz"), "{}", errors[0]);
}

#[test]
fn loose_files_beside_the_mail_are_passed_over_and_mailboxes_without_extension_read() {
    let members = vec![
        (
            "Inbox.mbox/table_of_contents",
            b"\x00\x01binary index".to_vec(),
        ),
        ("Mail/maildirsize", b"0S\n".to_vec()),
        ("Mail/notes", b"buy milk\n".to_vec()),
        ("Thunderbird/Inbox", mbox(&["tb one", "tb two"])),
        ("MH/1", message("mh one")),
    ];
    let (messages, errors) = read(vec![upload("profile.zip", zip_of(&members))]);
    assert!(errors.is_empty(), "{errors:?}");
    let subjects: Vec<String> = messages.iter().map(subject).collect();
    assert_eq!(subjects, ["tb one", "tb two", "mh one"]);
}

#[test]
fn long_tar_names_are_read_and_huge_ones_refused() {
    // A GNU long name (over 100 bytes) names the member as given.
    let long = format!("Mail/{}/cur/1.box:2,S", "deep".repeat(40));
    let mut builder = tar::Builder::new(Vec::new());
    let data = message("long name");
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    builder
        .append_data(&mut header, &long, data.as_slice())
        .unwrap();
    let tar = builder.into_inner().unwrap();
    let (messages, errors) = read(vec![upload("long.tar", tar)]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(messages[0].origin, format!("long.tar: {long}"));
    assert_eq!(messages[0].tags, ["read"]);

    // A long-name header claiming a gigabyte is refused before it is read.
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::GNULongName);
    header.set_size(1 << 30);
    header.set_cksum();
    let mut bomb = header.as_bytes().to_vec();
    bomb.extend(std::iter::repeat_n(b'a', 4096));
    let (messages, errors) = read(vec![upload("bomb.tar", bomb)]);
    assert!(messages.is_empty());
    assert!(
        errors[0].to_string().contains("header extension"),
        "{}",
        errors[0]
    );
}

#[test]
fn one_archive_member_is_at_most_max_member_bytes() {
    let big = vec![b'x'; usize::try_from(super::MAX_MEMBER_BYTES).unwrap() + 10];
    let mut data = b"Subject: big\n\n".to_vec();
    data.extend_from_slice(&big);
    let (messages, errors) = read(vec![upload(
        "big.tar.gz",
        gzip(&tar_of(&[("big.eml", data)])),
    )]);
    assert!(messages.is_empty());
    assert!(
        matches!(errors[0], SourceError::TooLarge { .. }),
        "{}",
        errors[0]
    );
}

/// A reader that fails in the worst way: it panics.
struct Panicking;

impl std::io::Read for Panicking {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        panic!("a reader bug");
    }
}

impl std::io::Seek for Panicking {
    fn seek(&mut self, _: std::io::SeekFrom) -> std::io::Result<u64> {
        Ok(0)
    }
}

#[test]
fn a_reader_that_dies_is_an_error_not_a_quiet_end() {
    let broken = Upload {
        name: "broken.mbox".into(),
        size: 100,
        reader: Box::new(Panicking),
    };
    let (messages, errors) = read(vec![broken, upload("after.eml", message("after"))]);
    assert_eq!(messages.iter().map(subject).collect::<Vec<_>>(), ["after"]);
    assert_eq!(errors.len(), 1);
    let text = errors[0].to_string();
    assert!(
        text.contains("broken.mbox") && text.contains("stopped unexpectedly"),
        "{text}"
    );
}
