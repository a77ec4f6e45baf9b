//! OpenPGP in the pipeline, between two libraries (Alice's and Bob's): signed
//! mail with an Autocrypt header teaches the recipient the sender's key; the
//! answer is encrypted, decrypted on arrival, indexed and never on disk in
//! clear; a changed key is flagged (TOFU); encryption without keys is refused.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use homepost_core::library::Library;
use homepost_core::outgoing::{DraftCrypto, OutgoingError};
use homepost_core::{incoming, keys, outgoing};
use homepost_pgp::autocrypt::{AutocryptHeader, PreferEncrypt};
use homepost_pgp::{Certificate, SecretKey};
use homepost_store::{Inserted, PeerRow, Store};
use homepost_testing::{compose, disk, vault};

const NOW: i64 = 1_790_000_000;
const ALICE: &str = "alice@example.org";
const BOB: &str = "bob@example.org";

async fn library(dir: &Path) -> Library {
    Library::open(dir, &vault::create(dir)).await.unwrap()
}

fn mail(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    compose::message(from, &[to], subject, body, &[], NOW - 60)
}

/// A public key as a mail attachment (`application/pgp-keys`).
fn key_attachment(key: &SecretKey) -> homepost_mail::compose::Attachment {
    compose::key_attachment(key.certificate().to_armored().unwrap())
}

/// `secs` (Unix seconds) as the time OpenPGP signs and encrypts at.
fn time_at(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs as u64)
}

/// `raw` with an Autocrypt header for `addr` carrying `key` in front.
fn with_autocrypt(addr: &str, key: &SecretKey, at: SystemTime, raw: &[u8]) -> Vec<u8> {
    let h = AutocryptHeader::new(addr, &key.certificate(), PreferEncrypt::Mutual, at).unwrap();
    let mut out = h.to_field().unwrap().into_bytes();
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(raw);
    out
}

/// Makes sure `lib` has an identity key for `addr`; its fingerprint.
async fn identity(lib: &Library, name: Option<&str>, addr: &str) -> String {
    keys::ensure_identity_key(lib.store(), name, addr, NOW)
        .await
        .unwrap()
}

/// The secret half of `lib`'s active identity key for `addr`.
async fn identity_secret(lib: &Library, addr: &str) -> SecretKey {
    let key = lib
        .store()
        .active_identity_key(addr)
        .await
        .unwrap()
        .unwrap();
    SecretKey::from_bytes(&key.secret).unwrap()
}

/// The composer's crypto plan at NOW for a new message (not an answer to
/// encrypted mail) to `to`, with the user's `encrypt` choice.
async fn crypto_plan(
    store: &Store,
    to: &[&str],
    encrypt: Option<bool>,
) -> (DraftCrypto, Vec<Certificate>) {
    let to: Vec<String> = to.iter().map(|a| (*a).to_owned()).collect();
    outgoing::draft_crypto(store, &to, encrypt, false, NOW)
        .await
        .unwrap()
}

/// `raw` from `from` to `to` as it leaves at NOW (signed, perhaps encrypted).
async fn protect(
    store: &Store,
    raw: &[u8],
    from: &str,
    to: &str,
    encrypt: Option<bool>,
) -> Result<Vec<u8>, OutgoingError> {
    outgoing::protect_outgoing(store, raw, from, &[to.to_owned()], encrypt, false, NOW).await
}

async fn deliver(lib: &mut Library, raw: Vec<u8>) -> i64 {
    let out = lib
        .deliver(vec![compose::to_inbox(raw)], NOW)
        .await
        .unwrap();
    match out[0] {
        Inserted::New(id) | Inserted::Duplicate(id) => id,
    }
}

/// The OpenPGP outcome of the delivered message `id`.
async fn outcome_of(lib: &Library, id: i64) -> incoming::CryptoOutcome {
    incoming::outcome(lib.store(), id)
        .await
        .unwrap()
        .expect("an outcome")
}

