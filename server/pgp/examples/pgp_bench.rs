//! Times PGP/MIME sign+encrypt and decrypt+verify over a directory of messages
//! (bench/pgp/run runs it beside gpg on the same messages and keys).
//!
//! usage: pgp_bench MESSAGE_DIR OUT_DIR [LIMIT]
//! Writes OUT_DIR/alice.asc and OUT_DIR/bob.asc (unprotected secret keys, for gpg)
//! and prints one JSON line: messages, bytes, sign_encrypt_s, decrypt_verify_s.

use std::time::{Instant, SystemTime};

use homepost_pgp::verify::SignatureState;
use homepost_pgp::{SecretKey, encrypt_message, open_message};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(out)) = (args.get(1), args.get(2)) else {
        return Err("usage: pgp_bench MESSAGE_DIR OUT_DIR [LIMIT]".into());
    };
    let limit: usize = args
        .get(3)
        .and_then(|l| l.parse().ok())
        .unwrap_or(usize::MAX);
    let now = SystemTime::now();
    let alice = SecretKey::generate(Some("Alice"), "alice@example.org", now)?;
    let bob = SecretKey::generate(Some("Bob"), "bob@example.org", now)?;
    std::fs::write(format!("{out}/alice.asc"), alice.to_armored()?.as_bytes())?;
    std::fs::write(format!("{out}/bob.asc"), bob.to_armored()?.as_bytes())?;
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths.truncate(limit);
    let messages: Vec<Vec<u8>> = paths.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let bob_cert = bob.certificate();
    let alice_cert = alice.certificate();

    let started = Instant::now();
    let mut sealed = Vec::with_capacity(messages.len());
    for m in &messages {
        sealed.push(encrypt_message(m, &alice, &[&bob_cert], &[], now)?);
    }
    let sign_encrypt = started.elapsed().as_secs_f64();

    let keys = [bob];
    let certs = [alice_cert];
    let started = Instant::now();
    for s in &sealed {
        let opened = open_message(s, &keys, &certs, now);
        if !opened.decrypted || opened.signature_state() != SignatureState::Good {
            return Err(format!("a message did not open cleanly: {:?}", opened.problem).into());
        }
    }
    let decrypt_verify = started.elapsed().as_secs_f64();
    println!(
        "{{\"messages\": {}, \"bytes\": {bytes}, \"sign_encrypt_s\": {sign_encrypt:.4}, \"decrypt_verify_s\": {decrypt_verify:.4}}}",
        messages.len()
    );
    Ok(())
}
