//! Filter rules (issue 22): the same rules applied while importing, while
//! fetching from Dovecot over IMAP, and run over stored mail afterwards give
//! every message the same tags.

use std::collections::BTreeMap;

use homepost_core::library::Library;
use homepost_core::rules::run_over_stored;
use homepost_mail::ImportSources;
use homepost_store::{DeletePolicy, RuleActions, SpamAction};
use homepost_testing::peers::Dovecot;
use homepost_testing::vault;

use crate::common::*;

/// Mail from a shop's newsletter, a boss, a list and friends, some read.
fn mails() -> Vec<Vec<u8>> {
    let senders = [
        ("Shop News <news@shop.example>", "Our autumn newsletter"),
        ("Boss <boss@work.example>", "Quarterly planning"),
        ("Friend <ann@example.org>", "Dinner on Friday"),
        ("Lottery <win@prize.example>", "You have won a prize"),
        ("Ann <ann@example.org>", "The newsletter you asked about"),
    ];
    (0..40)
        .map(|n| {
            let (from, subject) = senders[n % senders.len()];
            format!(
                "From: {from}\r\nTo: alice@localhost\r\nSubject: {subject} {n}\r\n\
                 Message-ID: <rule{n}@example.org>\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\n\
                 Body {n}: see the prize details and the planning notes.\r\n"
            )
            .into_bytes()
        })
        .collect()
}

/// The rules, in order: the third depends on a tag the first adds.
fn rules() -> Vec<(&'static str, &'static str, RuleActions)> {
    vec![
        (
            "Newsletters",
            "from:news@shop.example OR subject:newsletter",
            RuleActions {
                add_tags: vec!["newsletters".into()],
                archive: true,
                mark_read: true,
                ..RuleActions::default()
            },
        ),
        (
            "Prizes",
            "subject:prize -from:ann@example.org",
            RuleActions {
                spam: Some(SpamAction::Spam),
                ..RuleActions::default()
            },
        ),
        (
            "Bulk",
            "tag:newsletters from:example.org",
            RuleActions {
                add_tags: vec!["bulk".into()],
                remove_tags: vec!["newsletters".into()],
                ..RuleActions::default()
            },
        ),
        (
            "Work",
            "from:boss@work.example planning",
            RuleActions {
                add_tags: vec!["work".into(), "flagged".into()],
                ..RuleActions::default()
            },
        ),
    ]
}

async fn add_rules(lib: &Library) {
    for (name, query, actions) in rules() {
        lib.add_rule(name, query, &actions, true).await.unwrap();
    }
}

/// Every message's tags by Message-ID.
async fn tags_by_mid(lib: &Library) -> BTreeMap<String, Vec<String>> {
    let ids = lib.store().message_ids().await.unwrap();
    let mut out = BTreeMap::new();
    for s in lib.store().summaries(&ids).await.unwrap() {
        let mid = s.message_id.unwrap_or_default();
        out.insert(mid, lib.store().tags_of(s.id).await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_give_the_same_tags_at_import_at_fetch_and_over_stored_mail() {
    let mails = mails();
    let files = tempfile::tempdir().unwrap();
    let mut mbox = Vec::new();
    for m in &mails {
        mbox.extend_from_slice(b"From sender@example.org Tue Nov 14 22:13:20 2023\n");
        mbox.extend_from_slice(
            &String::from_utf8_lossy(m)
                .replace("\r\n", "\n")
                .into_bytes(),
        );
        mbox.push(b'\n');
    }
    let path = files.path().join("mail.mbox");
    std::fs::write(&path, &mbox).unwrap();

    // 1. Imported with the rules in place.
    let dir = tempfile::tempdir().unwrap();
    let mut imported = Library::open(dir.path(), &vault::create(dir.path()))
        .await
        .unwrap();
    add_rules(&imported).await;
    let stats = imported
        .import(
            ImportSources::new(vec![path.clone()]),
            &["inbox".into()],
            1_700_000_000,
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(stats.imported, 40);
    assert_eq!(
        stats.filtered,
        40 * 4 / 5,
        "every mail but the friend's dinner"
    );
    let at_import = tags_by_mid(&imported).await;

    // 2. Fetched from Dovecot with the rules in place.
    let dovecot = Dovecot::start();
    dovecot.deliver_many("alice", &mails);
    let (env, account) = Env::with_imap_account(&dovecot, "alice", DeletePolicy::Keep).await;
    add_rules(env.library.read().await.as_ref().unwrap()).await;
    let t = env.start(fast()).await;
    wait_for("40 messages", 120, || async {
        env.count().await == 40 && idle_status(&t, account).await
    })
    .await;
    t.shutdown().await;
    let at_fetch = tags_by_mid(env.library.read().await.as_ref().unwrap()).await;

    // 3. Imported without rules, then each rule run over stored mail in order.
    let dir = tempfile::tempdir().unwrap();
    let mut plain = Library::open(dir.path(), &vault::create(dir.path()))
        .await
        .unwrap();
    plain
        .import(
            ImportSources::new(vec![path]),
            &["inbox".into()],
            1_700_000_000,
            |_| {},
        )
        .await
        .unwrap();
    add_rules(&plain).await;
    let ids: Vec<i64> = plain.rules().await.unwrap().iter().map(|r| r.id).collect();
    let shared = std::sync::Arc::new(tokio::sync::RwLock::new(Some(plain)));
    for id in ids {
        let (count, run) = run_over_stored(shared.clone(), id).await.unwrap();
        let changed = run.await.unwrap();
        assert!(
            changed > 0 && changed <= count as u64,
            "{changed} of {count}"
        );
    }
    let over_stored = tags_by_mid(shared.read().await.as_ref().unwrap()).await;

    assert_eq!(at_import.len(), 40);
    let newsletter = &at_import["rule0@example.org"];
    assert_eq!(newsletter, &["newsletters", "read"], "archived and read");
    assert_eq!(at_import["rule3@example.org"], ["inbox", "spam"]);
    assert_eq!(at_import["rule4@example.org"], ["bulk", "read"]);
    assert_eq!(at_import["rule1@example.org"], ["flagged", "inbox", "work"]);
    assert_eq!(at_import["rule2@example.org"], ["inbox"]);
    assert_eq!(at_fetch, at_import, "fetch and import");
    assert_eq!(over_stored, at_import, "run over stored mail and import");
}
