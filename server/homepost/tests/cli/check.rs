//! `homepost check`, `repair`, `delete` and `trash` (issue 19): a sound box
//! passes and says what it checked; a byte changed on disk is found and the
//! command fails; a damaged index is rebuilt by `repair`; mail deleted for good
//! is gone.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};

use serde_json::Value;

use crate::common::{Home, PASS, import, sample_mail};

#[test]
fn check_passes_on_a_sound_box_and_fails_on_a_changed_byte() {
    let home = Home::new();
    home.init();
    import(&home, &sample_mail(home.dir.path()));

    let report: Value = serde_json::from_str(&home.ok(&["check", "--json"])).unwrap();
    let messages = report["messages"].as_u64().unwrap();
    assert!(messages > 0, "{report}");
    assert_eq!(
        report["index"]["documents"].as_u64(),
        Some(messages),
        "{report}"
    );
    assert!(
        report["index"]["files_checked"].as_u64().unwrap() >= 7,
        "{report}"
    );
    assert_eq!(report["store"]["damaged_messages"], Value::Array(vec![]));
    assert_eq!(report["vault"], Value::Null);
    let text = home.ok(&["check"]);
    assert!(
        text.contains(&format!("checked {messages} messages")),
        "{text}"
    );

    // One byte in the middle of the encrypted database, as a failing card
    // changes it: SQLCipher's page authentication finds it.
    let db = home.data().join("store.db");
    let len = fs::metadata(&db).unwrap().len();
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&db)
        .unwrap();
    let at = len / 2;
    let mut byte = [0u8];
    f.seek(SeekFrom::Start(at)).unwrap();
    f.read_exact(&mut byte).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(&[byte[0] ^ 0x01]).unwrap();
    drop(f);

    let out = home.run_with(PASS, &["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("page authentication failed") || stderr.contains("damage"),
        "stdout: {stdout}\nstderr: {stderr}"
    );
}

/// Flips one bit in the middle of `path`.
fn flip(path: &std::path::Path) {
    let len = fs::metadata(path).unwrap().len();
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut byte = [0u8];
    f.seek(SeekFrom::Start(len / 2)).unwrap();
    f.read_exact(&mut byte).unwrap();
    f.seek(SeekFrom::Start(len / 2)).unwrap();
    f.write_all(&[byte[0] ^ 0x10]).unwrap();
}

#[test]
fn a_damaged_index_file_is_found_and_repair_rebuilds_it() {
    let home = Home::new();
    home.init();
    // Enough mail for an index file of several chunks: damage in a chunk the
    // opening does not read is found only by the check.
    import(&home, &[homepost_testing::corpus::path("mail/deltachat")]);
    let before = home.count("*");
    // The largest file of the index: a segment's postings or store.
    let biggest = fs::read_dir(home.data().join("index"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hpx"))
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .unwrap();
    flip(&biggest);
    let out = home.run_with(PASS, &["check", "--json"]);
    assert!(!out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = report["index"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{report}");
    assert!(
        files[0].as_str().unwrap().contains("authentication"),
        "{report}"
    );
    let text = home.run_with(PASS, &["check"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("`homepost repair` would"), "{text}");
    assert!(text.contains("rebuild it from the store"), "{text}");

    let repaired: Value = serde_json::from_str(&home.ok(&["repair", "--json"])).unwrap();
    assert_eq!(repaired["index_rebuilt"], Value::Bool(true), "{repaired}");
    assert_eq!(repaired["after"]["index"]["files"], Value::Array(vec![]));
    home.ok(&["check"]);
    assert_eq!(home.count("*"), before);
}

#[test]
fn delete_and_the_trash_remove_mail_for_good() {
    let home = Home::new();
    home.init();
    import(&home, &sample_mail(home.dir.path()));
    let ids = home.ids("*");
    assert!(ids.len() >= 3);
    let before = ids.len();
    let out = home.ok(&["delete", &ids[0].to_string()]);
    assert!(out.contains("deleted 1 messages for good"), "{out}");
    home.ok(&["tag", &ids[1].to_string(), "+trash"]);
    assert_eq!(home.ok(&["trash", "days"]).trim(), "30");
    // Put in the trash just now: not older than a day.
    let out = home.ok(&["trash", "empty", "--older-than", "1"]);
    assert!(out.contains("deleted 0 messages"), "{out}");
    let out = home.ok(&["trash", "empty"]);
    assert!(out.contains("deleted 1 messages"), "{out}");
    home.ok(&["trash", "days", "7"]);
    assert_eq!(home.ok(&["trash", "days"]).trim(), "7");
    assert_eq!(home.count("*"), before - 2);
    let out = home.run_with(PASS, &["show", &ids[0].to_string()]);
    assert!(!out.status.success());
    home.ok(&["check"]);
}
