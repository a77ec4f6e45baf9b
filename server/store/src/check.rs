//! The store's part of `homepost check` (docs/architecture.md): SQLCipher's
//! authentication of every page, SQLite's own consistency checks, and each
//! message's bytes against the SHA-256 stored with them. It reads and reports;
//! it changes nothing.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::pool::PoolConnection;
use sqlx::{Row, Sqlite};

use crate::{Result, Store, messages::decompress};

/// Messages read per query while checking their bytes.
const BATCH: i64 = 200;

/// What the store's check found; empty lists mean nothing is wrong.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct StoreCheck {
    /// Pages whose authentication failed (SQLCipher's `cipher_integrity_check`):
    /// changed on disk since they were written, by a failing card or anyone else.
    pub pages: Vec<String>,
    /// What SQLite's `integrity_check` found (broken trees, indexes out of step
    /// with their tables), or the error that stopped it.
    pub structure: Vec<String>,
    /// Rows that point at rows that do not exist (`foreign_key_check`), as
    /// `table row N -> parent`.
    pub references: Vec<String>,
    /// Messages whose stored bytes cannot be read or no longer match their SHA-256.
    pub damaged_messages: Vec<i64>,
    /// Messages on pages SQLite cannot read: their rows are lost from this
    /// database (`homepost repair` says how to get them back).
    pub unreadable_messages: Vec<i64>,
    /// Messages read and compared.
    pub messages_checked: u64,
    /// The id of every message whose row could be read, in order: what the
    /// index is compared with.
    #[serde(skip)]
    pub ids: Vec<i64>,
}

impl StoreCheck {
    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.pages.is_empty()
            && self.structure.is_empty()
            && self.references.is_empty()
            && self.damaged_messages.is_empty()
            && self.unreadable_messages.is_empty()
    }
}

impl Store {
    /// Checks the whole store: every page's authentication, SQLite's structure,
    /// references between rows, and every message's bytes. `progress` gets
    /// (messages checked, messages in all) as it goes. Damage is reported in the
    /// answer; an error means the check itself could not run.
    pub async fn check(&self, mut progress: impl FnMut(u64, u64)) -> Result<StoreCheck> {
        let mut report = StoreCheck::default();
        let mut conn = self.pool.acquire().await?;
        // Both pragmas answer with one row per problem; integrity_check says
        // "ok" when there is none. A page SQLite cannot read at all ends the
        // pragma with an error: that is a finding too.
        match sqlx::query_scalar::<_, String>("PRAGMA cipher_integrity_check")
            .fetch_all(&mut *conn)
            .await
        {
            Ok(rows) => report.pages = rows,
            Err(e) => report.pages.push(e.to_string()),
        }
        // SQLCipher leaves a connection that met a page it could not
        // authenticate unusable ("out of memory" after it): go on with a new one
        // after each finding.
        if !report.pages.is_empty() {
            conn = self.renew(conn).await?;
        }
        match sqlx::query_scalar::<_, String>("PRAGMA integrity_check")
            .fetch_all(&mut *conn)
            .await
        {
            Ok(rows) => report.structure = rows.into_iter().filter(|r| r != "ok").collect(),
            Err(e) => report.structure.push(e.to_string()),
        }
        if !report.structure.is_empty() {
            conn = self.renew(conn).await?;
        }
        match sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(&mut *conn)
            .await
        {
            Ok(rows) => {
                for row in rows {
                    let table: String = row.try_get(0).unwrap_or_default();
                    let rowid: Option<i64> = row.try_get(1).unwrap_or_default();
                    let parent: String = row.try_get(2).unwrap_or_default();
                    let rowid = rowid.map_or_else(|| "?".to_owned(), |r| r.to_string());
                    report
                        .references
                        .push(format!("{table} row {rowid} -> {parent}"));
                }
            }
            Err(e) => {
                report.references.push(e.to_string());
                conn = self.renew(conn).await?;
            }
        }

        let total: i64 = match sqlx::query_scalar("SELECT count(*) FROM messages")
            .fetch_one(&mut *conn)
            .await
        {
            Ok(n) => n,
            Err(e) => {
                report
                    .structure
                    .push(format!("the messages cannot be counted: {e}"));
                conn = self.renew(conn).await?;
                0
            }
        };
        let total = u64::try_from(total).unwrap_or(0);
        let mut after = 0i64;
        loop {
            let rows = match sqlx::query(
                "SELECT id, sha256, raw, raw_size FROM messages WHERE id > ? ORDER BY id LIMIT ?",
            )
            .bind(after)
            .bind(BATCH)
            .fetch_all(&mut *conn)
            .await
            {
                Ok(rows) => rows,
                Err(e) => {
                    // A page of the table that cannot be read: go on one
                    // message at a time, by the ids an index of the table
                    // holds, and name the messages that were on it.
                    report.structure.push(format!(
                        "the messages after id {after} cannot be read in order: {e}"
                    ));
                    let conn = self.renew(conn).await?;
                    self.check_one_by_one(conn, after, total, &mut report, &mut progress)
                        .await?;
                    break;
                }
            };
            let Some(last) = rows.last() else { break };
            after = last.try_get("id")?;
            for row in &rows {
                report.check_row(row);
            }
            progress(report.messages_checked, total.max(report.messages_checked));
        }
        Ok(report)
    }

