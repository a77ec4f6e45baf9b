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
    steps.begin_step().await.unwrap();
    steps.save_peer(&peer("ann@x", 1)).await.unwrap();
    steps
        .end_step(a, Some(("{\"encrypted\":true}", Some(b"inner"), None)))
        .await
        .unwrap();
    // The next step reads what the first wrote; its own writes are undone.
    steps.begin_step().await.unwrap();
    let seen = steps.peer("ann@x").await.unwrap().unwrap();
    assert_eq!(seen.signed_count, 1);
    steps.save_peer(&peer("ann@x", 2)).await.unwrap();
    steps.save_peer(&peer("ben@x", 1)).await.unwrap();
    steps.abandon_step().await.unwrap();
    assert_eq!(steps.peer("ann@x").await.unwrap().unwrap().signed_count, 1);
    assert_eq!(steps.peer("ben@x").await.unwrap(), None);
    steps.begin_step().await.unwrap();
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
    steps.begin_step().await.unwrap();
    steps.end_step(b, None).await.unwrap();
    drop(steps);
    let mut steps = store.crypto_steps().await.unwrap();
    steps.begin_step().await.unwrap();
    steps.save_peer(&peer("ann@x", 5)).await.unwrap();
    steps.commit().await.unwrap();
    assert_eq!(store.crypto_pending(0, 10).await.unwrap(), vec![b]);
    assert_eq!(store.peer("ann@x").await.unwrap().unwrap().signed_count, 1);
}
