//! Real-world mail from other projects' test corpora (shared/corpus/mail,
//! beside the repository): every file imports and parses, and for the
//! Stalwart mail-parser fixtures our fields agree with its expected JSON.

use std::collections::BTreeMap;
use std::fs;

use homepost_mail::{Address, ImportSources, ParsedMessage, parse};
use homepost_testing::{corpus, disk};
use serde_json::Value;

#[test]
fn every_corpus_file_imports_and_parses() {
    let dir = corpus::path("mail");
    let sources = ImportSources::new(vec![dir.clone()]);
    let total_bytes = sources.total_bytes();
    let mut per_top_dir: BTreeMap<String, usize> = BTreeMap::new();
    let mut messages = 0;
    let mut malformed = 0;
    let mut with_from = 0;
    let mut last_progress = 0;
    let mut errors = Vec::new();
    for item in sources {
        let message = match item {
            Ok(message) => message,
            Err(error) => {
                errors.push(error.to_string());
                continue;
            }
        };
        assert!(message.progress_bytes >= last_progress);
        last_progress = message.progress_bytes;
        let parsed = parse(&message.raw);
        messages += 1;
        malformed += usize::from(parsed.malformed);
        if parsed.malformed {
            println!("malformed: {}", message.origin);
        }
        with_from += usize::from(!parsed.from.is_empty());
        let relative = message
            .origin
            .strip_prefix(&dir.display().to_string())
            .unwrap_or(&message.origin)
            .trim_start_matches('/')
            .to_owned();
        let top = relative.split('/').next().unwrap_or_default().to_owned();
        *per_top_dir.entry(top).or_default() += 1;
    }
    println!(
        "corpus: {messages} messages ({malformed} malformed, {with_from} with From) from {total_bytes} bytes: {per_top_dir:?}"
    );
    assert!(errors.is_empty(), "unreadable corpus files: {errors:?}");
    assert_eq!(last_progress, total_bytes);
    // Every .eml file is at least one message, and most corpus mail has a From.
    let eml_files = disk::files(&dir)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .count();
    assert!(
        messages > eml_files,
        "{messages} messages, {eml_files} .eml files"
    );
    assert!(
        with_from * 10 > messages * 8,
        "{with_from} of {messages} have From"
    );
}

#[test]
fn mailpile_mbox_splits_into_its_messages() {
    let path = corpus::path("mail/mailpile/tests.mbx");
    let data = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let from_lines = data
        .split(|&b| b == b'\n')
        .filter(|line| line.starts_with(b"From "))
        .count();
    let messages: Vec<ParsedMessage> = ImportSources::new(vec![path])
        .map(|m| parse(&m.unwrap_or_else(|e| panic!("{e}")).raw))
        .collect();
    assert_eq!(messages.len(), from_lines);
    assert!(messages.iter().all(|m| !m.malformed && !m.from.is_empty()));
}

