//! `homepost check` (issue 19): a sound box passes and says what it checked; a
//! byte changed on disk is found and the command fails.

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
    assert_eq!(report["indexed"].as_u64(), Some(messages), "{report}");
    assert_eq!(report["store"]["damaged_messages"], Value::Array(vec![]));
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
