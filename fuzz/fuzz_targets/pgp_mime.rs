//! Fuzzes the OpenPGP MIME handling with arbitrary messages: opening one (PGP/MIME
//! and inline detection, protected headers, without keys) and signing one (which
//! splits its header fields between the outer and the signed part). Neither may
//! panic, whatever the header names and bodies hold.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use homepost_pgp::{SecretKey, open_message, sign_message};
use libfuzzer_sys::fuzz_target;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn key() -> &'static SecretKey {
    static KEY: OnceLock<SecretKey> = OnceLock::new();
    KEY.get_or_init(|| {
        SecretKey::generate(None, "fuzz@example.org", now() - Duration::from_secs(3600))
            .expect("a key for the fuzzer")
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = open_message(data, &[], &[], now());
    let _ = sign_message(data, key(), now());
});
