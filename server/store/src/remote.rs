//! What was fetched from which server: IMAP folder positions and the remote copy of
//! every fetched message, with the read/flagged state last agreed with the server.

use sqlx::Row;

use crate::{Result, to_json};

/// Bit of [`RemoteCopy::synced`] and [`RemoteCopy::local`]: the message is read (`\Seen`, tag `read`).
pub const FLAG_READ: i64 = 1;
/// Bit of [`RemoteCopy::synced`] and [`RemoteCopy::local`]: the message is flagged
/// (`\Flagged`, tag `flagged`).
pub const FLAG_FLAGGED: i64 = 2;

/// The tag of each flag bit: the one mapping between server flags and tags.
pub const FLAG_TAGS: [(i64, &str); 2] = [(FLAG_READ, "read"), (FLAG_FLAGGED, "flagged")];

/// The tags that flag bits stand for, in [`FLAG_TAGS`] order.
pub fn flag_tags(bits: i64) -> Vec<String> {
    FLAG_TAGS
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, tag)| (*tag).to_owned())
        .collect()
}

/// The flag bits that a message's tags stand for.
pub fn tag_flags<S: AsRef<str>>(tags: &[S]) -> i64 {
    FLAG_TAGS
        .iter()
        .filter(|(_, tag)| tags.iter().any(|t| t.as_ref() == *tag))
        .fold(0, |acc, (bit, _)| acc | bit)
}

/// Where a message sits on a server. POP3 uses folder `""`, uidvalidity 0 and the
/// UIDL as key; IMAP the folder, its UIDVALIDITY and the UID (as decimal key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteId {
    /// Account id.
    pub account: i64,
    /// IMAP folder, or `""` for POP3.
    pub folder: String,
    /// IMAP UIDVALIDITY, or 0.
    pub uidvalidity: u32,
}

/// One fetched message's remote copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCopy {
    /// UID as decimal, or the POP3 UIDL.
    pub key: String,
    /// IMAP UID.
    pub uid: Option<u32>,
    /// The stored message.
    pub message: i64,
    /// Flags last agreed with the server.
    pub synced: i64,
    /// Flags the local tags say now.
    pub local: i64,
    /// When it was fetched (Unix seconds).
    pub fetched_at: i64,
}

