//! Storing a batch of new messages: one transaction, a few statements.

use std::collections::HashMap;

use homepost_mail::ParsedMessage;
use sha2::{Digest, Sha256};
use sqlx::{Sqlite, Transaction};

use super::{Inserted, NewMessage, SNIPPET_CHARS};
use crate::{Error, Result, Store, address_book, tags, threads, to_json};

/// zstd level of stored messages: most of level 19's ratio on mail at a
/// fraction of its time.
const ZSTD_LEVEL: i32 = 3;

/// A message's bytes made ready to store: the SHA-256 that finds duplicates and
/// the zstd frame that is kept. Making them is CPU work that needs no store, so
/// an import makes them on its parsing threads ([`NewMessage::packed`]).
pub struct Packed {
    sha256: [u8; 32],
    compressed: Vec<u8>,
}

/// Makes [`Packed`] messages, with one zstd context for all of them.
pub struct Packer(zstd::bulk::Compressor<'static>);

impl Packer {
    /// A packer at the store's compression level.
    pub fn new() -> Result<Packer> {
        Ok(Packer(
            zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(|e| Error::Sql(sqlx::Error::Io(e)))?,
        ))
    }

    /// [`Packer::pack`] with the packer in `slot`, made there on first use:
    /// a batch where nothing needs packing makes none.
    pub fn pack_with(slot: &mut Option<Packer>, raw: &[u8]) -> Result<Packed> {
        let packer = match slot {
            Some(p) => p,
            None => slot.insert(Packer::new()?),
        };
        packer.pack(raw)
    }

    /// Hashes and compresses one message.
    pub fn pack(&mut self, raw: &[u8]) -> Result<Packed> {
        Ok(Packed {
            sha256: Sha256::digest(raw).into(),
            compressed: self
                .0
                .compress(raw)
                .map_err(|e| Error::Sql(sqlx::Error::Io(e)))?,
        })
    }
}

impl Store {
    /// Stores a batch of messages in one transaction. Bytes already stored are
    /// reported as duplicates and left alone. Messages not packed yet
    /// ([`NewMessage::packed`]) are hashed and compressed here.
    ///
    /// Every statement is a round trip to sqlx's SQLite worker thread, so the rows
    /// beside each message (addresses, attachments, references, tags) are sent for
    /// the whole batch at once as JSON and expanded by `json_each`.
    pub async fn insert_batch(&self, batch: &[NewMessage<'_>], now: i64) -> Result<Vec<Inserted>> {
        let mut packer = None;
        let mut owned = Vec::new();
        for m in batch.iter().filter(|m| m.packed.is_none()) {
            owned.push(Packer::pack_with(&mut packer, m.raw)?);
        }
        let mut owned = owned.iter();
        let packed: Vec<&Packed> = batch
            .iter()
            .filter_map(|m| m.packed.or_else(|| owned.next()))
            .collect();
        // IMMEDIATE: the writer lock is taken now, so the ids allotted below are ours.
        let mut tx = self.begin_write().await?;
        let shas: Vec<String> = packed.iter().map(|p| hex::encode(p.sha256)).collect();
        let mut known: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
            "SELECT lower(hex(sha256)), id FROM messages WHERE sha256 IN (SELECT unhex(value) FROM json_each(?))",
        )
        .bind(to_json(&shas)?)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let chains: Vec<Vec<String>> = batch
            .iter()
            .map(|m| threads::parent_chain(m.parsed))
            .collect();
        let dates: Vec<i64> = batch.iter().map(|m| m.date).collect();
        let threading: Vec<(&ParsedMessage, &[String], i64)> = batch
            .iter()
            .zip(&chains)
            .zip(&dates)
            .map(|((m, refs), &date)| (m.parsed, refs.as_slice(), date))
            .collect();
        let mut threader = threads::BatchThreader::load(&mut tx, &threading).await?;
        let mut next_id: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) + 1 FROM messages")
            .fetch_one(&mut *tx)
            .await?;
        let mut tag_ids = tags::TagCache::default();
        let mut rows = BatchRows::default();
        let mut seen = address_book::mail::SeenInBatch::default();
        let mut out = Vec::with_capacity(batch.len());
        let mut new_rows = Vec::with_capacity(batch.len());
        let each = batch
            .iter()
            .zip(packed.iter().copied())
            .zip(&shas)
            .zip(&chains)
            .zip(&dates);
        for ((((m, pack), sha), refs), &date) in each {
            if let Some(&existing) = known.get(sha) {
                out.push(Inserted::Duplicate(existing));
                continue;
            }
            let p = m.parsed;
            let id = next_id;
            next_id += 1;
            known.insert(sha.clone(), id);
            let thread = threader.assign(id, p, refs, date);
            if !m.tags.iter().any(|t| t.trim().eq_ignore_ascii_case("spam")) {
                seen.add(p, date);
            }
            new_rows.push(MessageRow {
                id,
                pack,
                raw_size: m.raw.len() as i64,
                parsed: p,
                date,
                snippet: p.snippet(SNIPPET_CHARS),
                thread,
                origin: m.origin,
            });
            for (field, list) in [
                ("from", &p.from),
                ("to", &p.to),
                ("cc", &p.cc),
                ("bcc", &p.bcc),
                ("reply-to", &p.reply_to),
            ] {
                for (pos, a) in list.iter().enumerate() {
                    rows.addresses.push((
                        id,
                        field,
                        pos,
                        a.address.as_deref().unwrap_or(""),
                        a.name.as_deref().unwrap_or(""),
                    ));
                }
            }
            for (pos, a) in p.attachments.iter().enumerate() {
                rows.attachments
                    .push((id, pos, a.filename.as_deref(), &a.content_type, a.size));
            }
            for (pos, r) in refs.iter().enumerate() {
                rows.refs.push((id, pos, r));
            }
            for t in m.tags {
                rows.tags.push((id, tag_ids.id(&mut tx, t).await?));
            }
            if let Some(list) = p.list_id.as_deref() {
                rows.lists.push((id, list));
            }
            if m.crypto_pending {
                rows.crypto_pending.push(id);
            }
            rows.queued.push(id);
            out.push(Inserted::New(id));
        }
        insert_messages(&mut tx, &new_rows, now).await?;
        threader.finish(&mut tx).await?;
        rows.insert(&mut tx).await?;
        seen.record(&mut tx, now).await?;
        tx.commit().await?;
        Ok(out)
    }
}

