//! End-to-end tests of the spam filter through the `homepost` binary: `spam
//! learn`, `spam check`, `spam stats`, classification on `import` and training
//! on `tag`, against a real SQLCipher store and the CSDMC2010 corpus in
//! `../shared/corpus/spam`.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const PASS: &str = "correct horse battery staple";

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let home = Home {
            dir: tempfile::tempdir().unwrap(),
        };
        home.ok(&["init", "--kdf", "insecure-test-only"]);
        home
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_homepost"))
            .env("HOMEPOST_DATA", self.dir.path().join("data"))
            .env("HOMEPOST_PASSPHRASE", PASS)
            .env_remove("HOMEPOST_NEW_PASSPHRASE")
            .stdin(Stdio::null())
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed and returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "homepost {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn count(&self, query: &str) -> usize {
        self.ok(&["search", "--count", query])
            .trim()
            .parse()
            .unwrap()
    }

    /// `spam stats` as (spam, ham, tokens).
    fn stats(&self) -> (u64, u64, u64) {
        let out = self.ok(&["spam", "stats"]);
        let n: Vec<u64> = out
            .lines()
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        (n[0], n[1], n[2])
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A CSDMC2010 message file and whether it is spam.
struct Labelled {
    path: PathBuf,
    spam: bool,
}

/// The first `n` labelled messages of CSDMC2010, in label-file order.
fn csdmc2010(n: usize) -> Vec<Labelled> {
    let dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../../shared/corpus/spam/csdmc2010");
    assert!(dir.is_dir(), "corpus missing at {}", dir.display());
    fs::read_to_string(dir.join("SPAMTrain.label"))
        .unwrap()
        .lines()
        .take(n)
        .map(|line| {
            let (label, name) = line.split_once(' ').unwrap();
            Labelled {
                path: dir.join("TRAINING").join(name),
                // 1 = ham, 0 = spam.
                spam: label == "0",
            }
        })
        .collect()
}

/// `spam learn` arguments for these messages: `--spam F` / `--ham F` each.
fn learn_args(messages: &[Labelled]) -> Vec<String> {
    let mut args = vec!["spam".to_string(), "learn".to_string()];
    for m in messages {
        args.push(if m.spam { "--spam" } else { "--ham" }.into());
        args.push(m.path.display().to_string());
    }
    args
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn mail(subject: &str, body: &str) -> String {
    format!(
        "From: Carol <carol@example.net>\r\nTo: bob@example.com\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.net>\r\nDate: Wed, 06 Mar 2024 10:00:00 +0000\r\n\r\n{body}\r\n"
    )
}

#[test]
fn learnt_filter_tags_imports_and_only_new_mail() {
    let home = Home::new();
    let corpus = csdmc2010(400);
    let (train, rest) = corpus.split_at(300);

    // Untrained, the filter has no opinion: nothing is tagged.
    let untrained = home.ok(&["import", &rest[0].path.display().to_string()]);
    assert!(untrained.contains("spam 0, unsure 0"), "{untrained}");

    let learnt = home.ok(&strs(&learn_args(train)));
    let spam = train.iter().filter(|m| m.spam).count();
    let ham = train.len() - spam;
    assert!(
        learnt.contains(&format!(
            "spam: learned {spam}, corrected 0, already learnt 0"
        )),
        "{learnt}"
    );
    assert!(
        learnt.contains(&format!("ham: learned {ham}, corrected 0")),
        "{learnt}"
    );
    let (s, h, tokens) = home.stats();
    assert_eq!((s, h), (spam as u64, ham as u64));
    assert!(tokens > 1000, "{tokens}");
    // Learning the same mail again changes nothing.
    let again = home.ok(&strs(&learn_args(train)));
    assert!(
        again.contains(&format!(
            "spam: learned 0, corrected 0, already learnt {spam}"
        )),
        "{again}"
    );
    assert_eq!(home.stats(), (s, h, tokens));

    // Importing classifies but does not train. Files are imported in argument
    // order, so message id n is the (n)th file (the first went in above).
    let mut args = vec!["import".to_string()];
    args.extend(rest.iter().map(|m| m.path.display().to_string()));
    let out = home.ok(&strs(&args));
    assert!(
        out.starts_with(&format!("imported {}, duplicates 1", rest.len() - 1)),
        "{out}"
    );
    assert_eq!(home.stats(), (s, h, tokens));

    let tagged_spam = home.ok(&["search", "--json", "--limit", "1000", "tag:spam"]);
    let tagged: Vec<serde_json::Value> = serde_json::from_str(&tagged_spam).unwrap();
    let spam_in_rest = rest.iter().filter(|m| m.spam).count();
    // A young filter (a few dozen messages learnt) with the spam cutoff at
    // 0.99999 leaves much spam unsure rather than risk good mail: a third is
    // enough here, and none of what it calls spam may be ham (below).
    assert!(
        tagged.len() * 3 >= spam_in_rest,
        "only {} of {spam_in_rest} spam caught",
        tagged.len()
    );
    for t in &tagged {
        let id = t["id"].as_u64().unwrap() as usize;
        assert!(
            rest[id - 1].spam,
            "ham {} tagged spam",
            rest[id - 1].path.display()
        );
    }
    assert_eq!(home.count("tag:spam"), tagged.len());
    let unsure = home.count("tag:unsure");
    assert!(
        out.contains(&format!("spam {}, unsure {unsure}", tagged.len())),
        "{out}"
    );
    assert!(unsure < rest.len() / 2, "{unsure} unsure");
    // Spam and unsure are both marked, never both at once.
    assert_eq!(home.count("tag:spam AND tag:unsure"), 0);
}

#[test]
fn tagging_spam_trains_and_corrects() {
    let home = Home::new();
    let corpus = csdmc2010(60);
    home.ok(&strs(&learn_args(&corpus)));
    let before = home.stats();

    let file = home.path("offer.eml");
    fs::write(&file, mail("offer", "a special offer for you only today")).unwrap();
    home.ok(&["import", file.to_str().unwrap()]);
    let id = home.ok(&["search", "--json", "subject:offer"]);
    let id = serde_json::from_str::<serde_json::Value>(&id).unwrap()[0]["id"]
        .as_i64()
        .unwrap()
        .to_string();

    // +spam learns it as spam and removes `unsure`.
    home.ok(&["tag", &id, "+unsure"]);
    let tagged = home.ok(&["tag", &id, "+spam"]);
    assert_eq!(tagged.trim(), format!("{id}: inbox spam"));
    let spam = home.stats();
    assert_eq!((spam.0, spam.1), (before.0 + 1, before.1));
    assert!(spam.2 > before.2, "new tokens counted");
    assert_eq!(home.count("tag:spam"), 1);

    // Again: nothing more is counted.
    home.ok(&["tag", &id, "+spam"]);
    assert_eq!(home.stats(), spam);

    // -spam corrects it: untrained as spam, learnt as ham.
    home.ok(&["tag", &id, "-spam"]);
    let ham = home.stats();
    assert_eq!((ham.0, ham.1), (before.0, before.1 + 1));
    assert_eq!(home.count("tag:spam"), 0);
    home.ok(&["tag", &id, "-spam"]);
    assert_eq!(home.stats(), ham);

    // Back to spam: the counts are those of the first +spam exactly.
    home.ok(&["tag", &id, "+spam"]);
    assert_eq!(home.stats(), spam);

    // Other tags train nothing.
    home.ok(&["tag", &id, "+work", "-inbox"]);
    assert_eq!(home.stats(), spam);
}

#[test]
fn check_prints_one_line_per_message_and_stores_nothing() {
    let home = Home::new();
    let eml = home.path("one.eml");
    fs::write(&eml, mail("hello", "hello there, lunch tomorrow?")).unwrap();
    let mbox = home.path("box.mbox");
    let mut text = String::new();
    for subject in ["first", "second", "third"] {
        text.push_str("From carol@example.net Wed Mar  6 10:00:00 2024\r\n");
        text.push_str(&mail(subject, "some words of mail"));
        text.push_str("\r\n");
    }
    fs::write(&mbox, text).unwrap();
    let (eml, mbox) = (eml.display().to_string(), mbox.display().to_string());

    // Untrained, everything is unsure at 0.5.
    let out = home.ok(&["spam", "check", &eml]);
    assert_eq!(out, format!("{eml} unsure 0.500000\n"));

    let corpus = csdmc2010(200);
    home.ok(&strs(&learn_args(&corpus[..150])));
    let before = home.stats();

    // A dangling link in a directory is reported and the rest still checked.
    let dir = home.path("dir");
    fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(home.path("missing.eml"), dir.join("gone.eml")).unwrap();
    fs::copy(&corpus[150].path, dir.join("a.eml")).unwrap();

    let mut args = vec!["spam", "check", &eml, &mbox];
    let rest: Vec<String> = corpus[151..]
        .iter()
        .map(|m| m.path.display().to_string())
        .collect();
    args.extend(rest.iter().map(String::as_str));
    let dir_arg = dir.display().to_string();
    args.push(&dir_arg);
    let out = home.run(&args);
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("homepost: skipped:") && stderr.contains("gone.eml"),
        "{stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1 + 3 + rest.len() + 1, "{stdout}");
    let mut files = Vec::new();
    for line in &lines {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert!(["spam", "ham", "unsure"].contains(&parts[1]), "{line}");
        let (whole, decimals) = parts[2].split_once('.').unwrap();
        assert!(whole == "0" || parts[2] == "1.000000", "{line}");
        assert_eq!(decimals.len(), 6, "{line}");
        files.push(parts[0]);
    }
    assert_eq!(files[0], eml);
    assert_eq!(
        files[1..4],
        [
            format!("{mbox}:1"),
            format!("{mbox}:2"),
            format!("{mbox}:3")
        ]
    );
    assert!(files.last().unwrap().ends_with("/dir/a.eml"));
    // Most known spam is called spam, and no ham is.
    let mut caught = 0;
    for (m, line) in corpus[151..].iter().zip(&lines[4..]) {
        let (path, verdict) = (
            line.split(' ').next().unwrap(),
            line.split(' ').nth(1).unwrap(),
        );
        assert!(path.starts_with(&m.path.display().to_string()), "{line}");
        if m.spam && verdict == "spam" {
            caught += 1;
        }
        assert!(m.spam || verdict != "spam", "false positive: {line}");
    }
    assert!(caught > 0, "{stdout}");

    // Nothing stored, nothing learnt.
    assert_eq!(home.stats(), before);
    assert_eq!(home.count("*"), 0);
}

#[test]
fn learn_refuses_missing_paths_and_needs_one_class() {
    let home = Home::new();
    let out = home.run(&["spam", "learn", "--spam", "/nonexistent/mail"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot learn /nonexistent/mail"));
    let out = home.run(&["spam", "learn"]);
    assert!(!out.status.success());
    assert_eq!(home.stats(), (0, 0, 0));
}
