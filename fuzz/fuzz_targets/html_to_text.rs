//! Fuzzes the HTML renderers for mail bodies over arbitrary bytes (as lossy
//! UTF-8): the plain-text rendering stays within its cap, and the sanitised
//! document keeps its fixed header and holds no script tag. Run with
//! `cargo fuzz run html_to_text` (nightly).

#![no_main]

use homepost_mail::html::{MAX_TEXT_BYTES, sanitize, to_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let text = to_text(&html);
    assert!(text.len() <= MAX_TEXT_BYTES);
    let clean = sanitize(&html);
    assert!(clean.starts_with("<!doctype html><meta charset=\"utf-8\">"));
    assert!(!clean.to_ascii_lowercase().contains("<script"));
});
