//! What a batch of stored messages says about its correspondents, counted in
//! the batch's transaction: per address, the newest name, the first and last
//! date, and how many messages came from and went to it. New addresses get a
//! contact of their own; the contacts of every address seen are brought up to
//! date (`edit::refresh_counts`), and the search words of those whose
//! addresses the mail names anew. The cost is a few statements per batch, whatever
//! the size of the mailbox.

use std::collections::BTreeMap;

use homepost_mail::ParsedMessage;
use sqlx::{Sqlite, Transaction};

use super::edit::{refresh_counts, refresh_words};
use crate::{Result, to_json};

/// One address over the messages of a batch.
#[derive(Debug, Default)]
struct Seen {
    name: String,
    name_date: i64,
    first: i64,
    last: i64,
    from: i64,
    to: i64,
}

/// The addresses of the messages of one batch.
#[derive(Debug, Default)]
pub(crate) struct SeenInBatch {
    by_address: BTreeMap<String, Seen>,
}

impl SeenInBatch {
    /// Counts one message dated `date`: once per address, as a sender if it
    /// is in From, as a recipient if it is in To, Cc or Bcc.
    pub(crate) fn add(&mut self, p: &ParsedMessage, date: i64) {
        let mut here: BTreeMap<String, (String, bool, bool)> = BTreeMap::new();
        for (list, is_from) in [
            (&p.from, true),
            (&p.to, false),
            (&p.cc, false),
            (&p.bcc, false),
        ] {
            for a in list {
                let Some(address) = a.address.as_deref().map(str::trim) else {
                    continue;
                };
                if address.is_empty() {
                    continue;
                }
                let entry = here.entry(address.to_ascii_lowercase()).or_default();
                if entry.0.is_empty()
                    && let Some(name) = a.name.as_deref()
                {
                    entry.0 = name.trim().to_string();
                }
                if is_from {
                    entry.1 = true;
                } else {
                    entry.2 = true;
                }
            }
        }
        for (address, (name, from, to)) in here {
            let s = self.by_address.entry(address).or_insert_with(|| Seen {
                first: date,
                last: date,
                name_date: i64::MIN,
                ..Seen::default()
            });
            s.first = s.first.min(date);
            s.last = s.last.max(date);
            s.from += i64::from(from);
            s.to += i64::from(to);
            if !name.is_empty() && date >= s.name_date {
                s.name = name;
                s.name_date = date;
            }
        }
    }

    /// Records the batch in `tx`.
    pub(crate) async fn record(self, tx: &mut Transaction<'_, Sqlite>, now: i64) -> Result<()> {
        if self.by_address.is_empty() {
            return Ok(());
        }
        let rows: Vec<(&str, &str, i64, i64, i64, i64)> = self
            .by_address
            .iter()
            .map(|(a, s)| (a.as_str(), s.name.as_str(), s.first, s.last, s.from, s.to))
            .collect();
        let rows_json = to_json(&rows)?;
        // Search words change only with a name the mail gives an address: those
        // that now have another one (or are new) are rewritten, not every
        // contact whose counts move.
        let renamed: Vec<String> = sqlx::query_scalar(
            "SELECT j.value ->> 0 FROM json_each(?) j
               LEFT JOIN correspondents r ON r.address = j.value ->> 0
              WHERE r.address IS NULL OR (j.value ->> 1 <> '' AND r.name <> j.value ->> 1)",
        )
        .bind(&rows_json)
        .fetch_all(&mut **tx)
        .await?;
        // A name from this batch replaces the stored one unless the stored one
        // is from newer mail (an older mailbox imported later).
        sqlx::query(
            "INSERT INTO correspondents (address, name, first_seen, last_seen, from_count, to_count)
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5
               FROM json_each(?) WHERE true
             ON CONFLICT (address) DO UPDATE SET
                name = CASE WHEN excluded.name <> '' AND (name = '' OR excluded.last_seen >= last_seen)
                            THEN excluded.name ELSE name END,
                first_seen = min(first_seen, excluded.first_seen),
                last_seen = max(last_seen, excluded.last_seen),
                from_count = from_count + excluded.from_count,
                to_count = to_count + excluded.to_count",
        )
        .bind(&rows_json)
        .execute(&mut **tx)
        .await?;
        let addresses: Vec<&str> = self.by_address.keys().map(String::as_str).collect();
        let addresses = to_json(&addresses)?;
        let new: Vec<String> = sqlx::query_scalar(
            "SELECT value FROM json_each(?)
              WHERE NOT EXISTS (SELECT 1 FROM contact_addresses WHERE address = value)",
        )
        .bind(&addresses)
        .fetch_all(&mut **tx)
        .await?;
        if !new.is_empty() {
            // Ids are given here (the write lock is held): AUTOINCREMENT's
            // sequence moves on to the highest of them.
            let base: i64 = sqlx::query_scalar(
                "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'contacts'), 0),
                            coalesce((SELECT max(id) FROM contacts), 0))",
            )
            .fetch_one(&mut **tx)
            .await?;
            let made: Vec<(i64, &str)> = new
                .iter()
                .zip(base + 1..)
                .map(|(a, id)| (id, a.as_str()))
                .collect();
            let made = to_json(&made)?;
            sqlx::query(
                "INSERT INTO contacts (id, created_at, updated_at)
                 SELECT value ->> 0, ?2, ?2 FROM json_each(?1)",
            )
            .bind(&made)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            sqlx::query(
                "INSERT INTO contact_addresses (address, contact, position)
                 SELECT value ->> 1, value ->> 0, 0 FROM json_each(?)",
            )
            .bind(&made)
            .execute(&mut **tx)
            .await?;
        }
        let touched: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT contact FROM contact_addresses
              WHERE address IN (SELECT value FROM json_each(?))",
        )
        .bind(&addresses)
        .fetch_all(&mut **tx)
        .await?;
        refresh_counts(tx, &touched, now).await?;
        let reworded: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT contact FROM contact_addresses
              WHERE address IN (SELECT value FROM json_each(?))",
        )
        .bind(to_json(&renamed)?)
        .fetch_all(&mut **tx)
        .await?;
        refresh_words(tx, &reworded).await
    }
}
