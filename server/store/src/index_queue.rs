//! The index queue: which messages the search index has still to commit, and
//! what it needs of each.

use sqlx::Row;

use crate::messages::decompress;
use crate::{Result, Store, tags, to_json};

/// A message waiting to be (re)indexed: its id, tags and raw bytes.
pub struct PendingIndex {
    /// Store id.
    pub id: i64,
    /// Date used for sorting.
    pub date: i64,
    /// The row's version: hand it back to [`Store::mark_indexed`].
    pub version: i64,
    /// Current tags.
    pub tags: Vec<String>,
    /// The raw message.
    pub raw: Vec<u8>,
}

impl Store {
    /// Up to `limit` ids of messages whose current state the index has not
    /// committed, lowest first, after `after`.
    pub async fn pending_ids(&self, after: i64, limit: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT message FROM index_queue WHERE message > ? ORDER BY message LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// What the index needs of one message: its date, tags and raw bytes.
    pub async fn index_source(&self, id: i64) -> Result<Option<PendingIndex>> {
        let mut conn = self.pool.acquire().await?;
        let Some(r) = sqlx::query(
            "SELECT m.date, coalesce(q.version, -1) AS version, m.raw, m.raw_size
             FROM messages m LEFT JOIN index_queue q ON q.message = m.id WHERE m.id = ?",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(PendingIndex {
            id,
            date: r.try_get("date")?,
            version: r.try_get("version")?,
            tags: tags::of_message(&mut conn, id).await?,
            raw: decompress(id, &r)?,
        }))
    }

    /// Records that the index has committed these `(id, version)` states. A row
    /// changed since its version was read stays queued for the index.
    pub async fn mark_indexed(&self, ids: &[(i64, i64)]) -> Result<()> {
        sqlx::query(
            "DELETE FROM index_queue
             WHERE (message, version) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))",
        )
        .bind(to_json(&ids)?)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Queues one message for the index again (its indexed content changed, e.g.
    /// it was decrypted late).
    pub async fn mark_unindexed(&self, id: i64) -> Result<()> {
        requeue_on(&mut *self.writer.acquire().await?, Requeue::Message(id)).await
    }

    /// Queues every message for reindexing (after the index was lost or replaced).
    pub async fn mark_all_unindexed(&self) -> Result<()> {
        let mut tx = self.begin_write().await?;
        requeue_on(&mut tx, Requeue::All).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Number of messages waiting for the index.
    pub async fn pending_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM index_queue")
            .fetch_one(&self.pool)
            .await?)
    }
}

/// Messages to queue for the index again.
pub(crate) enum Requeue {
    /// This one, if it is there.
    Message(i64),
    /// Every message carrying this tag.
    Tagged(i64),
    /// Every message.
    All,
}

/// Queues `which` messages for the index (again), at a version never given
/// before (a new message is queued at 0): a mark an index batch still holds
/// of an older version cannot take the row off the queue.
pub(crate) async fn requeue_on(conn: &mut sqlx::SqliteConnection, which: Requeue) -> Result<()> {
    let version: i64 =
        sqlx::query_scalar("UPDATE index_queue_seq SET last = last + 1 RETURNING last")
            .fetch_one(&mut *conn)
            .await?;
    // The messages, as `SELECT <id>, <version> FROM ...`; the id bound second.
    let (from, id) = match which {
        Requeue::Message(id) => ("id, ?1 FROM messages WHERE id = ?2", Some(id)),
        Requeue::Tagged(tag) => ("message, ?1 FROM message_tags WHERE tag = ?2", Some(tag)),
        Requeue::All => ("id, ?1 FROM messages WHERE true", None),
    };
    // Only the fixed fragments above go into the statement.
    let sql = format!(
        "INSERT INTO index_queue (message, version) SELECT {from}
         ON CONFLICT (message) DO UPDATE SET version = excluded.version"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(version);
    if let Some(id) = id {
        query = query.bind(id);
    }
    query.execute(conn).await?;
    Ok(())
}
