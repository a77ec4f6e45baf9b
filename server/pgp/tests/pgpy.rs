//! The OpenPGP material in the shared corpus (PGPy's test data): keys of many
//! algorithms import, messages decrypt and verify with the keys given there,
//! and what must be refused (no integrity protection, 3DES, SHA-1
//! signatures) is refused. The clock is fixed at 2020-09-13 so that the
//! policy's cut-off dates and the keys' expiry give the same answers
//! every year.

use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use homepost_pgp::verify::{self, best};
use homepost_pgp::{Certificate, Error, KeyStatus, SecretKey, SignatureState};
use homepost_testing::corpus;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_600_000_000)
}

fn read(rel: &str) -> Vec<u8> {
    fs::read(corpus::path(&format!("pgp/pgpy/{rel}"))).unwrap()
}

fn cert(rel: &str) -> Certificate {
    Certificate::from_bytes(&read(rel)).unwrap()
}

/// PGPy's passphrase for its protected test keys.
const PASSPHRASE: &str = "QwertyUiop";

fn all_certs() -> Vec<Certificate> {
    [
        "keys/rsa.1.pub.asc",
        "keys/dsa.1.pub.asc",
        "keys/ecc.1.pub.asc",
        "keys/ecc.2.pub.asc",
        "keys/mixed.1.pub.asc",
        "keys/targette.pub.rsa.asc",
        "blocks/eccpubkey.asc",
        "blocks/dsapubkey.asc",
        "blocks/openpgp.js.pubkey.asc",
    ]
    .iter()
    .map(|p| cert(p))
    .collect()
}

