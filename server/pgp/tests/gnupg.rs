//! Interoperability with GnuPG (Debian's `gpg`), both ways. Each test runs
//! gpg in its own temporary GNUPGHOME, in batch mode with loopback pinentry,
//! and stops the agent it started when done.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::SystemTime;

use common::*;
use homepost_pgp::{
    Certificate, Protection, SecretKey, SignatureState, encrypt_message, open_message, sign_message,
};
use homepost_testing::gnupg::Gpg;

/// gpg's public key for `uid`, as ours.
fn export(gpg: &Gpg, uid: &str) -> Certificate {
    Certificate::from_bytes(&gpg.export_armored(uid)).unwrap()
}

fn status(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The parts of a multipart body, split naively on the boundary (an
/// independent reading of our output, not our own MIME code).
fn parts(message: &str) -> (String, Vec<String>) {
    let start = message.find("boundary=\"").unwrap() + "boundary=\"".len();
    let boundary = &message[start..start + message[start..].find('"').unwrap()];
    let delimiter = format!("\r\n--{boundary}");
    let body = &message[message.find("\r\n\r\n").unwrap()..];
    let parts: Vec<String> = body
        .split(&delimiter)
        .skip(1)
        .filter(|p| !p.starts_with("--"))
        .map(|p| p.strip_prefix("\r\n").unwrap().to_owned())
        .collect();
    (boundary.to_owned(), parts)
}

fn body_of(part: &str) -> &str {
    &part[part.find("\r\n\r\n").unwrap() + 4..]
}

fn write(path: &Path, data: &[u8]) {
    std::fs::write(path, data).unwrap();
}

#[test]
fn gpg_verifies_our_multipart_signed() {
    let gpg = Gpg::new();
    let alice = alice();
    gpg.import(alice.certificate().to_armored().unwrap().as_bytes());
    let msg = message(
        "Alice <alice@example.org>",
        "bob@example.org",
        "Signed by us",
        "Line one\r\n\r\n-- \r\nnot a sig\r\n"
            .replace("-- \r\n", "--\r\n")
            .as_str(),
    );
    let signed = String::from_utf8(sign_message(&msg, &alice, SystemTime::now()).unwrap()).unwrap();
    let (_, parts) = parts(&signed);
    assert_eq!(parts.len(), 2);
    write(&gpg.path("data"), parts[0].as_bytes());
    write(&gpg.path("data.asc"), body_of(&parts[1]).as_bytes());
    let out = gpg.run(
        &[
            "--verify",
            gpg.path("data.asc").to_str().unwrap(),
            gpg.path("data").to_str().unwrap(),
        ],
        b"",
    );
    let st = status(&out);
    assert!(st.contains("[GNUPG:] GOODSIG"), "{st}");
    assert!(
        st.contains(&format!(
            "[GNUPG:] VALIDSIG {}",
            alice.fingerprint().to_hex()
        )),
        "{st}"
    );

    // And a change to the signed part is caught by gpg too.
    write(
        &gpg.path("data"),
        parts[0].replace("Line one", "Line 1").as_bytes(),
    );
    let out = gpg.try_run(
        &[
            "--verify",
            gpg.path("data.asc").to_str().unwrap(),
            gpg.path("data").to_str().unwrap(),
        ],
        b"",
    );
    assert!(status(&out).contains("[GNUPG:] BADSIG"), "{}", status(&out));
}

#[test]
fn gpg_decrypts_our_multipart_encrypted_and_checks_our_signature() {
    let gpg = Gpg::new();
    let alice = alice();
    let bob = bob();
    // Bob reads with gpg: his secret key goes into gpg, Alice's public key too.
    gpg.import(bob.to_armored().unwrap().as_bytes());
    gpg.import(alice.certificate().to_armored().unwrap().as_bytes());
    let msg = message(
        "Alice <alice@example.org>",
        "Bob <bob@example.org>",
        "For Bob only",
        "The key is under the mat.\r\n",
    );
    let encrypted = String::from_utf8(
        encrypt_message(&msg, &alice, &[&bob.certificate()], &[], SystemTime::now()).unwrap(),
    )
    .unwrap();
    let (_, parts) = parts(&encrypted);
    assert_eq!(body_of(&parts[0]).trim(), "Version: 1");
    let out = gpg.run(&["--decrypt"], body_of(&parts[1]).as_bytes());
    let st = status(&out);
    assert!(st.contains("[GNUPG:] DECRYPTION_OKAY"), "{st}");
    assert!(st.contains("[GNUPG:] GOODSIG"), "{st}");
    assert!(
        st.contains(&format!(
            "[GNUPG:] VALIDSIG {}",
            alice.fingerprint().to_hex()
        )),
        "{st}"
    );
    let inner = String::from_utf8(out.stdout).unwrap();
    assert!(inner.contains("protected-headers=\"v1\""), "{inner}");
    assert!(inner.contains("\r\nSubject: For Bob only\r\n"), "{inner}");
    assert!(
        inner.ends_with("\r\n\r\nThe key is under the mat.\r\n"),
        "{inner}"
    );
}

#[test]
fn we_verify_gpg_detached_signatures_in_multipart_signed() {
    let gpg = Gpg::new();
    gpg.generate("Gary <gary@example.org>");
    let gary = export(&gpg, "gary@example.org");
    let entity = "Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned by GnuPG.\r\n";
    for mode in [
        &["--detach-sign", "--armor"][..],
        &["--detach-sign", "--armor", "--textmode"][..],
    ] {
        let sig = String::from_utf8(gpg.run(mode, entity.as_bytes()).stdout).unwrap();
        let message = format!(
            "From: gary@example.org\r\nTo: alice@example.org\r\nSubject: gpg\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/signed; micalg=pgp-sha512; protocol=\"application/pgp-signature\"; boundary=\"XX\"\r\n\r\n\
             --XX\r\n{entity}\r\n--XX\r\nContent-Type: application/pgp-signature\r\n\r\n{sig}\r\n--XX--\r\n"
        );
        let opened = open_message(
            message.as_bytes(),
            &[],
            std::slice::from_ref(&gary),
            SystemTime::now(),
        );
        assert_eq!(
            opened.signature_state(),
            SignatureState::Good,
            "{mode:?} {opened:?}"
        );
        assert_eq!(opened.signer(), Some(&gary.fingerprint()));
        // The same message stored with LF line endings still verifies.
        let lf = message.replace("\r\n", "\n");
        let opened = open_message(
            lf.as_bytes(),
            &[],
            std::slice::from_ref(&gary),
            SystemTime::now(),
        );
        assert_eq!(
            opened.signature_state(),
            SignatureState::Good,
            "LF {mode:?}"
        );
        // Without Gary's key: unknown key, with his fingerprint as the issuer.
        let opened = open_message(message.as_bytes(), &[], &[], SystemTime::now());
        assert_eq!(opened.signature_state(), SignatureState::UnknownKey);
        let issuer = opened.signatures[0].issuer.clone().unwrap();
        assert!(gary.fingerprint().to_hex().ends_with(&issuer), "{issuer}");
    }
}

#[test]
fn we_verify_gpg_clearsigned_text() {
    let gpg = Gpg::new();
    gpg.generate("Gary <gary@example.org>");
    let gary = export(&gpg, "gary@example.org");
    let text = "Hello from GnuPG.\n- a dash line\n-----\nFrom the start\n";
    let signed = String::from_utf8(gpg.run(&["--clearsign"], text.as_bytes()).stdout).unwrap();
    assert!(signed.starts_with("-----BEGIN PGP SIGNED MESSAGE-----"));
    let message = format!("From: gary@example.org\r\nSubject: clear\r\n\r\n{signed}");
    let opened = open_message(
        message.as_bytes(),
        &[],
        std::slice::from_ref(&gary),
        SystemTime::now(),
    );
    assert_eq!(opened.protection, Protection::Inline);
    assert!(!opened.encrypted);
    assert_eq!(opened.signature_state(), SignatureState::Good, "{opened:?}");
    let content = String::from_utf8(opened.content.unwrap()).unwrap();
    assert!(
        content.contains("- a dash line\r\n-----\r\nFrom the start"),
        "{content}"
    );

    let forged = message.replace("Hello from", "Goodbye from");
    let opened = open_message(forged.as_bytes(), &[], &[gary], SystemTime::now());
    assert_eq!(opened.signature_state(), SignatureState::Bad);
}

#[test]
fn we_decrypt_and_verify_gpg_encrypted_and_signed_mail() {
    let gpg = Gpg::new();
    gpg.generate("Gary <gary@example.org>");
    let gary = export(&gpg, "gary@example.org");
    let alice = alice();
    gpg.import(alice.certificate().to_armored().unwrap().as_bytes());

    // gpg --armor --encrypt --sign to Alice; she opens with Gary's key known.
    let encrypt_and_sign = |input: &[u8]| {
        let out = gpg.run(
            &["--armor", "--encrypt", "--sign", "-r", "alice@example.org"],
            input,
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let open = |message: &str| {
        open_message(
            message.as_bytes(),
            std::slice::from_ref(&alice),
            std::slice::from_ref(&gary),
            SystemTime::now(),
        )
    };

    // Inline: in a text/plain body.
    let armored = encrypt_and_sign(b"Inline from gpg.\n");
    let opened = open(&format!(
        "From: gary@example.org\r\nTo: alice@example.org\r\nSubject: hi\r\n\r\n{armored}"
    ));
    assert_eq!(opened.protection, Protection::Inline);
    assert!(opened.encrypted && opened.decrypted, "{opened:?}");
    assert_eq!(opened.signature_state(), SignatureState::Good);
    assert_eq!(opened.signer(), Some(&gary.fingerprint()));
    assert!(
        String::from_utf8(opened.content.unwrap())
            .unwrap()
            .ends_with("Inline from gpg.\r\n")
    );

    // PGP/MIME built around gpg's encryption of an entity with protected headers.
    let entity = "Content-Type: text/plain; charset=us-ascii; protected-headers=\"v1\"\r\n\
                  Subject: Real subject\r\nFrom: gary@example.org\r\n\r\nPGP/MIME from gpg.\r\n";
    let armored = encrypt_and_sign(entity.as_bytes());
    let opened = open(&format!(
        "From: gary@example.org\r\nTo: alice@example.org\r\nSubject: ...\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"YY\"\r\n\r\n\
         --YY\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n\
         --YY\r\nContent-Type: application/octet-stream\r\n\r\n{armored}\r\n--YY--\r\n"
    ));
    assert_eq!(opened.protection, Protection::PgpMime);
    assert!(opened.decrypted, "{opened:?}");
    assert_eq!(opened.signature_state(), SignatureState::Good);
    assert_eq!(
        opened.protected_headers.unwrap().subject.as_deref(),
        Some("Real subject")
    );

    // Encrypted but not signed: decrypted, and "not signed".
    let armored = gpg.run(
        &["--armor", "--encrypt", "-r", "alice@example.org"],
        b"no signature\n",
    );
    let message = format!(
        "Subject: x\r\n\r\n{}",
        String::from_utf8(armored.stdout).unwrap()
    );
    let opened = open_message(message.as_bytes(), &[alice], &[gary], SystemTime::now());
    assert!(opened.decrypted);
    assert_eq!(opened.signature_state(), SignatureState::NoSignature);
}

#[test]
fn secret_keys_move_between_gpg_and_us() {
    let gpg = Gpg::new();
    // Ours into gpg: gpg accepts the secret key and can sign with it.
    let alice = alice();
    gpg.import(alice.to_armored().unwrap().as_bytes());
    let out = gpg.run(
        &["--with-colons", "--list-secret-keys", "alice@example.org"],
        b"",
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains(&alice.fingerprint().to_hex())
    );
    let sig = gpg.run(
        &["--detach-sign", "--armor", "-u", "alice@example.org"],
        b"data",
    );
    let outcomes = homepost_pgp::verify::verify_detached(
        b"data",
        &sig.stdout,
        &[alice.certificate()],
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(outcomes[0].state, SignatureState::Good);

    // gpg's into ours: unprotected, then protected by a passphrase.
    let fpr = gpg.generate("Gary <gary@example.org>");
    let exported = gpg.run(&["--armor", "--export-secret-keys", &fpr], b"");
    let gary = SecretKey::from_bytes(&exported.stdout).unwrap();
    assert_eq!(gary.fingerprint().to_hex(), fpr);

    let out = gpg.run(
        &[
            "--passphrase",
            "s3cret",
            "--quick-gen-key",
            "Pat <pat@example.org>",
            "ed25519",
            "sign,cert",
            "never",
        ],
        b"",
    );
    drop(out);
    let pat = gpg.fingerprint("pat@example.org");
    let exported = gpg.run(
        &[
            "--passphrase",
            "s3cret",
            "--armor",
            "--export-secret-keys",
            &pat,
        ],
        b"",
    );
    assert!(matches!(
        SecretKey::from_bytes(&exported.stdout),
        Err(homepost_pgp::Error::LockedSecretKey)
    ));
    let unlocked =
        SecretKey::from_bytes_with_passphrase(&exported.stdout, &"s3cret".into()).unwrap();
    assert_eq!(unlocked.fingerprint().to_hex(), pat);

    // Our message signed with the key from gpg verifies at gpg's side.
    let msg = message(
        "gary@example.org",
        "alice@example.org",
        "s",
        "from the moved key\r\n",
    );
    let signed = sign_message(&msg, &gary, SystemTime::now()).unwrap();
    let opened = open_message(&signed, &[], &[export(&gpg, &fpr)], SystemTime::now());
    assert_eq!(opened.signature_state(), SignatureState::Good);
}

#[test]
fn gpg_opens_our_setup_message_with_the_code() {
    let gpg = Gpg::new();
    let alice = alice();
    let (code, msg) = setup_message(&alice);
    let text = String::from_utf8(msg).unwrap();
    let start = text.find("-----BEGIN PGP MESSAGE-----").unwrap();
    let end = text.find("-----END PGP MESSAGE-----").unwrap() + 25;
    let out = gpg.run(
        &["--passphrase", code.as_str(), "--decrypt"],
        &text.as_bytes()[start..end],
    );
    let key = String::from_utf8(out.stdout).unwrap();
    assert!(
        key.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"),
        "{key}"
    );
    assert!(key.contains("Autocrypt-Prefer-Encrypt: mutual"));
    gpg.import(key.as_bytes());
    let listed = gpg.run(&["--with-colons", "--list-secret-keys"], b"");
    assert!(
        String::from_utf8(listed.stdout)
            .unwrap()
            .contains(&alice.fingerprint().to_hex())
    );
}