#[test]
fn stalwart_maildir_folders_and_flags() {
    let dir = corpus::path("mail/stalwart-mail-parser/resources/maildir");
    let messages: Vec<_> = ImportSources::new(vec![dir])
        .map(|m| m.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let summary: Vec<(String, Vec<String>)> = messages
        .iter()
        .map(|m| {
            let name = m.origin.rsplit("maildir/").next().unwrap_or_default();
            (name.to_owned(), m.tags.clone())
        })
        .collect();
    let expect = |name: &str, tags: &[&str]| {
        (
            name.to_owned(),
            tags.iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        summary,
        [
            expect(
                "cur/1491941793.M41850P8566V0000000000000015I0000000004F3030E_0.mx1.example.com,S=10956;2,STln",
                &["read", "trash"]
            ),
            expect(
                "new/1234567890.M20046P2137.mailserver,S=4542,W=4642;2,Sb",
                &[]
            ),
            expect(
                ".My Folder/cur/1035478339.27041_118.foo.org,S=1000,W=1030;2,TDR",
                &["trash", "draft", "replied"]
            ),
            expect(
                ".My Folder/new/1276528487.M364837P9451.kurkku,S=1355,W=1394;2,",
                &[]
            ),
            expect(
                ".My Folder.Nested Folder/cur/1276533073.M242911P3632.kurkku;2,FP",
                &["flagged", "passed"]
            ),
            expect(
                ".My Folder.Nested Folder/new/1035478339.27041_118.foo.org,S=1000,W=1030;2,RDF,",
                &["replied", "draft", "flagged"]
            ),
        ]
    );
}

/// Counts of a field comparison against the Stalwart fixtures.
#[derive(Default, Debug)]
struct Tally {
    compared: usize,
    /// Compared where the fixture has a value (not absent or empty).
    non_empty: usize,
    agreed: usize,
    skipped: usize,
}

#[test]
fn stalwart_expected_json_agrees() {
    let root = corpus::path("mail/stalwart-mail-parser/resources/eml");
    let mut emls = disk::files(&root);
    emls.retain(|p| p.extension().is_some_and(|e| e == "eml"));

    let mut tallies: BTreeMap<&'static str, Tally> = BTreeMap::new();
    let mut disagreements = Vec::new();
    let mut fixtures = 0;
    for eml in &emls {
        let json_path = eml.with_extension("json");
        let Ok(json) = fs::read(&json_path) else {
            continue;
        };
        fixtures += 1;
        let expected: Value = serde_json::from_slice(&json)
            .unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
        let raw = fs::read(eml).unwrap_or_else(|e| panic!("{}: {e}", eml.display()));
        let ours = parse(&raw);
        let headers = expected
            .pointer("/parts/0/headers")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let name = eml.strip_prefix(&root).unwrap_or(eml).display().to_string();

        let mut check = |field: &'static str, expected: Option<String>, ours: String| {
            let tally = tallies.entry(field).or_default();
            match expected {
                None => tally.skipped += 1,
                Some(expected) => {
                    tally.compared += 1;
                    tally.non_empty += usize::from(expected != "None" && expected != "[]");
                    if expected == ours {
                        tally.agreed += 1;
                    } else {
                        disagreements
                            .push(format!("{name} {field}: expected {expected}, got {ours}"));
                    }
                }
            }
        };

        check(
            "subject",
            last_value(headers, "subject").map_or(Some("None".into()), |v| {
                text_value(v).map(|t| format!("{:?}", t.map(str::to_owned)))
            }),
            format!("{:?}", ours.subject),
        );
        check(
            "message_id",
            last_value(headers, "message_id").map_or(Some("None".into()), |v| {
                id_value(v).map(|id| format!("{id:?}"))
            }),
            format!("{:?}", ours.message_id),
        );
        check(
            "date",
            last_value(headers, "date").map_or(Some("None".into()), |v| {
                date_value(v).map(|d| format!("{d:?}"))
            }),
            format!("{:?}", ours.date),
        );
        for (field, got) in [("from", &ours.from), ("to", &ours.to), ("cc", &ours.cc)] {
            check(
                field,
                address_values(headers, field).map(|list| format!("{list:?}")),
                format!("{got:?}"),
            );
        }
    }

    let compared: usize = tallies.values().map(|t| t.compared).sum();
    let agreed: usize = tallies.values().map(|t| t.agreed).sum();
    let skipped: usize = tallies.values().map(|t| t.skipped).sum();
    println!(
        "stalwart: {fixtures} fixtures, {compared} fields compared, {agreed} agree, {skipped} skipped (unmapped JSON shapes): {tallies:?}"
    );
    assert!(
        fixtures >= 100,
        "only {fixtures} fixtures with expected JSON"
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// The value of the last header called `name` (what mail-parser's accessors,
/// and so `parse`, use when a field is repeated).
fn last_value<'a>(headers: &'a [Value], name: &str) -> Option<&'a Value> {
    headers
        .iter()
        .rev()
        .find(|h| h.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|h| h.get("value"))
}

/// `{"Text": s}` -> `Some(Some(s))`, `"Empty"` -> `Some(None)`, else unmapped.
fn text_value(value: &Value) -> Option<Option<&str>> {
    match value {
        Value::String(s) if s == "Empty" => Some(None),
        _ => value.get("Text").and_then(Value::as_str).map(Some),
    }
}

/// A Message-ID value: one id, the first of a list, or none.
fn id_value(value: &Value) -> Option<Option<String>> {
    if let Some(text) = text_value(value) {
        return Some(text.map(str::to_owned));
    }
    let list = value.get("TextList")?.as_array()?;
    Some(list.first().and_then(Value::as_str).map(str::to_owned))
}

/// A Date value as Unix seconds, computed here from the JSON's fields (not
/// with mail-parser's arithmetic); `Some(None)` for no or an invalid date.
fn date_value(value: &Value) -> Option<Option<i64>> {
    if value.as_str() == Some("Empty") {
        return Some(None);
    }
    let dt = value.get("DateTime")?;
    let field = |name: &str| dt.get(name).and_then(Value::as_i64);
    let (year, month, day) = (field("year")?, field("month")?, field("day")?);
    let (hour, minute, second) = (field("hour")?, field("minute")?, field("second")?);
    let (tz_hour, tz_minute) = (field("tz_hour")?, field("tz_minute")?);
    let west = dt.get("tz_before_gmt")?.as_bool()?;
    let valid = (1900..=3000).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour <= 23
        && minute <= 59
        && second <= 59
        && tz_hour <= 23
        && tz_minute <= 59;
    if !valid {
        return Some(None);
    }
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    let offset = tz_hour * 3600 + tz_minute * 60;
    Some(Some(if west { local + offset } else { local - offset }))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// All addresses of every `name` header, groups flattened; `None` if some
/// value has a shape this test does not map.
fn address_values(headers: &[Value], name: &str) -> Option<Vec<Address>> {
    let mut out = Vec::new();
    for header in headers {
        if header.get("name").and_then(Value::as_str) != Some(name) {
            continue;
        }
        let value = header.get("value")?;
        if value.as_str() == Some("Empty") {
            continue;
        }
        let address = value.get("Address")?;
        if let Some(list) = address.get("List").and_then(Value::as_array) {
            out.extend(list.iter().map(addr));
        } else if let Some(groups) = address.get("Group").and_then(Value::as_array) {
            for group in groups {
                let members = group.get("addresses").and_then(Value::as_array);
                out.extend(members.into_iter().flatten().map(addr));
            }
        } else {
            return None;
        }
    }
    Some(out)
}

fn addr(value: &Value) -> Address {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    Address {
        name: text("name"),
        address: text("address"),
    }
}