#[test]
fn keys_of_every_algorithm_import() {
    for rel in [
        "keys/rsa.1.pub.asc",
        "keys/dsa.1.pub.asc",
        "keys/ecc.1.pub.asc",
        "keys/ecc.2.pub.asc",
        "keys/mixed.1.pub.asc",
        "keys/targette.pub.rsa.asc",
        "blocks/rsapubkey.asc",
        "blocks/dsapubkey.asc",
        "blocks/eccpubkey.asc",
        "blocks/openpgp.js.pubkey.asc",
    ] {
        let c = cert(rel);
        assert!(
            SecretKey::from_bytes(&read(rel)).is_err(),
            "{rel} is public"
        );
        assert!(
            !c.addresses().is_empty() || rel.contains("targette"),
            "{rel}"
        );
    }
    for rel in [
        "keys/rsa.1.sec.asc",
        "keys/dsa.1.sec.asc",
        "keys/ecc.1.sec.asc",
        "keys/ecc.2.sec.asc",
        "keys/mixed.1.sec.asc",
        "keys/targette.sec.rsa.asc",
        "blocks/rsaseckey.asc",
        "blocks/openpgp.js.seckey.asc",
    ] {
        let key = SecretKey::from_bytes(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(key.certificate().fingerprint(), key.fingerprint());
    }
    for rel in [
        "keys/rsa.1.enc.asc",
        "keys/dsa.1.enc.asc",
        "blocks/dsaseckey.asc",
    ] {
        assert!(
            matches!(
                SecretKey::from_bytes(&read(rel)),
                Err(Error::LockedSecretKey)
            ),
            "{rel}"
        );
        SecretKey::from_bytes_with_passphrase(&read(rel), &PASSPHRASE.into())
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
    }
    // The protected and the clear copies are the same key.
    let locked =
        SecretKey::from_bytes_with_passphrase(&read("keys/rsa.1.enc.asc"), &PASSPHRASE.into())
            .unwrap();
    assert_eq!(
        locked.fingerprint(),
        SecretKey::from_bytes(&read("keys/rsa.1.sec.asc"))
            .unwrap()
            .fingerprint()
    );
    // Keyrings hold several.
    assert_eq!(
        Certificate::all_from_bytes(&read("pubtest.asc"))
            .unwrap()
            .len(),
        2
    );
    assert!(matches!(
        Certificate::from_bytes(&read("pubtest.asc")),
        Err(Error::NotOneKey(2))
    ));
}

#[test]
fn key_states_at_a_fixed_clock() {
    assert_eq!(cert("keys/ecc.2.pub.asc").status(now()), KeyStatus::Usable);
    assert_eq!(
        cert("keys/mixed.1.pub.asc").status(now()),
        KeyStatus::Usable
    );
    // DSA with only a signing subkey and an ElGamal subkey the policy refuses.
    assert_eq!(
        cert("keys/dsa.1.pub.asc").status(now()),
        KeyStatus::NoEncryptionKey
    );
    // Self-signed with SHA-1 only: not valid under today's policy.
    assert_eq!(
        cert("keys/targette.pub.rsa.asc").status(now()),
        KeyStatus::Invalid
    );
}

#[test]
fn revocation_certificates_revoke() {
    for (key, rev) in [
        ("keys/rsa.1.pub.asc", "revocations/rsa.1.revoc.asc"),
        ("keys/dsa.1.pub.asc", "revocations/dsa.1.revoc.asc"),
        ("keys/ecc.1.pub.asc", "revocations/ecc.1.revoc.asc"),
        (
            "keys/targette.pub.rsa.asc",
            "revocations/targette.revoc.asc",
        ),
    ] {
        let revoked = cert(key).add_signatures(&read(rev)).unwrap();
        assert_eq!(revoked.status(now()), KeyStatus::Revoked, "{key}");
    }
}

#[test]
fn garbage_is_not_a_key() {
    for rel in ["nonsense.asc", "nonsense.txt", "need.txt", "abe.jpg"] {
        let err = Certificate::from_bytes(&read(rel)).unwrap_err();
        assert!(matches!(err, Error::NotAKey(_)), "{rel}: {err}");
    }
}

#[test]
fn messages_decrypt_with_the_given_keys() {
    let rsa = SecretKey::from_bytes(&read("keys/rsa.1.sec.asc")).unwrap();
    let ecc2 = SecretKey::from_bytes(&read("keys/ecc.2.sec.asc")).unwrap();
    let keys = [rsa, ecc2];
    let certs = all_certs();
    for (rel, text) in [
        (
            "messages/message.ecdh.cv25519.asc",
            "This message will have been encrypted",
        ),
        (
            "messages/message.rsa.cast5.asc",
            "This is stored, literally\\!\n\n",
        ),
        (
            "messages/message.rsa.dsa.pass.aes.asc",
            "This is stored, literally\\!\n\n",
        ),
        (
            "blocks/message.encrypted.asc",
            "This is signed, literally\\!\n",
        ),
    ] {
        let d = verify::decrypt(&read(rel), &keys, &certs, now())
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(d.encrypted, "{rel}");
        assert_eq!(String::from_utf8(d.plaintext).unwrap(), text, "{rel}");
    }
    // Camellia is in the system OpenSSL but not in the vendored one the
    // whole workspace links: either it decrypts or the error names the cipher.
    let cam = verify::decrypt(
        &read("messages/message.rsa.dsa.cam128.asc"),
        &keys,
        &certs,
        now(),
    );
    if homepost_pgp::openpgp::types::SymmetricAlgorithm::Camellia128.is_supported() {
        assert_eq!(cam.unwrap().plaintext, b"This is stored, literally\\!\n\n");
    } else {
        let err = cam.unwrap_err();
        assert!(matches!(err, Error::UnsupportedAlgorithm(_)), "{err}");
        assert!(err.to_string().contains("Camellia"), "{err}");
    }
    // Encrypted and signed with the RSA key's signing subkey (SHA-256).
    let d = verify::decrypt(
        &read("blocks/message.encrypted.signed.asc"),
        &keys,
        &certs,
        now(),
    )
    .unwrap();
    assert_eq!(best(&d.signatures).unwrap().state, SignatureState::Good);
    assert_eq!(
        best(&d.signatures).unwrap().signer,
        Some(cert("keys/rsa.1.pub.asc").fingerprint())
    );
    // Without our key: a plain refusal.
    let err = verify::decrypt(
        &read("messages/message.ecdh.cv25519.asc"),
        &keys[..1],
        &certs,
        now(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::NoDecryptionKey), "{err}");
}

#[test]
fn what_must_be_refused_is_refused() {
    let rsa = SecretKey::from_bytes(&read("keys/rsa.1.sec.asc")).unwrap();
    // No integrity protection (no MDC): never decrypted.
    for rel in [
        "messages/message.rsa.cast5.no-mdc.asc",
        "messages/message.nomdc.pass.asc",
        "messages/message.literal.nomdc.pass.cast5.asc",
    ] {
        let err = verify::decrypt(&read(rel), std::slice::from_ref(&rsa), &[], now()).unwrap_err();
        assert!(
            err.to_string()
                .contains("Symmetrically Encrypted Data Packet"),
            "{rel}: {err}"
        );
    }
    // 3DES is refused by the policy.
    let err = verify::decrypt(
        &read("messages/message.rsa.dsa.3des.asc"),
        &[rsa],
        &[],
        now(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("3DES"), "{err}");
}

#[test]
fn signatures_verify_and_weak_ones_are_bad() {
    let certs = all_certs();
    let state = |rel: &str| {
        let d = verify::decrypt(&read(rel), &[], &certs, now())
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(!d.encrypted);
        best(&d.signatures).map(|s| s.state)
    };
    // ECDSA over SHA-256.
    assert_eq!(
        state("messages/message.signed.ecdsa.asc"),
        Some(SignatureState::Good)
    );
    // Cleartext signatures with two or three signers: the good one counts.
    assert_eq!(
        state("messages/cleartext.signed.asc"),
        Some(SignatureState::Good)
    );
    assert_eq!(
        state("messages/cleartext.dashesc.signed.asc"),
        Some(SignatureState::Good)
    );
    assert_eq!(
        state("messages/cleartext.oneline.signed.asc"),
        Some(SignatureState::Good)
    );
    assert_eq!(
        state("messages/cleartext.empty.signed.asc"),
        Some(SignatureState::Good)
    );
    assert_eq!(
        state("blocks/cleartext.twosigs.asc"),
        Some(SignatureState::Good)
    );
    // Signed only with SHA-1: bad, and the detail says why.
    let d = verify::decrypt(&read("blocks/cleartext.asc"), &[], &certs, now()).unwrap();
    assert_eq!(d.signatures[0].state, SignatureState::Bad);
    assert!(d.signatures[0].detail.as_deref().unwrap().contains("SHA1"));
    // Dash-escaping is undone.
    let d = verify::decrypt(
        &read("messages/cleartext.dashesc.signed.asc"),
        &[],
        &certs,
        now(),
    )
    .unwrap();
    // (The cleartext framework does not sign the line break before the signature.)
    let file = read("files/literal.dashesc.txt");
    assert_eq!(d.plaintext, file[..file.len() - 1]);
    // Unsigned literal data: no signature.
    assert_eq!(state("blocks/message.literal.asc"), None);
}

#[test]
fn detached_signatures_over_files() {
    let sig = |n: &str, at: SystemTime| {
        let keys = Certificate::all_from_bytes(&read(&format!("signatures/{n}.key.asc"))).unwrap();
        verify::verify_detached(
            &read(&format!("signatures/{n}.subj")),
            &read(&format!("signatures/{n}.sig.asc")),
            &keys,
            at,
        )
        .unwrap()[0]
            .clone()
    };
    // Debian's archive key: good while it was valid, expired since 2020-04-25.
    let before = UNIX_EPOCH + Duration::from_secs(1_560_000_000);
    assert_eq!(sig("debian-sid", before).state, SignatureState::Good);
    assert_eq!(sig("debian-sid", now()).state, SignatureState::ExpiredKey);
    // DSA-1024 and SHA-1 are refused.
    assert_eq!(sig("ubuntu-precise", now()).state, SignatureState::Bad);
    assert_eq!(sig("aptapproval-test", now()).state, SignatureState::Bad);
}

#[test]
fn the_minimal_form_of_a_key_with_a_signing_subkey_still_verifies() {
    let full = cert("keys/rsa.1.pub.asc");
    let addr = full.addresses()[0].clone();
    let minimal = full.minimal(&addr, now()).unwrap();
    assert_eq!(minimal.fingerprint(), full.fingerprint());
    assert!(minimal.to_bytes().unwrap().len() < full.to_bytes().unwrap().len());
    let rsa = SecretKey::from_bytes(&read("keys/rsa.1.sec.asc")).unwrap();
    let d = verify::decrypt(
        &read("blocks/message.encrypted.signed.asc"),
        &[rsa],
        &[minimal],
        now(),
    )
    .unwrap();
    assert_eq!(best(&d.signatures).unwrap().state, SignatureState::Good);
}
