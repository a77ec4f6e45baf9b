use homepost_mail::parse;
use homepost_testing::vault;
use homepost_vault::Purpose;

use super::*;

/// A store in a new vault in `dir` (shared by the crate's test modules).
pub(crate) async fn open_store(dir: &Path) -> Store {
    let key = vault::create(dir).subkey(Purpose::Sqlcipher);
    Store::open(&dir.join(DB_FILE), &key).await.unwrap()
}

pub(crate) fn mail(mid: &str, subject: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: {subject}\r\nMessage-ID: <{mid}>\r\nDate: Tue, 05 Mar 2024 10:00:00 +0000\r\n{extra}\r\n{body}\r\n"
    )
    .into_bytes()
}

pub(crate) async fn insert(store: &Store, raw: &[u8]) -> Inserted {
    let parsed = parse(raw);
    let tags = vec!["inbox".to_string()];
    store
        .insert_batch(
            &[NewMessage {
                raw,
                parsed: &parsed,
                tags: &tags,
                origin: "test",
                crypto_pending: false,
                packed: None,
                date: parsed.date.unwrap_or(0),
            }],
            0,
        )
        .await
        .unwrap()[0]
}

/// Stores a small message and returns its id (for the crate's other test modules).
pub(crate) async fn insert_mail(store: &Store, mid: &str, body: &str) -> i64 {
    id(insert(store, &mail(mid, "Subject", "", body)).await)
}

pub(crate) fn id(i: Inserted) -> i64 {
    match i {
        Inserted::New(id) => id,
        Inserted::Duplicate(id) => panic!("unexpected duplicate {id}"),
    }
}

#[tokio::test]
async fn same_bytes_stored_once_reused_message_id_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let a = mail("same@x", "Hello", "", "first body");
    let b = mail("same@x", "Hello", "", "a different body");
    let first = id(insert(&store, &a).await);
    assert_eq!(insert(&store, &a).await, Inserted::Duplicate(first));
    let second = id(insert(&store, &b).await);
    assert_ne!(first, second);
    assert_eq!(store.count().await.unwrap(), 2);
    assert_eq!(store.raw(first).await.unwrap().unwrap(), a);
    assert_eq!(store.raw(second).await.unwrap().unwrap(), b);
    store.close().await;
}

#[tokio::test]
async fn fields_are_stored_beside_raw() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let raw = mail(
        "m1@x",
        "Quarterly report",
        "Cc: Carol <carol@example.net>\r\n",
        "numbers inside",
    );
    let m = id(insert(&store, &raw).await);
    let d = store.message(m).await.unwrap().unwrap();
    assert_eq!(d.summary.subject, "Quarterly report");
    assert_eq!(d.summary.message_id.as_deref(), Some("m1@x"));
    assert_eq!(d.summary.date, 1709632800);
    assert_eq!(
        d.summary.from[0].address.as_deref(),
        Some("alice@example.org")
    );
    assert_eq!(d.summary.from[0].name.as_deref(), Some("Alice"));
    assert_eq!(d.summary.to[0].address.as_deref(), Some("bob@example.com"));
    assert_eq!(d.cc[0].name.as_deref(), Some("Carol"));
    assert_eq!(d.summary.tags, vec!["inbox"]);
    assert!(d.summary.snippet.contains("numbers inside"));
    assert_eq!(d.size, raw.len() as u64);
    store.close().await;
}

