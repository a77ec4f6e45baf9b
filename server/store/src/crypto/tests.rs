use crate::tests::{insert_mail, open_store};
use crate::{PeerRow, Store};

fn peer(address: &str, signed_count: i64) -> PeerRow {
    PeerRow {
        address: address.into(),
        signed_count,
        ..Default::default()
    }
}

async fn pending_message(store: &Store, mid: &str) -> i64 {
    let id = insert_mail(store, mid, "body").await;
    sqlx::query("INSERT INTO crypto_pending (message) VALUES (?)")
        .bind(id)
        .execute(&store.pool)
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn steps_share_a_transaction_and_an_abandoned_one_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let (a, b, c) = (
        pending_message(&store, "a@x").await,
        pending_message(&store, "b@x").await,
        pending_message(&store, "c@x").await,
    );
    let mut steps = store.crypto_steps().await.unwrap();
    steps.begin_step();
    steps.save_peer(&peer("ann@x", 1));
    steps
        .end_step(a, Some(("{\"encrypted\":true}", Some(b"inner"), None)))
        .await
        .unwrap();
    // The next step reads what the first wrote; its own writes are undone.
    steps.begin_step();
    let seen = steps.peer("ann@x").await.unwrap().unwrap();
    assert_eq!(seen.signed_count, 1);
    steps.save_peer(&peer("ann@x", 2));
    steps.save_peer(&peer("ben@x", 1));
    steps.abandon_step();
    assert_eq!(steps.peer("ann@x").await.unwrap().unwrap().signed_count, 1);
    assert_eq!(steps.peer("ben@x").await.unwrap(), None);
    steps.begin_step();
    steps.end_step(c, None).await.unwrap();
    // Other connections see nothing before the commit.
    assert_eq!(store.peer("ann@x").await.unwrap(), None);
    steps.commit().await.unwrap();

    assert_eq!(store.peer("ann@x").await.unwrap().unwrap().signed_count, 1);
    assert_eq!(store.peer("ben@x").await.unwrap(), None);
    assert_eq!(store.crypto_pending(0, 10).await.unwrap(), vec![b]);
    let (outcome, inner) = store.message_crypto(a).await.unwrap().unwrap();
    assert!(outcome.contains("encrypted"));
    assert_eq!(inner.as_deref(), Some(&b"inner"[..]));
    assert_eq!(store.message_crypto(c).await.unwrap(), None);

    // A step left open at the commit is undone; a batch never committed
    // leaves every message pending.
    let mut steps = store.crypto_steps().await.unwrap();
    steps.begin_step();
    steps.end_step(b, None).await.unwrap();
    drop(steps);
    let mut steps = store.crypto_steps().await.unwrap();
    steps.begin_step();
    steps.save_peer(&peer("ann@x", 5));
    steps.commit().await.unwrap();
    assert_eq!(store.crypto_pending(0, 10).await.unwrap(), vec![b]);
    assert_eq!(store.peer("ann@x").await.unwrap().unwrap().signed_count, 1);
}

#[tokio::test]
async fn a_batch_larger_than_a_statement_keeps_every_step_and_reads_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    // More steps than one INSERT of peers or outcomes takes.
    let n = super::PEERS_PER_INSERT.max(super::OUTCOMES_PER_INSERT) + 3;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(pending_message(&store, &format!("m{i}@x")).await);
    }
    store.save_peer(&peer("known@x", 7)).await.unwrap();
    let mut steps = store.crypto_steps().await.unwrap();
    let ahead = ["known@x".to_owned(), "new@x".to_owned()];
    steps.load_peers(&ahead).await.unwrap();
    assert_eq!(
        steps.peer("known@x").await.unwrap().unwrap().signed_count,
        7
    );
    assert_eq!(steps.peer("new@x").await.unwrap(), None);
    let change = (vec!["decrypted-rule".to_owned()], Vec::new());
    for (i, &id) in ids.iter().enumerate() {
        steps.begin_step();
        let mut known = steps.peer("known@x").await.unwrap().unwrap();
        known.signed_count += 1;
        steps.save_peer(&known);
        steps.save_peer(&peer(&format!("p{i}@x"), 1));
        let json = format!("{{\"n\":{i}}}");
        let tags = (i == 0).then_some(&change);
        steps.end_step(id, Some((&json, None, tags))).await.unwrap();
    }
    steps.commit().await.unwrap();

    assert_eq!(
        store.crypto_pending(0, 10).await.unwrap(),
        Vec::<i64>::new()
    );
    let known = store.peer("known@x").await.unwrap().unwrap();
    assert_eq!(known.signed_count, 7 + n as i64);
    for i in [0, n - 1] {
        let p = store.peer(&format!("p{i}@x")).await.unwrap().unwrap();
        assert_eq!(p.signed_count, 1);
        let (outcome, _) = store.message_crypto(ids[i]).await.unwrap().unwrap();
        assert_eq!(outcome, format!("{{\"n\":{i}}}"));
    }
    assert!(
        store
            .tags_of(ids[0])
            .await
            .unwrap()
            .contains(&"decrypted-rule".to_owned())
    );
    assert!(
        !store
            .tags_of(ids[1])
            .await
            .unwrap()
            .contains(&"decrypted-rule".to_owned())
    );
}
