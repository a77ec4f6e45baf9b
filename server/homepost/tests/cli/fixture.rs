//! Upgrade safety (docs/install.md, "Updating"): every data directory an older
//! version wrote, kept in tests/fixtures/data-VERSION by
//! tests/fixtures/make-data-dir, opens with this binary, is migrated, and keeps
//! its mail, tags, threads, account and keys; it then takes new mail and can be
//! reindexed from its store.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{Home, message, succeeded};

const FIXTURE_PASS: &str = "fixture passphrase";

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let mut found: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("data-"))
        })
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no data-* fixture in {}", dir.display());
    found
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn run(home: &Home, args: &[&str]) -> String {
    let out = succeeded(home.run_with(FIXTURE_PASS, args));
    String::from_utf8(out.stdout).unwrap()
}

fn count(home: &Home, query: &str) -> usize {
    run(home, &["search", "--count", query])
        .trim()
        .parse()
        .unwrap()
}

fn first_id(home: &Home, query: &str) -> String {
    let found: Value = serde_json::from_str(&run(home, &["search", "--json", query])).unwrap();
    found[0]["id"].to_string()
}

/// What make-data-dir put in, as this binary reads it.
fn check_contents(home: &Home, name: &str) {
    for token in [
        "fixturetokenalpha",
        "fixturetokenbeta",
        "fixturetokengamma",
        "fixturetokendelta",
    ] {
        assert_eq!(count(home, token), 1, "{name}: {token}");
    }
    assert_eq!(count(home, "tag:fixture-kept"), 1, "{name}: the tag");
    assert_eq!(
        count(home, "tag:fixture-kept fixturetokengamma"),
        1,
        "{name}: the tag is on its message"
    );
    let thread: Value = serde_json::from_str(&run(
        home,
        &["thread", "--json", &first_id(home, "fixturetokenalpha")],
    ))
    .unwrap();
    let thread = thread.to_string();
    assert!(
        thread.contains("plans@example.org") && thread.contains("plans-re@example.org"),
        "{name}: the reply is in the thread: {thread}"
    );
    let shown = run(home, &["show", &first_id(home, "fixturetokendelta")]);
    assert!(
        shown.contains("invoice.pdf"),
        "{name}: the attachment: {shown}"
    );
    let accounts: Value = serde_json::from_str(&run(home, &["account", "list", "--json"])).unwrap();
    assert_eq!(accounts[0]["config"]["name"], "Home", "{name}: {accounts}");
    assert_eq!(accounts[0]["config"]["email"], "me@example.org", "{name}");
    let key = run(home, &["key", "export", "--address", "me@example.org"]);
    assert!(
        key.contains("BEGIN PGP PUBLIC KEY BLOCK"),
        "{name}: own key: {key}"
    );
    let peer: Value = serde_json::from_str(&run(
        home,
        &["key", "peer", "--json", "alice@autocrypt.example"],
    ))
    .unwrap();
    assert_eq!(
        peer["key"], "EB85BB5FA33A75E15E944E63F231550C4F47E38E",
        "{name}: the correspondent's Autocrypt key: {peer}"
    );
}

#[test]
fn data_directories_of_earlier_versions_open_and_keep_everything() {
    for fixture in fixtures() {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let home = Home::new();
        copy_dir(&fixture, &home.data());
        // The passphrase it was made with, and no other.
        let wrong = home.run_with("not the fixture passphrase", &["search", "--count", "x"]);
        assert!(
            !wrong.status.success(),
            "{name}: a wrong passphrase opened it"
        );

        check_contents(&home, &name);

        // New mail goes in beside the old, and the index can be rebuilt from the
        // migrated store alone.
        let new = home.path("new.eml");
        fs::write(
            &new,
            message(
                "Dan <dan@example.org>",
                "me@example.org",
                "After the upgrade",
                "after-upgrade@example.org",
                "Fri, 04 Dec 2026 10:00:00 +0000",
                "",
                "fixturetokenepsilon",
            ),
        )
        .unwrap();
        run(&home, &["import", new.to_str().unwrap()]);
        assert_eq!(count(&home, "fixturetokenepsilon"), 1, "{name}: new mail");
        run(&home, &["reindex"]);
        check_contents(&home, &name);
        assert_eq!(
            count(&home, "fixturetokenepsilon"),
            1,
            "{name}: after reindex"
        );
    }
}
