//! PGP/MIME between two Homepost users: signing, encrypting, protected
//! headers, gossip, and every signature state.

mod common;

use common::*;
use homepost_pgp::autocrypt::AutocryptHeader;
use homepost_pgp::{Protection, SignatureState, encrypt_message, open_message, sign_message};

#[test]
fn signed_message_verifies_and_keeps_its_headers() {
    let alice = alice();
    let msg = message(
        "Alice <alice@example.org>",
        "bob@example.org",
        "Hello",
        "Hi Bob,\r\nsee you.\r\n",
    );
    let signed = sign_message(&msg, &alice, t0()).unwrap();
    let text = String::from_utf8(signed.clone()).unwrap();
    assert!(
        text.contains("Content-Type: multipart/signed; micalg=pgp-sha"),
        "{text}"
    );
    assert!(text.contains("protocol=\"application/pgp-signature\""));
    assert!(text.contains("\r\nSubject: Hello\r\n"));
    assert!(
        !text.contains('\n') || !text.replace("\r\n", "").contains('\n'),
        "bare LF"
    );

    let opened = open_message(&signed, &[], &[alice.certificate()], t0());
    assert_eq!(opened.protection, Protection::PgpMime);
    assert!(!opened.encrypted);
    assert_eq!(opened.signature_state(), SignatureState::Good, "{opened:?}");
    assert_eq!(opened.signer(), Some(&alice.fingerprint()));
    let hp = opened.protected_headers.unwrap();
    assert_eq!(hp.subject.as_deref(), Some("Hello"));

    // The same message read with LF line endings (as a local MTA may store it).
    let lf = String::from_utf8(signed.clone())
        .unwrap()
        .replace("\r\n", "\n");
    let opened = open_message(lf.as_bytes(), &[], &[alice.certificate()], t0());
    assert_eq!(opened.signature_state(), SignatureState::Good);
}

#[test]
fn a_changed_signed_message_is_bad_and_an_unknown_signer_is_unknown() {
    let alice = alice();
    let msg = message(
        "alice@example.org",
        "bob@example.org",
        "Pay",
        "Pay 10 EUR\r\n",
    );
    let signed = String::from_utf8(sign_message(&msg, &alice, t0()).unwrap()).unwrap();
    let forged = signed.replace("Pay 10 EUR", "Pay 99 EUR");
    let opened = open_message(forged.as_bytes(), &[], &[alice.certificate()], t0());
    assert_eq!(opened.signature_state(), SignatureState::Bad);

    let opened = open_message(signed.as_bytes(), &[], &[bob().certificate()], t0());
    assert_eq!(opened.signature_state(), SignatureState::UnknownKey);
    assert_eq!(opened.signer(), None);
    let issuer = opened.signatures[0].issuer.clone().unwrap();
    assert!(
        alice.fingerprint().to_hex().ends_with(&issuer) || issuer == alice.fingerprint().to_hex()
    );
}

#[test]
fn expired_and_revoked_keys_are_named() {
    let short = expiring("carol@example.org", days(10));
    let msg = message("carol@example.org", "bob@example.org", "s", "text\r\n");
    let signed = sign_message(&msg, &short, t0() + days(1)).unwrap();
    let fresh = open_message(&signed, &[], &[short.certificate()], t0() + days(2));
    assert_eq!(fresh.signature_state(), SignatureState::Good);
    let later = open_message(&signed, &[], &[short.certificate()], t0() + days(30));
    assert_eq!(
        later.signature_state(),
        SignatureState::ExpiredKey,
        "{later:?}"
    );
    // An expired key cannot sign any more.
    assert!(sign_message(&msg, &short, t0() + days(30)).is_err());

    let alice = alice();
    let signed = sign_message(&msg, &alice, t0()).unwrap();
    let opened = open_message(&signed, &[], &[common::revoked(&alice)], t0() + days(2));
    assert_eq!(
        opened.signature_state(),
        SignatureState::RevokedKey,
        "{opened:?}"
    );
}

#[test]
fn unsigned_mail_says_so() {
    let msg = message(
        "a@example.org",
        "b@example.org",
        "plain",
        "nothing here\r\n",
    );
    let opened = open_message(&msg, &[], &[], t0());
    assert_eq!(opened.protection, Protection::None);
    assert_eq!(opened.signature_state(), SignatureState::NoSignature);
    assert!(opened.content.is_none());
}

#[test]
fn trailing_whitespace_and_8bit_cannot_be_signed_as_they_stand() {
    let alice = alice();
    let msg = message("a@example.org", "b@example.org", "s", "trailing \r\n");
    let err = sign_message(&msg, &alice, t0()).unwrap_err();
    assert!(err.to_string().contains("ends in whitespace"), "{err}");
    let msg = message("a@example.org", "b@example.org", "s", "Grüße\r\n");
    let err = sign_message(&msg, &alice, t0()).unwrap_err();
    assert!(err.to_string().contains("8-bit"), "{err}");
}

