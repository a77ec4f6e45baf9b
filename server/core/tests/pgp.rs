//! OpenPGP in the pipeline, between two libraries (Alice's and Bob's): signed
//! mail with an Autocrypt header teaches the recipient the sender's key; the
//! answer is encrypted, decrypted on arrival, indexed and never on disk in
//! clear; a changed key is flagged (TOFU); encryption without keys is refused.

use std::path::Path;

use homepost_core::library::Library;
use homepost_core::outgoing::OutgoingError;
use homepost_core::{incoming, keys, outgoing};
use homepost_mail::RawMessage;
use homepost_mail::compose::{Mailbox, Outgoing, build};
use homepost_store::Inserted;
use homepost_vault::{KdfParams, Passphrase, Vault};

const NOW: i64 = 1_790_000_000;

async fn library(dir: &Path) -> Library {
    let vault = Vault::create(
        dir,
        &Passphrase::new("correct horse battery".into()),
        KdfParams::INSECURE_FOR_TESTS,
    )
    .unwrap();
    Library::open(dir, &vault).await.unwrap()
}

fn mail(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    compose(from, &[to], subject, body, &[], NOW - 60)
}

/// A message as the composer builds it, to several recipients, with attachments.
fn compose(
    from: &str,
    to: &[&str],
    subject: &str,
    body: &str,
    attachments: &[homepost_mail::compose::Attachment],
    date: i64,
) -> Vec<u8> {
    let mailbox = |a: &str| Mailbox {
        name: None,
        address: a.into(),
    };
    let to: Vec<Mailbox> = to.iter().map(|a| mailbox(a)).collect();
    build(&Outgoing {
        from: mailbox(from),
        to: &to,
        cc: &[],
        bcc: &[],
        subject,
        body,
        in_reply_to: None,
        references: &[],
        attachments,
        forwarded: None,
        date,
    })
    .unwrap()
    .raw
}

/// A public key as a mail attachment (`application/pgp-keys`).
fn key_attachment(key: &homepost_pgp::SecretKey) -> homepost_mail::compose::Attachment {
    homepost_mail::compose::Attachment {
        name: "key.asc".into(),
        content_type: "application/pgp-keys".into(),
        data: key.certificate().to_armored().unwrap().into_bytes(),
    }
}

async fn deliver(lib: &mut Library, raw: Vec<u8>) -> i64 {
    let out = lib
        .deliver(
            vec![RawMessage {
                raw,
                origin: "test".into(),
                mbox_number: None,
                tags: vec!["inbox".into()],
                progress_bytes: 0,
            }],
            NOW,
        )
        .await
        .unwrap();
    match out[0] {
        Inserted::New(id) | Inserted::Duplicate(id) => id,
    }
}

fn contains(dir: &Path, needle: &[u8]) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            if let Some(found) = contains(&p, needle) {
                return Some(found);
            }
        } else if std::fs::read(&p)
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle)
        {
            return Some(p);
        }
    }
    None
}