/// What `lib` knows of the correspondent `addr`.
async fn peer_of(lib: &Library, addr: &str) -> PeerRow {
    lib.store().peer(addr).await.unwrap().unwrap()
}

#[tokio::test]
async fn signed_then_encrypted_between_two_libraries() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut alice = library(a_dir.path()).await;
    let mut bob = library(b_dir.path()).await;
    let alice_key = identity(&alice, Some("Alice"), ALICE).await;
    identity(&bob, Some("Bob"), BOB).await;

    // Alice knows nothing of Bob: her first mail is signed, with her key in an
    // Autocrypt header, and not encrypted.
    let raw = mail(ALICE, BOB, "Hello Bob", "First words.");
    let (plan, _) = crypto_plan(alice.store(), &[BOB], None).await;
    assert_eq!((plan.recommendation, plan.will_encrypt), ("disable", false));
    let err = protect(alice.store(), &raw, ALICE, BOB, Some(true))
        .await
        .expect_err("no key for Bob yet");
    assert!(
        matches!(err, OutgoingError::NoKey(ref who) if who == BOB),
        "{err}"
    );
    let signed = protect(alice.store(), &raw, ALICE, BOB, None)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&signed);
    assert!(
        text.starts_with("Autocrypt: addr=alice@example.org;"),
        "{text}"
    );
    assert!(text.contains("multipart/signed"));

    let id = deliver(&mut bob, signed).await;
    let outcome = outcome_of(&bob, id).await;
    assert_eq!(outcome.signature, "good", "{outcome:?}");
    assert_eq!(outcome.signer.as_deref(), Some(alice_key.as_str()));
    assert!(outcome.signer_is_sender);
    assert!(!outcome.encrypted);
    let peer = peer_of(&bob, ALICE).await;
    assert_eq!(peer.pinned_fingerprint.as_deref(), Some(alice_key.as_str()));
    assert_eq!((peer.autocrypt_count, peer.signed_count), (1, 1));

    // Bob can now encrypt to Alice.
    let (plan, keys) = crypto_plan(bob.store(), &[ALICE], None).await;
    assert_eq!(plan.recommendation, "available");
    assert!(!plan.will_encrypt && keys.is_empty());
    let (plan, _) = crypto_plan(bob.store(), &[ALICE], Some(true)).await;
    assert!(plan.will_encrypt);
    let secret = "zqxencryptedwordzqx";
    let reply = mail(
        BOB,
        ALICE,
        "Re: Hello Bob",
        &format!("The {secret} is here."),
    );
    let encrypted = protect(bob.store(), &reply, BOB, ALICE, Some(true))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&encrypted);
    assert!(text.contains("multipart/encrypted") && !text.contains(secret));
    assert!(
        text.contains("Subject: ...") && !text.contains("Re: Hello Bob"),
        "protected headers"
    );

    // Alice decrypts it on arrival, verifies Bob's signature with the key from
    // the same message's Autocrypt header, and indexes the plaintext.
    let id = deliver(&mut alice, encrypted).await;
    let outcome = outcome_of(&alice, id).await;
    assert!(outcome.encrypted, "{outcome:?}");
    assert!(outcome.decrypted);
    assert_eq!(outcome.signature, "good");
    assert!(outcome.signer_is_sender);
    assert_eq!(outcome.protected_subject.as_deref(), Some("Re: Hello Bob"));
    assert_eq!(
        alice.count(secret).await.unwrap(),
        1,
        "the decrypted text is searchable"
    );
    assert_eq!(
        alice.count("subject:\"hello bob\"").await.unwrap(),
        1,
        "the protected subject is searchable"
    );
    // Bob writes to Alice encrypted: her answers to him are encrypted by default.
    let (plan, keys) = crypto_plan(alice.store(), &[BOB], None).await;
    assert_eq!(
        (plan.recommendation, plan.will_encrypt, keys.len()),
        ("encrypt", true, 1),
        "{plan:?}"
    );
    // A reindex still finds it (the decrypted text is kept in the store).
    alice.reindex().await.unwrap();
    assert_eq!(alice.count(secret).await.unwrap(), 1);
    alice.close().await;
    assert_eq!(
        disk::file_containing(a_dir.path(), secret.as_bytes()),
        None,
        "plaintext on disk"
    );

    // Someone else claims to be Alice with another key: TOFU flags the change.
    let m_dir = tempfile::tempdir().unwrap();
    let mallory = library(m_dir.path()).await;
    identity(&mallory, None, ALICE).await;
    let forged = mail(ALICE, BOB, "Urgent", "Send money.");
    let forged = protect(mallory.store(), &forged, ALICE, BOB, None)
        .await
        .unwrap();
    let id = deliver(&mut bob, forged).await;
    let outcome = outcome_of(&bob, id).await;
    assert!(outcome.key_changed, "{outcome:?}");
    let peer = peer_of(&bob, ALICE).await;
    assert_eq!(
        peer.pinned_fingerprint.as_deref(),
        Some(alice_key.as_str()),
        "the first key stays pinned"
    );
    assert!(peer.changed_fingerprint.is_some() && peer.changed_at == Some(NOW));
    // Nothing is encrypted to the new key until the user accepts it.
    let (plan, keys) = crypto_plan(bob.store(), &[ALICE], Some(true)).await;
    assert_eq!((plan.recommendation, plan.will_encrypt), ("disable", false));
    assert!(keys.is_empty());
    assert!(
        plan.warning.as_deref().unwrap_or("").contains("changed"),
        "{plan:?}"
    );
    let accepted = keys::accept_key_change(bob.store(), "Alice@Example.org", None)
        .await
        .unwrap();
    assert_eq!(
        accepted,
        keys::Accepted::Pinned(peer.changed_fingerprint.clone().unwrap())
    );
    let (plan, _) = crypto_plan(bob.store(), &[ALICE], Some(true)).await;
    assert!(plan.will_encrypt && plan.warning.is_none(), "{plan:?}");
    mallory.close().await;
    bob.close().await;
}

