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
        mark_unindexed_on(&mut *self.writer.acquire().await?, id).await
    }

    /// Queues every message for reindexing (after the index was lost or replaced).
    pub async fn mark_all_unindexed(&self) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let version = next_version(&mut tx).await?;
        sqlx::query(
            "INSERT INTO index_queue (message, version) SELECT id, ? FROM messages WHERE true
             ON CONFLICT (message) DO UPDATE SET version = excluded.version",
        )
        .bind(version)
        .execute(&mut *tx)
        .await?;
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

/// A queue version never given before, for messages queued again (a new
/// message is queued at 0): a mark of an older version cannot match the row.
pub(crate) async fn next_version(conn: &mut sqlx::SqliteConnection) -> Result<i64> {
    Ok(
        sqlx::query_scalar("UPDATE index_queue_seq SET last = last + 1 RETURNING last")
            .fetch_one(conn)
            .await?,
    )
}

/// Queues message `id` for the index (again), if it is there.
pub(crate) async fn mark_unindexed_on(conn: &mut sqlx::SqliteConnection, id: i64) -> Result<()> {
    let version = next_version(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO index_queue (message, version) SELECT id, ? FROM messages WHERE id = ?
         ON CONFLICT (message) DO UPDATE SET version = excluded.version",
    )
    .bind(version)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}
