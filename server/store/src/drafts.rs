//! Drafts: what the user is writing, saved as they type, inside the encrypted store.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{Error, Result, to_json};

/// How a forwarded message goes along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ForwardMode {
    /// Quoted in the body, its attachments carried along.
    Inline,
    /// Attached whole as message/rfc822.
    Attached,
}

/// The message a draft forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Forward {
    /// Store id of the forwarded message.
    pub id: i64,
    /// Inline or attached.
    pub mode: ForwardMode,
}

/// The fields of a draft that the user edits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DraftContent {
    /// The sending account: the identity's account when there is one (kept for
    /// drafts written before identities, which are sent from its primary).
    #[serde(default)]
    pub account_id: Option<i64>,
    /// The identity it is written from (its From); `None`: the account's
    /// primary, or the default identity without an account.
    #[serde(default)]
    pub identity_id: Option<i64>,
    /// Recipients, as typed (`Name <address>` or `address`).
    #[serde(default)]
    pub to: Vec<String>,
    /// Copy recipients.
    #[serde(default)]
    pub cc: Vec<String>,
    /// Blind copy recipients.
    #[serde(default)]
    pub bcc: Vec<String>,
    /// Subject.
    #[serde(default)]
    pub subject: String,
    /// Plain-text body.
    #[serde(default)]
    pub body: String,
    /// Store id of the message this answers.
    #[serde(default)]
    pub in_reply_to: Option<i64>,
    /// The message this forwards.
    #[serde(default)]
    pub forward: Option<Forward>,
    /// Encrypt it: `None` follows the Autocrypt recommendation.
    #[serde(default)]
    pub encrypt: Option<bool>,
}

/// An attachment of a draft, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DraftAttachment {
    /// Position in the draft.
    pub index: i64,
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
}

/// A stored draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Draft {
    /// Draft id.
    pub id: i64,
    /// What the user wrote.
    #[serde(flatten)]
    pub content: DraftContent,
    /// Its attachments.
    pub attachments: Vec<DraftAttachment>,
    /// Last saved (Unix seconds).
    pub updated_at: i64,
}

impl crate::Store {
    /// Saves a new draft; returns its id.
    pub async fn create_draft(&self, content: &DraftContent, now: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO drafts (content, updated_at) VALUES (?, ?) RETURNING id",
        )
        .bind(to_json(content)?)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Replaces a draft's content. Returns false when there is no such draft.
    pub async fn update_draft(&self, id: i64, content: &DraftContent, now: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE drafts SET content = ?, updated_at = ? WHERE id = ?")
            .bind(to_json(content)?)
            .bind(now)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// One draft.
    pub async fn draft(&self, id: i64) -> Result<Option<Draft>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT content, updated_at FROM drafts WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some((content, updated_at)) = row else {
            return Ok(None);
        };
        let attachments = sqlx::query(
            "SELECT position, name, content_type, length(data) AS size FROM draft_attachments
             WHERE draft = ? ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(DraftAttachment {
                index: r.try_get("position")?,
                name: r.try_get("name")?,
                content_type: r.try_get("content_type")?,
                size: r.try_get("size")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(Some(Draft {
            id,
            content: serde_json::from_str(&content)
                .map_err(|e| Error::Sql(sqlx::Error::Decode(Box::new(e))))?,
            attachments,
            updated_at,
        }))
    }

    /// Every draft, newest first.
    pub async fn drafts(&self) -> Result<Vec<Draft>> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM drafts ORDER BY updated_at DESC, id DESC")
                .fetch_all(&self.pool)
                .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(d) = self.draft(id).await? {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Deletes a draft and its attachments. Returns false when there was none.
    pub async fn delete_draft(&self, id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM drafts WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Adds an attachment at the end of a draft. Returns false when there is no such draft.
    pub async fn add_draft_attachment(
        &self,
        id: i64,
        name: &str,
        content_type: &str,
        data: &[u8],
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE drafts SET updated_at = ? WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO draft_attachments (draft, position, name, content_type, data)
             VALUES (?1, (SELECT coalesce(max(position), -1) + 1 FROM draft_attachments WHERE draft = ?1), ?2, ?3, ?4)",
        )
        .bind(id)
        .bind(name)
        .bind(content_type)
        .bind(data)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes one attachment; the later ones move up. Returns false when there was none.
    pub async fn remove_draft_attachment(&self, id: i64, index: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM draft_attachments WHERE draft = ? AND position = ?")
            .bind(id)
            .bind(index)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        // Two steps: positions are a primary key and SQLite checks it per row.
        sqlx::query(
            "UPDATE draft_attachments SET position = -position WHERE draft = ? AND position > ?",
        )
        .bind(id)
        .bind(index)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE draft_attachments SET position = -position - 1 WHERE draft = ? AND position < 0")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A draft's attachments with their bytes: `(name, content_type, data)`.
    pub async fn draft_attachment_data(&self, id: i64) -> Result<Vec<(String, String, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT name, content_type, data FROM draft_attachments WHERE draft = ? ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }
}