#[tokio::test]
async fn plain_mail_skips_the_openpgp_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = library(dir.path()).await;
    let id = deliver(
        &mut lib,
        mail("carol@example.org", BOB, "Plain", "No crypto."),
    )
    .await;
    assert_eq!(incoming::outcome(lib.store(), id).await.unwrap(), None);
    assert_eq!(lib.store().peer("carol@example.org").await.unwrap(), None);
    lib.close().await;
}

/// Alice signs a message from the composer to Bob; Bob finds the signature
/// good. The message's id in Bob's library.
async fn signed_by_alice(alice: &Library, bob: &mut Library, subject: &str, body: &str) -> i64 {
    let raw = mail(ALICE, BOB, subject, body);
    let signed = protect(alice.store(), &raw, ALICE, BOB, None)
        .await
        .expect("mail-builder output is signable");
    let id = deliver(bob, signed).await;
    let outcome = outcome_of(bob, id).await;
    assert_eq!(outcome.signature, "good", "{outcome:?}");
    id
}

#[tokio::test]
async fn non_ascii_bodies_and_trailing_spaces_are_signed_and_verify() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alice = library(a_dir.path()).await;
    let mut bob = library(b_dir.path()).await;
    identity(&alice, None, ALICE).await;
    signed_by_alice(
        &alice,
        &mut bob,
        "Grüße",
        "Grüße aus Köln   \nZweite Zeile\t\n\n-- \nAlice",
    )
    .await;
    assert_eq!(bob.count("köln").await.unwrap(), 1);
    // Plain ASCII too; the signature separator keeps its space.
    let id = signed_by_alice(
        &alice,
        &mut bob,
        "Plain",
        "Trailing   \nspaces\t\n\n-- \nAlice",
    )
    .await;
    let stored = bob.store().raw(id).await.unwrap().unwrap();
    let text = homepost_mail::parse(&stored).body_text;
    assert!(text.contains("\n-- \nAlice"), "{text:?}");
    assert!(text.contains("Trailing   \n"), "{text:?}");
    alice.close().await;
    bob.close().await;
}

