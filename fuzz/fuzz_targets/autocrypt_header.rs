//! Fuzzes the Autocrypt header parser (`Autocrypt:` and gossip values from any
//! sender) with arbitrary text: a header or an error, never a panic.

#![no_main]

use homepost_pgp::autocrypt::AutocryptHeader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(header) = AutocryptHeader::parse(&text) {
        // What parsed can be written out again.
        let _ = header.to_field();
    }
});
