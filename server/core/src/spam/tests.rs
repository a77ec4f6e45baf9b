//! Verdicts at import and training on tag changes, against a real store.

use super::*;
use homepost_vault::{KdfParams, Passphrase, Vault};

fn mail(subject: &str, body: &str) -> Vec<u8> {
    format!("From: x@example.org\r\nTo: bob@example.com\r\nSubject: {subject}\r\n\r\n{body}\r\n")
        .into_bytes()
}

/// A new library whose filter has learnt nothing.
async fn new_library() -> (tempfile::TempDir, Library) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let vault = Vault::create(
        &data,
        &Passphrase::new("pw".into()),
        KdfParams::INSECURE_FOR_TESTS,
    )
    .unwrap();
    let lib = Library::open(&data, &vault).await.unwrap();
    (dir, lib)
}

/// 20 spam and 20 ham messages to learn.
fn training() -> Vec<homepost_store::SpamExample> {
    let mut examples = Vec::new();
    for i in 0..20 {
        let spam = mail(&format!("cheap pills {i}"), "buy cheap pills now");
        let ham = mail(
            &format!("meeting notes {i}"),
            "notes from our project meeting",
        );
        examples.push(example(&spam, Class::Spam));
        examples.push(example(&ham, Class::Ham));
    }
    examples
}

/// A new library whose filter learnt [`training`].
async fn trained_library() -> (tempfile::TempDir, Library) {
    let (dir, lib) = new_library().await;
    lib.store().train_spam(&training()).await.unwrap();
    (dir, lib)
}

/// Writes each `(name, message)` into `dir` and imports them with `tags`.
async fn import_files(
    lib: &mut Library,
    dir: &std::path::Path,
    files: Vec<(String, Vec<u8>)>,
    tags: &[String],
) -> crate::library::ImportStats {
    let mut paths = Vec::new();
    for (name, raw) in files {
        let path = dir.join(name);
        std::fs::write(&path, raw).unwrap();
        paths.push(path);
    }
    lib.import(ImportSources::new(paths), tags, 0, |_| {})
        .await
        .unwrap()
}

/// On the single-threaded runtime of `#[tokio::test]` too, the import's
/// reader thread reads counts, and import classifies without training.
#[tokio::test]
async fn import_tags_spam_and_unsure_and_trains_nothing() {
    let (dir, mut lib) = trained_library().await;
    let before = lib.store().spam_stats().await.unwrap();

    let files = vec![
        (
            "spam.eml".into(),
            mail("cheap pills", "cheap pills for you"),
        ),
        (
            "ham.eml".into(),
            mail("meeting notes", "notes from the meeting"),
        ),
        ("new.eml".into(), mail("zebra", "quokka wombat")),
    ];
    let stats = import_files(&mut lib, dir.path(), files, &[]).await;
    assert_eq!((stats.imported, stats.spam, stats.unsure), (3, 1, 1));
    assert_eq!(lib.store().tags_of(1).await.unwrap(), [SPAM_TAG]);
    assert!(lib.store().tags_of(2).await.unwrap().is_empty());
    assert_eq!(lib.store().tags_of(3).await.unwrap(), [UNSURE_TAG]);
    assert_eq!(lib.count("tag:spam").await.unwrap(), 1);
    assert_eq!(lib.store().spam_stats().await.unwrap(), before);

    // Saying the unsure one is spam trains it and drops `unsure`.
    lib.change_tags(&[3], &[SPAM_TAG.into()], &[])
        .await
        .unwrap();
    assert_eq!(lib.store().tags_of(3).await.unwrap(), [SPAM_TAG]);
    assert_eq!(
        lib.store().spam_stats().await.unwrap().spam,
        before.spam + 1
    );
    lib.close().await;
}

