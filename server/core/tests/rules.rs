//! Saved searches and filter rules (issue 22): order and `stop`, hostile
//! input, rules that would loop, counts kept per index generation, and tags
//! renamed or deleted under a saved search or rule.

use homepost_core::library::Library;
use homepost_core::rules::RulesError;
use homepost_mail::RawMessage;
use homepost_store::{RuleActions, RuleChange};
use homepost_testing::vault;

const NOW: i64 = 1_700_000_000;

fn mail(n: usize, from: &str, subject: &str) -> RawMessage {
    let raw = format!(
        "From: {from}\r\nTo: bob@example.org\r\nSubject: {subject}\r\n\
Message-ID: <r{n}@example.org>\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\nHello {n}\r\n"
    );
    RawMessage {
        raw: raw.into_bytes(),
        origin: format!("test {n}"),
        mbox_number: None,
        tags: vec!["inbox".into()],
        progress_bytes: 0,
        file_time: None,
    }
}

fn bad<T: std::fmt::Debug>(r: Result<T, RulesError>) -> RulesError {
    r.unwrap_err()
}

fn add(tags: &[&str]) -> RuleActions {
    RuleActions {
        add_tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        ..RuleActions::default()
    }
}

async fn open() -> (tempfile::TempDir, Library) {
    let dir = tempfile::tempdir().unwrap();
    let lib = Library::open(dir.path(), &vault::create(dir.path()))
        .await
        .unwrap();
    (dir, lib)
}

async fn tags_of_new(lib: &mut Library, m: RawMessage) -> Vec<String> {
    let id = match lib.deliver(vec![m], NOW).await.unwrap()[0] {
        homepost_store::Inserted::New(id) | homepost_store::Inserted::Duplicate(id) => id,
    };
    lib.store().tags_of(id).await.unwrap()
}

#[tokio::test]
async fn rules_run_in_order_and_stop_ends_the_list() {
    let (_dir, mut lib) = open().await;
    let first = lib
        .add_rule(
            "Boss first",
            "from:boss@work.example",
            &RuleActions {
                stop: true,
                ..add(&["work"])
            },
            true,
        )
        .await
        .unwrap();
    let second = lib
        .add_rule("Everything", "*", &add(&["seen-by-rules"]), true)
        .await
        .unwrap();
    let tags = tags_of_new(&mut lib, mail(1, "boss@work.example", "Plans")).await;
    assert_eq!(tags, ["inbox", "work"], "stop kept the second rule away");
    let tags = tags_of_new(&mut lib, mail(2, "ann@example.org", "Hi")).await;
    assert_eq!(tags, ["inbox", "seen-by-rules"]);

    // Reordered: the catch-all runs first, then the boss rule.
    lib.store()
        .reorder_rules(&[second.id, first.id])
        .await
        .unwrap();
    let tags = tags_of_new(&mut lib, mail(3, "boss@work.example", "More plans")).await;
    assert_eq!(tags, ["inbox", "seen-by-rules", "work"]);

    // A disabled rule does not run.
    lib.update_rule(
        second.id,
        RuleChange {
            enabled: Some(false),
            ..RuleChange::default()
        },
    )
    .await
    .unwrap();
    let tags = tags_of_new(&mut lib, mail(4, "ann@example.org", "Again")).await;
    assert_eq!(tags, ["inbox"]);
}

#[tokio::test]
async fn rules_that_would_loop_run_once_each() {
    let (_dir, mut lib) = open().await;
    lib.add_rule("a", "*", &add(&["a"]), true).await.unwrap();
    let swap = |from: &str, to: &str| RuleActions {
        add_tags: vec![to.into()],
        remove_tags: vec![from.into()],
        ..RuleActions::default()
    };
    lib.add_rule("a to b", "tag:a", &swap("a", "b"), true)
        .await
        .unwrap();
    lib.add_rule("b to a", "tag:b", &swap("b", "a"), true)
        .await
        .unwrap();
    // A rule whose action makes it match again.
    lib.add_rule("self", "tag:a", &add(&["a"]), true)
        .await
        .unwrap();
    let tags = tags_of_new(&mut lib, mail(1, "ann@example.org", "Loop")).await;
    assert_eq!(tags, ["a", "inbox"]);
}

