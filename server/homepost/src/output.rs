//! How results are printed: one line per message, a detail view, and JSON.

use std::fmt::Write as _;

use anyhow::Result;
use homepost_core::reading::Reading;
use homepost_mail::Address;
use homepost_mail::RiskLevel;
use homepost_mail::text::terminal_safe;
use homepost_spam::{Score, Verdict};
use homepost_store::MessageSummary;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// RFC 3339 in UTC, or the raw number if it is out of range.
fn rfc3339(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| ts.to_string())
}

/// A date as `YYYY-MM-DD HH:MM` (UTC).
pub(crate) fn short_date(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|d| {
            d.format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
                .ok()
        })
        .unwrap_or_else(|| ts.to_string())
}

fn display_list(list: &[Address]) -> String {
    list.iter()
        .map(Address::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A header value on one line: every control character (newlines included) becomes
/// a space, so a crafted name cannot forge extra result lines.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `id  date  from  subject  [tags]`, made safe for a terminal.
pub fn summary_line(s: &MessageSummary) -> String {
    let from = s
        .from
        .first()
        .map(|a| {
            a.name
                .clone()
                .or_else(|| a.address.clone())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    terminal_safe(&format!(
        "{:>6}  {}  {:<24}  {}  [{}]",
        s.id,
        short_date(s.date),
        one_line(&from).chars().take(24).collect::<String>(),
        one_line(&s.subject),
        one_line(&s.tags.join(" "))
    ))
}

fn summary_json(s: &MessageSummary) -> Value {
    json!({
        "id": s.id,
        "message_id": s.message_id,
        "thread_id": s.thread_id,
        "date": rfc3339(s.date),
        "timestamp": s.date,
        "from": s.from,
        "to": s.to,
        "subject": s.subject,
        "tags": s.tags,
        "snippet": s.snippet,
        "has_attachment": s.has_attachment,
    })
}

/// A JSON array of search results.
pub fn json_summaries(list: &[MessageSummary]) -> Value {
    Value::Array(list.iter().map(summary_json).collect())
}

/// One message as JSON, with its body as plain text and its attachments under
/// the names they are saved as, with their risk.
pub fn json_detail(r: &Reading) -> Value {
    let (d, body) = (&r.detail, &r.text);
    let mut v = summary_json(&d.summary);
    if let Value::Object(map) = &mut v {
        map.insert("cc".into(), json!(d.cc));
        map.insert("bcc".into(), json!(d.bcc));
        map.insert("reply_to".into(), json!(d.reply_to));
        map.insert("attachments".into(), json!(r.attachments));
        map.insert("references".into(), json!(d.references));
        map.insert("size".into(), json!(d.size));
        map.insert("malformed".into(), json!(d.malformed));
        map.insert("body".into(), json!(body));
    }
    v
}

/// A risk level in a word.
fn risk_word(level: RiskLevel) -> &'static str {
    match level {
        RiskLevel::Low => "low",
        RiskLevel::Medium => "medium",
        RiskLevel::High => "high",
    }
}

/// Headers then the body, as safe plain text for a terminal.
pub fn detail_text(r: &Reading) -> String {
    let (d, body) = (&r.detail, &r.text);
    let s = &d.summary;
    let mut out = String::new();
    let mut header = |name: &str, value: String| {
        if !value.is_empty() {
            let _ = writeln!(out, "{name}: {}", one_line(&value));
        }
    };
    header("Id", s.id.to_string());
    header("From", display_list(&s.from));
    header("To", display_list(&s.to));
    header("Cc", display_list(&d.cc));
    header("Reply-To", display_list(&d.reply_to));
    header("Date", rfc3339(s.date));
    header("Subject", s.subject.clone());
    header("Message-ID", s.message_id.clone().unwrap_or_default());
    header("Tags", s.tags.join(" "));
    for a in &r.attachments {
        header(
            "Attachment",
            format!(
                "{} ({}, {} bytes, {} risk)",
                a.filename,
                a.content_type,
                a.size,
                risk_word(a.risk.level)
            ),
        );
    }
    if d.malformed {
        header(
            "Warning",
            "this message is malformed; it is shown as far as it parses".into(),
        );
    }
    out.push('\n');
    out.push_str(body);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    terminal_safe(&out)
}

/// Prints pretty JSON to stdout.
pub fn print_json(v: &Value) -> Result<()> {
    crate::console::out(format_args!("{}", serde_json::to_string_pretty(v)?))?;
    Ok(())
}

/// A `spam check` line: `FILE VERDICT SCORE`, where FILE is `path:N` for the
/// Nth message of an mbox (its origin is `path@offset`). The score has six
/// decimals: the spam cutoff is 0.99999, and four would print a score just
/// under it (unsure) and one at it (spam) alike.
pub fn spam_check_line(origin: &str, mbox_number: Option<u64>, score: &Score) -> String {
    let file = match mbox_number {
        Some(n) => format!("{}:{n}", origin.rsplit_once('@').map_or(origin, |(p, _)| p)),
        None => origin.to_owned(),
    };
    let verdict = match score.verdict {
        Verdict::Spam => "spam",
        Verdict::Ham => "ham",
        Verdict::Unsure => "unsure",
    };
    terminal_safe(&format!(
        "{} {verdict} {:.6}",
        one_line(&file),
        score.spamicity
    ))
}

#[cfg(test)]
mod spam_line_tests {
    use homepost_spam::{Score, Verdict};

    use super::spam_check_line;

    #[test]
    fn scores_either_side_of_the_spam_cutoff_read_differently() {
        let line =
            |spamicity, verdict| spam_check_line("a.eml", None, &Score { spamicity, verdict });
        assert_eq!(line(0.999_985, Verdict::Unsure), "a.eml unsure 0.999985");
        assert_eq!(line(0.999_995, Verdict::Spam), "a.eml spam 0.999995");
        assert_eq!(
            spam_check_line(
                "box.mbox@120",
                Some(3),
                &Score {
                    spamicity: 0.5,
                    verdict: Verdict::Unsure
                }
            ),
            "box.mbox:3 unsure 0.500000"
        );
    }
}
