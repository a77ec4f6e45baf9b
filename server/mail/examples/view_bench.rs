//! The message view's parsing (issue 20): the text, the HTML question and the
//! attachments from three parses (as the view did) and from one
//! ([`homepost_mail::take_apart`]), over every message of the shared corpus, in
//! one run. Prints microseconds per message and the ratio.
//!
//!     cargo run --release -p homepost-mail --example view_bench [ROUNDS]

use std::time::Instant;

use homepost_testing::{corpus, disk};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let mut paths = disk::files(&corpus::path("mail"));
    paths.extend(disk::files(&corpus::path("xss")));
    let mails: Vec<Vec<u8>> = paths.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    let bytes: usize = mails.iter().map(Vec::len).sum();
    let mut sink = 0usize;
    let started = Instant::now();
    for _ in 0..rounds {
        for raw in &mails {
            sink += homepost_mail::parse(raw).body_text.len();
            sink += usize::from(homepost_mail::html::message_html(raw).is_some());
            sink += homepost_mail::attachments(raw).len();
        }
    }
    let three = started.elapsed();
    let started = Instant::now();
    for _ in 0..rounds {
        for raw in &mails {
            let t = homepost_mail::take_apart(raw);
            sink += t.body_text.len() + usize::from(t.has_html) + t.attachments.len();
        }
    }
    let one = started.elapsed();
    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / (rounds * mails.len()) as f64;
    println!(
        "{} messages ({} KiB), {rounds} rounds: three parses {:.1} µs/message, one parse {:.1} µs/message, ratio {:.2} (checksum {sink})",
        mails.len(),
        bytes / 1024,
        per(three),
        per(one),
        three.as_secs_f64() / one.as_secs_f64()
    );
}