#[tokio::test]
async fn threads_join_by_references_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    // The reply arrives first and references a parent we do not have yet.
    let reply = id(insert(
        &store,
        &mail(
            "r@x",
            "Re: plan",
            "In-Reply-To: <p@x>\r\nReferences: <root@x> <p@x>\r\n",
            "ok",
        ),
    )
    .await);
    let other = id(insert(&store, &mail("o@x", "unrelated", "", "x")).await);
    // A second reply to the same missing root starts in the same thread via the ghost.
    let sibling = id(insert(
        &store,
        &mail("s@x", "Re: plan", "References: <root@x>\r\n", "me too"),
    )
    .await);
    let parent = id(insert(
        &store,
        &mail("p@x", "plan", "References: <root@x>\r\n", "the plan"),
    )
    .await);
    let t = store
        .message(reply)
        .await
        .unwrap()
        .unwrap()
        .summary
        .thread_id;
    for m in [sibling, parent] {
        assert_eq!(
            store.message(m).await.unwrap().unwrap().summary.thread_id,
            t
        );
    }
    assert_ne!(
        store
            .message(other)
            .await
            .unwrap()
            .unwrap()
            .summary
            .thread_id,
        t
    );
    let thread: Vec<i64> = store
        .thread(t)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(thread.len(), 3);
    store.close().await;
}

#[tokio::test]
async fn threads_merge_when_a_message_links_two() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let a = id(insert(&store, &mail("a@x", "alpha", "", "1")).await);
    let b = id(insert(&store, &mail("b@x", "beta", "", "2")).await);
    let ta = store.message(a).await.unwrap().unwrap().summary.thread_id;
    let tb = store.message(b).await.unwrap().unwrap().summary.thread_id;
    assert_ne!(ta, tb);
    let c = id(insert(
        &store,
        &mail("c@x", "both", "References: <a@x> <b@x>\r\n", "3"),
    )
    .await);
    let tc = store.message(c).await.unwrap().unwrap().summary.thread_id;
    assert_eq!(
        store.message(a).await.unwrap().unwrap().summary.thread_id,
        tc
    );
    assert_eq!(
        store.message(b).await.unwrap().unwrap().summary.thread_id,
        tc
    );
    store.close().await;
}

#[tokio::test]
async fn subject_threads_only_replies() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let a = id(insert(&store, &mail("a@x", "Lunch?", "", "1")).await);
    let b = id(insert(&store, &mail("b@x", "RE: Lunch?", "", "2")).await);
    let c = id(insert(
        &store,
        &mail("c@x", "Lunch?", "", "another lunch, not a reply"),
    )
    .await);
    let t = |m| {
        let store = store.clone();
        async move { store.message(m).await.unwrap().unwrap().summary.thread_id }
    };
    assert_eq!(t(a).await, t(b).await);
    // A non-reply with the same subject joins only through an existing reply.
    assert_eq!(t(c).await, t(a).await);
    let d = id(insert(&store, &mail("d@x", "Dinner", "", "x")).await);
    let e = id(insert(&store, &mail("e@x", "Dinner", "", "y")).await);
    assert_ne!(t(d).await, t(e).await);
    store.close().await;
}

#[tokio::test]
async fn tags_change_and_requeue_for_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let m = id(insert(&store, &mail("t@x", "tags", "", "x")).await);
    store.mark_indexed(&[(m, 0)]).await.unwrap();
    assert_eq!(store.pending_count().await.unwrap(), 0);
    store
        .change_tags(&[m], &["Work".into()], &["inbox".into()])
        .await
        .unwrap();
    assert_eq!(store.tags_of(m).await.unwrap(), vec!["work"]);
    assert_eq!(store.pending_ids(0, 10).await.unwrap(), vec![m]);
    let pending = store.index_source(m).await.unwrap().unwrap();
    assert_eq!(pending.tags, vec!["work"]);
    // Another change lands while that state is being indexed: marking the old
    // version indexed must leave the row queued.
    store
        .change_tags(&[m], &["later".into()], &[])
        .await
        .unwrap();
    store.mark_indexed(&[(m, pending.version)]).await.unwrap();
    assert_eq!(store.pending_ids(0, 10).await.unwrap(), vec![m]);
    let newer = store.index_source(m).await.unwrap().unwrap();
    store.mark_indexed(&[(m, newer.version)]).await.unwrap();
    assert!(store.pending_ids(0, 10).await.unwrap().is_empty());
    assert!(
        store
            .change_tags(&[m], &["has space".into()], &[])
            .await
            .is_err()
    );
    assert!(store.change_tags(&[m], &["-x".into()], &[]).await.is_err());
    store.close().await;
}

