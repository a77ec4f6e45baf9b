//! Messages: storing a batch of them, and reading them back as listings,
//! details, threads and raw bytes; tagging them.

use std::collections::HashMap;

use homepost_mail::{Address, AttachmentInfo, ParsedMessage};
use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{
    Error, Result, SpamExample, Store, TrainingOutcome, normalize_tag, spam, tags, to_json,
};

mod insert;

pub use insert::{Packed, Packer};

/// Longest snippet kept per message, in characters.
const SNIPPET_CHARS: usize = 200;

/// A message to store: its bytes, what was parsed from them, and its first tags.
pub struct NewMessage<'a> {
    /// The message exactly as received.
    pub raw: &'a [u8],
    /// Fields parsed from `raw`.
    pub parsed: &'a ParsedMessage,
    /// Tags to give it (normalised on insert).
    pub tags: &'a [String],
    /// Where it came from (a file path, `mbox@offset`), for diagnostics.
    pub origin: &'a str,
    /// Its OpenPGP step is still to run: marked in the same transaction (see
    /// [`Store::crypto_pending`]).
    pub crypto_pending: bool,
    /// The time it is listed and sorted by (`homepost_mail::sort_date`).
    pub date: i64,
    /// `raw` already hashed and compressed ([`Packer`]), or `None` to have
    /// [`Store::insert_batch`] do it.
    pub packed: Option<&'a Packed>,
}

/// What happened to one message of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored under this id.
    New(i64),
    /// The same bytes were already stored under this id.
    Duplicate(i64),
}

/// One message as listed in search results and threads.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageSummary {
    /// Store id.
    pub id: i64,
    /// Message-ID header, without angle brackets.
    pub message_id: Option<String>,
    /// Thread id (the store id of the thread's first message).
    pub thread_id: i64,
    /// Unix seconds (the Date header, else the import time).
    pub date: i64,
    /// From addresses.
    pub from: Vec<Address>,
    /// To addresses.
    pub to: Vec<Address>,
    /// Decoded subject.
    pub subject: String,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// The start of the body text.
    pub snippet: String,
    /// Whether it has attachments.
    pub has_attachment: bool,
}

/// Everything the store knows about one message.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageDetail {
    /// The listing fields.
    #[serde(flatten)]
    pub summary: MessageSummary,
    /// Cc addresses.
    pub cc: Vec<Address>,
    /// Bcc addresses.
    pub bcc: Vec<Address>,
    /// Reply-To addresses.
    pub reply_to: Vec<Address>,
    /// Attachment metadata.
    pub attachments: Vec<AttachmentInfo>,
    /// In-Reply-To then References.
    pub references: Vec<String>,
    /// Size of the raw message in bytes.
    pub size: u64,
    /// The message did not parse cleanly.
    pub malformed: bool,
}