/// A correspondent without Autocrypt (a GnuPG user) who attaches their key to
/// signed mail: the key verifies that mail, makes encryption available (not
/// automatic), is pinned; a different key found later (a key server, WKD) is
/// a key change. Our own sent mail teaches nothing about ourselves.
#[tokio::test]
async fn attached_and_discovered_keys() {
    use homepost_pgp::discovery::KeySource;
    use homepost_pgp::{open_message, sign_message};
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alice = library(a_dir.path()).await;
    let mut bob = library(b_dir.path()).await;
    identity(&alice, None, ALICE).await;
    identity(&bob, None, BOB).await;
    let alice_key = identity_secret(&alice, ALICE).await;
    let plain = compose::message(
        ALICE,
        &[BOB],
        "My key",
        "My key is attached.",
        &[key_attachment(&alice_key)],
        NOW - 60,
    );
    let clock = time_at(NOW);
    let signed = sign_message(&plain, &alice_key, clock).unwrap();
    assert!(!String::from_utf8_lossy(&signed).contains("Autocrypt:"));
    let id = deliver(&mut bob, signed).await;
    let outcome = outcome_of(&bob, id).await;
    assert_eq!(outcome.signature, "good", "{outcome:?}");
    assert!(outcome.signer_is_sender);
    assert!(!outcome.key_changed);
    let peer = peer_of(&bob, ALICE).await;
    assert_eq!(peer.discovered_source.as_deref(), Some("attachment"));
    assert_eq!(
        peer.pinned_fingerprint,
        Some(alice_key.fingerprint().to_hex())
    );
    assert_eq!((peer.signed_count, peer.autocrypt_count), (1, 0));

    // Available, not automatic; encrypting on request reaches Alice.
    let rcpt = [ALICE];
    let (plan, _) = crypto_plan(bob.store(), &rcpt, None).await;
    assert_eq!(
        (plan.recommendation, plan.will_encrypt),
        ("available", false)
    );
    let answer = mail(BOB, ALICE, "Re: My key", "Got it.");
    let sealed = protect(bob.store(), &answer, BOB, rcpt[0], Some(true))
        .await
        .unwrap();
    let opened = open_message(&sealed, std::slice::from_ref(&alice_key), &[], clock);
    assert!(opened.decrypted, "{:?}", opened.problem);

    // Our own sent copy creates no peer row for us.
    deliver(&mut bob, sealed).await;
    assert!(bob.store().peer(BOB).await.unwrap().is_none());

    // The same key again merges quietly; another key for Alice is a change.
    let same = keys::remember_key(
        bob.store(),
        "Alice@Example.org",
        &alice_key.certificate(),
        KeySource::WkdAdvanced,
        NOW,
    )
    .await
    .unwrap();
    assert!(!same.key_changed);
    let other = SecretKey::generate(None, ALICE, clock).unwrap();
    let changed = keys::remember_key(
        bob.store(),
        ALICE,
        &other.certificate(),
        KeySource::KeysOpenpgpOrg,
        NOW,
    )
    .await
    .unwrap();
    assert!(changed.key_changed);
    let (plan, _) = crypto_plan(bob.store(), &rcpt, Some(true)).await;
    assert!(!plan.will_encrypt);
    assert!(plan.recipients[0].key_changed);
    assert!(plan.warning.unwrap().contains("changed"));
    // Mail signed by the waiting key is flagged and does not vouch for Alice.
    let by_other = sign_message(&mail(ALICE, BOB, "New key", "It is me."), &other, clock).unwrap();
    let id = deliver(&mut bob, by_other.clone()).await;
    let outcome = outcome_of(&bob, id).await;
    assert_eq!(outcome.signature, "good", "{outcome:?}");
    assert!(outcome.key_changed);
    assert!(!outcome.signer_is_sender);
    let wrong = alice_key.fingerprint().to_hex();
    assert_eq!(
        keys::accept_key_change(bob.store(), ALICE, Some(&wrong))
            .await
            .unwrap(),
        keys::Accepted::OtherKey(other.fingerprint().to_hex())
    );
    assert_eq!(
        keys::accept_key_change(bob.store(), ALICE, Some(&other.fingerprint().to_hex()))
            .await
            .unwrap(),
        keys::Accepted::Pinned(other.fingerprint().to_hex())
    );
    // A copy to ourselves never holds encryption back; to ourselves alone it
    // is possible, not automatic.
    let (plan, _) = crypto_plan(bob.store(), &["Bob@example.org"], None).await;
    assert_eq!(
        (plan.recommendation, plan.will_encrypt),
        ("available", false)
    );
    assert!(plan.recipients[0].key.is_some());
    // Checked again once accepted: Alice's.
    let again = incoming::recheck(bob.store(), id, &by_other, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.key_changed, again.signer_is_sender), (false, true));
    let (plan, _) = crypto_plan(bob.store(), &rcpt, Some(true)).await;
    assert!(plan.will_encrypt);
    let with_self = [rcpt[0], BOB];
    let (plan, keys) = crypto_plan(bob.store(), &with_self, Some(true)).await;
    assert!(plan.will_encrypt, "{plan:?}");
    assert_eq!(keys.len(), 2);
    assert_eq!(plan.recipients[0].key, Some(other.fingerprint().to_hex()));
}