#[tokio::test]
async fn signed_then_encrypted_between_two_libraries() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut alice = library(a_dir.path()).await;
    let mut bob = library(b_dir.path()).await;
    let alice_key =
        keys::ensure_identity_key(alice.store(), Some("Alice"), "alice@example.org", NOW)
            .await
            .unwrap();
    keys::ensure_identity_key(bob.store(), Some("Bob"), "bob@example.org", NOW)
        .await
        .unwrap();

    // Alice knows nothing of Bob: her first mail is signed, with her key in an
    // Autocrypt header, and not encrypted.
    let raw = mail(
        "alice@example.org",
        "bob@example.org",
        "Hello Bob",
        "First words.",
    );
    let (plan, _) =
        outgoing::draft_crypto(alice.store(), &["bob@example.org".into()], None, false, NOW)
            .await
            .unwrap();
    assert_eq!((plan.recommendation, plan.will_encrypt), ("disable", false));
    let err = outgoing::protect_outgoing(
        alice.store(),
        &raw,
        "alice@example.org",
        &["bob@example.org".into()],
        Some(true),
        false,
        NOW,
    )
    .await
    .expect_err("no key for Bob yet");
    assert!(
        matches!(err, OutgoingError::NoKey(ref who) if who == "bob@example.org"),
        "{err}"
    );
    let signed = outgoing::protect_outgoing(
        alice.store(),
        &raw,
        "alice@example.org",
        &["bob@example.org".into()],
        None,
        false,
        NOW,
    )
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&signed);
    assert!(
        text.starts_with("Autocrypt: addr=alice@example.org;"),
        "{text}"
    );
    assert!(text.contains("multipart/signed"));

    let id = deliver(&mut bob, signed).await;
    let outcome = incoming::outcome(bob.store(), id)
        .await
        .unwrap()
        .expect("an outcome");
    assert_eq!(outcome.signature, "good", "{outcome:?}");
    assert_eq!(outcome.signer.as_deref(), Some(alice_key.as_str()));
    assert!(outcome.signer_is_sender);
    assert!(!outcome.encrypted);
    let peer = bob
        .store()
        .peer("alice@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peer.pinned_fingerprint.as_deref(), Some(alice_key.as_str()));
    assert_eq!((peer.autocrypt_count, peer.signed_count), (1, 1));

    // Bob can now encrypt to Alice.
    let (plan, keys) =
        outgoing::draft_crypto(bob.store(), &["alice@example.org".into()], None, false, NOW)
            .await
            .unwrap();
    assert_eq!(plan.recommendation, "available");
    assert!(!plan.will_encrypt && keys.is_empty());
    let (plan, _) = outgoing::draft_crypto(
        bob.store(),
        &["alice@example.org".into()],
        Some(true),
        false,
        NOW,
    )
    .await
    .unwrap();
    assert!(plan.will_encrypt);
    let secret = "zqxencryptedwordzqx";
    let reply = mail(
        "bob@example.org",
        "alice@example.org",
        "Re: Hello Bob",
        &format!("The {secret} is here."),
    );
    let encrypted = outgoing::protect_outgoing(
        bob.store(),
        &reply,
        "bob@example.org",
        &["alice@example.org".into()],
        Some(true),
        false,
        NOW,
    )
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
    let outcome = incoming::outcome(alice.store(), id).await.unwrap().unwrap();
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
    let (plan, keys) =
        outgoing::draft_crypto(alice.store(), &["bob@example.org".into()], None, false, NOW)
            .await
            .unwrap();
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
        contains(a_dir.path(), secret.as_bytes()),
        None,
        "plaintext on disk"
    );

    // Someone else claims to be Alice with another key: TOFU flags the change.
    let m_dir = tempfile::tempdir().unwrap();
    let mallory = library(m_dir.path()).await;
    keys::ensure_identity_key(mallory.store(), None, "alice@example.org", NOW)
        .await
        .unwrap();
    let forged = mail(
        "alice@example.org",
        "bob@example.org",
        "Urgent",
        "Send money.",
    );
    let forged = outgoing::protect_outgoing(
        mallory.store(),
        &forged,
        "alice@example.org",
        &["bob@example.org".into()],
        None,
        false,
        NOW,
    )
    .await
    .unwrap();
    let id = deliver(&mut bob, forged).await;
    let outcome = incoming::outcome(bob.store(), id).await.unwrap().unwrap();
    assert!(outcome.key_changed, "{outcome:?}");
    let peer = bob
        .store()
        .peer("alice@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        peer.pinned_fingerprint.as_deref(),
        Some(alice_key.as_str()),
        "the first key stays pinned"
    );
    assert!(peer.changed_fingerprint.is_some() && peer.changed_at == Some(NOW));
    // Nothing is encrypted to the new key until the user accepts it.
    let (plan, keys) = outgoing::draft_crypto(
        bob.store(),
        &["alice@example.org".into()],
        Some(true),
        false,
        NOW,
    )
    .await
    .unwrap();
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
    let (plan, _) = outgoing::draft_crypto(
        bob.store(),
        &["alice@example.org".into()],
        Some(true),
        false,
        NOW,
    )
    .await
    .unwrap();
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
        mail(
            "carol@example.org",
            "bob@example.org",
            "Plain",
            "No crypto.",
        ),
    )
    .await;
    assert_eq!(incoming::outcome(lib.store(), id).await.unwrap(), None);
    assert_eq!(lib.store().peer("carol@example.org").await.unwrap(), None);
    lib.close().await;
}

