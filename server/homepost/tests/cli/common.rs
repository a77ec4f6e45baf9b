//! What the tests share: a data directory with the `homepost` binary to run in
//! it, test mail, and a command's success.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub(crate) const PASS: &str = "correct horse battery staple";

pub(crate) struct Home {
    pub(crate) dir: tempfile::TempDir,
}

impl Home {
    pub(crate) fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub(crate) fn cmd(&self, pass: &str) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_homepost"));
        c.env("HOMEPOST_DATA", self.data())
            .env("HOMEPOST_PASSPHRASE", pass)
            .env_remove("HOMEPOST_NEW_PASSPHRASE")
            .stdin(Stdio::null());
        c
    }

    pub(crate) fn run_with(&self, pass: &str, args: &[&str]) -> Output {
        self.cmd(pass).args(args).output().unwrap()
    }

    /// Runs a command that must succeed and returns its stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run_with(PASS, args);
        assert!(
            out.status.success(),
            "homepost {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub(crate) fn init(&self) {
        self.ok(&["init", "--kdf", "insecure-test-only"]);
    }

    pub(crate) fn count(&self, query: &str) -> usize {
        self.ok(&["search", "--count", query])
            .trim()
            .parse()
            .unwrap()
    }

    pub(crate) fn search_json(&self, query: &str) -> Vec<Value> {
        let out = self.ok(&["search", "--json", query]);
        match serde_json::from_str(&out).unwrap() {
            Value::Array(a) => a,
            other => panic!("not an array: {other}"),
        }
    }

    pub(crate) fn ids(&self, query: &str) -> Vec<i64> {
        self.search_json(query)
            .iter()
            .map(|v| v["id"].as_i64().unwrap())
            .collect()
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Adds the account "Me" <me@example.org> with `servers` (`--imap
    /// host:port`, `--smtp host:port`), whose passwords are "x".
    /// `homepost send ARGS` with `body` on its standard input.
    pub(crate) fn send(&self, args: &[&str], body: &[u8]) -> Output {
        use std::io::Write;
        let mut child = self
            .cmd(PASS)
            .arg("send")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(body).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Adds alice's account on a Dovecot of the tests (plain IMAP on loopback).
    pub(crate) fn add_dovecot_account(&self, d: &homepost_testing::peers::Dovecot) {
        succeeded(
            self.cmd(PASS)
                .env(
                    "HOMEPOST_INCOMING_PASSWORD",
                    homepost_testing::peers::PASSWORD,
                )
                .args([
                    "account",
                    "add",
                    "--name",
                    "Home",
                    "--email",
                    "alice@localhost",
                ])
                .args(["--imap", &format!("127.0.0.1:{}", d.imap)])
                .args(["--incoming-security", "plain", "--incoming-user", "alice"])
                .output()
                .unwrap(),
        );
    }

    pub(crate) fn add_my_account(&self, servers: &[&str]) {
        succeeded(
            self.cmd(PASS)
                .env("HOMEPOST_INCOMING_PASSWORD", "x")
                .env("HOMEPOST_OUTGOING_PASSWORD", "x")
                .args(["account", "add", "--name", "Me"])
                .args(["--email", "me@example.org"])
                .args(servers)
                .output()
                .unwrap(),
        );
    }
}

pub(crate) fn message(
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

pub(crate) fn with_attachment(
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
pub(crate) fn sample_mail(root: &Path) -> Vec<PathBuf> {
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

pub(crate) fn import(home: &Home, paths: &[PathBuf]) -> String {
    let mut args = vec!["import".to_string()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    home.ok(&args)
}

/// `out`, of a command that must have succeeded (else the test fails with its
/// stderr).
#[track_caller]
pub(crate) fn succeeded(out: Output) -> Output {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Starts `serve` with `args`, returns the port of the address it printed.
pub(crate) fn serve_port(home: &Home, args: &[&str]) -> (u16, std::process::Child) {
    let mut server = home
        .cmd(PASS)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = std::io::BufReader::new(server.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    // The rest is read on, or the server's next line would fail on a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let port = line
        .trim()
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (port, server)
}
