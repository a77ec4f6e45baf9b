//! End-to-end tests of the `homepost` binary: real SQLCipher, real tantivy, real files.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const PASS: &str = "correct horse battery staple";

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn cmd(&self, pass: &str) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_homepost"));
        c.env("HOMEPOST_DATA", self.data())
            .env("HOMEPOST_PASSPHRASE", pass)
            .env_remove("HOMEPOST_NEW_PASSPHRASE")
            .stdin(Stdio::null());
        c
    }

    fn run_with(&self, pass: &str, args: &[&str]) -> Output {
        self.cmd(pass).args(args).output().unwrap()
    }

    /// Runs a command that must succeed and returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run_with(PASS, args);
        assert!(
            out.status.success(),
            "homepost {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn init(&self) {
        self.ok(&["init", "--kdf", "insecure-test-only"]);
    }

    fn count(&self, query: &str) -> usize {
        self.ok(&["search", "--count", query])
            .trim()
            .parse()
            .unwrap()
    }

    fn search_json(&self, query: &str) -> Vec<Value> {
        let out = self.ok(&["search", "--json", query]);
        match serde_json::from_str(&out).unwrap() {
            Value::Array(a) => a,
            other => panic!("not an array: {other}"),
        }
    }

    fn ids(&self, query: &str) -> Vec<i64> {
        self.search_json(query)
            .iter()
            .map(|v| v["id"].as_i64().unwrap())
            .collect()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn message(
    from: &str,
    to: &str,
    subject: &str,
    mid: &str,
    date: &str,
    extra: &str,
    body: &str,
) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{mid}>\r\nDate: {date}\r\nMIME-Version: 1.0\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

fn with_attachment(
    from: &str,
    subject: &str,
    mid: &str,
    date: &str,
    file: &str,
    body: &str,
) -> String {
    format!(
        "From: {from}\r\nTo: bob@example.com\r\nSubject: {subject}\r\nMessage-ID: <{mid}>\r\nDate: {date}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"{file}\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfsj6IK\r\n--b1--\r\n"
    )
}

/// A Maildir, an mbox and an .eml with known contents.
fn sample_mail(root: &Path) -> Vec<PathBuf> {
    let md = root.join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(md.join(sub)).unwrap();
    }
    fs::write(
        md.join("cur/1700000000.1.host:2,S"),
        with_attachment(
            "Alice <alice@example.org>",
            "The quarterly report",
            "report@example.org",
            "Mon, 15 Jan 2024 09:00:00 +0000",
            "q1-figures.pdf",
            "Here is the quarterly report you asked for.",
        ),
    )
    .unwrap();
    fs::write(
        md.join("cur/1700000001.2.host:2,FS"),
        message(
            "Bob <bob@example.com>",
            "alice@example.org",
            "Re: The quarterly report",
            "reply@example.com",
            "Tue, 16 Jan 2024 10:00:00 +0000",
            "In-Reply-To: <report@example.org>\r\nReferences: <report@example.org>\r\n",
            "Thanks, the quarterly report looks fine.",
        ),
    )
    .unwrap();
    fs::write(
        md.join("new/1700000002.3.host"),
        message(
            "Alice <alice@example.org>",
            "bob@example.com",
            "Old news",
            "old@example.org",
            "Fri, 01 Dec 2023 08:00:00 +0000",
            "",
            "Nothing about reports here, just a quarterly gardening note.",
        ),
    )
    .unwrap();
    let mbox = root.join("archive.mbox");
    let mut m = String::new();
    m.push_str("From carol@example.net Sat Mar  2 12:00:00 2024\n");
    m.push_str(&message(
        "Carol <carol@example.net>",
        "bob@example.com",
        "Spring picnic",
        "picnic@example.net",
        "Sat, 02 Mar 2024 12:00:00 +0000",
        "",
        "Bring sandwiches.\n>From the park, we walk home.",
    ));
    m.push_str("\nFrom dave@example.net Sun Apr 14 12:00:00 2024\n");
    m.push_str(&message(
        "Dave <dave@example.net>",
        "bob@example.com",
        "Big file",
        "big@example.net",
        "Sun, 14 Apr 2024 12:00:00 +0000",
        "",
        &"x".repeat(1_200_000),
    ));
    fs::write(&mbox, m).unwrap();
    let eml = root.join("single.eml");
    fs::write(
        &eml,
        message(
            "Eve <eve@example.com>",
            "bob@example.com",
            "May meeting",
            "may@example.com",
            "Wed, 15 May 2024 15:00:00 +0000",
            "",
            "See you at the meeting.",
        ),
    )
    .unwrap();
    vec![md, mbox, eml]
}

