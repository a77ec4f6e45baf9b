//! What `homepost repair` needs of the store: where a damaged message came
//! from, its bytes written back once fetched again, and the quarantine of what
//! could not be recovered.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{RemoteId, Result, Store};

/// What identifies a stored message's bytes, read without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDigest {
    /// The SHA-256 of its bytes, as stored.
    pub sha256: Vec<u8>,
    /// Its size in bytes.
    pub size: u64,
    /// Its Message-ID, if it has one.
    pub message_id: Option<String>,
}

/// A message in quarantine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Quarantined {
    /// The message's id.
    pub message: i64,
    /// Why it is there, and what was tried.
    pub reason: String,
    /// Since when (Unix seconds).
    pub since: i64,
}

impl Store {
    /// The digest, size and Message-ID of message `id`.
    pub async fn message_digest(&self, id: i64) -> Result<Option<MessageDigest>> {
        let row = sqlx::query("SELECT sha256, raw_size, message_id FROM messages WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(MessageDigest {
            sha256: row.try_get("sha256")?,
            size: u64::try_from(row.try_get::<i64, _>("raw_size")?).unwrap_or(0),
            message_id: row.try_get("message_id")?,
        }))
    }

    /// The id of every message, in order (read through an index of the table).
    pub async fn message_ids(&self) -> Result<Vec<i64>> {
        let mut ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM messages INDEXED BY messages_thread")
                .fetch_all(&self.pool)
                .await?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Where message `id` was fetched from: each remote copy's place and key
    /// (the UID as decimal, or the POP3 UIDL) and IMAP UID.
    pub async fn remote_copies_of(&self, id: i64) -> Result<Vec<(RemoteId, String, Option<u32>)>> {
        let rows = sqlx::query(
            "SELECT account, folder, uidvalidity, remote_key, uid FROM remote_messages
             WHERE message = ? ORDER BY fetched_at DESC",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    RemoteId {
                        account: r.try_get("account")?,
                        folder: r.try_get("folder")?,
                        uidvalidity: u32::try_from(r.try_get::<i64, _>("uidvalidity")?)
                            .unwrap_or(0),
                    },
                    r.try_get("remote_key")?,
                    r.try_get::<Option<i64>, _>("uid")?
                        .and_then(|u| u32::try_from(u).ok()),
                ))
            })
            .collect()
    }

    /// Writes `raw` as message `id`'s bytes if it hashes to the stored SHA-256,
    /// and takes the message out of quarantine. Returns whether it did.
    pub async fn restore_raw(&self, id: i64, raw: &[u8]) -> Result<bool> {
        let digest = Sha256::digest(raw);
        let compressed =
            zstd::bulk::compress(raw, 3).map_err(|e| crate::Error::Sql(sqlx::Error::Io(e)))?;
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE messages SET raw = ?, raw_size = ? WHERE id = ? AND sha256 = ?")
                .bind(&compressed)
                .bind(i64::try_from(raw.len()).unwrap_or(i64::MAX))
                .bind(id)
                .bind(digest.as_slice())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        if done {
            sqlx::query("DELETE FROM quarantine WHERE message = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Puts message `id` in quarantine (or updates why it is there).
    pub async fn quarantine(&self, id: i64, reason: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO quarantine (message, reason, since) VALUES (?, ?, ?)
             ON CONFLICT (message) DO UPDATE SET reason = excluded.reason",
        )
        .bind(id)
        .bind(reason)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Every message in quarantine, by id.
    pub async fn quarantined(&self) -> Result<Vec<Quarantined>> {
        let rows = sqlx::query("SELECT message, reason, since FROM quarantine ORDER BY message")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Quarantined {
                    message: r.try_get("message")?,
                    reason: r.try_get("reason")?,
                    since: r.try_get("since")?,
                })
            })
            .collect()
    }
}
