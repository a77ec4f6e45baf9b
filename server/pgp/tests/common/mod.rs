//! Test accounts and messages shared by the integration tests.
#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use homepost_pgp::autocrypt::PreferEncrypt;
use homepost_pgp::openpgp::cert::prelude::*;
use homepost_pgp::openpgp::serialize::SerializeInto;
use homepost_pgp::setup::{SetupCode, create_setup_message};
use homepost_pgp::{Certificate, SecretKey};

/// 2024-01-01T00:00:00Z: the clock of these tests.
pub fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_067_200)
}

pub fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

pub fn alice() -> SecretKey {
    SecretKey::generate(Some("Alice"), "alice@example.org", t0()).unwrap()
}

pub fn eve() -> SecretKey {
    SecretKey::generate(Some("Eve"), "eve@example.org", t0()).unwrap()
}

pub fn bob() -> SecretKey {
    SecretKey::generate(Some("Bob"), "bob@example.org", t0()).unwrap()
}

/// A key for `addr` that expires `valid_for` after t0.
pub fn expiring(addr: &str, valid_for: Duration) -> SecretKey {
    let (cert, _) = CertBuilder::new()
        .set_cipher_suite(CipherSuite::Cv25519)
        .set_profile(homepost_pgp::openpgp::Profile::RFC4880)
        .unwrap()
        .set_creation_time(t0())
        .set_validity_period(valid_for)
        .set_primary_key_flags(
            homepost_pgp::openpgp::types::KeyFlags::empty()
                .set_certification()
                .set_signing(),
        )
        .add_userid(format!("<{addr}>"))
        .add_transport_encryption_subkey()
        .generate()
        .unwrap();
    SecretKey::from_bytes(&cert.as_tsk().to_vec().unwrap()).unwrap()
}

/// A certificate with its revocation certificate attached (revoked at t0).
pub fn revoked(key: &SecretKey) -> Certificate {
    use homepost_pgp::openpgp::cert::CertRevocationBuilder;
    use homepost_pgp::openpgp::parse::Parse;
    use homepost_pgp::openpgp::types::ReasonForRevocation;
    let cert = homepost_pgp::openpgp::Cert::from_bytes(&key.to_bytes().unwrap()).unwrap();
    let mut signer = cert
        .primary_key()
        .key()
        .clone()
        .parts_into_secret()
        .unwrap()
        .into_keypair()
        .unwrap();
    let rev = CertRevocationBuilder::new()
        .set_signature_creation_time(t0() + days(1))
        .unwrap()
        .set_reason_for_revocation(ReasonForRevocation::KeyCompromised, b"lost")
        .unwrap()
        .build(&mut signer, &cert, None)
        .unwrap();
    let cert = cert.insert_packets(rev).unwrap().0;
    Certificate::from_bytes(&cert.to_vec().unwrap()).unwrap()
}

/// An Autocrypt Setup Message of `key` for alice@example.org (prefer-encrypt
/// mutual, made at t0) under a new setup code.
pub fn setup_message(key: &SecretKey) -> (SetupCode, Vec<u8>) {
    let code = SetupCode::generate().unwrap();
    let msg =
        create_setup_message(key, "alice@example.org", PreferEncrypt::Mutual, &code, t0()).unwrap();
    (code, msg)
}

/// A composed message as mail-builder writes it (CRLF, 7-bit).
pub fn message(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n\
         Message-ID: <m1@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{body}"
    )
    .into_bytes()
}
