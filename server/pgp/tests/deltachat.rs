//! Real encrypted mail from Delta Chat's test data (Thunderbird, Delta Chat,
//! and servers that rewrap PGP/MIME), opened with the test keys given there.

use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use homepost_pgp::{Certificate, Protection, SecretKey, SignatureState, open_message};
use homepost_testing::corpus;

/// 2026-06-01: a fixed clock, after the newest of these messages was signed.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_780_272_000)
}

fn keys() -> Vec<SecretKey> {
    let dir = corpus::path("mail/deltachat/test-data/key");
    let mut keys: Vec<SecretKey> = fs::read_dir(dir)
        .unwrap()
        .map(|e| SecretKey::from_bytes(&fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    keys.sort_by_key(homepost_pgp::SecretKey::fingerprint);
    keys
}

fn open(name: &str) -> homepost_pgp::Opened {
    let keys = keys();
    let certs: Vec<Certificate> = keys.iter().map(SecretKey::certificate).collect();
    let msg = fs::read(corpus::path(&format!(
        "mail/deltachat/test-data/message/{name}"
    )))
    .unwrap();
    open_message(&msg, &keys, &certs, now())
}

#[test]
fn encrypted_mail_from_other_clients_opens() {
    use SignatureState::*;
    for (name, state, subject) in [
        ("thunderbird_with_autocrypt.eml", Good, Some("Test")),
        (
            "thunderbird_encrypted_signed.eml",
            UnknownKey,
            Some("encrypted+signed"),
        ),
        (
            "thunderbird_encrypted_signed_with_pubkey.eml",
            UnknownKey,
            Some("encrypted+signed+pubkey"),
        ),
        (
            "thunderbird_encrypted_unsigned.eml",
            NoSignature,
            Some("Hello!"),
        ),
        (
            "thunderbird_encrypted_unsigned_with_unencrypted_subject.eml",
            NoSignature,
            None,
        ),
        ("encrypted-signed.eml", Good, Some("Hi!")),
        (
            "encrypted_with_received_headers.eml",
            Good,
            Some("Re: Message from alice@example.org"),
        ),
        (
            "alice_to_bob_no_intended_recipient_fingerprint.eml",
            Good,
            Some("Message from alice@example.org"),
        ),
        ("hp_legacy_display.eml", Good, Some("Dinner plans")),
        ("rfc1847_encapsulation.eml", Good, Some("Hello, Bob!")),
        ("google-workspace-mixed-up.eml", Good, Some("Hello, Bob!")),
        ("mixed-up-long.eml", UnknownKey, None),
    ] {
        let opened = open(name);
        assert_eq!(opened.protection, Protection::PgpMime, "{name}");
        assert!(opened.encrypted && opened.decrypted, "{name}: {opened:?}");
        assert_eq!(opened.signature_state(), state, "{name}");
        let hp = opened.protected_headers.as_ref();
        assert_eq!(hp.and_then(|h| h.subject.as_deref()), subject, "{name}");
        assert!(opened.content.is_some(), "{name}");
    }
}

#[test]
fn gossip_in_delta_chat_group_mail() {
    let opened = open("verification-gossip-also-sent-to-from.eml");
    assert!(opened.decrypted);
    assert_eq!(opened.signature_state(), SignatureState::Good);
    assert_eq!(opened.gossip.len(), 2);
    let opened = open("text_from_alice_encrypted.eml");
    assert_eq!(opened.gossip.len(), 1);
}

#[test]
fn a_password_encrypted_message_is_not_ours_to_open() {
    let opened = open("text_symmetrically_encrypted.eml");
    assert!(opened.encrypted && !opened.decrypted);
    assert_eq!(
        opened.problem.as_deref(),
        Some("none of our keys can decrypt this message")
    );
}

#[test]
fn legacy_display_part_is_dropped_from_what_is_shown() {
    let o = open("hp_legacy_display.eml");
    let shown = homepost_pgp::protected::without_legacy_display(&o.content.unwrap());
    let body = homepost_mail::parse(&shown).body_text;
    assert_eq!(body.trim(), "Let's eat");
}