/// The page caches of all connections share one bound (a serving box at 10^6
/// messages held 71 MB of them without it), and each connection keeps its own
/// 16 MiB cache size for an import's writer.
#[tokio::test]
async fn page_caches_are_bounded_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(store.pool.acquire().await.unwrap());
    }
    for conn in &mut held {
        let limit: i64 = sqlx::query_scalar("PRAGMA soft_heap_limit")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(limit, SQLITE_SOFT_HEAP_LIMIT);
        let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(cache, -16384);
    }
    drop(held);
    store.close().await;
}

#[tokio::test]
async fn the_key_is_not_kept_in_the_pool_options_and_is_dropped_on_close() {
    let dir = tempfile::tempdir().unwrap();
    let key = vault::create(dir.path()).subkey(Purpose::Sqlcipher);
    let hex_key = hex::encode(key.expose());
    let store = Store::open(&dir.path().join(DB_FILE), &key).await.unwrap();
    // sqlx keeps its connect options (as plain strings) for the pool's life.
    let options = format!("{:?}", store.pool.connect_options());
    assert!(
        !options.contains(&hex_key),
        "the key is in the pool's options"
    );
    // More connections than the first still get the key.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(store.pool.acquire().await.unwrap());
    }
    drop(held);
    insert(&store, &mail("k@x", "key", "", "x")).await;
    let shared = store.key.clone();
    assert!(
        shared
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .0
            .contains(&hex_key)
    );
    // Every clone of the store (the transport holds one) shares the key, and close()
    // drops it for all: its `Zeroizing` wipes it then.
    let clone = store.clone();
    store.close().await;
    assert!(shared.lock().unwrap().is_none(), "the key outlived close()");
    assert!(clone.key.lock().unwrap().is_none());
}

#[tokio::test]
async fn wrong_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    insert(&store, &mail("k@x", "key", "", "x")).await;
    store.close().await;
    let other = tempfile::tempdir().unwrap();
    let wrong = vault::create(other.path()).subkey(Purpose::Sqlcipher);
    let err = Store::open(&dir.path().join(DB_FILE), &wrong)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WrongKey), "{err}");
}

#[tokio::test]
async fn database_file_is_not_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    insert(
        &store,
        &mail("zebracorn@x", "zebracornsubject", "", "zebracornbody"),
    )
    .await;
    store.close().await;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(9).any(|w| w == b"zebracorn"));
        assert!(!bytes.starts_with(b"SQLite format 3"));
    }
}

