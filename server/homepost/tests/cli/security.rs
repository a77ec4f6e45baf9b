//! Nothing readable at rest, refusals that change nothing, output that mail
//! cannot forge, clear errors, and logs without secrets.

use std::fs;
use std::path::{Path, PathBuf};

use homepost_testing::disk;

use crate::common::{Home, PASS, import, message, sample_mail, succeeded, with_attachment};

#[test]
fn nothing_in_plaintext_at_rest() {
    let home = Home::new();
    home.init();
    let tokens = [
        "zqxsubjecttoken",
        "zqxbodytoken",
        "zqxsender",
        "zqxrecipient",
        "zqxattachmentname",
        "zqxtagtoken",
        "zqxaccountname",
        "zqxpasswordtoken",
        "zqxsmtpsecret",
    ];
    let eml = home.path("secret.eml");
    let mail = with_attachment(
        "Zqxsender Person <zqxsender@zqxdomain.example>",
        "About zqxsubjecttoken",
        "zqxmid@zqxdomain.example",
        "Mon, 15 Jan 2024 09:00:00 +0000",
        "zqxattachmentname.pdf",
        "The zqxbodytoken is here.",
    )
    .replace("bob@example.com", "zqxrecipient@zqxdomain.example");
    fs::write(&eml, mail).unwrap();
    import(&home, std::slice::from_ref(&eml));
    let id = home.ids("zqxbodytoken")[0];
    home.ok(&["tag", &id.to_string(), "+zqxtagtoken"]);
    assert_eq!(home.count("tag:zqxtagtoken"), 1);
    fs::remove_file(&eml).unwrap();
    // An account with its passwords (kept in the store, never shown again).
    succeeded(
        home.cmd(PASS)
            .env("HOMEPOST_INCOMING_PASSWORD", "zqxpasswordtoken")
            .env("HOMEPOST_OUTGOING_PASSWORD", "zqxsmtpsecret")
            .args([
                "account",
                "add",
                "--name",
                "zqxaccountname",
                "--email",
                "me@example.org",
                "--imap",
                "imap.example.org:993",
                "--smtp",
                "smtp.example.org:465",
            ])
            .output()
            .unwrap(),
    );
    let listed = home.ok(&["account", "list", "--json"]);
    assert!(
        listed.contains("zqxaccountname") && !listed.contains("zqxpasswordtoken"),
        "{listed}"
    );

    let files = disk::files(&home.data());
    assert!(
        files.len() > 3,
        "expected store and index files, got {files:?}"
    );
    for f in files {
        let bytes = fs::read(&f).unwrap();
        let lower = bytes.to_ascii_lowercase();
        for t in tokens {
            assert!(
                !lower.windows(t.len()).any(|w| w == t.as_bytes()),
                "{t} found in plaintext in {}",
                f.display()
            );
        }
    }
}

#[test]
fn wrong_passphrase_is_refused_and_changes_nothing() {
    let home = Home::new();
    home.init();
    import(&home, &sample_mail(home.dir.path()));
    let snapshot = |dir: &Path| {
        let mut v: Vec<(PathBuf, Vec<u8>)> = disk::files(dir)
            .into_iter()
            .map(|p| {
                let b = fs::read(&p).unwrap();
                (p, b)
            })
            .collect();
        v.sort();
        v
    };
    let before = snapshot(&home.data());
    for args in [
        &["search", "*"][..],
        &["import", "/nonexistent"],
        &["tag", "1", "+x"],
        &["reindex"],
    ] {
        let out = home.run_with("not the passphrase", args);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one-line reason expected: {err}");
        assert!(
            err.contains("wrong passphrase") || err.contains("no such file"),
            "{err}"
        );
    }
    assert!(
        before == snapshot(&home.data()),
        "a refused command changed the data directory"
    );
}

#[test]
fn crafted_headers_cannot_forge_output_lines_or_escapes() {
    let home = Home::new();
    home.init();
    let eml = home.path("forged.eml");
    // An encoded-word name that decodes to a newline and a fake result line, and a
    // subject with an ANSI escape sequence.
    fs::write(
        &eml,
        message(
            "=?utf-8?q?x=0A_____99__2024-01-01_00:00__Bank?= <a@example.org>",
            "bob@example.com",
            "=?utf-8?q?hello_=1B[31mred?=",
            "forged@example.org",
            "Mon, 15 Jan 2024 09:00:00 +0000",
            "",
            "body",
        ),
    )
    .unwrap();
    import(&home, std::slice::from_ref(&eml));
    let out = home.ok(&["search", "*"]);
    assert_eq!(out.lines().count(), 1, "{out:?}");
    assert!(!out.contains('\u{1b}'), "{out:?}");
    let shown = home.ok(&["show", &home.ids("*")[0].to_string()]);
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    assert!(
        shown.lines().filter(|l| l.starts_with("From:")).count() == 1,
        "{shown}"
    );
}

#[test]
fn clear_errors_without_vault_or_input() {
    let home = Home::new();
    let out = home.run_with(PASS, &["search", "*"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("homepost init"));
    home.init();
    let again = home.run_with(PASS, &["init", "--kdf", "insecure-test-only"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad = home.run_with(PASS, &["search", "(unbalanced"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .to_lowercase()
            .contains("parenthes")
    );
    let missing = home.run_with(PASS, &["show", "999"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no message with id 999"));
    let no_pass = home
        .cmd("")
        .args(["search", "*"])
        .env_remove("HOMEPOST_PASSPHRASE")
        .output()
        .unwrap();
    assert!(!no_pass.status.success());
    assert!(String::from_utf8_lossy(&no_pass.stderr).contains("HOMEPOST_PASSPHRASE"));
}

/// The log at its most verbose shows the import's spans, and neither the
/// passphrase nor a word of the mail.
#[test]
fn debug_logs_have_spans_but_no_secrets_or_mail() {
    let home = Home::new();
    home.init();
    let eml = home.path("log.eml");
    fs::write(
        &eml,
        message(
            "a@example.org",
            "me@example.org",
            "zqxsubjectword",
            "log@example.org",
            "Mon, 1 Jan 2024 10:00:00 +0000",
            "",
            "zqxbodyword",
        ),
    )
    .unwrap();
    let out = home
        .cmd(PASS)
        .env("HOMEPOST_LOG", "debug")
        .args(["import", eml.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("import_batch"), "{log}");
    for secret in [PASS, "zqxsubjectword", "zqxbodyword", "a@example.org"] {
        assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
    }
}
