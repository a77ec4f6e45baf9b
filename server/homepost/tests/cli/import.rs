//! Importing and what it gives: search, show, thread, tag, reindex, passwd; an
//! index rebuilt when damaged; an import killed midway; the shared corpus.

use std::fs;
use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use homepost_testing::disk;

use crate::common::{Home, PASS, import, message, sample_mail, succeeded};

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
    succeeded(
        home.cmd(PASS)
            .args(["passwd", "--kdf", "insecure-test-only"])
            .env("HOMEPOST_NEW_PASSPHRASE", "a new passphrase")
            .output()
            .unwrap(),
    );
    let old = home.run_with(PASS, &["search", "--count", "*"]);
    assert!(!old.status.success());
    assert!(String::from_utf8_lossy(&old.stderr).contains("wrong passphrase"));
    let new = home.run_with("a new passphrase", &["search", "--count", "*"]);
    assert_eq!(String::from_utf8_lossy(&new.stdout).trim(), "6");
}

#[test]
fn damaged_or_missing_index_is_rebuilt() {
    let home = Home::new();
    home.init();
    import(&home, &sample_mail(home.dir.path()));
    assert_eq!(home.count("quarterly"), 3);
    // Garble every index file.
    for f in disk::files(&home.data().join("index")) {
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

/// A message's date when its `Date:` is missing, zone-less or absurd: the
/// newest `Received:` stamp, then the file's time; never the import's time for
/// a date that can be read, and never a date years ahead at the top of the inbox.
#[test]
fn dates_fall_back_to_received_then_the_file_time() {
    let home = Home::new();
    home.init();
    let dir = home.path("archive");
    fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, head: &str, word: &str| {
        let path = dir.join(name);
        fs::write(
            &path,
            format!("{head}From: a@example.org\r\nTo: me@example.org\r\nSubject: {word}\r\n\r\n{word}\r\n"),
        )
        .unwrap();
        path
    };
    write(
        "received.eml",
        "Received: from mx.example.org by box.example.net; Tue, 2 Jan 2024 10:00:00 +0000\r\n",
        "zqxreceived",
    );
    write(
        "nozone.eml",
        "Date: Mon, 1 Jan 2024 10:00:00\r\n",
        "zqxnozone",
    );
    let future = write(
        "future.eml",
        "Date: Sat, 1 Jan 2124 10:00:00 +0000\r\n",
        "zqxfuture",
    );
    let june_2023 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_685_613_600);
    fs::File::options()
        .write(true)
        .open(&future)
        .unwrap()
        .set_modified(june_2023)
        .unwrap();
    import(&home, std::slice::from_ref(&dir));

    for (word, expected) in [
        ("zqxreceived", 1_704_189_600),
        ("zqxnozone", 1_704_103_200),
        ("zqxfuture", 1_685_613_600),
    ] {
        let found = home.search_json(word);
        assert_eq!(found.len(), 1, "{word}");
        assert_eq!(found[0]["timestamp"], expected, "{word}: {}", found[0]);
    }
}

/// Old mail imported as old mail: read, and out of the inbox, as the app offers.
#[test]
fn mark_read_and_no_inbox_file_old_mail_away() {
    let home = Home::new();
    home.init();
    let path = home.path("old.eml");
    fs::write(
        &path,
        "From: a@example.org\r\nSubject: zqxold\r\n\r\nzqxold\r\n",
    )
    .unwrap();
    let p = path.display().to_string();
    home.ok(&["import", "--mark-read", "--no-inbox", &p]);
    let found = home.search_json("zqxold");
    assert_eq!(found.len(), 1);
    let tags = found[0]["tags"].as_array().unwrap();
    assert!(tags.iter().any(|t| t == "read"), "{}", found[0]);
    assert!(!tags.iter().any(|t| t == "inbox"), "{}", found[0]);
}
