//! kill -9 anywhere (issue 19): each command that writes is killed with
//! SIGKILL at many points of its run; after each kill the box opens, `check`
//! passes, nothing stored is lost, nothing is stored twice, and a change is
//! there whole or not at all.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Home, PASS, succeeded};

/// Messages in the test mbox.
const MESSAGES: usize = 1200;

fn mbox(home: &Home) -> String {
    let mut text = String::new();
    for i in 0..MESSAGES {
        text.push_str(&format!(
            "From x Thu Jan  1 00:00:00 1970\nFrom: Ann <ann{}@example.org>\nTo: me@example.org\n\
Subject: note {i}\nMessage-ID: <n{i}@example.org>\nDate: Mon, 01 Jan 2024 00:{:02}:00 +0000\n\n\
body {i} with words enough to index, kiwi{i}x\n\n",
            i % 40,
            i % 60
        ));
    }
    let path = home.path("in.mbox");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// How long `args` takes when left alone (run on a copy of the data
/// directory, so the box itself is unchanged).
fn duration(home: &Home, args: &[&str]) -> Duration {
    let copy = Home::new();
    copy_dir(&home.data(), &copy.data());
    let started = Instant::now();
    succeeded(copy.run_with(PASS, args));
    started.elapsed()
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs `args` and kills it with SIGKILL after `after`, at each of `points`
/// fractions of `whole`; after each kill, `then` looks at the box.
fn kill_at(home: &Home, args: &[&str], whole: Duration, points: &[f64], mut then: impl FnMut(f64)) {
    for &f in points {
        let mut child = home.cmd(PASS).args(args).spawn().unwrap();
        std::thread::sleep(whole.mul_f64(f));
        // The command may have finished already: that is a point too.
        let _ = child.kill();
        child.wait().unwrap();
        then(f);
    }
}

/// The id of every message.
fn all_ids(home: &Home) -> Vec<String> {
    let out = home.ok(&["search", "--json", "--limit", "100000", "*"]);
    let list: Vec<Value> = serde_json::from_str(&out).unwrap();
    list.iter()
        .map(|v| v["id"].as_i64().unwrap().to_string())
        .collect()
}

/// Messages stored: those a plain search shows, and those in spam.
fn total(home: &Home) -> usize {
    home.count("*") + home.count("tag:spam")
}

/// `check` passes.
fn sound(home: &Home, when: &str) {
    let out = home.run_with(PASS, &["check", "--json"]);
    assert!(
        out.status.success(),
        "{when}: check failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const POINTS: [f64; 8] = [0.1, 0.2, 0.35, 0.5, 0.6, 0.75, 0.9, 1.0];

#[test]
fn killed_anywhere_the_box_loses_nothing_and_stays_consistent() {
    let home = Home::new();
    home.init();
    let mbox = mbox(&home);
    // Filter rules (issue 22) run in the transaction that stores a message:
    // no kill leaves a message with half its rules applied.
    let sieve = home.path("rules.sieve");
    std::fs::write(
        &sieve,
        "require [\"fileinto\", \"imap4flags\"];\n\
         if true { addflag \"ruled\"; addflag \"\\\\Seen\"; }\n\
         if address :is \"from\" \"ann7@example.org\" { fileinto \"sevens\"; }\n",
    )
    .unwrap();
    let added = home.ok(&["rules", "import", &sieve.display().to_string()]);
    assert!(added.contains("added 2 rules"), "{added}");
    let ruled_whole = |when: &str| {
        assert_eq!(
            home.count("-tag:ruled"),
            0,
            "{when}: a message without its rule"
        );
        assert_eq!(
            home.count("is:unread"),
            0,
            "{when}: a message not marked read"
        );
        assert_eq!(
            home.count("tag:sevens"),
            home.count("from:ann7@example.org"),
            "{when}: filed or not filed"
        );
        assert_eq!(
            home.count("tag:sevens in:inbox"),
            0,
            "{when}: filed but in the inbox"
        );
    };

    // Import: every kill leaves whole messages only; importing again stores
    // the rest, none twice.
    let import = ["import", &mbox];
    let whole = duration(&home, &import);
    let mut last = 0;
    let mut midway = 0;
    kill_at(&home, &import, whole, &POINTS, |f| {
        sound(&home, &format!("import killed at {f}"));
        ruled_whole(&format!("import killed at {f}"));
        let n = home.count("*");
        assert!(n >= last && n <= MESSAGES, "import killed at {f}: {n}");
        if n > last && n < MESSAGES {
            midway += 1;
        }
        last = n;
    });
    assert!(
        midway >= 2,
        "too few kills landed inside an import: {midway}"
    );
    succeeded(home.run_with(PASS, &import));
    assert_eq!(home.count("*"), MESSAGES, "lost or doubled by the kills");
    assert_eq!(home.count("kiwi77x"), 1);
    assert_eq!(home.count("tag:sevens"), MESSAGES / 40);
    ruled_whole("after the import");
    sound(&home, "after the import");

    // A tag change with spam training: the tag and the training go together.
    let ids: Vec<String> = all_ids(&home).into_iter().take(400).collect();
    let mut tag: Vec<&str> = vec!["tag"];
    tag.extend(ids.iter().map(String::as_str));
    tag.push("+spam");
    let whole = duration(&home, &tag);
    kill_at(&home, &tag, whole, &POINTS, |f| {
        sound(&home, &format!("tag killed at {f}"));
        let tagged = home.count("tag:spam");
        let stats = home.ok(&["spam", "stats"]);
        assert!(
            stats.contains(&format!("spam messages learnt: {tagged}\n")),
            "tag killed at {f}: {tagged} tagged, but {stats}"
        );
        assert!(
            tagged == 0 || tagged == 400,
            "tag killed at {f}: {tagged} of 400"
        );
    });

    // Rebuilding the index: whatever the point, the next start completes it.
    let reindex = ["reindex"];
    let whole = duration(&home, &reindex);
    kill_at(&home, &reindex, whole, &POINTS, |f| {
        assert_eq!(total(&home), MESSAGES, "reindex killed at {f}");
        sound(&home, &format!("reindex killed at {f}"));
    });

    // Deleting for good: all of one command's messages or none, and no
    // index entry for a message that is gone.
    let doomed: Vec<String> = all_ids(&home).into_iter().skip(500).take(200).collect();
    let mut delete: Vec<&str> = vec!["delete"];
    delete.extend(doomed.iter().map(String::as_str));
    let whole = duration(&home, &delete);
    kill_at(&home, &delete, whole, &POINTS[..7], |f| {
        sound(&home, &format!("delete killed at {f}"));
        let n = total(&home);
        assert!(
            n == MESSAGES || n == MESSAGES - 200,
            "delete killed at {f}: {n}"
        );
    });
    succeeded(home.run_with(PASS, &delete));
    assert_eq!(total(&home), MESSAGES - 200);

    // A repair of a damaged index, killed: the next repair finishes it.
    let index = home.data().join("index");
    let biggest = std::fs::read_dir(&index)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hpx"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&biggest).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x04;
    std::fs::write(&biggest, bytes).unwrap();
    let whole = duration(&home, &["repair"]);
    kill_at(&home, &["repair"], whole, &[0.3, 0.6], |_| {});
    let repaired: Value = serde_json::from_str(&home.ok(&["repair", "--json"])).unwrap();
    assert_eq!(repaired["after"]["index"]["files"], Value::Array(vec![]));
    sound(&home, "after the repairs");
    assert_eq!(total(&home), MESSAGES - 200);

    // A new passphrase, killed: the old one or the new one opens the box,
    // never neither.
    for f in [0.0, 0.3, 0.6, 0.9] {
        let whole = Duration::from_millis(400);
        let mut child = home
            .cmd(PASS)
            .env("HOMEPOST_NEW_PASSPHRASE", "a brand new passphrase here")
            .args(["passwd", "--kdf", "insecure-test-only"])
            .spawn()
            .unwrap();
        std::thread::sleep(whole.mul_f64(f));
        let _ = child.kill();
        child.wait().unwrap();
        let old = home.run_with(PASS, &["search", "--count", "*"]);
        let new = home.run_with("a brand new passphrase here", &["search", "--count", "*"]);
        assert!(
            old.status.success() != new.status.success(),
            "passwd killed at {f}: old opens {}, new opens {}",
            old.status.success(),
            new.status.success()
        );
        if new.status.success() {
            // Back to the test passphrase for the rest.
            succeeded(
                home.cmd("a brand new passphrase here")
                    .env("HOMEPOST_NEW_PASSPHRASE", PASS)
                    .args(["passwd", "--kdf", "insecure-test-only"])
                    .output()
                    .unwrap(),
            );
        }
    }
    sound(&home, "at the end");
}

#[test]
fn a_fetch_killed_anywhere_fetches_each_message_once() {
    let d = homepost_testing::peers::Dovecot::start();
    let mails: Vec<Vec<u8>> = (0..400)
        .map(|i| {
            format!(
                "From: Bob <bob@example.org>\r\nTo: alice@localhost\r\nSubject: Fetched {i}\r\n\
Message-ID: <f{i}@example.org>\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\n\r\nBody {i} plum{i}x\r\n"
            )
            .into_bytes()
        })
        .collect();
    d.deliver_many("alice", &mails);
    let home = Home::new();
    home.init();
    home.add_dovecot_account(&d);
    let fetch = ["fetch", "--timeout", "60"];
    let whole = duration(&home, &fetch);
    let mut last = 0;
    kill_at(&home, &fetch, whole, &POINTS[..7], |f| {
        sound(&home, &format!("fetch killed at {f}"));
        let n = home.count("*");
        assert!(n >= last && n <= 400, "fetch killed at {f}: {n}");
        last = n;
    });
    succeeded(home.run_with(PASS, &fetch));
    assert_eq!(home.count("*"), 400, "lost or doubled by the kills");
    assert_eq!(home.count("plum123x"), 1);
    sound(&home, "after the fetches");
}

#[test]
fn sending_killed_anywhere_loses_no_message() {
    let smtp = homepost_testing::peers::SmtpServer::start(false);
    let home = Home::new();
    home.init();
    succeeded(
        home.cmd(PASS)
            .env("HOMEPOST_OUTGOING_PASSWORD", "secret")
            .args([
                "account",
                "add",
                "--name",
                "Send",
                "--email",
                "alice@localhost",
            ])
            .args(["--smtp", &format!("localhost:{}", smtp.port)])
            .args(["--smtp-security", "starttls", "--smtp-user", "alice"])
            .output()
            .unwrap(),
    );
    home.ok(&[
        "account",
        "trust",
        "1",
        "--side",
        "outgoing",
        &smtp.cert_sha256(),
    ]);
    const N: usize = 40;
    for i in 0..N {
        let subject = format!("Note {i}");
        let args = [
            "--account",
            "1",
            "--to",
            "bob@example.net",
            "--subject",
            &subject,
        ];
        succeeded(home.send(&args, format!("body {i}\n").as_bytes()));
    }
    let outbox = |home: &Home| -> Vec<Value> {
        serde_json::from_str(&home.ok(&["outbox", "list", "--json"])).unwrap()
    };
    assert_eq!(outbox(&home).len(), N);
    let fetch = ["fetch", "--timeout", "60"];
    // Timed on a copy: it sends to the same server, which is emptied after.
    let whole = duration(&home, &fetch);
    std::fs::remove_dir_all(&smtp.spool).ok();
    std::fs::create_dir_all(&smtp.spool).unwrap();
    let mut kills = 0;
    kill_at(&home, &fetch, whole, &POINTS[..6], |f| {
        sound(&home, &format!("sending killed at {f}"));
        assert_eq!(outbox(&home).len(), N, "sending killed at {f}");
        kills += 1;
    });
    succeeded(home.run_with(PASS, &fetch));
    let items = outbox(&home);
    assert!(items.iter().all(|i| i["state"] == "sent"), "{items:?}");
    // Each message reached the server; a kill between the server's yes and
    // the box noting it may send one again (SMTP has no way to ask).
    let accepted = smtp.accepted();
    let mut ids: Vec<String> = accepted
        .iter()
        .map(|a| a["message_id"].as_str().unwrap_or("").to_owned())
        .collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        N,
        "lost: {} of {N} reached the server",
        ids.len()
    );
    assert!(
        total - N <= kills,
        "{} sent twice with {kills} kills",
        total - N
    );
    eprintln!(
        "sending killed {kills} times: {} of {N} sent twice",
        total - N
    );
    sound(&home, "after sending");
}
