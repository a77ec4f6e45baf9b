//! Input from outside never makes the crate panic: generated messages, keys
//! and header values thrown at the parsers that see mail from strangers.
//!
//! A small deterministic generator stands in for a property-testing crate:
//! the same cases run every time, and no dependency is added for it.

use std::time::{Duration, UNIX_EPOCH};

use homepost_pgp::autocrypt::peer::effective_date;
use homepost_pgp::autocrypt::{AutocryptHeader, SenderUpdate};
use homepost_pgp::setup::{SetupCode, inspect_setup_message};
use homepost_pgp::{Certificate, SecretKey, open_message};

fn now() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_067_200)
}

/// xorshift64*: enough randomness to shuffle pieces of mail.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

const PIECES: &[&str] = &[
    "Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=\"b\"\r\n",
    "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n",
    "Content-Type: multipart/mixed; boundary=b\r\n",
    "Content-Type: application/autocrypt-setup\r\n",
    "Content-Type: text/plain; protected-headers=\"v1\"\r\n",
    "Content-Transfer-Encoding: base64\r\n",
    "Autocrypt-Setup-Message: v1\r\n",
    "Autocrypt: addr=a@example.org; keydata=mDMEXEcE6RYJKwYBBAHaRw8BAQdA\r\n",
    "Autocrypt-Gossip: addr=b@example.org; keydata=AAAA\r\n",
    "From: a@example.org\r\n",
    "To: b@example.org\r\n",
    "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n",
    "\r\n",
    "\n",
    "--b\r\n",
    "--b--\r\n",
    "-----BEGIN PGP MESSAGE-----\r\n",
    "-----END PGP MESSAGE-----\r\n",
    "-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\n",
    "-----BEGIN PGP SIGNATURE-----\r\n",
    "-----END PGP SIGNATURE-----\r\n",
    "Passphrase-Format: numeric9x4\r\n",
    "hQEMA0dm9rnV8h62AQf/Zg==\r\n",
    "Version: 1\r\n",
];

fn mailish(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.below(30) {
        if rng.below(5) == 0 {
            out.extend(rng.bytes(24));
        } else {
            out.extend_from_slice(PIECES[rng.below(PIECES.len())].as_bytes());
        }
    }
    out
}

#[test]
fn opening_generated_messages_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let msg = mailish(&mut rng);
        let opened = open_message(&msg, &[], &[], now());
        assert!(!opened.decrypted);
        let _ = SenderUpdate::from_message(&msg, now());
        let _ = inspect_setup_message(&msg);
    }
}

#[test]
fn generated_bytes_are_no_key() {
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let data = rng.bytes(200);
        assert!(Certificate::from_bytes(&data).is_err());
        assert!(SecretKey::from_bytes(&data).is_err());
    }
}

#[test]
fn generated_header_values_never_panic() {
    let mut rng = Rng(7);
    let alphabet: Vec<char> = " =;_-@.abcdekmtuyrpAZ09+/\t\r\n\u{e9}\u{1F511}"
        .chars()
        .collect();
    for _ in 0..3000 {
        let len = rng.below(120);
        let value: String = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        let _ = AutocryptHeader::parse(&value);
        let _ = SetupCode::parse(&value);
    }
}

#[test]
fn any_date_gives_an_effective_date_not_after_now() {
    let mut rng = Rng(3);
    let mut dates = vec![None, Some(i64::MIN), Some(i64::MAX), Some(-1), Some(0)];
    dates.extend((0..500).map(|_| Some(rng.next() as i64)));
    for date in dates {
        assert!(effective_date(date, now()) <= now());
    }
}

/// Found by the `pgp_mime` fuzz target: a message whose multipart structure
/// trips a debug assertion inside mail-parser when it is opened as inline PGP.
#[test]
fn a_message_that_trips_mail_parser_is_opened_without_a_panic() {
    let raw = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/fuzz-open-inline-multipart.eml"),
    )
    .unwrap();
    let _ = open_message(&raw, &[], &[], now());
    let key =
        SecretKey::generate(None, "fuzz@example.org", now() - Duration::from_secs(60)).unwrap();
    let _ = homepost_pgp::sign_message(&raw, &key, now());
}