#[tokio::test]
async fn one_batch_threads_and_deduplicates_like_single_inserts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let raws = [
        mail(
            "r@x",
            "Re: plan",
            "References: <root@x> <p@x>\r\n",
            "reply first",
        ),
        mail("o@x", "unrelated", "", "x"),
        mail(
            "s@x",
            "Re: plan",
            "References: <root@x>\r\n",
            "sibling via ghost",
        ),
        mail("a@x", "alpha", "", "1"),
        mail("b@x", "beta", "", "2"),
        mail(
            "c@x",
            "both",
            "References: <a@x> <b@x>\r\n",
            "links a and b",
        ),
        mail(
            "r@x",
            "Re: plan",
            "References: <root@x> <p@x>\r\n",
            "reply first",
        ),
    ];
    let parsed: Vec<_> = raws.iter().map(|r| parse(r)).collect();
    let tags = vec!["inbox".to_string()];
    let batch: Vec<NewMessage<'_>> = raws
        .iter()
        .zip(&parsed)
        .map(|(raw, parsed)| NewMessage {
            raw,
            parsed,
            tags: &tags,
            origin: "batch",
            crypto_pending: false,
            packed: None,
            date: parsed.date.unwrap_or(0),
        })
        .collect();
    let out = store.insert_batch(&batch, 0).await.unwrap();
    let ids: Vec<i64> = out[..6].iter().map(|&i| id(i)).collect();
    assert_eq!(out[6], Inserted::Duplicate(ids[0]));
    let thread = |m: i64| {
        let store = store.clone();
        async move { store.message(m).await.unwrap().unwrap().summary.thread_id }
    };
    assert_eq!(thread(ids[0]).await, thread(ids[2]).await);
    assert_ne!(thread(ids[0]).await, thread(ids[1]).await);
    let t = thread(ids[5]).await;
    assert_eq!(thread(ids[3]).await, t);
    assert_eq!(thread(ids[4]).await, t);
    // A later parent joins the batch's thread through the recorded ghost ids.
    let parent = id(insert(
        &store,
        &mail("p@x", "plan", "References: <root@x>\r\n", "the plan"),
    )
    .await);
    assert_eq!(thread(parent).await, thread(ids[0]).await);
    assert_eq!(store.tags_of(ids[1]).await.unwrap(), vec!["inbox"]);
    store.close().await;
}

#[tokio::test]
async fn tags_are_counted_created_renamed_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let a = id(insert(&store, &mail("a@x", "a", "", "x")).await);
    let b = id(insert(&store, &mail("b@x", "b", "", "y")).await);
    store
        .change_tags(&[a], &["read".into(), "work".into()], &[])
        .await
        .unwrap();
    store.mark_indexed(&[(a, 1), (b, 0)]).await.unwrap();
    let counts = store.tag_counts().await.unwrap();
    let get = |name: &str| counts.iter().find(|t| t.name == name).cloned().unwrap();
    assert_eq!((get("inbox").total, get("inbox").unread), (2, 1));
    assert_eq!((get("work").total, get("work").unread), (1, 0));

    assert_eq!(store.create_tag(" Later ").await.unwrap(), "later");
    assert!(matches!(
        store.create_tag("later").await,
        Err(Error::TagExists(_))
    ));
    assert!(matches!(
        store.create_tag("a b").await,
        Err(Error::BadTag(_))
    ));
    let later = store.tag_counts().await.unwrap();
    assert!(later.iter().any(|t| t.name == "later" && t.total == 0));

    // Renaming requeues only the tagged message for the index.
    assert!(matches!(
        store.rename_tag("work", "later").await,
        Err(Error::TagExists(_))
    ));
    assert!(matches!(
        store.rename_tag("nope", "x").await,
        Err(Error::NoSuchTag(_))
    ));
    assert_eq!(store.rename_tag("work", "Job").await.unwrap(), "job");
    assert_eq!(
        store.tags_of(a).await.unwrap(),
        vec!["inbox", "job", "read"]
    );
    assert_eq!(store.pending_ids(0, 10).await.unwrap(), vec![a]);

    store.delete_tag("job").await.unwrap();
    assert_eq!(store.tags_of(a).await.unwrap(), vec!["inbox", "read"]);
    assert!(matches!(
        store.delete_tag("job").await,
        Err(Error::NoSuchTag(_))
    ));
    assert!(
        !store
            .tag_counts()
            .await
            .unwrap()
            .iter()
            .any(|t| t.name == "job")
    );
    store.close().await;
}

