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
             SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid,
                 modseq = CASE WHEN uidvalidity = excluded.uidvalidity THEN modseq END",
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

    /// The folder's HIGHESTMODSEQ as of its last complete flag merge (RFC 7162),
    /// if it has one: the server's changes since are all the next merge reads.
    pub async fn imap_modseq(&self, account: i64, folder: &str) -> Result<Option<u64>> {
        let modseq: Option<Option<i64>> =
            sqlx::query_scalar("SELECT modseq FROM imap_folders WHERE account = ? AND folder = ?")
                .bind(account)
                .bind(folder)
                .fetch_optional(&self.pool)
                .await?;
        Ok(modseq.flatten().and_then(|m| u64::try_from(m).ok()))
    }

    /// Records the folder's HIGHESTMODSEQ after a complete flag merge (`None`:
    /// the next merge reads every message's flags). Only while the folder still
    /// has `uidvalidity`.
    pub async fn set_imap_modseq(
        &self,
        account: i64,
        folder: &str,
        uidvalidity: u32,
        modseq: Option<u64>,
    ) -> Result<()> {
        // RFC 7162 mod-sequences fit in 63 bits; a larger one is not kept.
        let modseq = modseq.and_then(|m| i64::try_from(m).ok());
        sqlx::query(
            "UPDATE imap_folders SET modseq = ? WHERE account = ? AND folder = ? AND uidvalidity = ?",
        )
        .bind(modseq)
        .bind(account)
        .bind(folder)
        .bind(uidvalidity)
        .execute(&self.writer)
        .await?;
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
                 (account, folder, uidvalidity, remote_key, uid, message, flags, fetched_at, local)
             SELECT ?, ?, ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3, ?,
                    (EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                              WHERE mt.message = value ->> 2 AND t.name = 'read'))
                  | (EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                              WHERE mt.message = value ->> 2 AND t.name = 'flagged')) * 2
             FROM json_each(?)",
        )
        .bind(at.account)
        .bind(&at.folder)
        .bind(at.uidvalidity)
        .bind(now)
        .bind(to_json(&copies)?)
        .execute(&self.writer)
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
        .execute(&self.writer)
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
        self.copies_where(at, "", "TRUE", "").await
    }

    /// The copies at `at` whose message was read, unread, flagged or unflagged
    /// here since the flags were last agreed with the server (through an index:
    /// as many rows as changes).
    pub async fn remote_copies_changed(&self, at: &RemoteId) -> Result<Vec<RemoteCopy>> {
        self.copies_where(
            at,
            "INDEXED BY remote_messages_changed",
            "r.local <> r.flags",
            "",
        )
        .await
    }

    /// The copies at `at` with one of these UIDs.
    pub async fn remote_copies_by_uid(
        &self,
        at: &RemoteId,
        uids: &[u32],
    ) -> Result<Vec<RemoteCopy>> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        self.copies_where(
            at,
            "INDEXED BY remote_messages_uid",
            "r.uid IN (SELECT value FROM json_each(?4))",
            &to_json(&uids)?,
        )
        .await
    }

    /// The copies at `at` fetched at or before `cutoff` (Unix seconds).
    pub async fn remote_copies_fetched_by(
        &self,
        at: &RemoteId,
        cutoff: i64,
    ) -> Result<Vec<RemoteCopy>> {
        self.copies_where(
            at,
            "INDEXED BY remote_messages_fetched",
            "r.fetched_at <= CAST(?4 AS INTEGER)",
            &cutoff.to_string(),
        )
        .await
    }

    /// The copies at `at` that meet `condition` (which may use `?4`, bound to
    /// `arg`), read through `index` (an `INDEXED BY` clause, or nothing): the
    /// primary key shares the index's first columns and SQLite would otherwise
    /// take it, reading the whole folder.
    async fn copies_where(
        &self,
        at: &RemoteId,
        index: &str,
        condition: &str,
        arg: &str,
    ) -> Result<Vec<RemoteCopy>> {
        let sql = format!(
            "SELECT r.remote_key, r.uid, r.message, r.flags, r.fetched_at, r.local
             FROM remote_messages r {index}
             WHERE r.account = ?1 AND r.folder = ?2 AND r.uidvalidity = ?3 AND {condition}
             ORDER BY r.uid, r.remote_key"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(at.account)
            .bind(&at.folder)
            .bind(at.uidvalidity)
            .bind(arg)
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

    /// Forgets the copies at `at` whose UID lies in one of the inclusive
    /// `ranges` (a QRESYNC VANISHED answer, which may name UIDs never seen);
    /// returns how many there were.
    pub async fn forget_remote_uids(&self, at: &RemoteId, ranges: &[(u32, u32)]) -> Result<u64> {
        if ranges.is_empty() {
            return Ok(0);
        }
        // A range at a time, each through the UID index.
        let mut tx = self.begin_write().await?;
        let mut forgotten = 0;
        for &(a, b) in ranges {
            forgotten += sqlx::query(
                "DELETE FROM remote_messages
                 WHERE account = ? AND folder = ? AND uidvalidity = ? AND uid BETWEEN ? AND ?",
            )
            .bind(at.account)
            .bind(&at.folder)
            .bind(at.uidvalidity)
            .bind(a.min(b))
            .bind(a.max(b))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(forgotten)
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
        .execute(&self.writer)
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
        .execute(&self.writer)
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

#[cfg(test)]
mod kept_tests {
    use crate::tests::{insert_mail, open_store};
    use crate::{AccountConfig, Secrets, Store};

    use super::*;

    /// The local bits of every copy, counted from the tags.
    async fn counted(store: &Store) -> Vec<(String, i64)> {
        sqlx::query_as(
            "SELECT r.remote_key,
                    (EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                              WHERE mt.message = r.message AND t.name = 'read'))
                  | (EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                              WHERE mt.message = r.message AND t.name = 'flagged')) * 2
             FROM remote_messages r ORDER BY r.uid",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap()
    }

    fn kept(copies: &[RemoteCopy]) -> Vec<(String, i64)> {
        copies.iter().map(|c| (c.key.clone(), c.local)).collect()
    }

    #[tokio::test]
    async fn local_flags_kept_by_triggers_and_changes_found_by_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        let config = AccountConfig {
            name: "a".into(),
            email: "a@example.org".into(),
            display_name: "a".into(),
            incoming: None,
            outgoing: None,
        };
        let account = store
            .add_account(&config, &Secrets::default(), 0)
            .await
            .unwrap();
        store.set_imap_folder(account, "INBOX", 7, 0).await.unwrap();
        let at = RemoteId {
            account,
            folder: "INBOX".into(),
            uidvalidity: 7,
        };
        let mut ids = Vec::new();
        for n in 0..8 {
            ids.push(insert_mail(&store, &format!("k{n}@example.org"), "body").await);
        }
        // Message 0 is read before its copy is recorded: the copy starts read.
        store
            .change_tags(&ids[..1], &["read".into()], &[])
            .await
            .unwrap();
        let copies: Vec<(String, Option<u32>, i64, i64)> = ids
            .iter()
            .enumerate()
            .map(|(i, &m)| ((i + 1).to_string(), Some(i as u32 + 1), m, 0))
            .collect();
        store.record_remote(&at, &copies, 100).await.unwrap();
        let all = store.remote_copies(&at).await.unwrap();
        assert_eq!(kept(&all), counted(&store).await);
        assert_eq!(all[0].local, FLAG_READ);
        let changed = store.remote_copies_changed(&at).await.unwrap();
        assert_eq!(changed.iter().map(|c| c.uid).collect::<Vec<_>>(), [Some(1)]);

        let s = |v: &[&str]| v.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        store
            .change_tags(&ids[2..5], &s(&["read", "work"]), &[])
            .await
            .unwrap();
        store
            .change_tags(&ids[4..6], &s(&["flagged"]), &s(&["read"]))
            .await
            .unwrap();
        store.rename_tag("work", "job").await.unwrap();
        let all = store.remote_copies(&at).await.unwrap();
        assert_eq!(kept(&all), counted(&store).await);
        // A rename to or from `flagged` (the API refuses it; the store may).
        store.rename_tag("flagged", "star").await.unwrap();
        assert_eq!(
            kept(&store.remote_copies(&at).await.unwrap()),
            counted(&store).await
        );
        store.rename_tag("star", "flagged").await.unwrap();
        assert_eq!(
            kept(&store.remote_copies(&at).await.unwrap()),
            counted(&store).await
        );
        let uids = |c: Vec<RemoteCopy>| c.iter().filter_map(|c| c.uid).collect::<Vec<_>>();
        assert_eq!(
            uids(store.remote_copies_changed(&at).await.unwrap()),
            [1, 3, 4, 5, 6]
        );
        // Agreed with the server: no longer changed.
        store
            .set_remote_flags(&at, &[("1".into(), FLAG_READ), ("5".into(), FLAG_FLAGGED)])
            .await
            .unwrap();
        assert_eq!(
            uids(store.remote_copies_changed(&at).await.unwrap()),
            [3, 4, 6]
        );
        assert_eq!(
            uids(store.remote_copies_by_uid(&at, &[2, 6, 99]).await.unwrap()),
            [2, 6]
        );
        assert_eq!(
            uids(store.remote_copies_fetched_by(&at, 99).await.unwrap()),
            Vec::<u32>::new()
        );
        assert_eq!(
            uids(store.remote_copies_fetched_by(&at, 100).await.unwrap()).len(),
            8
        );

        // VANISHED ranges, reversed and naming UIDs never seen.
        assert_eq!(
            store
                .forget_remote_uids(&at, &[(3, 2), (8, 4_000_000_000)])
                .await
                .unwrap(),
            3
        );
        assert_eq!(
            uids(store.remote_copies(&at).await.unwrap()),
            [1, 4, 5, 6, 7]
        );

        // Deleting messages for good takes their copies; the rest stay right.
        store.delete_messages(&ids[5..6], &[]).await.unwrap();
        assert_eq!(uids(store.remote_copies(&at).await.unwrap()), [1, 4, 5, 7]);
        assert_eq!(
            kept(&store.remote_copies(&at).await.unwrap()),
            counted(&store).await
        );

        // Changed copies and copies by UID are found through indexes.
        for (condition, index) in [
            ("r.local <> r.flags", "remote_messages_changed"),
            (
                "r.uid IN (SELECT value FROM json_each('[1]'))",
                "remote_messages_uid",
            ),
        ] {
            let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "EXPLAIN QUERY PLAN SELECT r.remote_key FROM remote_messages r INDEXED BY {index}
                 WHERE r.account = 1 AND r.folder = 'INBOX' AND r.uidvalidity = 7 AND {condition}"
            )))
            .fetch_all(&store.pool)
            .await
            .unwrap();
            assert!(
                plan.iter().any(|p| p.3.contains(index)),
                "{condition}: {plan:?}"
            );
        }

        // The mod-sequence is kept for the folder until its UIDVALIDITY changes.
        assert_eq!(store.imap_modseq(account, "INBOX").await.unwrap(), None);
        store
            .set_imap_modseq(account, "INBOX", 7, Some(42))
            .await
            .unwrap();
        store
            .set_imap_modseq(account, "INBOX", 8, Some(50))
            .await
            .unwrap();
        assert_eq!(store.imap_modseq(account, "INBOX").await.unwrap(), Some(42));
        store.set_imap_folder(account, "INBOX", 7, 9).await.unwrap();
        assert_eq!(store.imap_modseq(account, "INBOX").await.unwrap(), Some(42));
        store.set_imap_folder(account, "INBOX", 8, 0).await.unwrap();
        assert_eq!(store.imap_modseq(account, "INBOX").await.unwrap(), None);
    }
}
