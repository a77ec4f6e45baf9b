//! Deleting for good (issue 19): after a delete and the trash's purge, no page
//! of the store, decrypted with its key, and no part of the index holds a word
//! of the deleted message; everything else is as it was and `check` passes.

use homepost_core::library::Library;
use homepost_mail::{ImportSources, RawMessage};
use homepost_spam::Class;
use homepost_store::Inserted;
use homepost_testing::{sqlcipher, vault};
use homepost_vault::Purpose;

const NOW: i64 = 1_700_000_000;

fn mail(n: usize, subject: &str, body: &str) -> RawMessage {
    let raw = format!(
        "From: Ann <ann{n}@example.org>\r\nTo: bob@example.org\r\nSubject: {subject}\r\n\
Message-ID: <m{n}@example.org>\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\n{body}\r\n"
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

fn id_of(i: &Inserted) -> i64 {
    match i {
        Inserted::New(id) | Inserted::Duplicate(id) => *id,
    }
}

#[tokio::test]
async fn deleted_for_good_leaves_no_word_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault::create(dir.path());
    let key = vault.subkey(Purpose::Sqlcipher);
    let mut lib = Library::open(dir.path(), &vault).await.unwrap();
    // A subject, a snippet and an address only the doomed message has, among
    // others (its words in the index share segments with theirs).
    let mut batch = vec![mail(
        0,
        "Zanzibarquokka plans",
        "meet at the zanzibarquokka pier",
    )];
    batch.extend((1..40).map(|n| mail(n, &format!("ordinary {n}"), "nothing to see")));
    let ids: Vec<i64> = lib
        .deliver(batch, NOW)
        .await
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    let doomed = ids[0];
    // Trained as wanted mail: its words are in the spam filter's counts too.
    let learn = tempfile::tempdir().unwrap();
    let file = learn.path().join("doomed.eml");
    std::fs::write(&file, lib.store().raw(doomed).await.unwrap().unwrap()).unwrap();
    lib.learn_spam(ImportSources::new(vec![file]), Class::Ham, |_| {})
        .await
        .unwrap();
    lib.store().empty_wal().await.unwrap();
    let db = dir.path().join("store.db");
    assert!(sqlcipher::holds(&db, key.expose(), b"Zanzibarquokka"));
    assert_eq!(lib.count("zanzibarquokka").await.unwrap(), 1);

    // To the trash: nothing is deleted yet, nor by a purge before 30 days.
    let trash = vec!["trash".to_string()];
    lib.change_tags(&[doomed], &trash, &["inbox".to_string()])
        .await
        .unwrap();
    assert_eq!(lib.purge_trash(NOW).await.unwrap(), 0);
    assert!(lib.store().raw(doomed).await.unwrap().is_some());
    // 31 days later (the trash records the real time it was put there).
    let later = homepost_core::unix_now() + 31 * 86_400;
    assert_eq!(lib.purge_trash(later).await.unwrap(), 1);

    assert!(lib.store().raw(doomed).await.unwrap().is_none());
    assert_eq!(lib.count("zanzibarquokka").await.unwrap(), 0);
    assert_eq!(lib.count("ordinary").await.unwrap(), 39);
    let report = lib.check(|_, _| {}).await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.messages, 39);
    lib.close().await;
    // The sender stays in the address book (docs/integrity.md): the address
    // book is the user's to edit, not a part of the message.
    for word in [&b"Zanzibarquokka"[..], b"zanzibarquokka", b"m0@example.org"] {
        assert!(
            !sqlcipher::holds(&db, key.expose(), word),
            "{} is still on a page of the store",
            String::from_utf8_lossy(word)
        );
    }
    // The other messages are whole.
    let lib = Library::open(dir.path(), &vault).await.unwrap();
    for &id in &ids[1..] {
        assert!(lib.store().raw(id).await.unwrap().is_some());
    }
    lib.close().await;
}

/// Flags a server reports for many messages are applied at once, and one for a
/// message deleted for good meanwhile is skipped instead of failing the pass.
#[tokio::test]
async fn flag_changes_apply_in_one_pass_and_skip_deleted_mail() {
    use homepost_store::{FLAG_FLAGGED, FLAG_READ};
    use homepost_transport::FlagChange;
    let dir = tempfile::tempdir().unwrap();
    let mut lib = Library::open(dir.path(), &vault::create(dir.path()))
        .await
        .unwrap();
    let ids: Vec<i64> = lib
        .deliver((0..6).map(|n| mail(n, "flags", "body")).collect(), NOW)
        .await
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    lib.delete_for_good(&ids[5..]).await.unwrap();
    let mut changes: Vec<FlagChange> = ids
        .iter()
        .map(|&message| FlagChange {
            message,
            add: FLAG_READ,
            remove: 0,
        })
        .collect();
    changes[0].add = FLAG_READ | FLAG_FLAGGED;
    changes[1] = FlagChange {
        message: ids[1],
        add: FLAG_FLAGGED,
        remove: FLAG_READ,
    };
    lib.apply_flag_changes(&changes).await.unwrap();
    assert_eq!(lib.count("is:read").await.unwrap(), 4);
    assert_eq!(lib.count("is:flagged").await.unwrap(), 2);
    assert_eq!(lib.count("is:unread").await.unwrap(), 1);
}

/// Fetched mail is stored at once and searchable after a flush; stored but
/// never flushed (a crash mid-fetch), the next open indexes it.
#[tokio::test]
async fn fetched_batches_are_indexed_at_the_flush_or_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault::create(dir.path());
    let mut lib = Library::open(dir.path(), &vault).await.unwrap();
    for round in 0..3 {
        let batch = (0..5)
            .map(|n| mail(round * 10 + n, "fetched", &format!("word{round}x{n}quokka")))
            .collect();
        lib.store_fetched(batch, NOW).await.unwrap();
    }
    assert_eq!(lib.store().count().await.unwrap(), 15);
    assert_eq!(
        lib.count("word1x3quokka").await.unwrap(),
        0,
        "not before the flush"
    );
    lib.flush_delivered().await.unwrap();
    assert_eq!(lib.count("word1x3quokka").await.unwrap(), 1);
    assert_eq!(lib.count("subject:fetched").await.unwrap(), 15);

    lib.store_fetched(vec![mail(99, "late", "unflushedquokka")], NOW)
        .await
        .unwrap();
    drop(lib);
    let mut lib = Library::open(dir.path(), &vault).await.unwrap();
    assert_eq!(lib.count("unflushedquokka").await.unwrap(), 1);
    assert!(lib.check(|_, _| {}).await.unwrap().is_clean());
}
