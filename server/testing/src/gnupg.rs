//! GnuPG (Debian's `gpg`) as the other side of interoperability tests: each
//! [`Gpg`] has its own temporary home, runs in batch mode with loopback
//! pinentry and an empty passphrase, trusts every key it holds, writes its
//! status lines to stderr, and stops the agent it started when dropped.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// A GnuPG home directory that lives as long as the test.
pub struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    /// A new, empty GnuPG home.
    pub fn new() -> Gpg {
        let home = tempfile::Builder::new()
            .prefix("hp-gpg")
            .tempdir()
            .expect("create a GnuPG home");
        // gpg warns about (and may refuse) a home others can read.
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod the GnuPG home");
        Gpg { home }
    }

    /// `name` inside the home, for files gpg reads or writes.
    pub fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    /// Runs gpg with `args`, writing `stdin` to it; panics with gpg's stderr
    /// if it failed.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let out = self.try_run(args, stdin);
        assert!(
            out.status.success(),
            "gpg {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs gpg with `args`, writing `stdin` to it, whether it succeeds or not.
    pub fn try_run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args([
                "--batch",
                "--yes",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                "--status-fd",
                "2",
                "--trust-model",
                "always",
            ])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg is installed (Debian package gnupg)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin)
            .expect("write gpg's input");
        child.wait_with_output().expect("wait for gpg")
    }

    /// Imports armored or binary keys, public or secret.
    pub fn import(&self, keys: &[u8]) {
        self.run(&["--import"], keys);
    }

    /// Generates a key for `uid` without a passphrase that never expires: an
    /// Ed25519 primary key that signs and certifies and a Cv25519 encryption
    /// subkey. Returns its fingerprint.
    pub fn generate(&self, uid: &str) -> String {
        self.run(
            &["--quick-gen-key", uid, "ed25519", "sign,cert", "never"],
            b"",
        );
        let fpr = self.fingerprint(uid);
        self.run(&["--quick-add-key", &fpr, "cv25519", "encr", "never"], b"");
        fpr
    }

    /// The fingerprint of the first key that matches `uid`.
    pub fn fingerprint(&self, uid: &str) -> String {
        self.fingerprints(uid)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("gpg has no key for {uid}"))
    }

    /// The fingerprints of every key that matches `uid` (primary keys only),
    /// in gpg's order.
    pub fn fingerprints(&self, uid: &str) -> Vec<String> {
        let out = self.run(&["--with-colons", "--list-keys", uid], b"");
        let listing = String::from_utf8(out.stdout).expect("gpg lists keys in UTF-8");
        let mut primary = false;
        let mut found = Vec::new();
        for line in listing.lines() {
            let mut fields = line.split(':');
            match fields.next() {
                Some("pub") => primary = true,
                Some("fpr") if primary => {
                    found.extend(fields.nth(8).map(str::to_owned));
                    primary = false;
                }
                _ => primary = false,
            }
        }
        found
    }

    /// The armored public keys that match `uid`.
    pub fn export_armored(&self, uid: &str) -> Vec<u8> {
        self.run(&["--armor", "--export", uid], b"").stdout
    }
}

impl Default for Gpg {
    fn default() -> Gpg {
        Gpg::new()
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