/// A stranger spoofing Alice cannot clear a key change by sending her real
/// key again: while any stored key differs from the pinned one, nothing is
/// encrypted to her; and encryption only ever goes to the pinned key.
#[tokio::test]
async fn a_stranger_cannot_clear_a_key_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut bob = library(dir.path()).await;
    identity(&bob, None, BOB).await;
    let clock = time_at(NOW - 86_400);
    let alice = SecretKey::generate(None, ALICE, clock).unwrap();
    let mallory = SecretKey::generate(None, ALICE, clock).unwrap();
    let with_header = |key: &SecretKey, subject: &str| {
        let raw = mail(ALICE, BOB, subject, "Hi.");
        with_autocrypt(ALICE, key, clock, &raw)
    };
    deliver(&mut bob, with_header(&alice, "one")).await;
    deliver(&mut bob, with_header(&mallory, "two")).await;
    let rcpt = [ALICE];
    let (plan, _) = crypto_plan(bob.store(), &rcpt, Some(true)).await;
    assert!(!plan.will_encrypt && plan.recipients[0].key_changed);
    // Alice's real key again, attached to mail without an Autocrypt header.
    let three = compose::message(
        ALICE,
        &[BOB],
        "three",
        "My key.",
        &[key_attachment(&alice)],
        NOW - 30,
    );
    deliver(&mut bob, three).await;
    let (plan, keys) = crypto_plan(bob.store(), &rcpt, Some(true)).await;
    assert!(!plan.will_encrypt, "{plan:?}");
    assert!(keys.is_empty());
    assert!(plan.recipients[0].key_changed);
    let peer = keys::peer_summary(bob.store(), ALICE, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peer.pinned, Some(alice.fingerprint().to_hex()));
    assert_eq!(peer.changed, Some(mallory.fingerprint().to_hex()));
    bob.close().await;
}

