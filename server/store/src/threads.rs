//! Threading as JWZ's algorithm does it, incrementally: messages are joined through
//! their Message-ID, In-Reply-To and References (including ids of messages we do not
//! have, JWZ's empty containers), and, failing that, through the subject when one of
//! the two is a reply and they are close in time.

use std::collections::BTreeSet;

use homepost_mail::ParsedMessage;
use sqlx::{Sqlite, Transaction};

use crate::Result;

/// How far apart in time two messages may be to be threaded by subject alone.
const SUBJECT_WINDOW_SECS: i64 = 60 * 24 * 3600;

/// In-Reply-To then References, without duplicates or the message's own id.
pub(crate) fn parent_chain(p: &ParsedMessage) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let own = p.message_id.as_deref();
    p.in_reply_to
        .iter()
        .chain(p.references.iter())
        .filter(|r| !r.is_empty() && Some(r.as_str()) != own && seen.insert(r.as_str()))
        .cloned()
        .collect()
}

/// Puts message `id` into a thread, merging threads its references connect.
pub(crate) async fn assign(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    p: &ParsedMessage,
    refs: &[String],
    date: i64,
) -> Result<i64> {
    let mids: Vec<&str> = p
        .message_id
        .as_deref()
        .into_iter()
        .chain(refs.iter().map(String::as_str))
        .collect();
    let mut found = BTreeSet::new();
    for mid in &mids {
        if let Some(t) =
            sqlx::query_scalar::<_, i64>("SELECT thread_id FROM thread_ids WHERE message_id = ?")
                .bind(mid)
                .fetch_optional(&mut **tx)
                .await?
        {
            found.insert(t);
        }
    }
    if found.is_empty() && !p.base_subject.is_empty() {
        let by_subject: Option<i64> = sqlx::query_scalar(
            "SELECT thread_id FROM messages
             WHERE base_subject = ? AND id <> ? AND date BETWEEN ? AND ? AND (is_reply = 1 OR ?)
             ORDER BY abs(date - ?) LIMIT 1",
        )
        .bind(&p.base_subject)
        .bind(id)
        .bind(date - SUBJECT_WINDOW_SECS)
        .bind(date + SUBJECT_WINDOW_SECS)
        .bind(p.is_reply)
        .bind(date)
        .fetch_optional(&mut **tx)
        .await?;
        found.extend(by_subject);
    }
    let thread = found.first().copied().unwrap_or(id);
    for &other in found.iter().skip(1) {
        sqlx::query("UPDATE messages SET thread_id = ? WHERE thread_id = ?")
            .bind(thread)
            .bind(other)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE thread_ids SET thread_id = ? WHERE thread_id = ?")
            .bind(thread)
            .bind(other)
            .execute(&mut **tx)
            .await?;
    }
    for mid in &mids {
        sqlx::query(
            "INSERT INTO thread_ids (message_id, thread_id) VALUES (?, ?)
             ON CONFLICT (message_id) DO UPDATE SET thread_id = excluded.thread_id",
        )
        .bind(mid)
        .bind(thread)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE messages SET thread_id = ? WHERE id = ?")
        .bind(thread)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(thread)
}
