//! Unit tests of keys: generating, exporting and importing them (armored,
//! binary, with a passphrase), minimal keys, fingerprints and `Debug` output.

use super::*;
use std::time::{Duration, UNIX_EPOCH};

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

#[test]
fn generated_key_is_autocrypt_shaped() {
    let key = SecretKey::generate(Some("Alice"), "alice@example.org", now()).unwrap();
    let cert = key.cert();
    let p = policy(now());
    let vc = cert.with_policy(&p, now()).unwrap();
    assert_eq!(cert.primary_key().key().version(), 4);
    assert_eq!(
        cert.primary_key().key().pk_algo(),
        openpgp::types::PublicKeyAlgorithm::EdDSA
    );
    assert!(vc.primary_key().for_signing());
    assert!(vc.primary_key().for_certification());
    let subs: Vec<_> = vc.keys().subkeys().collect();
    assert_eq!(subs.len(), 1);
    assert!(subs[0].for_transport_encryption() && subs[0].for_storage_encryption());
    assert_eq!(
        subs[0].key().pk_algo(),
        openpgp::types::PublicKeyAlgorithm::ECDH
    );
    assert_eq!(key.addresses(), vec!["alice@example.org".to_string()]);
    let uid = cert.userids().next().unwrap();
    assert_eq!(uid.userid().value(), b"Alice <alice@example.org>");
    assert_eq!(key.certificate().status(now()), KeyStatus::Usable);
    // Far in the future it is still usable: Autocrypt keys do not expire.
    let later = now() + Duration::from_secs(20 * 365 * 86400);
    assert_eq!(key.certificate().status(later), KeyStatus::Usable);
}

#[test]
fn secret_and_public_round_trip_armored_and_binary() {
    let key = SecretKey::generate(None, "bob@example.org", now()).unwrap();
    let armored = key.to_armored().unwrap();
    assert!(armored.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
    let again = SecretKey::from_bytes(armored.as_bytes()).unwrap();
    assert_eq!(again.fingerprint(), key.fingerprint());
    let again = SecretKey::from_bytes(&key.to_bytes().unwrap()).unwrap();
    assert_eq!(again.fingerprint(), key.fingerprint());

    let public = key.certificate();
    let armored = public.to_armored().unwrap();
    assert!(armored.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    assert!(!armored.contains("PRIVATE"));
    let cert = Certificate::from_bytes(armored.as_bytes()).unwrap();
    assert_eq!(cert, public);
    assert_eq!(
        Certificate::from_bytes(&public.to_bytes().unwrap()).unwrap(),
        public
    );
    // A secret key read as a certificate loses its secrets.
    let from_secret = Certificate::from_bytes(key.to_armored().unwrap().as_bytes()).unwrap();
    assert!(!from_secret.cert().is_tsk());
    // A public key is not a secret key.
    assert!(matches!(
        SecretKey::from_bytes(armored.as_bytes()),
        Err(Error::NoSecretKey)
    ));
}

#[test]
fn garbage_is_refused_in_plain_words() {
    for garbage in [
        &b""[..],
        b"   \n",
        b"hello, this is not a key",
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 !!\n-----END PGP PUBLIC KEY BLOCK-----\n",
        &[0x99, 0x01, 0x02, 0x03, 0xff, 0xfe],
    ] {
        let err = Certificate::from_bytes(garbage).unwrap_err();
        assert!(matches!(err, Error::NotAKey(_)), "{garbage:?}: {err}");
        assert!(err.to_string().starts_with("not an OpenPGP key"));
        assert!(SecretKey::from_bytes(garbage).is_err());
    }
}

#[test]
fn two_keys_are_not_one() {
    let a = SecretKey::generate(None, "a@example.org", now())
        .unwrap()
        .certificate();
    let b = SecretKey::generate(None, "b@example.org", now())
        .unwrap()
        .certificate();
    let mut both = a.to_bytes().unwrap();
    both.extend(b.to_bytes().unwrap());
    assert!(matches!(
        Certificate::from_bytes(&both),
        Err(Error::NotOneKey(2))
    ));
    assert_eq!(Certificate::all_from_bytes(&both).unwrap().len(), 2);
}

#[test]
fn passphrase_protected_secret_key_needs_the_passphrase() {
    let key = SecretKey::generate(None, "c@example.org", now()).unwrap();
    let pass = Password::from("correct horse");
    let mut packets: Vec<Packet> = Vec::new();
    for ka in key.cert().keys().secret() {
        let k = ka.key().clone().encrypt_secret(&pass).unwrap();
        packets.push(if ka.primary() {
            k.role_into_primary().into()
        } else {
            k.role_into_subordinate().into()
        });
    }
    let locked = key.cert().clone().insert_packets(packets).unwrap().0;
    let bytes = locked.as_tsk().to_vec().unwrap();
    assert!(matches!(
        SecretKey::from_bytes(&bytes),
        Err(Error::LockedSecretKey)
    ));
    assert!(matches!(
        SecretKey::from_bytes_with_passphrase(&bytes, &"wrong".into()),
        Err(Error::LockedSecretKey)
    ));
    let unlocked = SecretKey::from_bytes_with_passphrase(&bytes, &pass).unwrap();
    assert!(
        unlocked
            .cert()
            .keys()
            .secret()
            .all(|k| k.key().has_unencrypted_secret())
    );
}

#[test]
fn minimal_key_has_the_five_packets() {
    let key = SecretKey::generate(Some("Dora"), "dora@example.org", now()).unwrap();
    let min = key
        .certificate()
        .minimal("Dora@Example.org", now())
        .unwrap();
    let packets: Vec<Packet> = min.cert().clone().into_packets().collect();
    assert_eq!(packets.len(), 5, "{packets:?}");
    assert!(matches!(packets[0], Packet::PublicKey(_)));
    assert!(matches!(packets[1], Packet::UserID(_)));
    assert!(matches!(packets[2], Packet::Signature(_)));
    assert!(matches!(packets[3], Packet::PublicSubkey(_)));
    assert!(matches!(packets[4], Packet::Signature(_)));
    assert_eq!(min.fingerprint(), key.fingerprint());
    assert_eq!(min.status(now()), KeyStatus::Usable);
    // The primary key can still sign according to the user id self-signature.
    let p = policy(now());
    let vc = min.cert().with_policy(&p, now()).unwrap();
    assert!(vc.primary_key().for_signing());
}

#[test]
fn fingerprints_parse_and_print() {
    let key = SecretKey::generate(None, "e@example.org", now()).unwrap();
    let fpr = key.fingerprint();
    assert_eq!(fpr.to_hex().len(), 40);
    assert_eq!(fpr.to_string(), fpr.to_hex());
    let parsed: Fingerprint = fpr.to_spaced_hex().to_lowercase().parse().unwrap();
    assert_eq!(parsed, fpr);
    assert!("ABCD".parse::<Fingerprint>().is_err());
    assert!("Z".repeat(40).parse::<Fingerprint>().is_err());
    assert!(key.certificate().has_key(&fpr));
}

#[test]
fn debug_output_shows_no_secret() {
    let key = SecretKey::generate(None, "f@example.org", now()).unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains(&key.fingerprint().to_hex()));
    assert!(debug.len() < 200, "{debug}");
}