/// Gossip from a group member about Alice, with another key than her own
/// Autocrypt key, is not used and raises no key change (else any member could
/// make the user "accept" a key of their choosing for Alice).
#[tokio::test]
async fn gossip_beside_an_autocrypt_key_raises_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut bob = library(dir.path()).await;
    identity(&bob, None, BOB).await;
    let bob_cert = identity_secret(&bob, BOB).await.certificate();
    let clock = time_at(NOW - 86_400);
    let alice = SecretKey::generate(None, ALICE, clock).unwrap();
    let fake = SecretKey::generate(None, ALICE, clock).unwrap();
    let carol = SecretKey::generate(None, "carol@example.org", clock).unwrap();
    let hello = mail(ALICE, BOB, "hello", "Hi.");
    let first = with_autocrypt(ALICE, &alice, clock, &hello);
    deliver(&mut bob, first).await;
    let group = compose::message(
        "carol@example.org",
        &[BOB, ALICE],
        "group",
        "Hello both.",
        &[],
        NOW - 10,
    );
    // Bob's key was made at NOW: encrypt then.
    let at = time_at(NOW);
    let gossip = [AutocryptHeader::gossip(ALICE, &fake.certificate(), at).unwrap()];
    let sealed = homepost_pgp::encrypt_message(
        &group,
        &carol,
        &[&bob_cert, &fake.certificate()],
        &gossip,
        at,
    )
    .unwrap();
    let id = deliver(&mut bob, sealed).await;
    let outcome = outcome_of(&bob, id).await;
    assert!(outcome.decrypted, "{outcome:?}");
    let peer = keys::peer_summary(bob.store(), ALICE, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peer.pinned, Some(alice.fingerprint().to_hex()));
    assert_eq!(peer.changed, None, "{peer:?}");
    let (plan, keys) = crypto_plan(bob.store(), &[ALICE], Some(true)).await;
    assert!(plan.will_encrypt);
    assert_eq!(keys[0].fingerprint(), alice.fingerprint());
    bob.close().await;
}

/// Filter rules (issue 22) see an encrypted message's decrypted content at
/// arrival, as the index does: a rule on the protected subject and one on a
/// body word tag it then, and running them over stored mail changes nothing.
#[tokio::test]
async fn rules_match_the_decrypted_content_at_arrival() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut alice = library(a_dir.path()).await;
    let mut bob = library(b_dir.path()).await;
    identity(&alice, Some("Alice"), ALICE).await;
    identity(&bob, Some("Bob"), BOB).await;
    // Alice learns Bob's key from his signed mail.
    let hello = protect(
        bob.store(),
        &mail(BOB, ALICE, "Hi", "Hello."),
        BOB,
        ALICE,
        None,
    )
    .await
    .unwrap();
    deliver(&mut alice, hello).await;
    let hr = homepost_store::RuleActions {
        add_tags: vec!["hr".into()],
        ..Default::default()
    };
    let read = homepost_store::RuleActions {
        mark_read: true,
        ..Default::default()
    };
    let by_subject = bob
        .add_rule("HR", "subject:salary", &hr, true)
        .await
        .unwrap();
    let by_body = bob
        .add_rule("Bonus", "body:zqxbonuszqx", &read, true)
        .await
        .unwrap();
    let secret = mail(ALICE, BOB, "Salary review", "Your zqxbonuszqx is set.");
    let encrypted = protect(alice.store(), &secret, ALICE, BOB, Some(true))
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&encrypted).contains("Salary"));
    let id = deliver(&mut bob, encrypted).await;
    assert!(outcome_of(&bob, id).await.decrypted);
    assert_eq!(
        bob.store().tags_of(id).await.unwrap(),
        ["hr", "inbox", "read"]
    );
    assert_eq!(bob.count("tag:hr subject:salary").await.unwrap(), 1);
    for rule in [by_subject.id, by_body.id] {
        assert_eq!(
            bob.run_rule(rule, |_, _| {}).await.unwrap(),
            0,
            "already applied"
        );
    }
}

#[path = "pgp/batch.rs"]
mod batch;
