//! Indexes synthetic mail and reports time, peak memory, index size and query latency.
//!
//! ```text
//! cargo run --release -p homepost-search --example index_bench -- 100000
//! ```
//!
//! Messages have a 6-word subject and a 150-450-word body drawn from a 30,000-word
//! Zipf-like vocabulary, three addresses and one to three tags; every tenth has an
//! attachment. Commits every 20,000 messages, as an import does. Then adds a tenth
//! more new messages, replaces as many existing ones, and times queries.

use std::time::{Duration, Instant};

use homepost_search::{IndexDoc, SearchIndex, SearchOptions, Sort};

const COMMIT_EVERY: u64 = 20_000;
const VOCABULARY: u64 = 30_000;

/// A small deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Word ranks roughly Zipf-distributed: small ranks are common.
    fn word(&mut self) -> String {
        let u = (self.below(1_000_000) as f64 + 1.0) / 1_000_000.0;
        let rank = (VOCABULARY as f64).powf(u) as u64;
        format!("w{rank}")
    }
}

fn message(rng: &mut Rng, id: u64) -> IndexDoc {
    let words = |rng: &mut Rng, n: u64| (0..n).map(|_| rng.word()).collect::<Vec<_>>().join(" ");
    let body_len = 150 + rng.below(300);
    let has_attachment = id.is_multiple_of(10);
    IndexDoc {
        id,
        date: 1_600_000_000 + (id as i64) * 600,
        size: 1_000 + rng.below(50_000),
        message_id: format!("<{id}.{}@bench.example>", rng.next()),
        subject: words(rng, 6),
        body: words(rng, body_len),
        from: vec![format!("Person {} <p{}@example.org>", id % 97, id % 97)],
        to: vec![format!("p{}@example.net", rng.below(500))],
        cc: vec![format!("Colleague <c{}@example.com>", rng.below(50))],
        tags: ["inbox", "read", "work", "lists"]
            .iter()
            .take(1 + rng.below(3) as usize)
            .map(std::string::ToString::to_string)
            .collect(),
        attachments: if has_attachment {
            vec![format!("report{id}.pdf"), "application/pdf".into()]
        } else {
            vec![]
        },
        has_attachment,
    }
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn dir_size_mb(path: &std::path::Path) -> f64 {
    std::fs::read_dir(path).map_or(0, |entries| {
        entries
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum::<u64>()
    }) as f64
        / (1024.0 * 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let tmp = tempfile::tempdir()?;
    let key = [9u8; 32];
    let (mut index, _) = SearchIndex::open(tmp.path(), &key)?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    let start = Instant::now();
    let mut generating = Duration::ZERO;
    for id in 1..=n {
        let t = Instant::now();
        let doc = message(&mut rng, id);
        generating += t.elapsed();
        index.upsert(&doc)?;
        if id.is_multiple_of(COMMIT_EVERY) {
            index.commit()?;
        }
    }
    index.commit()?;
    let indexing = start.elapsed().saturating_sub(generating);
    println!(
        "indexed {n} messages + commit: {:.2} s ({:.0} msg/s), peak RSS {:.0} MB, index {:.1} MB on disk",
        indexing.as_secs_f64(),
        n as f64 / indexing.as_secs_f64(),
        peak_rss_mb(),
        dir_size_mb(tmp.path()),
    );
    drop(index);

    let (mut index, _) = SearchIndex::open(tmp.path(), &key)?;
    let more = (n / 10).max(1);
    let t = Instant::now();
    for id in n + 1..=n + more {
        index.upsert(&message(&mut rng, id))?;
    }
    index.commit()?;
    println!(
        "then {more} new messages into the {n}-message index + commit: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    for id in 1..=more {
        index.upsert(&message(&mut rng, id))?;
    }
    index.commit()?;
    println!(
        "then {more} existing messages replaced + commit: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let queries = [
        "w2",
        "w1 w3",
        "\"w1 w2\"",
        "w12345",
        "from:p5@example.org",
        "tag:work -is:read",
        "has:attachment att:pdf",
        "date:2021-06..2021-08",
        "size:>40k",
        "w7 OR w9 OR w11",
        "*",
    ];
    println!("query latency (median of 20, first page of 50):");
    for query in queries {
        for sort in [Sort::Newest, Sort::Relevance] {
            let opts = SearchOptions {
                sort,
                limit: 50,
                offset: 0,
            };
            let mut times = Vec::new();
            let mut total = 0;
            for _ in 0..20 {
                let t = Instant::now();
                total = index.search(query, &opts)?.total;
                times.push(t.elapsed());
            }
            times.sort();
            println!(
                "  {query:<28} {sort:<10} {:>8.2} ms  ({total} hits)",
                times[times.len() / 2].as_secs_f64() * 1000.0,
                sort = format!("{sort:?}"),
            );
        }
    }
    println!("peak RSS overall {:.0} MB", peak_rss_mb());
    Ok(())
}
