//! A full disk (issue 19), on a small tmpfs mounted for the test (it needs
//! root, as CI has): import, fetch, send, the index and a backup each fail
//! with a clear error and keep what was there; the box stays readable; once
//! space is freed, everything goes on and `check` passes.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{Home, PASS, succeeded};

/// A tmpfs of `megabytes` mounted at a directory, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, megabytes: u32) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m,mode=0700")])
            .arg("tmpfs")
            .arg(at)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs at {} failed: this test needs root",
            at.display()
        );
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// An mbox of `n` messages whose bodies do not compress (random base64).
fn incompressible(path: &Path, from: usize, n: usize) {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64 ^ from as u64;
    let mut text = String::new();
    for i in from..from + n {
        let body: String = (0..9000)
            .map(|j| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let c = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                    [(seed % 64) as usize] as char;
                if j % 76 == 75 { '\n' } else { c }
            })
            .collect();
        text.push_str(&format!(
            "From x Thu Jan  1 00:00:00 1970\nFrom: a{i}@example.org\nSubject: big {i}\n\
Message-ID: <big{i}@example.org>\n\n{body}\n\n"
        ));
    }
    std::fs::write(path, text).unwrap();
}

fn fails_full(out: &std::process::Output, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what} succeeded on a full disk");
    assert!(err.contains("disk is full"), "{what}: {err}");
}

fn stored(home: &Home) -> u64 {
    let out = home.run_with(PASS, &["check", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["messages"].as_u64().unwrap()
}

#[test]
fn a_full_disk_fails_each_write_clearly_and_loses_nothing() {
    let d = homepost_testing::peers::Dovecot::start();
    let home = Home::new();
    let _data = Tmpfs::mount(&home.data(), 24);
    home.init();
    home.add_my_account(&["--smtp", "smtp.example.org:465"]);
    home.add_dovecot_account(&d);
    // Backups go to a disk of 1 MiB: too small for them.
    let target = home.path("backup-disk");
    let _backup = Tmpfs::mount(&target, 1);
    let t = target.display().to_string();
    home.ok(&["backup", "setup", "--dir", &t]);
    // Room kept back, to free later.
    std::fs::write(home.data().join("filler"), vec![7u8; 12 << 20]).unwrap();

    // Import: more than fits.
    let mbox = home.path("big.mbox");
    incompressible(&mbox, 0, 2500);
    let out = home.run_with(PASS, &["import", &mbox.display().to_string()]);
    fails_full(&out, "import");
    // What was stored is whole and readable; the box opens and searches.
    let kept = stored(&home);
    assert!(kept > 0 && kept < 2500, "{kept}");
    succeeded(home.run_with(PASS, &["search", "--count", "*"]));

    // Fetch: the server keeps what could not be stored.
    let mails: Vec<Vec<u8>> = (0..30)
        .map(|i| {
            format!(
                "From: Bob <bob@example.org>\r\nSubject: Fetched {i}\r\nMessage-ID: <f{i}@x>\r\n\r\nfig{i}x\r\n"
            )
            .into_bytes()
        })
        .collect();
    d.deliver_many("alice", &mails);
    let out = home.run_with(PASS, &["fetch", "--timeout", "20"]);
    assert!(!out.status.success(), "fetch succeeded on a full disk");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("disk is full"), "fetch: {err}");
    eprintln!("a fetch onto a full disk: {err}");

    // Send: nothing queued.
    let out = home.send(
        &[
            "--account",
            "1",
            "--to",
            "bob@example.net",
            "--subject",
            "Hi",
        ],
        &vec![b'x'; 1 << 20],
    );
    fails_full(&out, "send");
    let outbox: Vec<Value> = serde_json::from_str(&home.ok(&["outbox", "list", "--json"])).unwrap();
    assert!(outbox.is_empty(), "{outbox:?}");

    // Space freed: the index catches up, check passes, writes go on.
    std::fs::remove_file(home.data().join("filler")).unwrap();
    let text = home.ok(&["check"]);
    assert!(text.contains(&format!("checked {kept} messages")), "{text}");
    assert_eq!(home.count("*") as u64, kept);
    home.ok(&["fetch", "--timeout", "60"]);
    assert_eq!(home.count("Fetched"), 30);

    // A backup onto the disk with no room: refused, the box unchanged.
    let out = home.run_with(PASS, &["backup"]);
    assert!(!out.status.success(), "a backup fit in 1 MiB");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the backup disk at") && err.contains("is full"),
        "backup: {err}"
    );
    eprintln!("a backup onto a full disk: {err}");
    let listed = home.run_with(PASS, &["backup", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap_or(Value::Array(vec![]));
    assert_eq!(listed, Value::Array(vec![]), "a failed backup is listed");
    let small = home.path("small.mbox");
    incompressible(&small, 5000, 5);
    home.ok(&["import", &small.display().to_string()]);
    assert_eq!(home.count("*") as u64, kept + 35);
    home.ok(&["check"]);
}
