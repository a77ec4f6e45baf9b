//! Threading as JWZ's algorithm does it, incrementally: messages are joined through
//! their Message-ID, In-Reply-To and References (including ids of messages we do not
//! have, JWZ's empty containers), and, failing that, through the subject when one of
//! the two is a reply and they are close in time.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use homepost_mail::ParsedMessage;
use sqlx::{Sqlite, Transaction};

use crate::{Result, to_json};

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

/// Threads the messages of one batch in memory, after loading in one query each
/// what the database knows of their Message-IDs and subjects; the result is
/// written back by [`BatchThreader::finish`]. Every query is a round trip to the
/// SQLite worker thread, so none is made per message.
pub(crate) struct BatchThreader {
    /// Message-ID (own or referenced) -> thread, from the database and this batch.
    by_mid: HashMap<String, i64>,
    /// Message-IDs whose thread this batch set.
    touched: BTreeSet<String>,
    /// Base subject -> (date, is_reply, thread) of messages with that subject.
    subjects: HashMap<String, Vec<(i64, bool, i64)>>,
    /// Union-find over thread ids: a merged thread points towards the one it joined.
    merged: BTreeMap<i64, i64>,
}

fn own_and_refs<'a>(p: &'a ParsedMessage, refs: &'a [String]) -> impl Iterator<Item = &'a str> {
    p.message_id
        .as_deref()
        .into_iter()
        .chain(refs.iter().map(String::as_str))
        .filter(|m| !m.is_empty())
}

impl BatchThreader {
    /// Loads the threads of every Message-ID, and the candidates for subject
    /// threading, that the batch `(message, parent chain, date)` can join.
    pub(crate) async fn load(
        tx: &mut Transaction<'_, Sqlite>,
        batch: &[(&ParsedMessage, &[String], i64)],
    ) -> Result<BatchThreader> {
        let mids: BTreeSet<&str> = batch
            .iter()
            .flat_map(|(p, refs, _)| own_and_refs(p, refs))
            .collect();
        let by_mid: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
            "SELECT message_id, thread_id FROM thread_ids WHERE message_id IN (SELECT value FROM json_each(?))",
        )
        .bind(to_json(&mids)?)
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .collect();
        let bases: BTreeSet<&str> = batch
            .iter()
            .map(|(p, _, _)| p.base_subject.as_str())
            .filter(|b| !b.is_empty())
            .collect();
        let lo = batch.iter().map(|b| b.2).min().unwrap_or(0);
        let hi = batch.iter().map(|b| b.2).max().unwrap_or(0);
        let mut subjects: HashMap<String, Vec<(i64, bool, i64)>> = HashMap::new();
        if !bases.is_empty() {
            let rows = sqlx::query_as::<_, (String, i64, bool, i64)>(
                "SELECT base_subject, date, is_reply, thread_id FROM messages
                 WHERE base_subject IN (SELECT value FROM json_each(?)) AND date BETWEEN ? AND ?",
            )
            .bind(to_json(&bases)?)
            .bind(lo.saturating_sub(SUBJECT_WINDOW_SECS))
            .bind(hi.saturating_add(SUBJECT_WINDOW_SECS))
            .fetch_all(&mut **tx)
            .await?;
            for (base, date, reply, thread) in rows {
                subjects
                    .entry(base)
                    .or_default()
                    .push((date, reply, thread));
            }
        }
        Ok(BatchThreader {
            by_mid,
            touched: BTreeSet::new(),
            subjects,
            merged: BTreeMap::new(),
        })
    }

    fn root(&self, mut t: i64) -> i64 {
        while let Some(&next) = self.merged.get(&t) {
            t = next;
        }
        t
    }

    /// The thread of the message about to be stored as `id`: through its own and
    /// referenced Message-IDs, else its subject, else a new thread `id`. Threads it
    /// connects are merged.
    pub(crate) fn assign(&mut self, id: i64, p: &ParsedMessage, refs: &[String], date: i64) -> i64 {
        let mut found: BTreeSet<i64> = own_and_refs(p, refs)
            .filter_map(|m| self.by_mid.get(m))
            .map(|&t| self.root(t))
            .collect();
        if found.is_empty() && !p.base_subject.is_empty() {
            let best = self.subjects.get(&p.base_subject).and_then(|c| {
                c.iter()
                    .filter(|(d, reply, _)| {
                        (d - date).abs() <= SUBJECT_WINDOW_SECS && (*reply || p.is_reply)
                    })
                    .min_by_key(|(d, _, _)| (d - date).abs())
                    .map(|&(_, _, t)| t)
            });
            found.extend(best.map(|t| self.root(t)));
        }
        let thread = found.first().copied().unwrap_or(id);
        for &other in found.iter().skip(1) {
            self.merged.insert(other, thread);
        }
        for m in own_and_refs(p, refs) {
            self.by_mid.insert(m.to_string(), thread);
            self.touched.insert(m.to_string());
        }
        if !p.base_subject.is_empty() {
            self.subjects
                .entry(p.base_subject.clone())
                .or_default()
                .push((date, p.is_reply, thread));
        }
        thread
    }

    /// Writes the batch's threading to the database: merges, then the threads of
    /// every Message-ID the batch saw.
    pub(crate) async fn finish(self, tx: &mut Transaction<'_, Sqlite>) -> Result<()> {
        for &other in self.merged.keys() {
            let into = self.root(other);
            sqlx::query("UPDATE messages SET thread_id = ? WHERE thread_id = ?")
                .bind(into)
                .bind(other)
                .execute(&mut **tx)
                .await?;
            sqlx::query("UPDATE thread_ids SET thread_id = ? WHERE thread_id = ?")
                .bind(into)
                .bind(other)
                .execute(&mut **tx)
                .await?;
        }
        let rows: Vec<(&str, i64)> = self
            .touched
            .iter()
            .filter_map(|m| self.by_mid.get(m).map(|&t| (m.as_str(), self.root(t))))
            .collect();
        if !rows.is_empty() {
            sqlx::query(
                "INSERT INTO thread_ids (message_id, thread_id)
                 SELECT value ->> 0, value ->> 1 FROM json_each(?) WHERE true
                 ON CONFLICT (message_id) DO UPDATE SET thread_id = excluded.thread_id",
            )
            .bind(to_json(&rows)?)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}