#[tokio::test]
async fn hostile_rules_and_searches_get_clear_errors() {
    let (_dir, lib) = open().await;
    let long = "word ".repeat(300);
    assert!(matches!(
        bad(lib.add_rule("long", &long, &add(&["x"]), true).await),
        RulesError::BadQuery(m) if m.contains("longer than 1000")
    ));
    assert!(matches!(
        bad(lib.save_search("long", &long).await),
        RulesError::BadQuery(_)
    ));
    assert!(matches!(
        bad(lib.add_rule("paren", "(unclosed", &add(&["x"]), true).await),
        RulesError::BadQuery(m) if m.contains("parenthesis")
    ));
    assert!(matches!(
        bad(lib
            .add_rule("idle", "*", &RuleActions::default(), true)
            .await),
        RulesError::NoActions
    ));
    let both = RuleActions {
        add_tags: vec!["inbox".into()],
        archive: true,
        ..RuleActions::default()
    };
    assert!(matches!(
        bad(lib.add_rule("both", "*", &both, true).await),
        RulesError::BadActions(m) if m.contains("inbox")
    ));
    assert!(matches!(
        bad(lib.add_rule("tag", "*", &add(&["two words"]), true).await),
        RulesError::BadActions(m) if m.contains("invalid tag")
    ));
    assert!(matches!(
        bad(lib.add_rule("", "*", &add(&["x"]), true).await),
        RulesError::BadName
    ));
    assert!(matches!(
        bad(lib.save_search(&"n".repeat(101), "*").await),
        RulesError::BadName
    ));
    // An unknown tag is allowed, with a warning saying it finds nothing.
    let saved = lib.save_search("Ghost", "tag:nosuchtag").await.unwrap();
    assert_eq!(saved.total, 0);
    assert!(saved.warnings.iter().any(|w| w.contains("nosuchtag")));
    // At most 200 of each.
    for n in 1..200 {
        lib.save_search(&format!("s{n}"), "*").await.unwrap();
    }
    assert!(matches!(
        bad(lib.save_search("one more", "*").await),
        RulesError::TooMany
    ));
}

#[tokio::test]
async fn saved_searches_count_and_follow_renamed_tags() {
    let (_dir, mut lib) = open().await;
    for n in 0..5 {
        lib.deliver(vec![mail(n, "bank@bank.example", "Statement")], NOW)
            .await
            .unwrap();
    }
    let ids = lib.store().message_ids().await.unwrap();
    lib.change_tags(&ids, &["bills".into()], &[]).await.unwrap();
    lib.change_tags(&ids[..2], &["read".into()], &[])
        .await
        .unwrap();
    lib.change_tags(&ids[4..], &["trash".into()], &[])
        .await
        .unwrap();
    let saved = lib.save_search("Bills", "tag:bills").await.unwrap();
    assert_eq!((saved.total, saved.unread), (4, 2), "trash left out");
    let rule = lib
        .add_rule("Bank", "from:bank@bank.example", &add(&["bills"]), true)
        .await
        .unwrap();

    // New mail changes the counts (a new index generation).
    lib.deliver(vec![mail(9, "bank@bank.example", "New")], NOW)
        .await
        .unwrap();
    let saved = &lib.saved_searches().await.unwrap()[0];
    assert_eq!((saved.total, saved.unread), (5, 3), "the rule tagged it");

    // Renamed: the saved search and the rule follow.
    lib.rename_tag("bills", "paid").await.unwrap();
    let saved = &lib.saved_searches().await.unwrap()[0];
    assert_eq!(saved.query, "tag:paid");
    assert_eq!((saved.total, saved.unread), (5, 3));
    assert!(saved.warnings.is_empty());
    let rule = lib.rule(rule.id).await.unwrap();
    assert_eq!(rule.actions.add_tags, ["paid"]);

    // Deleted: it says clearly it finds nothing.
    lib.delete_tag("paid").await.unwrap();
    let saved = &lib.saved_searches().await.unwrap()[0];
    assert_eq!(saved.total, 0);
    assert!(
        saved
            .warnings
            .iter()
            .any(|w| w.contains("\"paid\"") && w.contains("no message has")),
        "{:?}",
        saved.warnings
    );
    assert!(saved.warnings.iter().any(|w| w.contains("finds nothing")));
}
