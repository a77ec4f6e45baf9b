//! The outbox: messages the user wrote, kept in the store until the submission
//! server has accepted them.
//!
//! A message moves `queued -> sending -> sent`, or to `deferred` (a temporary
//! failure, with the next attempt), `failed` (permanent, or its lifetime ran out) or
//! `cancelled` (by the user). Every move is one committed statement, so a crash
//! leaves each message in a state [`Store::recover_outbox`] can resume from.

use serde::Serialize;
use sqlx::Row;

use crate::{Error, Result, to_json};

/// State of an outbox message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum OutboxState {
    /// Waiting for its first attempt.
    Queued,
    /// Being handed to the server now.
    Sending,
    /// Accepted by the server.
    Sent,
    /// A temporary failure: tried again at `next_attempt`.
    Deferred,
    /// Given up: `last_error` says why.
    Failed,
    /// Cancelled by the user.
    Cancelled,
}

impl OutboxState {
    fn parse(s: &str) -> Result<OutboxState> {
        Ok(match s {
            "queued" => OutboxState::Queued,
            "sending" => OutboxState::Sending,
            "sent" => OutboxState::Sent,
            "deferred" => OutboxState::Deferred,
            "failed" => OutboxState::Failed,
            "cancelled" => OutboxState::Cancelled,
            other => {
                return Err(Error::Sql(sqlx::Error::Decode(
                    format!("unknown outbox state {other:?}").into(),
                )));
            }
        })
    }
}

/// One outbox message as shown to the user.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxItem {
    /// Outbox id.
    pub id: i64,
    /// The account that sends it.
    pub account_id: i64,
    /// Its subject.
    pub subject: String,
    /// Envelope recipients.
    pub to: Vec<String>,
    /// Where it is.
    pub state: OutboxState,
    /// Submission attempts so far.
    pub attempts: i64,
    /// When it was queued (Unix seconds).
    pub created_at: i64,
    /// After this it is not tried again.
    pub expires_at: i64,
    /// The next attempt, while deferred or queued.
    pub next_attempt: Option<i64>,
    /// The last failure, in the server's words where there are some.
    pub last_error: Option<String>,
    /// When the server accepted it.
    pub sent_at: Option<i64>,
    /// The stored copy of the sent message.
    pub message_id: Option<i64>,
}

/// A message handed to the sender: the bytes and the envelope.
#[derive(Debug, Clone)]
pub struct OutboxJob {
    /// Outbox id.
    pub id: i64,
    /// The account that sends it.
    pub account: i64,
    /// The message.
    pub raw: Vec<u8>,
    /// Envelope sender.
    pub mail_from: String,
    /// Envelope recipients.
    pub rcpt_to: Vec<String>,
    /// Attempts before this one.
    pub attempts: i64,
    /// After this it is not tried again.
    pub expires_at: i64,
}

/// A message to queue.
pub struct NewOutgoing<'a> {
    /// The account that sends it.
    pub account: i64,
    /// The complete message.
    pub raw: &'a [u8],
    /// Envelope sender.
    pub mail_from: &'a str,
    /// Envelope recipients.
    pub rcpt_to: &'a [String],
    /// Its subject, for the outbox list.
    pub subject: &'a str,
    /// IMAP folder to append the sent copy to.
    pub sent_folder: Option<&'a str>,
}

const ITEM_COLUMNS: &str = "id, account, subject, rcpt_to, state, attempts, created_at, expires_at,
     next_attempt, last_error, sent_at, message";