#[tokio::test]
async fn non_ascii_bodies_and_trailing_spaces_are_signed_and_verify() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alice = library(a_dir.path()).await;
    let mut bob = library(b_dir.path()).await;
    keys::ensure_identity_key(alice.store(), None, "alice@example.org", NOW)
        .await
        .unwrap();
    let raw = mail(
        "alice@example.org",
        "bob@example.org",
        "Grüße",
        "Grüße aus Köln   \nZweite Zeile\t\n\n-- \nAlice",
    );
    let signed = outgoing::protect_outgoing(
        alice.store(),
        &raw,
        "alice@example.org",
        &["bob@example.org".into()],
        None,
        false,
        NOW,
    )
    .await
    .expect("mail-builder output is signable");
    let id = deliver(&mut bob, signed).await;
    let outcome = incoming::outcome(bob.store(), id).await.unwrap().unwrap();
    assert_eq!(outcome.signature, "good", "{outcome:?}");
    assert_eq!(bob.count("köln").await.unwrap(), 1);
    // Plain ASCII too; the signature separator keeps its space.
    let raw = mail(
        "alice@example.org",
        "bob@example.org",
        "Plain",
        "Trailing   \nspaces\t\n\n-- \nAlice",
    );
    let signed = outgoing::protect_outgoing(
        alice.store(),
        &raw,
        "alice@example.org",
        &["bob@example.org".into()],
        None,
        false,
        NOW,
    )
    .await
    .expect("mail-builder output is signable");
    let id = deliver(&mut bob, signed).await;
    let outcome = incoming::outcome(bob.store(), id).await.unwrap().unwrap();
    assert_eq!(outcome.signature, "good", "{outcome:?}");
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
    use homepost_pgp::{SecretKey, open_message, sign_message};
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alice = library(a_dir.path()).await;
    let mut bob = library(b_dir.path()).await;
    keys::ensure_identity_key(alice.store(), None, "alice@example.org", NOW)
        .await
        .unwrap();
    keys::ensure_identity_key(bob.store(), None, "bob@example.org", NOW)
        .await
        .unwrap();
    let alice_key = SecretKey::from_bytes(
        &alice
            .store()
            .active_identity_key("alice@example.org")
            .await
            .unwrap()
            .unwrap()
            .secret,
    )
    .unwrap();
    let plain = compose(
        "alice@example.org",
        &["bob@example.org"],
        "My key",
        "My key is attached.",
        &[key_attachment(&alice_key)],
        NOW - 60,
    );
    let clock = std::time::UNIX_EPOCH + std::time::Duration::from_secs(NOW as u64);
    let signed = sign_message(&plain, &alice_key, clock).unwrap();
    assert!(!String::from_utf8_lossy(&signed).contains("Autocrypt:"));
    let id = deliver(&mut bob, signed).await;
    let outcome = incoming::outcome(bob.store(), id).await.unwrap().unwrap();
    assert_eq!(outcome.signature, "good", "{outcome:?}");
    assert!(outcome.signer_is_sender);
    assert!(!outcome.key_changed);
    let peer = bob
        .store()
        .peer("alice@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peer.discovered_source.as_deref(), Some("attachment"));
    assert_eq!(
        peer.pinned_fingerprint,
        Some(alice_key.fingerprint().to_hex())
    );
    assert_eq!((peer.signed_count, peer.autocrypt_count), (1, 0));

    // Available, not automatic; encrypting on request reaches Alice.
    let rcpt = ["alice@example.org".to_owned()];
    let (plan, _) = outgoing::draft_crypto(bob.store(), &rcpt, None, false, NOW)
        .await
        .unwrap();
    assert_eq!(
        (plan.recommendation, plan.will_encrypt),
        ("available", false)
    );
    let answer = mail(
        "bob@example.org",
        "alice@example.org",
        "Re: My key",
        "Got it.",
    );
    let sealed = outgoing::protect_outgoing(
        bob.store(),
        &answer,
        "bob@example.org",
        &rcpt,
        Some(true),
        false,
        NOW,
    )
    .await
    .unwrap();
    let opened = open_message(&sealed, std::slice::from_ref(&alice_key), &[], clock);
    assert!(opened.decrypted, "{:?}", opened.problem);

    // Our own sent copy creates no peer row for us.
    deliver(&mut bob, sealed).await;
    assert!(bob.store().peer("bob@example.org").await.unwrap().is_none());

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
    let other = SecretKey::generate(None, "alice@example.org", clock).unwrap();
    let changed = keys::remember_key(
        bob.store(),
        "alice@example.org",
        &other.certificate(),
        KeySource::KeysOpenpgpOrg,
        NOW,
    )
    .await
    .unwrap();
    assert!(changed.key_changed);
    let (plan, _) = outgoing::draft_crypto(bob.store(), &rcpt, Some(true), false, NOW)
        .await
        .unwrap();
    assert!(!plan.will_encrypt);
    assert!(plan.recipients[0].key_changed);
    assert!(plan.warning.unwrap().contains("changed"));
    // Mail signed by the waiting key is flagged and does not vouch for Alice.
    let by_other = sign_message(
        &mail(
            "alice@example.org",
            "bob@example.org",
            "New key",
            "It is me.",
        ),
        &other,
        clock,
    )
    .unwrap();
    let id = deliver(&mut bob, by_other.clone()).await;
    let outcome = incoming::outcome(bob.store(), id).await.unwrap().unwrap();
    assert_eq!(outcome.signature, "good", "{outcome:?}");
    assert!(outcome.key_changed);
    assert!(!outcome.signer_is_sender);
    let wrong = alice_key.fingerprint().to_hex();
    assert_eq!(
        keys::accept_key_change(bob.store(), "alice@example.org", Some(&wrong))
            .await
            .unwrap(),
        keys::Accepted::OtherKey(other.fingerprint().to_hex())
    );
    assert_eq!(
        keys::accept_key_change(
            bob.store(),
            "alice@example.org",
            Some(&other.fingerprint().to_hex())
        )
        .await
        .unwrap(),
        keys::Accepted::Pinned(other.fingerprint().to_hex())
    );
    // A copy to ourselves never holds encryption back; to ourselves alone it
    // is possible, not automatic.
    let (plan, _) = outgoing::draft_crypto(
        bob.store(),
        &["Bob@example.org".to_owned()],
        None,
        false,
        NOW,
    )
    .await
    .unwrap();
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
    let (plan, _) = outgoing::draft_crypto(bob.store(), &rcpt, Some(true), false, NOW)
        .await
        .unwrap();
    assert!(plan.will_encrypt);
    let with_self = [rcpt[0].clone(), "bob@example.org".to_owned()];
    let (plan, keys) = outgoing::draft_crypto(bob.store(), &with_self, Some(true), false, NOW)
        .await
        .unwrap();
    assert!(plan.will_encrypt, "{plan:?}");
    assert_eq!(keys.len(), 2);
    assert_eq!(plan.recipients[0].key, Some(other.fingerprint().to_hex()));
}