#[tokio::test]
async fn correspondents_become_known_by_replies_sent_mail_or_repeat_mail() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let from = |who: &str, mid: &str| {
        format!(
            "From: {who}\r\nTo: me@example.org\r\nSubject: s\r\nMessage-ID: <{mid}>\r\n\r\nx\r\n"
        )
        .into_bytes()
    };
    let first = id(insert(&store, &from("New <new@example.net>", "n1@x")).await);
    assert!(
        !store
            .is_known_correspondent("new@example.net", first)
            .await
            .unwrap()
    );
    // Two more messages from the same sender: still not three *other* ones.
    let second = id(insert(&store, &from("new@example.net", "n2@x")).await);
    let third = id(insert(&store, &from("NEW@example.net", "n3@x")).await);
    assert!(
        !store
            .is_known_correspondent("new@example.net", first)
            .await
            .unwrap()
    );
    let fourth = id(insert(&store, &from("new@example.net", "n4@x")).await);
    assert!(
        store
            .is_known_correspondent("new@example.net", first)
            .await
            .unwrap()
    );
    // Spam does not count.
    store
        .change_tags(&[second, third, fourth], &["spam".into()], &[])
        .await
        .unwrap();
    assert!(
        !store
            .is_known_correspondent("new@example.net", first)
            .await
            .unwrap()
    );
    // A reply makes them known at once, as does mail the user sent them.
    store
        .change_tags(&[second], &["replied".into()], &[])
        .await
        .unwrap();
    assert!(
        store
            .is_known_correspondent("new@example.net", first)
            .await
            .unwrap()
    );
    let sent = "From: me@example.org\r\nTo: Pen Pal <pal@example.com>\r\nSubject: hi\r\nMessage-ID: <s1@x>\r\n\r\nx\r\n";
    let s = id(insert(&store, sent.as_bytes()).await);
    let pal = id(insert(&store, &from("pal@example.com", "p1@x")).await);
    assert!(
        !store
            .is_known_correspondent("pal@example.com", pal)
            .await
            .unwrap()
    );
    store
        .change_tags(&[s], &["sent".into()], &[])
        .await
        .unwrap();
    assert!(
        store
            .is_known_correspondent("pal@example.com", pal)
            .await
            .unwrap()
    );
    store.close().await;
}

#[tokio::test]
async fn identity_keys_rotate_and_peers_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    store
        .add_identity_key("AAAA", "me@example.org", b"old secret", 1)
        .await
        .unwrap();
    store
        .add_identity_key("BBBB", "me@example.org", b"new secret", 2)
        .await
        .unwrap();
    let active = store
        .active_identity_key("ME@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(active.fingerprint, "BBBB");
    assert_eq!(&active.secret[..], b"new secret");
    let all = store.identity_keys().await.unwrap();
    assert_eq!(all.len(), 2, "the old key stays to decrypt old mail");
    assert!(!all[1].active);
    // One key for two addresses stays active for both.
    for a in ["me@example.org", "me@example.net"] {
        store
            .add_identity_key("CCCC", a, b"shared secret", 3)
            .await
            .unwrap();
    }
    for a in ["me@example.org", "me@example.net"] {
        let k = store.active_identity_key(a).await.unwrap().unwrap();
        assert_eq!(k.fingerprint, "CCCC", "{a}");
    }

    assert_eq!(store.peer("bob@example.org").await.unwrap(), None);
    let peer = crate::PeerRow {
        address: "bob@example.org".into(),
        last_seen: Some(10),
        autocrypt_timestamp: Some(10),
        public_key: Some(vec![1, 2, 3]),
        prefer_encrypt: 1,
        pinned_fingerprint: Some("CCCC".into()),
        signed_count: 2,
        ..Default::default()
    };
    store.save_peer(&peer).await.unwrap();
    assert_eq!(store.peer("bob@example.org").await.unwrap(), Some(peer));

    let Inserted::New(id) = insert(&store, b"Subject: x\r\n\r\nencrypted\r\n").await else {
        panic!("not stored")
    };
    store
        .set_message_crypto(id, "{\"encrypted\":true}", Some(b"plain"), None)
        .await
        .unwrap();
    let (outcome, decrypted) = store.message_crypto(id).await.unwrap().unwrap();
    assert!(outcome.contains("encrypted"));
    assert_eq!(decrypted.as_deref(), Some(&b"plain"[..]));
}