/// Most messages per `INSERT` statement (15 parameters each; SQLite takes up
/// to 32,766).
const ROWS_PER_INSERT: usize = 500;

/// One new row of `messages`.
struct MessageRow<'a> {
    id: i64,
    pack: &'a Packed,
    raw_size: i64,
    parsed: &'a ParsedMessage,
    date: i64,
    snippet: String,
    thread: i64,
    origin: &'a str,
}

/// Inserts the new messages of a batch with one statement per
/// [`ROWS_PER_INSERT`] of them: each statement is a round trip to the SQLite
/// worker, and a batch holds hundreds.
async fn insert_messages(
    tx: &mut Transaction<'_, Sqlite>,
    rows: &[MessageRow<'_>],
    now: i64,
) -> Result<()> {
    for share in rows.chunks(ROWS_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO messages (id, sha256, raw, raw_size, message_id, date, subject, base_subject,
                is_reply, snippet, has_attachment, malformed, thread_id, origin, imported_at) ",
        );
        insert.push_values(share, |mut b, r| {
            let p = r.parsed;
            b.push_bind(r.id)
                .push_bind(&r.pack.sha256[..])
                .push_bind(&r.pack.compressed[..])
                .push_bind(r.raw_size)
                .push_bind(p.message_id.as_deref())
                .push_bind(r.date)
                .push_bind(p.subject.as_deref().unwrap_or(""))
                .push_bind(p.base_subject.as_str())
                .push_bind(p.is_reply)
                .push_bind(r.snippet.as_str())
                .push_bind(!p.attachments.is_empty())
                .push_bind(p.malformed)
                .push_bind(r.thread)
                .push_bind(r.origin)
                .push_bind(now);
        });
        // Not kept in the statement cache: each batch's last share has its own
        // number of rows.
        insert.build().persistent(false).execute(&mut **tx).await?;
    }
    Ok(())
}

/// The rows beside the messages of one batch, inserted together.
#[derive(Default)]
struct BatchRows<'a> {
    addresses: Vec<(i64, &'static str, usize, &'a str, &'a str)>,
    attachments: Vec<(i64, usize, Option<&'a str>, &'a str, u64)>,
    refs: Vec<(i64, usize, &'a str)>,
    tags: Vec<(i64, i64)>,
    lists: Vec<(i64, &'a str)>,
    crypto_pending: Vec<i64>,
    /// Every new message, for the index.
    queued: Vec<i64>,
}

impl BatchRows<'_> {
    async fn insert(&self, tx: &mut Transaction<'_, Sqlite>) -> Result<()> {
        for (sql, rows, empty) in [
            (
                "INSERT INTO addresses (message, field, position, address, name)
                 SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?)",
                to_json(&self.addresses)?,
                self.addresses.is_empty(),
            ),
            (
                "INSERT INTO attachments (message, position, filename, content_type, size)
                 SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?)",
                to_json(&self.attachments)?,
                self.attachments.is_empty(),
            ),
            (
                "INSERT INTO message_refs (message, position, ref)
                 SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?)",
                to_json(&self.refs)?,
                self.refs.is_empty(),
            ),
            (
                "INSERT OR IGNORE INTO message_tags (message, tag)
                 SELECT value ->> 0, value ->> 1 FROM json_each(?)",
                to_json(&self.tags)?,
                self.tags.is_empty(),
            ),
            (
                "INSERT INTO message_lists (message, list_id)
                 SELECT value ->> 0, value ->> 1 FROM json_each(?)",
                to_json(&self.lists)?,
                self.lists.is_empty(),
            ),
            (
                "INSERT INTO crypto_pending (message) SELECT value FROM json_each(?)",
                to_json(&self.crypto_pending)?,
                self.crypto_pending.is_empty(),
            ),
            (
                "INSERT INTO index_queue (message) SELECT value FROM json_each(?)",
                to_json(&self.queued)?,
                self.queued.is_empty(),
            ),
        ] {
            if !empty {
                sqlx::query(sql).bind(rows).execute(&mut **tx).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