fn import(home: &Home, paths: &[PathBuf]) -> String {
    let mut args = vec!["import".to_string()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    home.ok(&args)
}

#[test]
fn import_search_show_tag_reindex_passwd() {
    let home = Home::new();
    home.init();
    let paths = sample_mail(home.dir.path());
    let summary = import(&home, &paths);
    assert!(
        summary.starts_with("imported 6, duplicates 0, malformed 0"),
        "{summary}"
    );

    // Importing the same files again stores nothing new.
    let again = import(&home, &paths);
    assert!(again.starts_with("imported 0, duplicates 6"), "{again}");

    assert_eq!(home.count("*"), 6);
    assert_eq!(home.count("from:alice@example.org"), 2);
    assert_eq!(home.count("\"quarterly report\""), 2);
    assert_eq!(home.count("quarterly"), 3);
    assert_eq!(
        home.count("from:alice@example.org \"quarterly report\" has:attachment after:2024-01-01"),
        1
    );
    assert_eq!(home.count("att:figures"), 1);
    assert_eq!(home.count("date:2024-03..2024-05"), 3);
    assert_eq!(home.count("before:2024-01-01"), 1);
    assert_eq!(home.count("size:>1M"), 1);
    assert_eq!(home.count("is:unread"), 4);
    assert_eq!(home.count("is:flagged"), 1);
    assert_eq!(home.count("tag:inbox -is:read"), 4);
    assert_eq!(home.count("mid:picnic@example.net"), 1);
    assert_eq!(home.count("(from:carol OR from:dave) -subject:big"), 1);
    // The mboxrd ">From " line was unquoted before storing.
    let picnic = home.ids("mid:picnic@example.net")[0];
    let shown = home.ok(&["show", &picnic.to_string()]);
    assert!(shown.contains("\nFrom the park"), "{shown}");

    // JSON results carry the documented fields, newest first.
    let results = home.search_json("tag:inbox");
    let dates: Vec<i64> = results
        .iter()
        .map(|r| r["timestamp"].as_i64().unwrap())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted);
    for key in [
        "id",
        "message_id",
        "thread_id",
        "date",
        "from",
        "to",
        "subject",
        "tags",
        "snippet",
    ] {
        assert!(results[0].get(key).is_some(), "missing {key}");
    }
    let oldest = home.ok(&["search", "--json", "--sort", "oldest", "*"]);
    let oldest: Vec<Value> = serde_json::from_str(&oldest).unwrap();
    assert_eq!(oldest[0]["subject"], "Old news");

    // show: headers and safe body.
    let report = home.ids("subject:quarterly -subject:re")[0];
    let shown = home.ok(&["show", &report.to_string()]);
    assert!(shown.contains("From: Alice <alice@example.org>"), "{shown}");
    assert!(
        shown.contains("Attachment: q1-figures.pdf (application/pdf"),
        "{shown}"
    );
    assert!(shown.contains("Here is the quarterly report"), "{shown}");

    // thread: the report and its reply.
    let thread = home.ok(&["thread", "--json", &report.to_string()]);
    let thread: Vec<Value> = serde_json::from_str(&thread).unwrap();
    assert_eq!(thread.len(), 2);
    assert_eq!(thread[1]["subject"], "Re: The quarterly report");

    // tag: add and remove, visible to search at once.
    let out = home.ok(&["tag", &report.to_string(), "+work", "-inbox"]);
    assert!(out.contains("work") && !out.contains("inbox"), "{out}");
    assert_eq!(home.ids("tag:work"), vec![report]);
    assert_eq!(home.count("tag:inbox"), 5);

    // reindex gives the same answers.
    assert!(home.ok(&["reindex"]).contains("reindexed 6"));
    assert_eq!(home.ids("tag:work"), vec![report]);
    assert_eq!(home.count("quarterly"), 3);

    // passwd: the old passphrase stops working, the new one opens the same data.
    let out = home
        .cmd(PASS)
        .args(["passwd", "--kdf", "insecure-test-only"])
        .env("HOMEPOST_NEW_PASSPHRASE", "a new passphrase")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let old = home.run_with(PASS, &["search", "--count", "*"]);
    assert!(!old.status.success());
    assert!(String::from_utf8_lossy(&old.stderr).contains("wrong passphrase"));
    let new = home.run_with("a new passphrase", &["search", "--count", "*"]);
    assert_eq!(String::from_utf8_lossy(&new.stdout).trim(), "6");
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

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
    let out = home
        .cmd(PASS)
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
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = home.ok(&["account", "list", "--json"]);
    assert!(
        listed.contains("zqxaccountname") && !listed.contains("zqxpasswordtoken"),
        "{listed}"
    );

    let files = all_files(&home.data());
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
        let mut v: Vec<(PathBuf, Vec<u8>)> = all_files(dir)
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

#[test]
fn damaged_or_missing_index_is_rebuilt() {
    let home = Home::new();
    home.init();
    import(&home, &sample_mail(home.dir.path()));
    assert_eq!(home.count("quarterly"), 3);
    // Garble every index file.
    for f in all_files(&home.data().join("index")) {
        let mut b = fs::read(&f).unwrap();
        for byte in b.iter_mut().skip(30).step_by(97) {
            *byte ^= 0x55;
        }
        fs::write(&f, b).unwrap();
    }
    assert_eq!(home.count("quarterly"), 3);
    fs::remove_dir_all(home.data().join("index")).unwrap();
    assert_eq!(home.count("quarterly"), 3);
    assert_eq!(home.count("*"), 6);
}

fn synth_mbox(path: &Path, n: usize) {
    let mut s = String::with_capacity(n * 400);
    for i in 0..n {
        s.push_str(&format!(
            "From sender{i}@example.org Mon Jan  1 00:00:00 2024\n"
        ));
        s.push_str(&message(
            &format!("Sender {i} <sender{i}@example.org>"),
            "bob@example.com",
            &format!("Message number {i}"),
            &format!("m{i}@example.org"),
            "Mon, 01 Jan 2024 00:00:00 +0000",
            "",
            &format!("Body of message {i} with some words to index.\nfiller line of text\n"),
        ));
        s.push('\n');
    }
    fs::write(path, s).unwrap();
}

#[test]
fn killed_import_completes_on_rerun_without_loss_or_duplicates() {
    let home = Home::new();
    home.init();
    let n = 3000;
    let mbox = home.path("big.mbox");
    synth_mbox(&mbox, n);
    // Kill the import at several points, each once it has said (on stderr, which is
    // not a terminal here) that it is that far into the input, then let one run finish.
    for percent in [20u64, 50, 80] {
        let mut child = home
            .cmd(PASS)
            .args(["import", mbox.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut seen = Vec::new();
        for line in std::io::BufRead::lines(stderr) {
            let line = line.unwrap();
            let reached = line
                .strip_prefix("homepost: import: ")
                .and_then(|rest| rest.split('%').next())
                .and_then(|p| p.parse::<u64>().ok())
                .is_some_and(|p| p >= percent);
            seen.push(line);
            if reached {
                break;
            }
        }
        assert!(
            seen.last().is_some_and(|l| l.contains('%')),
            "no progress line for {percent}%: {seen:?}"
        );
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "the import had already ended when killed at {percent}%: {status}, {seen:?}"
        );
    }
    let out = import(&home, std::slice::from_ref(&mbox));
    let nums: Vec<u64> = out
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(2)
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(nums[0] + nums[1], n as u64, "imported + duplicates: {out}");
    assert_eq!(home.count("*"), n);
    assert_eq!(home.count("subject:message"), n);
    assert_eq!(home.count("mid:m2999@example.org"), 1);
    assert_eq!(home.count("mid:m0@example.org"), 1);
}

#[test]
fn whole_shared_corpus_imports() {
    let corpus = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../../shared/corpus/mail");
    assert!(corpus.is_dir(), "corpus missing at {}", corpus.display());
    let home = Home::new();
    home.init();
    let out = import(&home, &[corpus]);
    let imported: u64 = out
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.trim_end_matches(',').parse().ok())
        .unwrap();
    assert!(imported > 500, "{out}");
    // Every stored message is searchable (naming spam and trash shows those too:
    // the corpus has Maildir messages flagged T, tagged trash).
    let stored = home.count("* OR in:spam OR in:trash") as u64;
    assert!(home.count("in:trash") > 0);
    assert_eq!(
        home.count("*") + home.count("in:trash -in:spam"),
        home.count("* OR in:spam OR in:trash")
    );
    assert_eq!(stored, imported, "{out}");
}

/// A throwaway GnuPG home; its agent is stopped when dropped.
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Gpg {
        let home = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            home.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        Gpg { home }
    }

    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
        use std::io::Write;
        let mut child = Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args([
                "--batch",
                "--yes",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg is installed (.ci/run installs gnupg)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.unwrap_or_default())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

/// Adds an IMAP account for me@example.org (which gives that address a key).
fn add_me_account(home: &Home) {
    let out = home
        .cmd(PASS)
        .env("HOMEPOST_INCOMING_PASSWORD", "x")
        .args([
            "account",
            "add",
            "--name",
            "Me",
            "--email",
            "me@example.org",
        ])
        .args(["--imap", "imap.example.org:993"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn keys_export_and_import_and_show_reports_signatures_checked_against_gnupg() {
    let home = Home::new();
    home.init();
    add_me_account(&home);
    let public = home.ok(&["key", "export"]);
    assert!(
        public.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"),
        "{public}"
    );
    let secret = home.ok(&["key", "export", "--secret"]);
    assert!(secret.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));

    // GnuPG reads our public key.
    let gpg = Gpg::new();
    gpg.run(&["--import"], Some(public.as_bytes()));
    let listed =
        String::from_utf8(gpg.run(&["--with-colons", "--list-keys", "me@example.org"], None))
            .unwrap();
    assert!(listed.contains("me@example.org"), "{listed}");

    // Bob's key made by GnuPG; he signs a mail with it (cleartext signature).
    gpg.run(
        &[
            "--quick-gen-key",
            "Bob <bob@example.net>",
            "ed25519",
            "sign",
            "never",
        ],
        None,
    );
    let bob_public = gpg.run(&["--armor", "--export", "bob@example.net"], None);
    let bob_fpr =
        String::from_utf8(gpg.run(&["--with-colons", "--fingerprint", "bob@example.net"], None))
            .unwrap()
            .lines()
            .find_map(|l| {
                l.strip_prefix("fpr:")
                    .map(|r| r.trim_matches(':').to_owned())
            })
            .unwrap();
    let signed = gpg.run(
        &["--clearsign", "--local-user", "bob@example.net"],
        Some(b"Meet at the zqxharbour at noon.\n"),
    );
    let mail = format!(
        "From: Bob <bob@example.net>\r\nTo: me@example.org\r\nSubject: Plans\r\nMessage-ID: <plans@example.net>\r\nDate: Mon, 15 Jan 2024 09:00:00 +0000\r\n\r\n{}",
        String::from_utf8(signed).unwrap().replace('\n', "\r\n")
    );
    let eml = home.path("signed.eml");
    fs::write(&eml, mail).unwrap();
    fs::write(home.path("bob.asc"), &bob_public).unwrap();
    let imported = home.ok(&["key", "import", home.path("bob.asc").to_str().unwrap()]);
    assert!(imported.contains("bob@example.net"), "{imported}");
    import(&home, std::slice::from_ref(&eml));
    let id = home.ids("zqxharbour")[0];
    let shown: serde_json::Value =
        serde_json::from_str(&home.ok(&["show", "--json", &id.to_string()])).unwrap();
    let crypto = &shown["crypto"];
    assert_eq!(crypto["signature"], "good", "{crypto}");
    assert_eq!(crypto["signer"], bob_fpr.as_str());
    assert_eq!(crypto["encrypted"], false);
    assert_eq!(
        crypto["sender_peer"]["pinned_fingerprint"],
        bob_fpr.as_str()
    );

    // Another key for Bob: kept apart until the user accepts it.
    gpg.run(
        &[
            "--quick-gen-key",
            "Bob New <bob@example.net>",
            "ed25519",
            "sign",
            "never",
        ],
        None,
    );
    let new_fpr =
        String::from_utf8(gpg.run(&["--with-colons", "--fingerprint", "bob@example.net"], None))
            .unwrap()
            .lines()
            .filter_map(|l| {
                l.strip_prefix("fpr:")
                    .map(|r| r.trim_matches(':').to_owned())
            })
            .find(|f| *f != bob_fpr)
            .unwrap();
    fs::write(
        home.path("bob2.asc"),
        gpg.run(&["--armor", "--export", &new_fpr], None),
    )
    .unwrap();
    let imported = home.ok(&["key", "import", home.path("bob2.asc").to_str().unwrap()]);
    assert!(imported.contains("waits for you to compare"), "{imported}");
    let peer: serde_json::Value =
        serde_json::from_str(&home.ok(&["key", "peer", "bob@example.net", "--json"])).unwrap();
    assert_eq!(peer["pinned"], bob_fpr.as_str(), "{peer}");
    assert_eq!(peer["key"], bob_fpr.as_str());
    assert_eq!(peer["key_status"], "no_encryption_key");
    assert_eq!(peer["key_source"], "imported");
    assert_eq!(peer["changed"], new_fpr.as_str());
    assert_eq!(peer["changed_source"], "imported");
    assert_eq!(peer["signed_count"], 1);
    // Mail signed by the waiting key: flagged, and it does not vouch for Bob.
    let signed_new = gpg.run(
        &["--clearsign", "--local-user", &new_fpr],
        Some(b"New phone, new key: zqxnewkey.\n"),
    );
    let mail = format!(
        "From: Bob <bob@example.net>\r\nTo: me@example.org\r\nSubject: New key\r\nMessage-ID: <newkey@example.net>\r\nDate: Tue, 16 Jan 2024 09:00:00 +0000\r\n\r\n{}",
        String::from_utf8(signed_new).unwrap().replace('\n', "\r\n")
    );
    fs::write(home.path("newkey.eml"), mail).unwrap();
    import(&home, &[home.path("newkey.eml")]);
    let new_id = home.ids("zqxnewkey")[0].to_string();
    let crypto = |home: &Home| -> Value {
        let shown: Value = serde_json::from_str(&home.ok(&["show", "--json", &new_id])).unwrap();
        shown["crypto"].clone()
    };
    let before = crypto(&home);
    assert_eq!(before["key_changed"], true, "{before}");
    assert_eq!(before["signer_is_sender"], false, "{before}");

    home.ok(&["key", "accept", "bob@example.net"]);
    // Accepted: `show` reads the outcome as the app does (the change is over,
    // and the accepted key's signature is Bob's).
    let after = crypto(&home);
    assert_eq!(after["key_changed"], false, "{after}");
    assert_eq!(after["signer_is_sender"], true, "{after}");
    let peer = home.ok(&["key", "peer", "bob@example.net"]);
    assert!(
        peer.contains(&format!("Trusted first:  {new_fpr}")),
        "{peer}"
    );
    assert!(!peer.contains("CHANGED"), "{peer}");

    // A secret key made by GnuPG becomes the active key of its address.
    gpg.run(
        &[
            "--quick-gen-key",
            "Me Too <me@example.org>",
            "ed25519",
            "sign",
            "never",
        ],
        None,
    );
    let their_secret = gpg.run(&["--armor", "--export-secret-keys", "Me Too"], None);
    fs::write(home.path("me.asc"), their_secret).unwrap();
    let imported = home.ok(&["key", "import", home.path("me.asc").to_str().unwrap()]);
    assert!(imported.contains("Imported secret key"), "{imported}");
    assert_ne!(
        home.ok(&["key", "export"]),
        public,
        "the imported key is now the active one"
    );
}

#[test]
fn autocrypt_setup_message_moves_the_key_to_another_vault() {
    let home = Home::new();
    home.init();
    add_me_account(&home);
    let setup = home.path("setup.eml");
    let printed = home.ok(&["key", "setup-message", setup.to_str().unwrap()]);
    let code = printed.lines().last().unwrap().to_owned();
    assert_eq!(code.len(), 36 + 8, "nine groups of four digits: {code}");
    let message = fs::read_to_string(&setup).unwrap();
    assert!(message.contains("Autocrypt-Setup-Message: v1"), "{message}");
    assert!(
        !message.contains("PRIVATE KEY"),
        "the key travels encrypted"
    );

    let other = Home::new();
    other.init();
    let import_setup = |file: &Path, code: &str| {
        other
            .cmd(PASS)
            .env("HOMEPOST_SETUP_CODE", code)
            .args(["key", "import-setup", file.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let refused_as_not_ours = |out: Output, what: &str| {
        assert!(!out.status.success(), "{what}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("own addresses"), "{what}: {stderr}");
    };
    // Only into a box whose own address it is from and to.
    refused_as_not_ours(
        import_setup(&setup, &code),
        "imported into a box without that address",
    );
    add_me_account(&other);
    // A stranger's Setup Message (sent from their address) is refused, right code or not.
    let forged = home.path("forged.eml");
    let from_stranger: String = message
        .split_inclusive('\n')
        .map(|line| {
            if line.starts_with("From:") {
                line.replacen(
                    "From:",
                    "From: Mallory <mallory@evil.example>\nX-Was-From:",
                    1,
                )
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert_ne!(from_stranger, message);
    fs::write(&forged, from_stranger).unwrap();
    refused_as_not_ours(
        import_setup(&forged, &code),
        "a stranger's Setup Message was imported",
    );
    let wrong = import_setup(&setup, &("1234-".repeat(8) + "1234"));
    assert!(!wrong.status.success(), "a wrong code must be refused");
    let ok = import_setup(&setup, &code);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        other.ok(&["key", "export", "--address", "me@example.org"]),
        home.ok(&["key", "export"]),
        "the same key in both vaults"
    );
}

/// `homepost send` goes through the same core function as the app's Send: the
/// message is signed and queued, a refused encryption queues nothing, and a
/// failed send leaves no stray draft behind.
#[test]
fn send_queues_a_protected_message_like_the_app() {
    let home = Home::new();
    home.init();
    let out = home
        .cmd(PASS)
        .env("HOMEPOST_OUTGOING_PASSWORD", "x")
        .args([
            "account",
            "add",
            "--name",
            "Me",
            "--email",
            "me@example.org",
        ])
        .args(["--smtp", "smtp.example.org:465"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let send = |args: &[&str], body: &str| {
        let mut child = home
            .cmd(PASS)
            .arg("send")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let outbox =
        || -> Vec<Value> { serde_json::from_str(&home.ok(&["outbox", "list", "--json"])).unwrap() };

    // Encryption asked for, no key for Bob: refused with the reason, nothing queued.
    let refused = send(
        &[
            "--account",
            "1",
            "--to",
            "bob@example.net",
            "--subject",
            "Hi",
            "--encrypt",
        ],
        "secret plans\n",
    );
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("no usable key for bob@example.net"), "{err}");
    assert!(outbox().is_empty());

    // Without --encrypt it goes signed (no key to encrypt to) and is queued.
    let queued = send(
        &[
            "--account",
            "1",
            "--to",
            "Bob <bob@example.net>",
            "--subject",
            "Lunch?",
        ],
        "Noon at the usual place.\n",
    );
    assert!(
        queued.status.success(),
        "{}",
        String::from_utf8_lossy(&queued.stderr)
    );
    assert!(String::from_utf8_lossy(&queued.stdout).contains("Queued as outbox message"));
    let items = outbox();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["subject"], "Lunch?");
    assert_eq!(items[0]["to"], serde_json::json!(["bob@example.net"]));
    assert_eq!(items[0]["state"], "queued");

    // An account without SMTP, a draft that does not exist: clear errors.
    let no_draft = home.run_with(PASS, &["send", "--draft", "999"]);
    assert!(String::from_utf8_lossy(&no_draft.stderr).contains("no draft with id 999"));
    let no_account = send(&["--account", "7", "--to", "bob@example.net"], "x");
    assert!(String::from_utf8_lossy(&no_account.stderr).contains("account 7 does not exist"));
    assert_eq!(outbox().len(), 1);
}

/// A crash after an encrypted message is stored but before its OpenPGP step
/// ran must not leave it undecrypted for ever: the step is marked pending in
/// the store's transaction, and the next open runs it (and indexes the
/// decrypted text).
#[test]
fn an_import_killed_before_decryption_decrypts_at_the_next_open() {
    let home = Home::new();
    home.init();
    add_me_account(&home);
    let public = home.ok(&["key", "export"]);
    let gpg = Gpg::new();
    gpg.run(&["--import"], Some(public.as_bytes()));
    let fpr =
        String::from_utf8(gpg.run(&["--with-colons", "--fingerprint", "me@example.org"], None))
            .unwrap()
            .lines()
            .find_map(|l| {
                l.strip_prefix("fpr:")
                    .map(|r| r.trim_matches(':').to_owned())
            })
            .unwrap();
    let armored = gpg.run(
        &[
            "--armor",
            "--trust-model",
            "always",
            "--encrypt",
            "--recipient",
            &fpr,
        ],
        Some(b"The vault code is zqxpelican.\n"),
    );
    let mail = format!(
        "From: Bob <bob@example.net>\r\nTo: me@example.org\r\nSubject: ...\r\nMessage-ID: <enc@example.net>\r\nDate: Mon, 15 Jan 2024 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n{}\r\n--b--\r\n",
        String::from_utf8(armored).unwrap().replace('\n', "\r\n")
    );
    let eml = home.path("encrypted.eml");
    fs::write(&eml, mail).unwrap();

    let crashed = home
        .cmd(PASS)
        .env("HOMEPOST_CRASH_AT", "after_store_commit")
        .args(["import", eml.to_str().unwrap()])
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        crashed.status.signal(),
        Some(6),
        "the import must die at the hook (SIGABRT): {}",
        String::from_utf8_lossy(&crashed.stderr)
    );

    // The next command opens the library: the step runs, the text is found.
    assert_eq!(home.count("zqxpelican"), 1);
    let id = home.ids("zqxpelican")[0];
    let shown: Value =
        serde_json::from_str(&home.ok(&["show", "--json", &id.to_string()])).unwrap();
    assert_eq!(shown["crypto"]["encrypted"], true, "{}", shown["crypto"]);
    assert_eq!(shown["crypto"]["decrypted"], true, "{}", shown["crypto"]);
    // Once only: importing the file again adds nothing.
    import(&home, std::slice::from_ref(&eml));
    assert_eq!(home.count("zqxpelican"), 1);
}

/// A minimal HTTP/1.1 exchange with the server under test: (status, the
/// Set-Cookie pairs, body).
fn http(port: u16, request: &str) -> (u16, Vec<String>, String) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let cookies = head
        .lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or(l.strip_prefix("Set-Cookie: "))
        })
        .filter_map(|c| c.split(';').next().map(str::to_owned))
        .collect();
    (status, cookies, body.to_owned())
}

fn post_json(port: u16, path: &str, headers: &str, body: &str) -> (u16, Vec<String>, String) {
    http(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}Connection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// One owner of the data directory: while `homepost serve` runs, CLI commands
/// go through it. Before, an import while the box was unlocked failed after a
/// tag change in the app ("the search index is being written by another
/// process") and its messages stayed invisible to the app until Lock + unlock.
#[test]
fn cli_commands_go_through_the_running_server() {
    use std::io::{BufRead, BufReader};
    let home = Home::new();
    home.init();
    let first = home.path("first.eml");
    fs::write(
        &first,
        message(
            "a@example.org",
            "me@example.org",
            "First",
            "m1@example.org",
            "Mon, 1 Jan 2024 10:00:01 +0000",
            "",
            "zqxfirst body",
        ),
    )
    .unwrap();
    import(&home, std::slice::from_ref(&first));

    let mut server = home
        .cmd(PASS)
        .env("HOMEPOST_LOG", "homepost=info,warn")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut server = Kill(server);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let port: u16 = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    assert!(home.data().join("control.sock").exists());

    // Locked: the server opens the library for the command and closes it again.
    let second = home.path("second.eml");
    fs::write(
        &second,
        message(
            "b@example.org",
            "me@example.org",
            "Second",
            "m2@example.org",
            "Mon, 1 Jan 2024 10:00:02 +0000",
            "",
            "zqxsecond body",
        ),
    )
    .unwrap();
    import(&home, std::slice::from_ref(&second));
    assert_eq!(home.count("zqxsecond"), 1);

    // A second server on the same data directory is refused.
    let other = home.run_with(PASS, &["serve", "--listen", "127.0.0.1:0"]);
    assert!(!other.status.success());
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("already runs"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );

    // Unlocked in the app, which changes a tag (its index writer is busy now).
    let (status, cookies, body) = post_json(
        port,
        "/api/v1/session",
        "",
        &format!("{{\"passphrase\":\"{PASS}\"}}"),
    );
    assert_eq!(status, 200, "{body}");
    let csrf = serde_json::from_str::<Value>(&body).unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let auth = format!("Cookie: {}\r\nX-CSRF-Token: {csrf}\r\n", cookies.join("; "));
    let (status, _, body) = post_json(
        port,
        "/api/v1/messages/tags",
        &auth,
        r#"{"ids":[1],"add":["work"]}"#,
    );
    assert_eq!(status, 200, "{body}");

    // The CLI imports through the server: no "index being written" failure,
    // and the app sees the new message at once.
    let third = home.path("third.eml");
    fs::write(
        &third,
        message(
            "c@example.org",
            "me@example.org",
            "Third",
            "m3@example.org",
            "Mon, 1 Jan 2024 10:00:03 +0000",
            "",
            "zqxthird body",
        ),
    )
    .unwrap();
    import(&home, std::slice::from_ref(&third));
    let (status, _, body) = http(
        port,
        &format!(
            "GET /api/v1/search?q=zqxthird HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Connection: close\r\n\r\n"
        ),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["total"],
        1,
        "{body}"
    );
    // And the app's tag change is what the CLI sees.
    assert_eq!(home.count("tag:work"), 1);

    // The passphrase is still checked.
    let wrong = home.run_with("not the passphrase", &["search", "--count", "zqxthird"]);
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("does not unlock"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );

    // Killed hard, the server leaves a stale socket: the CLI opens the store
    // itself again.
    let _ = server.0.kill();
    let _ = server.0.wait();
    let mut log = String::new();
    std::io::Read::read_to_string(server.0.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(log.contains("ran a command for a local client"), "{log}");
    for word in ["zqxfirst", "zqxsecond", "zqxthird"] {
        assert_eq!(home.count(word), 1, "{word}");
    }
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