#[test]
fn encrypted_message_hides_the_subject_and_both_sides_can_read_it() {
    let alice = alice();
    let bob = bob();
    let msg = message(
        "Alice <alice@example.org>",
        "Bob <bob@example.org>",
        "Secret plans",
        "Meet at noon.\r\n",
    );
    let gossip = AutocryptHeader::gossip("bob@example.org", &bob.certificate(), t0()).unwrap();
    let encrypted = encrypt_message(&msg, &alice, &[&bob.certificate()], &[gossip], t0()).unwrap();
    let text = String::from_utf8(encrypted.clone()).unwrap();
    assert!(text.contains("\r\nSubject: ...\r\n"));
    assert!(!text.contains("Secret plans"));
    assert!(!text.contains("Meet at noon"));
    assert!(text.contains("multipart/encrypted;"));
    assert!(text.contains("Content-Type: application/pgp-encrypted\r\n"));
    assert!(text.contains("-----BEGIN PGP MESSAGE-----"));

    let certs = [alice.certificate(), bob.certificate()];
    for reader in [&bob, &alice] {
        let opened = open_message(&encrypted, std::slice::from_ref(reader), &certs, t0());
        assert!(opened.encrypted && opened.decrypted, "{opened:?}");
        assert_eq!(opened.signature_state(), SignatureState::Good);
        assert_eq!(opened.signer(), Some(&alice.fingerprint()));
        let hp = opened.protected_headers.as_ref().unwrap();
        assert_eq!(hp.subject.as_deref(), Some("Secret plans"));
        let content = String::from_utf8(opened.content.clone().unwrap()).unwrap();
        assert!(content.ends_with("\r\n\r\nMeet at noon.\r\n"));
        let debug = format!("{opened:?}");
        assert!(
            !debug.contains("Meet at noon") && !debug.contains("Secret plans"),
            "{debug}"
        );
        assert_eq!(opened.gossip.len(), 1);
        assert_eq!(opened.gossip[0].addr(), "bob@example.org");
        assert_eq!(opened.gossip[0].header.key.fingerprint(), bob.fingerprint());
    }

    // Someone else cannot read it, and is told so.
    let opened = open_message(&encrypted, &[eve()], &certs, t0());
    assert!(opened.encrypted && !opened.decrypted);
    assert!(opened.content.is_none());
    assert_eq!(
        opened.problem.as_deref(),
        Some("none of our keys can decrypt this message")
    );
}

#[test]
fn encrypting_to_an_expired_key_fails_in_plain_words() {
    let alice = alice();
    let short = expiring("carol@example.org", days(10));
    let msg = message("alice@example.org", "carol@example.org", "s", "x\r\n");
    let err =
        encrypt_message(&msg, &alice, &[&short.certificate()], &[], t0() + days(20)).unwrap_err();
    assert!(
        err.to_string().contains("no usable encryption key"),
        "{err}"
    );
    assert!(err.to_string().contains(&short.fingerprint().to_hex()));
}

#[test]
fn inline_pgp_is_decrypted_and_cleartext_signatures_checked() {
    let alice = alice();
    let bob = bob();
    let armored = homepost_pgp::sign::encrypt(
        b"inline secret\n",
        Some(&alice),
        &[&bob.certificate()],
        t0(),
    )
    .unwrap();
    let msg = message(
        "alice@example.org",
        "bob@example.org",
        "inline",
        &format!("Some text first\r\n\r\n{armored}\r\n"),
    );
    let opened = open_message(
        &msg,
        std::slice::from_ref(&bob),
        &[alice.certificate()],
        t0(),
    );
    assert_eq!(opened.protection, Protection::Inline);
    assert!(opened.encrypted && opened.decrypted, "{opened:?}");
    assert_eq!(opened.signature_state(), SignatureState::Good);
    let content = String::from_utf8(opened.content.unwrap()).unwrap();
    assert!(content.ends_with("\r\n\r\ninline secret\r\n"), "{content}");
}

#[test]
fn signed_then_encrypted_as_two_mime_layers_is_opened_through_both() {
    let alice = alice();
    let bob = bob();
    let msg = message(
        "alice@example.org",
        "bob@example.org",
        "Layered",
        "two layers\r\n",
    );
    let signed = String::from_utf8(sign_message(&msg, &alice, t0()).unwrap()).unwrap();
    // The multipart/signed entity: its Content-Type field and its body.
    let ct_start = signed.find("Content-Type: multipart/signed").unwrap();
    let ct_end = signed[ct_start..].find("\r\n\r\n").unwrap() + ct_start;
    let entity = format!(
        "{}\r\n\r\n{}",
        &signed[ct_start..ct_end],
        &signed[ct_end + 4..]
    );
    let armored =
        homepost_pgp::sign::encrypt(entity.as_bytes(), None, &[&bob.certificate()], t0()).unwrap();
    let outer = format!(
        "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: ...\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"E\"\r\n\r\n\
         --E\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n\
         --E\r\nContent-Type: application/octet-stream\r\n\r\n{armored}\r\n--E--\r\n"
    );
    let opened = open_message(outer.as_bytes(), &[bob], &[alice.certificate()], t0());
    assert!(opened.decrypted, "{opened:?}");
    assert_eq!(opened.signature_state(), SignatureState::Good);
    assert_eq!(opened.signer(), Some(&alice.fingerprint()));
    assert_eq!(
        opened.protected_headers.unwrap().subject.as_deref(),
        Some("Layered")
    );
    let content = String::from_utf8(opened.content.unwrap()).unwrap();
    assert!(content.starts_with("Content-Type: text/plain"), "{content}");
    assert!(content.ends_with("two layers\r\n"));
}

#[test]
fn s_mime_is_not_judged_as_pgp() {
    let smime = b"From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; \
        protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"S\"\r\n\r\n\
        --S\r\nContent-Type: text/plain\r\n\r\nhello\r\n--S\r\n\
        Content-Type: application/pkcs7-signature\r\n\r\nMIIB\r\n--S--\r\n";
    let opened = open_message(smime, &[], &[], t0());
    assert_eq!(opened.protection, Protection::None);
    assert_eq!(opened.signature_state(), SignatureState::NoSignature);
    assert!(opened.problem.is_none());
}