/// Moving mail to the inbox with `remove: [spam]` (a whole conversation,
/// a bulk "To Inbox") trains only the messages that were spam or unsure;
/// reporting a conversation as spam leaves the user's own sent mail alone.
#[tokio::test]
async fn only_messages_whose_spam_state_changes_are_trained() {
    let (dir, mut lib) = trained_library().await;
    let mail = |name: &str, body: &str| {
        let raw = format!("From: a@example.org\r\nSubject: {name}\r\n\r\n{body}\r\n");
        vec![(format!("{name}.eml"), raw.into_bytes())]
    };
    import_files(&mut lib, dir.path(), mail("plain", "zqxlunch"), &[]).await;
    import_files(
        &mut lib,
        dir.path(),
        mail("mine", "zqxwords"),
        &["sent".into()],
    )
    .await;
    let id = async |lib: &mut Library, word: &str| {
        lib.search(word, &Default::default()).await.unwrap().1[0].id
    };
    let (plain, mine) = (
        id(&mut lib, "zqxlunch").await,
        id(&mut lib, "zqxwords").await,
    );
    let both = [plain, mine];
    // The filter may have been unsure of one: that is no person's verdict.
    lib.change_tags(&[plain], &tags(&[UNSURE_TAG]), &[])
        .await
        .unwrap();
    let before = lib.store().spam_stats().await.unwrap();

    // Nobody judged these: moving them to the inbox trains nothing, and
    // what the filter was unsure of stays so.
    lib.change_tags(&both, &tags(&["inbox"]), &tags(&[SPAM_TAG, "trash"]))
        .await
        .unwrap();
    let after = lib.store().spam_stats().await.unwrap();
    assert_eq!((after.spam, after.ham), (before.spam, before.ham));
    assert!(
        lib.store()
            .tags_of(plain)
            .await
            .unwrap()
            .contains(&UNSURE_TAG.to_owned())
    );

    // Reported as spam together: the received one is learnt and tagged,
    // the user's own sent mail neither.
    lib.change_tags(&both, &tags(&[SPAM_TAG]), &tags(&["inbox"]))
        .await
        .unwrap();
    let after = lib.store().spam_stats().await.unwrap();
    assert_eq!((after.spam, after.ham), (before.spam + 1, before.ham));
    assert!(
        lib.store()
            .tags_of(plain)
            .await
            .unwrap()
            .contains(&SPAM_TAG.to_owned())
    );
    assert!(
        !lib.store()
            .tags_of(mine)
            .await
            .unwrap()
            .contains(&SPAM_TAG.to_owned())
    );

    // Not spam again: only the one that was spam is learnt as ham.
    lib.change_tags(&both, &tags(&["inbox"]), &tags(&[SPAM_TAG]))
        .await
        .unwrap();
    let after = lib.store().spam_stats().await.unwrap();
    assert_eq!(after.ham, before.ham + 1);
    lib.close().await;
}

fn tags(t: &[&str]) -> Vec<String> {
    t.iter().map(|s| (*s).to_owned()).collect()
}

/// Mail the filter calls spam, from someone the user wrote to, is only
/// `unsure`; the same mail from a stranger is spam.
#[tokio::test]
async fn spam_from_a_known_correspondent_is_only_unsure() {
    let (dir, mut lib) = trained_library().await;
    // The user wrote to friend@example.net once.
    let sent = b"From: bob@example.com\r\nTo: friend@example.net\r\nSubject: hi\r\n\r\nhello\r\n";
    let files = vec![("sent.eml".into(), sent.to_vec())];
    import_files(&mut lib, dir.path(), files, &["sent".into()]).await;

    let files = [("friend.eml", "friend@example.net"), ("stranger.eml", "x@example.org")]
            .map(|(name, from)| {
                let raw = format!(
                    "From: {from}\r\nTo: bob@example.com\r\nSubject: cheap pills\r\n\r\ncheap pills for you\r\n"
                );
                (name.to_owned(), raw.into_bytes())
            })
            .to_vec();
    let stats = import_files(&mut lib, dir.path(), files, &[]).await;
    assert_eq!((stats.imported, stats.spam, stats.unsure), (2, 1, 1));
    assert_eq!(lib.store().tags_of(2).await.unwrap(), [UNSURE_TAG]);
    assert_eq!(lib.store().tags_of(3).await.unwrap(), [SPAM_TAG]);
    lib.close().await;
}

/// Mail the filter calls spam through a mailing list the user reads is only
/// `unsure`; through a list nobody reads, or from outside any list, spam.
#[tokio::test]
async fn spam_through_a_list_the_user_reads_is_only_unsure() {
    let (dir, mut lib) = trained_library().await;
    let list_mail = |n: usize, list: &str, subject: &str, body: &str| {
        format!(
            "From: member{n}@example.org\r\nTo: list@example.org\r\nList-Id: A list <{list}>\r\n\
Subject: {subject}\r\n\r\n{body}\r\n"
        )
    };
    // Three messages of the list, read.
    let read = (0..3)
        .map(|n| {
            let raw = list_mail(n, "dev.example.org", "release notes", "the plan");
            (format!("read{n}.eml"), raw.into_bytes())
        })
        .collect();
    import_files(&mut lib, dir.path(), read, &["read".into()]).await;

    let files = [
        ("read-list.eml", "dev.example.org"),
        ("other-list.eml", "ads.example.net"),
    ]
    .map(|(name, list)| {
        let raw = list_mail(9, list, "cheap pills", "cheap pills for you");
        (name.to_owned(), raw.into_bytes())
    })
    .to_vec();
    let stats = import_files(&mut lib, dir.path(), files, &[]).await;
    assert_eq!((stats.imported, stats.spam, stats.unsure), (2, 1, 1));
    assert_eq!(lib.store().tags_of(4).await.unwrap(), [UNSURE_TAG]);
    assert_eq!(lib.store().tags_of(5).await.unwrap(), [SPAM_TAG]);
    lib.close().await;
}

