//! Fuzzes the import path for outside input: the mbox splitter over arbitrary
//! bytes, then the message parser on every message it yields and on the whole
//! input as one message. Run with `cargo fuzz run import` (nightly).

#![no_main]

use homepost_mail::mbox::MboxReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut last_end = 0;
    for message in MboxReader::new(data) {
        let Ok(message) = message else {
            panic!("reading an mbox from memory cannot fail");
        };
        assert!(message.offset >= last_end && message.offset < message.end);
        assert!(message.end <= data.len() as u64);
        last_end = message.end;
        let parsed = homepost_mail::parse(&message.raw);
        let _ = parsed.snippet(200);
    }
    let parsed = homepost_mail::parse(data);
    assert!(parsed.body_text.len() <= homepost_mail::parse::MAX_BODY_TEXT_BYTES);
    let _ = homepost_mail::text::terminal_safe(&parsed.snippet(200));
    let _ = homepost_mail::parse::base_subject(parsed.subject.as_deref().unwrap_or_default());
});
