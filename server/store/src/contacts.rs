//! What the mail history says about a correspondent.

use crate::Result;

/// Messages from a sender, not counting spam, after which the sender counts as
/// known even if the user never replied.
const KNOWN_AFTER: i64 = 3;

impl crate::Store {
    /// Whether `address` is a known correspondent, as seen from message `message`:
    /// the user replied to them, wrote to them (a message tagged `sent`), or has
    /// kept at least three other messages from them that are not spam. Case is
    /// ignored.
    pub async fn is_known_correspondent(&self, address: &str, message: i64) -> Result<bool> {
        let known: i64 = sqlx::query_scalar(
            "SELECT EXISTS (
                 SELECT 1 FROM addresses a
                 JOIN message_tags mt ON mt.message = a.message
                 JOIN tags t ON t.id = mt.tag
                 WHERE a.address = ?1 COLLATE NOCASE AND a.message <> ?2
                   AND ((a.field = 'from' AND t.name = 'replied')
                     OR (a.field IN ('to', 'cc', 'bcc') AND t.name = 'sent')))
             OR (SELECT count(DISTINCT a.message) FROM addresses a
                 WHERE a.address = ?1 COLLATE NOCASE AND a.field = 'from' AND a.message <> ?2
                   AND NOT EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                                   WHERE mt.message = a.message AND t.name = 'spam')) >= ?3",
        )
        .bind(address)
        .bind(message)
        .bind(KNOWN_AFTER)
        .fetch_one(&self.pool)
        .await?;
        Ok(known != 0)
    }

    /// Whether the user reads the mailing list `list_id`: at least three of its
    /// messages are read and not spam.
    pub async fn is_read_list(&self, list_id: &str) -> Result<bool> {
        let read: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (
                 SELECT 1 FROM message_lists l
                 WHERE l.list_id = ?1
                   AND EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                               WHERE mt.message = l.message AND t.name = 'read')
                   AND NOT EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                                   WHERE mt.message = l.message AND t.name = 'spam')
                 LIMIT ?2)",
        )
        .bind(list_id)
        .bind(KNOWN_AFTER)
        .fetch_one(&self.pool)
        .await?;
        Ok(read >= KNOWN_AFTER)
    }
}
