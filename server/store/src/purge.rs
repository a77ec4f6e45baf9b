//! Deleting messages for good (docs/integrity.md): every row derived from a
//! message goes in one transaction, `secure_delete` overwrites the pages they
//! freed, and the write-ahead log is emptied so no copy of them is left there.

use sqlx::Row;

use crate::spam::{SpamExample, train};
use crate::{Result, Store, to_json};

impl Store {
    /// Deletes these messages and everything derived from them: addresses,
    /// attachments, references, tags, lists, the decrypted OpenPGP copy, the
    /// record of their remote copies, a quarantine or trash record, and Message-IDs
    /// no other message names. `forget` (the spam training of the messages that
    /// was learnt as wanted mail) is undone in the same transaction. Returns the
    /// ids that existed.
    pub async fn delete_messages(&self, ids: &[i64], forget: &[SpamExample]) -> Result<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = to_json(&ids)?;
        let mut tx = self.begin_write().await?;
        let found: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
        )
        .bind(&list)
        .fetch_all(&mut *tx)
        .await?;
        train(&mut tx, forget).await?;
        let own_ids: Vec<String> = sqlx::query(
            "SELECT message_id FROM messages
             WHERE id IN (SELECT value FROM json_each(?)) AND message_id IS NOT NULL",
        )
        .bind(&list)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .filter_map(|r| r.try_get(0).ok())
        .collect();
        // The backup drops them at its next prune (only a box that backs up).
        sqlx::query(
            "INSERT OR IGNORE INTO backup_forget (sha256)
             SELECT sha256 FROM messages WHERE id IN (SELECT value FROM json_each(?))
               AND EXISTS (SELECT 1 FROM settings WHERE key = 'backup.key')",
        )
        .bind(&list)
        .execute(&mut *tx)
        .await?;
        // A server that keeps its copy must not bring the message back.
        sqlx::query(
            "INSERT OR IGNORE INTO remote_deleted (account, folder, uidvalidity, remote_key)
             SELECT account, folder, uidvalidity, remote_key FROM remote_messages
              WHERE message IN (SELECT value FROM json_each(?))",
        )
        .bind(&list)
        .execute(&mut *tx)
        .await?;
        // Tables whose rows point at a message without ON DELETE CASCADE.
        for sql in [
            "DELETE FROM remote_messages WHERE message IN (SELECT value FROM json_each(?))",
            "DELETE FROM message_crypto WHERE message IN (SELECT value FROM json_each(?))",
            "UPDATE outbox SET message = NULL WHERE message IN (SELECT value FROM json_each(?))",
            "DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))",
        ] {
            sqlx::query(sql).bind(&list).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT OR IGNORE INTO index_deletes (message) SELECT value FROM json_each(?)")
            .bind(to_json(&found)?)
            .execute(&mut *tx)
            .await?;
        // A Message-ID stays while another message has it or refers to it:
        // it keeps that message's thread together.
        // Uncorrelated: `message_refs` has no index by reference, so it is
        // read once, not once per id (1,000 deletions at 100k messages took
        // 39 s the other way).
        sqlx::query(
            "DELETE FROM thread_ids WHERE message_id IN (SELECT value FROM json_each(?1))
               AND message_id NOT IN (SELECT message_id FROM messages
                                       WHERE message_id IN (SELECT value FROM json_each(?1)))
               AND message_id NOT IN (SELECT ref FROM message_refs
                                       WHERE ref IN (SELECT value FROM json_each(?1)))",
        )
        .bind(to_json(&own_ids)?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.empty_wal().await?;
        Ok(found)
    }

    /// Copies the write-ahead log into the database and truncates it, so that
    /// pages written before a deletion are no longer in it. Waits for readers.
    pub async fn empty_wal(&self) -> Result<()> {
        // A reader (a backup, a check) can hold it back: SQLite then says
        // "busy" in its answer rather than failing. Tried a few times; else
        // the next deletion or the close empties it.
        for attempt in 0..10 {
            let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.pool)
                .await?;
            if busy == 0 {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100 << attempt.min(4))).await;
        }
        tracing::warn!("the write-ahead log could not be emptied: a long read holds it");
        Ok(())
    }

    /// Messages deleted for good whose removal from the index is not known to
    /// be committed.
    pub async fn index_deletes(&self) -> Result<Vec<i64>> {
        Ok(
            sqlx::query_scalar("SELECT message FROM index_deletes ORDER BY message")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The index committed the removal of these messages.
    pub async fn clear_index_deletes(&self, ids: &[i64]) -> Result<()> {
        sqlx::query("DELETE FROM index_deletes WHERE message IN (SELECT value FROM json_each(?))")
            .bind(to_json(&ids)?)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The SHA-256 of each message deleted for good that the backup may hold.
    pub async fn backup_forgotten(&self) -> Result<Vec<Vec<u8>>> {
        // A message stored again since (imported anew) is not forgotten.
        sqlx::query("DELETE FROM backup_forget WHERE sha256 IN (SELECT sha256 FROM messages)")
            .execute(&self.writer)
            .await?;
        Ok(sqlx::query_scalar("SELECT sha256 FROM backup_forget")
            .fetch_all(&self.pool)
            .await?)
    }

    /// The backup no longer holds these messages.
    pub async fn backup_forget_done(&self, digests: &[Vec<u8>]) -> Result<()> {
        let hex: Vec<String> = digests.iter().map(hex::encode).collect();
        sqlx::query(
            "DELETE FROM backup_forget WHERE sha256 IN (SELECT unhex(value) FROM json_each(?))",
        )
        .bind(to_json(&hex)?)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Messages put in the trash before `before` (Unix seconds), oldest first,
    /// at most `limit`.
    pub async fn trashed_before(&self, before: i64, limit: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT message FROM trashed WHERE since < ? ORDER BY since, message LIMIT ?",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
