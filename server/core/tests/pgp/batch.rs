//! The OpenPGP steps of a batch share one transaction: each step sees what the
//! ones before it wrote, at arrival and when interrupted steps run again.

use homepost_store::NewMessage;

use super::*;

/// Four messages in one delivery: Alice's key twice, then another key in her
/// name (a change, seen only if the first step's pin is visible to the third),
/// and mail that only looks like OpenPGP.
#[tokio::test]
async fn steps_in_one_delivery_build_on_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let mut bob = library(dir.path()).await;
    identity(&bob, None, BOB).await;
    let clock = time_at(NOW - 86_400);
    let alice = SecretKey::generate(None, ALICE, clock).unwrap();
    let other = SecretKey::generate(None, ALICE, clock).unwrap();
    let raws = vec![
        with_autocrypt(ALICE, &alice, clock, &mail(ALICE, BOB, "one", "1")),
        with_autocrypt(ALICE, &alice, clock, &mail(ALICE, BOB, "two", "2")),
        with_autocrypt(ALICE, &other, clock, &mail(ALICE, BOB, "three", "3")),
        mail(
            "dave@example.org",
            BOB,
            "howto",
            "-----BEGIN PGP is how it starts",
        ),
    ];
    let ids: Vec<i64> = bob
        .deliver(raws.into_iter().map(compose::to_inbox).collect(), NOW)
        .await
        .unwrap()
        .into_iter()
        .map(|i| match i {
            Inserted::New(id) => id,
            Inserted::Duplicate(_) => panic!("stored before"),
        })
        .collect();
    let peer = peer_of(&bob, ALICE).await;
    assert_eq!(peer.autocrypt_count, 3);
    assert_eq!(peer.pinned_fingerprint, Some(alice.fingerprint().to_hex()));
    assert_eq!(peer.changed_fingerprint, Some(other.fingerprint().to_hex()));
    assert!(!outcome_of(&bob, ids[1]).await.key_changed);
    assert!(outcome_of(&bob, ids[2]).await.key_changed);
    assert!(
        incoming::outcome(bob.store(), ids[3])
            .await
            .unwrap()
            .is_none()
    );
    assert!(bob.store().crypto_pending(0, 10).await.unwrap().is_empty());
    bob.close().await;
}

/// Messages stored with their step pending (a crash right after the store's
/// commit) get it at the next open, all in one pass.
#[tokio::test]
async fn interrupted_steps_run_again_together() {
    let dir = tempfile::tempdir().unwrap();
    let mut bob = library(dir.path()).await;
    identity(&bob, None, BOB).await;
    let clock = time_at(NOW - 86_400);
    let alice = SecretKey::generate(None, ALICE, clock).unwrap();
    let raws: Vec<Vec<u8>> = ["one", "two"]
        .iter()
        .map(|s| with_autocrypt(ALICE, &alice, clock, &mail(ALICE, BOB, s, s)))
        .collect();
    let parsed: Vec<_> = raws.iter().map(|r| homepost_mail::parse(r)).collect();
    let tags = vec!["inbox".to_owned()];
    let new: Vec<NewMessage<'_>> = raws
        .iter()
        .zip(&parsed)
        .map(|(raw, parsed)| NewMessage {
            raw,
            parsed,
            tags: &tags,
            origin: "test",
            crypto_pending: true,
            packed: None,
            date: NOW,
        })
        .collect();
    bob.store().insert_batch(&new, NOW).await.unwrap();
    assert_eq!(bob.store().crypto_pending(0, 10).await.unwrap().len(), 2);
    assert_eq!(bob.retry_pending_crypto(NOW).await.unwrap(), 2);
    assert!(bob.store().crypto_pending(0, 10).await.unwrap().is_empty());
    let peer = peer_of(&bob, ALICE).await;
    assert_eq!(peer.autocrypt_count, 2);
    assert_eq!(peer.pinned_fingerprint, Some(alice.fingerprint().to_hex()));
    // Nothing is left to do a second time.
    assert_eq!(bob.retry_pending_crypto(NOW).await.unwrap(), 0);
    assert_eq!(peer_of(&bob, ALICE).await.autocrypt_count, 2);
    bob.close().await;
}