impl crate::Store {
    /// Queues a message for its first attempt now, and deletes the draft it was
    /// written in, in the same transaction. Returns the outbox id.
    pub async fn queue_outgoing(
        &self,
        m: &NewOutgoing<'_>,
        now: i64,
        lifetime_secs: i64,
        draft: Option<i64>,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let compressed =
            zstd::bulk::compress(m.raw, 3).map_err(|e| Error::Sql(sqlx::Error::Io(e)))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (account, raw, mail_from, rcpt_to, subject, state, created_at,
                                 expires_at, next_attempt, sent_folder)
             VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?) RETURNING id",
        )
        .bind(m.account)
        .bind(compressed)
        .bind(m.mail_from)
        .bind(to_json(&m.rcpt_to)?)
        .bind(m.subject)
        .bind(now)
        .bind(now.saturating_add(lifetime_secs))
        .bind(now)
        .bind(m.sent_folder)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(draft) = draft {
            sqlx::query("DELETE FROM drafts WHERE id = ?")
                .bind(draft)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The outbox, newest first: everything not sent, and what was sent since `sent_since`.
    pub async fn outbox(&self, sent_since: i64) -> Result<Vec<OutboxItem>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ITEM_COLUMNS} FROM outbox
             WHERE state <> 'sent' OR sent_at >= ? ORDER BY id DESC"
        )))
        .bind(sent_since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(item_from_row).collect()
    }

    /// One outbox message.
    pub async fn outbox_item(&self, id: i64) -> Result<Option<OutboxItem>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ITEM_COLUMNS} FROM outbox WHERE id = ?"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(item_from_row).transpose()
    }

    /// Takes the oldest message that is due (queued or deferred, next attempt
    /// reached) and marks it `sending`, counting the attempt.
    pub async fn claim_outgoing(&self, now: i64) -> Result<Option<OutboxJob>> {
        let row = sqlx::query(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1
             WHERE id = (SELECT id FROM outbox
                         WHERE state IN ('queued', 'deferred') AND coalesce(next_attempt, 0) <= ?
                         ORDER BY coalesce(next_attempt, 0), id LIMIT 1)
             RETURNING id, account, raw, mail_from, rcpt_to, attempts, expires_at",
        )
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.try_get("id")?;
        let blob: Vec<u8> = row.try_get("raw")?;
        let raw = zstd::stream::decode_all(blob.as_slice()).map_err(|_| Error::Damaged(id))?;
        let rcpt: String = row.try_get("rcpt_to")?;
        Ok(Some(OutboxJob {
            id,
            account: row.try_get("account")?,
            raw,
            mail_from: row.try_get("mail_from")?,
            rcpt_to: serde_json::from_str(&rcpt)
                .map_err(|e| Error::Sql(sqlx::Error::Decode(Box::new(e))))?,
            attempts: row.try_get::<i64, _>("attempts")? - 1,
            expires_at: row.try_get("expires_at")?,
        }))
    }

    /// When the next queued or deferred message is due, if any.
    pub async fn next_outgoing_due(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT min(coalesce(next_attempt, 0)) FROM outbox WHERE state IN ('queued', 'deferred')",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// The server accepted the message: record it before anything else can fail.
    pub async fn mark_sent(&self, id: i64, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET state = 'sent', sent_at = ?, next_attempt = NULL, last_error = NULL
             WHERE id = ?",
        )
        .bind(now)
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// A temporary failure: try again at `next_attempt`.
    pub async fn mark_deferred(&self, id: i64, reason: &str, next_attempt: i64) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET state = 'deferred', last_error = ?, next_attempt = ?
             WHERE id = ? AND state = 'sending'",
        )
        .bind(reason)
        .bind(next_attempt)
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// A permanent failure, or the lifetime ran out.
    pub async fn mark_failed(&self, id: i64, reason: &str) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET state = 'failed', last_error = ?, next_attempt = NULL
             WHERE id = ? AND state = 'sending'",
        )
        .bind(reason)
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Messages left `sending` by a crash are deferred for an attempt now: the
    /// server may or may not have accepted them, and losing mail is worse than
    /// the rare duplicate (recipients see the same Message-ID). Returns how many.
    pub async fn recover_outbox(&self, now: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'deferred', next_attempt = ?,
                 last_error = 'interrupted while sending (Homepost stopped); trying again'
             WHERE state = 'sending'",
        )
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    /// Queues a deferred, failed or cancelled message again now with a fresh
    /// lifetime. Returns false when the message is in another state.
    pub async fn retry_outgoing(&self, id: i64, now: i64, lifetime_secs: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'queued', next_attempt = ?, expires_at = ?
             WHERE id = ? AND state IN ('deferred', 'failed', 'cancelled')",
        )
        .bind(now)
        .bind(now.saturating_add(lifetime_secs))
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Makes every deferred message of `account` due now (after its settings or
    /// certificate changed, or the user asked to sync). Returns how many.
    pub async fn hurry_outgoing(&self, account: i64, now: i64) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE outbox SET next_attempt = ? WHERE account = ? AND state = 'deferred'",
        )
        .bind(now)
        .bind(account)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    /// Cancels a queued, deferred or failed message. Returns false when the message
    /// is being sent, already sent or already cancelled.
    pub async fn cancel_outgoing(&self, id: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'cancelled', next_attempt = NULL
             WHERE id = ? AND state IN ('queued', 'deferred', 'failed')",
        )
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Sent messages whose copy is not stored yet: `(outbox id, raw)`.
    pub async fn sent_without_copy(&self) -> Result<Vec<(i64, Vec<u8>)>> {
        let rows = sqlx::query(
            "SELECT id, raw FROM outbox WHERE state = 'sent' AND message IS NULL AND length(raw) > 0",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                let blob: Vec<u8> = r.try_get("raw")?;
                let raw =
                    zstd::stream::decode_all(blob.as_slice()).map_err(|_| Error::Damaged(id))?;
                Ok((id, raw))
            })
            .collect()
    }

    /// Links a sent message to its stored copy and drops the outbox's bytes.
    pub async fn set_sent_copy(&self, id: i64, message: i64) -> Result<()> {
        sqlx::query("UPDATE outbox SET message = ?, raw = x'' WHERE id = ?")
            .bind(message)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Sent messages of `account` still to be appended to its IMAP Sent folder:
    /// `(outbox id, folder, stored message id)`.
    pub async fn pending_sent_appends(&self, account: i64) -> Result<Vec<(i64, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT id, sent_folder, message FROM outbox
             WHERE account = ? AND state = 'sent' AND appended = 0
               AND sent_folder IS NOT NULL AND message IS NOT NULL ORDER BY id",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records that the sent copy was appended to the IMAP Sent folder.
    pub async fn mark_appended(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE outbox SET appended = 1 WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

fn item_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<OutboxItem> {
    let state: String = r.try_get("state")?;
    let to: String = r.try_get("rcpt_to")?;
    Ok(OutboxItem {
        id: r.try_get("id")?,
        account_id: r.try_get("account")?,
        subject: r.try_get("subject")?,
        to: serde_json::from_str(&to).map_err(|e| Error::Sql(sqlx::Error::Decode(Box::new(e))))?,
        state: OutboxState::parse(&state)?,
        attempts: r.try_get("attempts")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        next_attempt: r.try_get("next_attempt")?,
        last_error: r.try_get("last_error")?,
        sent_at: r.try_get("sent_at")?,
        message_id: r.try_get("message")?,
    })
}
