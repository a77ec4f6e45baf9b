//! Fuzzes reading an uploaded file (an mbox, a message, a zip, a tar, a gzip):
//! whatever the bytes, every message read is at most the member limit, progress
//! never passes the total, and nothing panics. Run with `cargo fuzz run upload`
//! (nightly).

#![no_main]

use std::io::Cursor;

use homepost_mail::source::MAX_MEMBER_BYTES;
use homepost_mail::{ImportSources, Upload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let upload = Upload {
        name: "fuzz".into(),
        size: data.len() as u64,
        reader: Box::new(Cursor::new(data.to_vec())),
    };
    let sources = ImportSources::uploads(vec![upload]);
    for message in sources.flatten() {
        assert!(message.raw.len() as u64 <= MAX_MEMBER_BYTES.max(data.len() as u64));
        assert!(message.progress_bytes <= data.len() as u64);
    }
});