impl Store {
    /// Number of stored messages.
    pub async fn count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM messages")
            .fetch_one(&self.pool)
            .await?)
    }

    /// The raw bytes of a message, exactly as received.
    pub async fn raw(&self, id: i64) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT raw, raw_size FROM messages WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| decompress(id, &r)).transpose()
    }

    /// Listing fields of the given messages, in the order of `ids`; unknown ids are skipped.
    pub async fn summaries(&self, ids: &[i64]) -> Result<Vec<MessageSummary>> {
        // Three queries for the whole page, not three per message: each is a round
        // trip to the SQLite worker thread.
        let list = to_json(&ids)?;
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(
            "SELECT id, message_id, thread_id, date, subject, snippet, has_attachment FROM messages
             WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(&list)
        .fetch_all(&mut *conn)
        .await?;
        let mut addrs: HashMap<(i64, String), Vec<Address>> = HashMap::new();
        for r in sqlx::query(
            "SELECT message, field, address, name FROM addresses
             WHERE message IN (SELECT value FROM json_each(?)) AND field IN ('from', 'to')
             ORDER BY message, field, position",
        )
        .bind(&list)
        .fetch_all(&mut *conn)
        .await?
        {
            addrs
                .entry((r.try_get("message")?, r.try_get("field")?))
                .or_default()
                .push(address_from_row(&r)?);
        }
        let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
        for (message, name) in sqlx::query_as::<_, (i64, String)>(
            "SELECT mt.message, t.name FROM message_tags mt JOIN tags t ON t.id = mt.tag
             WHERE mt.message IN (SELECT value FROM json_each(?)) ORDER BY mt.message, t.name",
        )
        .bind(&list)
        .fetch_all(&mut *conn)
        .await?
        {
            tags.entry(message).or_default().push(name);
        }
        let mut by_id = HashMap::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.try_get("id")?;
            by_id.insert(
                id,
                MessageSummary {
                    id,
                    message_id: r.try_get("message_id")?,
                    thread_id: r.try_get("thread_id")?,
                    date: r.try_get("date")?,
                    from: addrs.remove(&(id, "from".to_string())).unwrap_or_default(),
                    to: addrs.remove(&(id, "to".to_string())).unwrap_or_default(),
                    subject: r.try_get("subject")?,
                    tags: tags.remove(&id).unwrap_or_default(),
                    snippet: r.try_get("snippet")?,
                    has_attachment: r.try_get("has_attachment")?,
                },
            );
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// Everything known about one message.
    pub async fn message(&self, id: i64) -> Result<Option<MessageDetail>> {
        let Some(summary) = self.summaries(&[id]).await?.pop() else {
            return Ok(None);
        };
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query("SELECT raw_size, malformed FROM messages WHERE id = ?")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        let attachments = sqlx::query(
            "SELECT filename, content_type, size FROM attachments WHERE message = ? ORDER BY position",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(AttachmentInfo {
                filename: r.try_get("filename")?,
                content_type: r.try_get("content_type")?,
                size: r.try_get::<i64, _>("size")?.max(0) as u64,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let references =
            sqlx::query_scalar("SELECT ref FROM message_refs WHERE message = ? ORDER BY position")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
        Ok(Some(MessageDetail {
            cc: addresses(&mut conn, id, "cc").await?,
            bcc: addresses(&mut conn, id, "bcc").await?,
            reply_to: addresses(&mut conn, id, "reply-to").await?,
            attachments,
            references,
            size: row.try_get::<i64, _>("raw_size")?.max(0) as u64,
            malformed: row.try_get("malformed")?,
            summary,
        }))
    }

    /// The messages of a thread, oldest first.
    pub async fn thread(&self, thread_id: i64) -> Result<Vec<MessageSummary>> {
        let ids = self.thread_ids(thread_id).await?;
        self.summaries(&ids).await
    }

    /// The ids of a thread's messages, oldest first (cheap: for paging a long thread
    /// before fetching the summaries of one page).
    pub async fn thread_ids(&self, thread_id: i64) -> Result<Vec<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM messages WHERE thread_id = ? ORDER BY date, id")
                .bind(thread_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Adds and removes tags on messages. The messages are queued for reindexing.
    pub async fn change_tags(&self, ids: &[i64], add: &[String], remove: &[String]) -> Result<()> {
        self.change_tags_and_train(ids, add, remove, &[])
            .await
            .map(|_| ())
    }

    /// [`change_tags`](Self::change_tags) and, in the same transaction, trains
    /// the spam filter on `examples` (see [`Store::train_spam`]): a crash leaves
    /// either both or neither.
    pub async fn change_tags_and_train(
        &self,
        ids: &[i64],
        add: &[String],
        remove: &[String],
        examples: &[SpamExample],
    ) -> Result<TrainingOutcome> {
        // IMMEDIATE: training reads its records before it writes.
        let mut tx = self.begin_write().await?;
        let mut cache = tags::TagCache::default();
        for &id in ids {
            retag(&mut tx, &mut cache, id, add, remove).await?;
            crate::index_queue::requeue_on(&mut tx, crate::index_queue::Requeue::Message(id))
                .await?;
        }
        let outcome = spam::train(&mut tx, examples).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Whether a message with this id exists.
    pub async fn exists(&self, id: i64) -> Result<bool> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM messages WHERE id = ?")
                .bind(id)
                .fetch_one(&self.pool)
                .await?
                > 0,
        )
    }

    /// Current tags of a message, sorted.
    pub async fn tags_of(&self, id: i64) -> Result<Vec<String>> {
        let mut conn = self.pool.acquire().await?;
        tags::of_message(&mut conn, id).await
    }
}

async fn addresses(
    conn: &mut sqlx::SqliteConnection,
    id: i64,
    field: &str,
) -> Result<Vec<Address>> {
    let rows = sqlx::query(
        "SELECT address, name FROM addresses WHERE message = ? AND field = ? ORDER BY position",
    )
    .bind(id)
    .bind(field)
    .fetch_all(conn)
    .await?;
    rows.iter().map(address_from_row).collect()
}

pub(crate) fn address_from_row(r: &SqliteRow) -> Result<Address> {
    let address: String = r.try_get("address")?;
    let name: String = r.try_get("name")?;
    Ok(Address {
        address: (!address.is_empty()).then_some(address),
        name: (!name.is_empty()).then_some(name),
    })
}

pub(crate) fn decompress(id: i64, row: &SqliteRow) -> Result<Vec<u8>> {
    let blob: Vec<u8> = row.try_get("raw")?;
    let size: i64 = row.try_get("raw_size")?;
    let size = usize::try_from(size).map_err(|_| Error::Damaged(id))?;
    let raw = zstd::bulk::decompress(&blob, size).map_err(|_| Error::Damaged(id))?;
    if raw.len() != size {
        return Err(Error::Damaged(id));
    }
    Ok(raw)
}

/// Adds and removes tags on one message inside a transaction (its version
/// and index state are the caller's to change).
pub(crate) async fn retag(
    conn: &mut sqlx::SqliteConnection,
    cache: &mut tags::TagCache,
    id: i64,
    add: &[String],
    remove: &[String],
) -> Result<()> {
    for t in add {
        let tag = cache.id(conn, t).await?;
        sqlx::query("INSERT OR IGNORE INTO message_tags (message, tag) VALUES (?, ?)")
            .bind(id)
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }
    for t in remove {
        let name = normalize_tag(t)?;
        sqlx::query(
            "DELETE FROM message_tags WHERE message = ? AND tag = (SELECT id FROM tags WHERE name = ?)",
        )
        .bind(id)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