    /// Reads the messages with ids above `after` one by one, listing those whose
    /// row cannot be read at all in `unreadable_messages`.
    async fn check_one_by_one(
        &self,
        mut conn: PoolConnection<Sqlite>,
        after: i64,
        total: u64,
        report: &mut StoreCheck,
        progress: &mut impl FnMut(u64, u64),
    ) -> Result<()> {
        // Each of these indexes holds every message's id apart from the table's
        // own pages; the first that can be read whole gives the list.
        let mut ids = None;
        for sql in [
            "SELECT id FROM messages INDEXED BY messages_thread WHERE id > ?",
            "SELECT id FROM messages INDEXED BY messages_base_subject WHERE id > ?",
        ] {
            if let Ok(found) = sqlx::query_scalar::<_, i64>(sql)
                .bind(after)
                .fetch_all(&mut *conn)
                .await
            {
                ids = Some(found);
                break;
            }
            conn = self.renew(conn).await?;
        }
        let Some(mut ids) = ids else {
            report
                .structure
                .push("no index of the messages can be read: their ids are unknown".into());
            return Ok(());
        };
        ids.sort_unstable();
        for (n, id) in ids.into_iter().enumerate() {
            match sqlx::query("SELECT id, sha256, raw, raw_size FROM messages WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
            {
                Ok(Some(row)) => report.check_row(&row),
                Ok(None) => {}
                Err(_) => {
                    report.unreadable_messages.push(id);
                    report.messages_checked += 1;
                    conn = self.renew(conn).await?;
                }
            }
            if n % 200 == 199 {
                progress(report.messages_checked, total.max(report.messages_checked));
            }
        }
        progress(report.messages_checked, total.max(report.messages_checked));
        Ok(())
    }

    /// Closes a connection that met damage and opens a new one.
    async fn renew(&self, conn: PoolConnection<Sqlite>) -> Result<PoolConnection<Sqlite>> {
        // Closing may fail on the damaged connection; it is gone either way.
        let _ = conn.close().await;
        Ok(self.pool.acquire().await?)
    }
}

impl StoreCheck {
    /// Compares one message's bytes with its stored SHA-256.
    fn check_row(&mut self, row: &sqlx::sqlite::SqliteRow) {
        let Ok(id) = row.try_get::<i64, _>("id") else {
            return;
        };
        let stored: Vec<u8> = row.try_get("sha256").unwrap_or_default();
        let intact = match decompress(id, row) {
            Ok(raw) => Sha256::digest(&raw).as_slice() == stored.as_slice(),
            Err(_) => false,
        };
        if !intact {
            self.damaged_messages.push(id);
        }
        self.ids.push(id);
        self.messages_checked += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use homepost_vault::Purpose;

    use super::*;
    use crate::DB_FILE;
    use crate::tests::{insert_mail, open_store};

    #[tokio::test]
    async fn a_sound_store_is_clean() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        for i in 0..3 {
            insert_mail(&store, &format!("m{i}@x"), &format!("body {i}")).await;
        }
        let mut seen = Vec::new();
        let report = store
            .check(|done, all| seen.push((done, all)))
            .await
            .unwrap();
        assert!(report.is_clean(), "{report:?}");
        assert_eq!(report.messages_checked, 3);
        assert_eq!(seen.last(), Some(&(3, 3)));
        store.close().await;
    }