#[test]
fn tag_changes_that_teach_the_filter() {
    assert_eq!(spam_decision(&tags(&["Spam"]), &[]), Some(Class::Spam));
    assert_eq!(spam_decision(&[], &tags(&["spam"])), Some(Class::Ham));
    assert_eq!(
        spam_decision(&tags(&["spam"]), &tags(&["spam"])),
        Some(Class::Ham)
    );
    assert_eq!(spam_decision(&tags(&["work"]), &tags(&["inbox"])), None);
    assert_eq!(spam_decision(&tags(&["unsure"]), &[]), None);
}

fn fetched(subject: &str, body: &str) -> RawMessage {
    RawMessage {
        raw: mail(subject, body),
        origin: format!("imap:test/INBOX/1/{subject}"),
        mbox_number: None,
        tags: Vec::new(),
        progress_bytes: 0,
        file_time: None,
    }
}

/// A fetch's batches share the classifier and the counts it read, yet follow
/// training between them: the words cached as unknown are read again once the
/// filter learnt them. Each batch is parsed on several threads and stored in
/// the order it came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetched_batches_share_counts_and_follow_training() {
    let (_dir, mut lib) = trained_library().await;
    let first = lib
        .store_fetched(vec![fetched("zebra", "quokka wombat")], 0)
        .await
        .unwrap();
    let id = |i: &homepost_store::Inserted| match i {
        homepost_store::Inserted::New(id) | homepost_store::Inserted::Duplicate(id) => *id,
    };
    assert_eq!(
        lib.store().tags_of(id(&first[0])).await.unwrap(),
        [UNSURE_TAG]
    );

    // The filter learns that these words are spam.
    let examples: Vec<_> = (0..40)
        .map(|i| example(&mail(&format!("zebra {i}"), "quokka wombat"), Class::Spam))
        .collect();
    lib.store().train_spam(&examples).await.unwrap();

    // The same words again, with one new word so the batch asks the store;
    // a batch of 237 with the 21st again as the 151st (a duplicate within it).
    let subject = |i: usize| format!("zebra number{}", if i == 150 { 20 } else { i });
    let batch: Vec<RawMessage> = (0..237)
        .map(|i| fetched(&subject(i), "quokka wombat"))
        .collect();
    let stored = lib.store_fetched(batch, 0).await.unwrap();
    assert_eq!(stored.len(), 237);
    assert_eq!(
        stored[150],
        homepost_store::Inserted::Duplicate(id(&stored[20]))
    );
    for (i, s) in stored.iter().enumerate() {
        let m = lib.store().message(id(s)).await.unwrap().unwrap();
        assert_eq!(m.summary.subject, subject(i));
        assert_eq!(lib.store().tags_of(id(s)).await.unwrap(), [SPAM_TAG], "{i}");
    }
    lib.close().await;
}

/// The fetch prepares its next batch while the library stores this one: the
/// sink keeps the classifier between batches, an untrained one learns that the
/// filter was trained meanwhile, and batches are stored in the order they were
/// delivered, not prepared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_batches_follow_training_and_keep_their_order() {
    use homepost_transport::{Prepared, Sink, SinkError};

    let (_dir, lib) = new_library().await;
    let store = lib.store().clone();
    let shared = std::sync::Arc::new(tokio::sync::RwLock::new(Some(lib)));
    let sink = crate::sink::LibrarySink::new(shared.clone());

    let first = sink
        .prepare(vec![fetched("cheap pills", "buy cheap pills now")])
        .await
        .unwrap();
    // Trained after the first batch was prepared, before the next ones.
    store.train_spam(&training()).await.unwrap();
    let second = sink
        .prepare(vec![fetched("cheap pills again", "buy cheap pills now")])
        .await
        .unwrap();
    let third = sink
        .prepare(vec![fetched(
            "meeting notes",
            "notes from our project meeting",
        )])
        .await
        .unwrap();

    let ids = sink.deliver_prepared(first).await.unwrap();
    // Prepared before the training: no verdict, and none is made up.
    assert_eq!(store.tags_of(ids[0]).await.unwrap(), Vec::<String>::new());
    let later = sink.deliver_prepared(second).await.unwrap();
    assert_eq!(later[0], ids[0] + 1);
    assert_eq!(store.tags_of(later[0]).await.unwrap(), [SPAM_TAG]);

    // A batch prepared by another sink is refused, not lost in silence.
    let foreign = Prepared::new(vec![1u8]);
    assert!(matches!(
        sink.deliver_prepared(foreign).await,
        Err(SinkError::Failed(_))
    ));
    // Locked meanwhile: the prepared batch is not stored.
    let lib = shared.write().await.take().unwrap();
    assert_eq!(sink.deliver_prepared(third).await, Err(SinkError::Locked));
    assert_eq!(lib.store().count().await.unwrap(), 2);
    lib.close().await;
}