impl crate::Store {
    /// The UIDVALIDITY and last fetched UID of an IMAP folder.
    pub async fn imap_folder(&self, account: i64, folder: &str) -> Result<Option<(u32, u32)>> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT uidvalidity, last_uid FROM imap_folders WHERE account = ? AND folder = ?",
        )
        .bind(account)
        .bind(folder)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(v, u)| (v as u32, u as u32)))
    }

    /// Records an IMAP folder's position. A new UIDVALIDITY forgets the remote copies
    /// of the old one (the stored messages stay; fetching again finds them as
    /// duplicates).
    pub async fn set_imap_folder(
        &self,
        account: i64,
        folder: &str,
        uidvalidity: u32,
        last_uid: u32,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM remote_messages WHERE account = ? AND folder = ? AND uidvalidity <> ?",
        )
        .bind(account)
        .bind(folder)
        .bind(uidvalidity)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO imap_folders (account, folder, uidvalidity, last_uid) VALUES (?, ?, ?, ?)
             ON CONFLICT (account, folder) DO UPDATE
             SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
        )
        .bind(account)
        .bind(folder)
        .bind(uidvalidity)
        .bind(last_uid)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records remote copies `(key, uid, message, flags)` fetched at `now`. Copies
    /// already recorded are left alone.
    pub async fn record_remote(
        &self,
        at: &RemoteId,
        copies: &[(String, Option<u32>, i64, i64)],
        now: i64,
    ) -> Result<()> {
        if copies.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT OR IGNORE INTO remote_messages
                 (account, folder, uidvalidity, remote_key, uid, message, flags, fetched_at)
             SELECT ?, ?, ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3, ?
             FROM json_each(?)",
        )
        .bind(at.account)
        .bind(&at.folder)
        .bind(at.uidvalidity)
        .bind(now)
        .bind(to_json(&copies)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Which of `keys` are already recorded.
    pub async fn remote_known(
        &self,
        at: &RemoteId,
        keys: &[String],
    ) -> Result<std::collections::HashSet<String>> {
        let keys = to_json(&keys)?;
        // Copies of mail deleted for good count as known; those the server no
        // longer lists (`keys` is all it lists) are forgotten.
        sqlx::query(
            "DELETE FROM remote_deleted
             WHERE account = ? AND folder = ? AND uidvalidity = ?
               AND remote_key NOT IN (SELECT value FROM json_each(?))",
        )
        .bind(at.account)
        .bind(&at.folder)
        .bind(at.uidvalidity)
        .bind(&keys)
        .execute(&self.pool)
        .await?;
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT remote_key FROM remote_messages
             WHERE account = ?1 AND folder = ?2 AND uidvalidity = ?3
               AND remote_key IN (SELECT value FROM json_each(?4))
             UNION
             SELECT remote_key FROM remote_deleted
             WHERE account = ?1 AND folder = ?2 AND uidvalidity = ?3
               AND remote_key IN (SELECT value FROM json_each(?4))",
        )
        .bind(at.account)
        .bind(&at.folder)
        .bind(at.uidvalidity)
        .bind(&keys)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(k,)| k).collect())
    }

    /// Every remote copy recorded at `at`, with the local flags its tags give now.
    pub async fn remote_copies(&self, at: &RemoteId) -> Result<Vec<RemoteCopy>> {
        let rows = sqlx::query(
            "SELECT r.remote_key, r.uid, r.message, r.flags, r.fetched_at,
                    (EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                             WHERE mt.message = r.message AND t.name = 'read'))
                  | (EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                             WHERE mt.message = r.message AND t.name = 'flagged')) * 2 AS local
             FROM remote_messages r
             WHERE r.account = ? AND r.folder = ? AND r.uidvalidity = ?
             ORDER BY r.uid, r.remote_key",
        )
        .bind(at.account)
        .bind(&at.folder)
        .bind(at.uidvalidity)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RemoteCopy {
                    key: r.try_get("remote_key")?,
                    uid: r.try_get::<Option<i64>, _>("uid")?.map(|u| u as u32),
                    message: r.try_get("message")?,
                    synced: r.try_get("flags")?,
                    local: r.try_get("local")?,
                    fetched_at: r.try_get("fetched_at")?,
                })
            })
            .collect()
    }

    /// Records the flags agreed with the server for some copies `(key, flags)`.
    pub async fn set_remote_flags(&self, at: &RemoteId, flags: &[(String, i64)]) -> Result<()> {
        if flags.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "UPDATE remote_messages SET flags = f.value ->> 1
             FROM json_each(?) AS f
             WHERE account = ? AND folder = ? AND uidvalidity = ? AND remote_key = f.value ->> 0",
        )
        .bind(to_json(&flags)?)
        .bind(at.account)
        .bind(&at.folder)
        .bind(at.uidvalidity)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets remote copies that are gone from the server.
    pub async fn forget_remote(&self, at: &RemoteId, keys: &[String]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "DELETE FROM remote_messages
             WHERE account = ? AND folder = ? AND uidvalidity = ?
               AND remote_key IN (SELECT value FROM json_each(?))",
        )
        .bind(at.account)
        .bind(&at.folder)
        .bind(at.uidvalidity)
        .bind(to_json(&keys)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod flag_tests {
    use super::*;

    #[test]
    fn flags_and_tags_map_both_ways() {
        let table: &[(i64, &[&str])] = &[
            (0, &[]),
            (FLAG_READ, &["read"]),
            (FLAG_FLAGGED, &["flagged"]),
            (FLAG_READ | FLAG_FLAGGED, &["read", "flagged"]),
        ];
        for &(bits, tags) in table {
            assert_eq!(flag_tags(bits), tags, "bits {bits}");
            assert_eq!(tag_flags(tags), bits, "tags {tags:?}");
        }
        // Other tags and unknown bits do not map.
        assert_eq!(tag_flags(&["inbox", "replied"]), 0);
        assert_eq!(flag_tags(4), Vec::<String>::new());
    }
}