/// A stranger spoofing Alice cannot clear a key change by sending her real
/// key again: while any stored key differs from the pinned one, nothing is
/// encrypted to her; and encryption only ever goes to the pinned key.
#[tokio::test]
async fn a_stranger_cannot_clear_a_key_change() {
    use homepost_pgp::SecretKey;
    use homepost_pgp::autocrypt::{AutocryptHeader, PreferEncrypt};
    let dir = tempfile::tempdir().unwrap();
    let mut bob = library(dir.path()).await;
    keys::ensure_identity_key(bob.store(), None, "bob@example.org", NOW)
        .await
        .unwrap();
    let clock = std::time::UNIX_EPOCH + std::time::Duration::from_secs(NOW as u64 - 86_400);
    let alice = SecretKey::generate(None, "alice@example.org", clock).unwrap();
    let mallory = SecretKey::generate(None, "alice@example.org", clock).unwrap();
    let with_header = |key: &SecretKey, subject: &str| {
        let h = AutocryptHeader::new(
            "alice@example.org",
            &key.certificate(),
            PreferEncrypt::Mutual,
            clock,
        )
        .unwrap();
        let mut raw = h.to_field().unwrap().into_bytes();
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(&mail(
            "alice@example.org",
            "bob@example.org",
            subject,
            "Hi.",
        ));
        raw
    };
    deliver(&mut bob, with_header(&alice, "one")).await;
    deliver(&mut bob, with_header(&mallory, "two")).await;
    let rcpt = ["alice@example.org".to_owned()];
    let (plan, _) = outgoing::draft_crypto(bob.store(), &rcpt, Some(true), false, NOW)
        .await
        .unwrap();
    assert!(!plan.will_encrypt && plan.recipients[0].key_changed);
    // Alice's real key again, attached to mail without an Autocrypt header.
    let three = compose(
        "alice@example.org",
        &["bob@example.org"],
        "three",
        "My key.",
        &[key_attachment(&alice)],
        NOW - 30,
    );
    deliver(&mut bob, three).await;
    let (plan, keys) = outgoing::draft_crypto(bob.store(), &rcpt, Some(true), false, NOW)
        .await
        .unwrap();
    assert!(!plan.will_encrypt, "{plan:?}");
    assert!(keys.is_empty());
    assert!(plan.recipients[0].key_changed);
    let peer = keys::peer_summary(bob.store(), "alice@example.org", NOW)
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
    use homepost_pgp::SecretKey;
    use homepost_pgp::autocrypt::{AutocryptHeader, PreferEncrypt};
    let dir = tempfile::tempdir().unwrap();
    let mut bob = library(dir.path()).await;
    keys::ensure_identity_key(bob.store(), None, "bob@example.org", NOW)
        .await
        .unwrap();
    let bob_cert = SecretKey::from_bytes(
        &bob.store()
            .active_identity_key("bob@example.org")
            .await
            .unwrap()
            .unwrap()
            .secret,
    )
    .unwrap()
    .certificate();
    let clock = std::time::UNIX_EPOCH + std::time::Duration::from_secs(NOW as u64 - 86_400);
    let alice = SecretKey::generate(None, "alice@example.org", clock).unwrap();
    let fake = SecretKey::generate(None, "alice@example.org", clock).unwrap();
    let carol = SecretKey::generate(None, "carol@example.org", clock).unwrap();
    let h = AutocryptHeader::new(
        "alice@example.org",
        &alice.certificate(),
        PreferEncrypt::Mutual,
        clock,
    )
    .unwrap();
    let mut first = h.to_field().unwrap().into_bytes();
    first.extend_from_slice(b"\r\n");
    first.extend_from_slice(&mail(
        "alice@example.org",
        "bob@example.org",
        "hello",
        "Hi.",
    ));
    deliver(&mut bob, first).await;
    let group = compose(
        "carol@example.org",
        &["bob@example.org", "alice@example.org"],
        "group",
        "Hello both.",
        &[],
        NOW - 10,
    );
    // Bob's key was made at NOW: encrypt then.
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(NOW as u64);
    let gossip = [AutocryptHeader::gossip("alice@example.org", &fake.certificate(), at).unwrap()];
    let sealed = homepost_pgp::encrypt_message(
        &group,
        &carol,
        &[&bob_cert, &fake.certificate()],
        &gossip,
        at,
    )
    .unwrap();
    let id = deliver(&mut bob, sealed).await;
    let outcome = incoming::outcome(bob.store(), id).await.unwrap().unwrap();
    assert!(outcome.decrypted, "{outcome:?}");
    let peer = keys::peer_summary(bob.store(), "alice@example.org", NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peer.pinned, Some(alice.fingerprint().to_hex()));
    assert_eq!(peer.changed, None, "{peer:?}");
    let (plan, keys) = outgoing::draft_crypto(
        bob.store(),
        &["alice@example.org".to_owned()],
        Some(true),
        false,
        NOW,
    )
    .await
    .unwrap();
    assert!(plan.will_encrypt);
    assert_eq!(keys[0].fingerprint(), alice.fingerprint());
    bob.close().await;
}