    #[tokio::test]
    async fn changed_message_bytes_are_named_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        let a = insert_mail(&store, "a@x", "first").await;
        let b = insert_mail(&store, "b@x", "second").await;
        let c = insert_mail(&store, "c@x", "third").await;
        // b: bytes that no longer decompress; c: other bytes that do, but whose
        // SHA-256 is not the stored one.
        sqlx::query("UPDATE messages SET raw = x'00112233' WHERE id = ?")
            .bind(b)
            .execute(&store.pool)
            .await
            .unwrap();
        let other = b"From: x@y\r\n\r\nnot what was stored\r\n";
        sqlx::query("UPDATE messages SET raw = ?, raw_size = ? WHERE id = ?")
            .bind(zstd::bulk::compress(other, 3).unwrap())
            .bind(i64::try_from(other.len()).unwrap())
            .bind(c)
            .execute(&store.pool)
            .await
            .unwrap();
        let report = store.check(|_, _| {}).await.unwrap();
        assert_eq!(report.damaged_messages, vec![b, c], "{report:?}");
        assert!(!report.damaged_messages.contains(&a));
        assert!(report.pages.is_empty() && report.structure.is_empty());
        store.close().await;
    }

    /// One byte changed inside the encrypted file, as a failing SD card does.
    fn flip_byte(path: &Path, at: u64) {
        use std::io::{Read, Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let mut byte = [0u8];
        f.seek(SeekFrom::Start(at)).unwrap();
        f.read_exact(&mut byte).unwrap();
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(&[byte[0] ^ 0x40]).unwrap();
    }

    #[tokio::test]
    async fn messages_on_an_unreadable_page_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let vault = homepost_testing::vault::create(dir.path());
        let db = dir.path().join(DB_FILE);
        let store = Store::open(&db, &vault.subkey(Purpose::Sqlcipher))
            .await
            .unwrap();
        // Bodies that do not compress: about one page each.
        let mut seed = 7u64;
        for i in 0..60 {
            let body: String = (0..3000)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    char::from(b'a' + (seed >> 59) as u8)
                })
                .collect();
            insert_mail(&store, &format!("m{i}@x"), &body).await;
        }
        store.close().await;
        let original = std::fs::read(&db).unwrap();
        let pages = original.len() as u64 / 4096;
        // Pages in turn from the middle (the first ones hold the schema),
        // until one holds a message: then it, and only it, is named.
        let mut found = false;
        for page in pages / 2..pages {
            flip_byte(&db, page * 4096 + 1000);
            // A page of the schema (it grows with every migration) fails
            // the open itself: not the case this test is about.
            let Ok(store) = Store::open(&db, &vault.subkey(Purpose::Sqlcipher)).await else {
                std::fs::write(&db, &original).unwrap();
                continue;
            };
            let report = store.check(|_, _| {}).await.unwrap();
            store.close().await;
            std::fs::write(&db, &original).unwrap();
            assert!(!report.pages.is_empty(), "page {page}: {report:?}");
            let lost = report.unreadable_messages.len() + report.damaged_messages.len();
            if lost == 0 {
                continue;
            }
            assert!(lost <= 3, "page {page}: {report:?}");
            assert_eq!(report.messages_checked, 60, "{report:?}");
            assert_eq!(report.ids.len() + report.unreadable_messages.len(), 60);
            found = true;
            break;
        }
        assert!(found, "no page of the file held a message");
    }

    #[tokio::test]
    async fn a_flipped_bit_on_disk_fails_page_authentication() {
        let dir = tempfile::tempdir().unwrap();
        let vault = homepost_testing::vault::create(dir.path());
        let db = dir.path().join(DB_FILE);
        let store = Store::open(&db, &vault.subkey(Purpose::Sqlcipher))
            .await
            .unwrap();
        for i in 0..40 {
            insert_mail(&store, &format!("m{i}@x"), &"some text ".repeat(200)).await;
        }
        store.close().await;
        let len = std::fs::metadata(&db).unwrap().len();
        // Inside the last page: a message page, not the header the key opens.
        flip_byte(&db, len - 2048);
        let store = Store::open(&db, &vault.subkey(Purpose::Sqlcipher))
            .await
            .unwrap();
        let report = store.check(|_, _| {}).await.unwrap();
        assert!(!report.is_clean(), "{report:?}");
        assert!(!report.pages.is_empty(), "{report:?}");
        store.close().await;
    }
}
