//! Migration tests: the schema every store ends at, and upgrades that keep the data.

use homepost_mail::parse;
use homepost_testing::vault;
use homepost_vault::Purpose;
use sqlx::{AssertSqlSafe, SqlitePool};

use crate::tests::open_store;
use crate::{AccountConfig, DB_FILE, DraftContent, NewOutgoing, PeerRow, RemoteId, Secrets, Store};

/// The tables migration 0008 rebuilt as STRICT (made by 0005-0007).
const REBUILT: &[&str] = &[
    "accounts",
    "imap_folders",
    "remote_messages",
    "outbox",
    "drafts",
    "draft_attachments",
    "identity_keys",
    "peers",
    "message_crypto",
];

/// `(name, strict)` of every ordinary table of the store (not SQLite's own).
async fn tables(pool: &SqlitePool) -> Vec<(String, bool)> {
    sqlx::query_as(
        "SELECT name, strict FROM pragma_table_list
         WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
         ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_table_is_strict() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let tables = tables(&store.pool).await;
    for name in REBUILT.iter().chain(&["messages", "spam_tokens"]) {
        assert!(tables.iter().any(|(t, _)| t == name), "{name} is missing");
    }
    let loose: Vec<&String> = tables.iter().filter(|(_, s)| !s).map(|(t, _)| t).collect();
    assert!(loose.is_empty(), "not STRICT: {loose:?}");
    store.close().await;
}

/// What a table is, apart from STRICT: its SQL (without quotes, whitespace and the
/// STRICT keyword: a rebuilt table is written differently), whether it has a
/// rowid, its columns, foreign keys and indexes.
async fn shape(pool: &SqlitePool, table: &str) -> Vec<String> {
    let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_schema WHERE name = ?")
        .bind(table)
        .fetch_one(pool)
        .await
        .unwrap();
    let sql: String = sql
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '"')
        .collect();
    let mut shape = vec![sql.replace("STRICT,", "").replace(")STRICT", ")")];
    for query in [
        "SELECT 'wr ' || wr FROM pragma_table_list(?1)",
        "SELECT concat_ws(' ', 'column', cid, name, type, \"notnull\", quote(dflt_value), pk, hidden)
         FROM pragma_table_xinfo(?1) ORDER BY cid",
        "SELECT concat_ws(' ', 'fk', id, seq, \"table\", \"from\", \"to\", on_update, on_delete, \"match\")
         FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
        "SELECT concat_ws(' ', 'index', i.name, i.\"unique\", i.origin, i.partial, c.seqno, c.cid,
                          c.name, c.\"desc\", c.coll, c.key, s.sql)
         FROM pragma_index_list(?1) AS i JOIN pragma_index_xinfo(i.name) AS c
         LEFT JOIN sqlite_schema AS s ON s.name = i.name ORDER BY i.name, c.seqno",
    ] {
        shape.extend(
            sqlx::query_scalar::<_, String>(query)
                .bind(table)
                .fetch_all(pool)
                .await
                .unwrap(),
        );
    }
    shape
}

/// Every row of `table`, each column as `quote()` shows it (so its type too), sorted.
async fn rows(pool: &SqlitePool, table: &str) -> Vec<String> {
    let columns: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_xinfo(?) ORDER BY cid")
            .bind(table)
            .fetch_all(pool)
            .await
            .unwrap();
    let row = columns
        .iter()
        .map(|c| format!("quote(\"{c}\")"))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT {row} FROM \"{table}\" ORDER BY 1"
    )))
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Everything about the rebuilt tables that must survive the rebuild.
#[derive(Debug, PartialEq)]
struct Snapshot {
    shapes: Vec<Vec<String>>,
    rows: Vec<Vec<String>>,
    sequences: Vec<(String, i64)>,
}

async fn snapshot(pool: &SqlitePool) -> Snapshot {
    let mut s = Snapshot {
        shapes: Vec::new(),
        rows: Vec::new(),
        sequences: sqlx::query_as("SELECT name, seq FROM sqlite_sequence ORDER BY name")
            .fetch_all(pool)
            .await
            .unwrap(),
    };
    for table in REBUILT {
        s.shapes.push(shape(pool, table).await);
        s.rows.push(rows(pool, table).await);
    }
    s
}

async fn scalar(pool: &SqlitePool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Stores a message in an old schema's `messages` row, with the columns every
/// version has (this build's `insert_batch` writes tables of later ones).
async fn insert(store: &Store, raw: &[u8]) -> i64 {
    use sha2::Digest;
    let parsed = parse(raw);
    sqlx::query_scalar(
        "INSERT INTO messages (sha256, raw, raw_size, message_id, subject, date, imported_at)
         VALUES (?, ?, ?, ?, ?, ?, 0) RETURNING id",
    )
    .bind(&sha2::Sha256::digest(raw)[..])
    .bind(zstd::bulk::compress(raw, 3).unwrap())
    .bind(raw.len() as i64)
    .bind(parsed.message_id.as_deref())
    .bind(parsed.subject.as_deref().unwrap_or(""))
    .bind(parsed.date.unwrap_or(0))
    .fetch_one(&store.pool)
    .await
    .unwrap()
}

/// Migration 0019 (schema version 18: there is no 0011) moves the index queue out of `messages`: what was waiting
/// still waits, at its version, and what was indexed does not.
#[tokio::test]
async fn the_index_queue_keeps_what_was_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let key = vault::create(dir.path()).subkey(Purpose::Sqlcipher);
    let path = dir.path().join(DB_FILE);
    let before = super::MIGRATIONS
        .iter()
        .position(|sql| sql.contains("CREATE TABLE index_queue"))
        .unwrap() as i64;
    let old = Store::open_at(&path, &key, before).await.unwrap();
    let indexed = insert(&old, b"Message-ID: <a@x>\r\n\r\na\r\n").await;
    let waiting = insert(&old, b"Message-ID: <b@x>\r\n\r\nb\r\n").await;
    sqlx::query("UPDATE messages SET indexed = 1 WHERE id = ?; UPDATE messages SET version = 3 WHERE id = ?")
        .bind(indexed)
        .bind(waiting)
        .execute(&old.pool)
        .await
        .unwrap();
    old.close().await;

    let store = Store::open(&path, &key).await.unwrap();
    assert_eq!(store.pending_ids(0, 10).await.unwrap(), vec![waiting]);
    let source = store.index_source(waiting).await.unwrap().unwrap();
    assert_eq!(source.version, 3);
    assert_eq!(source.raw, b"Message-ID: <b@x>\r\n\r\nb\r\n");
    // Marked at an older version, it stays; at its own, it goes.
    store.mark_indexed(&[(waiting, 2)]).await.unwrap();
    assert_eq!(store.pending_count().await.unwrap(), 1);
    store.mark_indexed(&[(waiting, 3)]).await.unwrap();
    assert_eq!(store.pending_count().await.unwrap(), 0);
    // Deleting a queued message takes it off the queue.
    store.mark_all_unindexed().await.unwrap();
    assert_eq!(
        store.pending_ids(0, 10).await.unwrap(),
        vec![indexed, waiting]
    );
    sqlx::query("DELETE FROM messages WHERE id = ?")
        .bind(indexed)
        .execute(&store.pool)
        .await
        .unwrap();
    assert_eq!(store.pending_ids(0, 10).await.unwrap(), vec![waiting]);

    // A row made again after its deletion never takes a version given before:
    // an index batch still holding an old mark cannot take it off the queue.
    let queued = store.index_source(waiting).await.unwrap().unwrap().version;
    assert!(queued > 3, "version {queued} given before");
    store.mark_indexed(&[(waiting, queued)]).await.unwrap();
    assert_eq!(store.pending_count().await.unwrap(), 0);
    store.mark_unindexed(waiting).await.unwrap();
    let again = store.index_source(waiting).await.unwrap().unwrap().version;
    assert!(again > queued, "version {again} given before");
    store
        .mark_indexed(&[(waiting, 0), (waiting, 3), (waiting, queued)])
        .await
        .unwrap();
    assert_eq!(store.pending_ids(0, 10).await.unwrap(), vec![waiting]);
    store.mark_indexed(&[(waiting, again)]).await.unwrap();
    // Not queued: its version is one no mark matches.
    assert_eq!(
        store.index_source(waiting).await.unwrap().unwrap().version,
        -1
    );
}

fn account(name: &str) -> AccountConfig {
    AccountConfig {
        name: name.into(),
        email: format!("{name}@example.org"),
        display_name: name.into(),
        incoming: None,
        outgoing: None,
    }
}

fn outgoing(account: i64) -> NewOutgoing<'static> {
    NewOutgoing {
        account,
        raw: b"Subject: hi\r\n\r\nhello\r\n",
        mail_from: "alice@example.org",
        rcpt_to: &[],
        subject: "hi",
        sent_folder: Some("Sent"),
    }
}

fn remote(account: i64) -> RemoteId {
    RemoteId {
        account,
        folder: "INBOX".into(),
        uidvalidity: 7,
    }
}

/// A store made and filled at schema 7, with rows in every table 0008 rebuilds
/// (children of both accounts and drafts, ids freed by deletes), keeps every row,
/// index and constraint when opened by this build, and its foreign keys still
/// cascade and refuse as before.
#[tokio::test]
async fn strict_upgrade_keeps_rows_keys_and_cascades() {
    let dir = tempfile::tempdir().unwrap();
    let key = vault::create(dir.path()).subkey(Purpose::Sqlcipher);
    let path = dir.path().join(DB_FILE);

    let old = Store::open_at(&path, &key, 7).await.unwrap();
    let version: i64 = scalar(&old.pool, "PRAGMA user_version").await;
    assert_eq!(version, 7);
    let m1 = insert(&old, b"Message-ID: <m1@x>\r\nSubject: one\r\n\r\none\r\n").await;
    let m2 = insert(&old, b"Message-ID: <m2@x>\r\nSubject: two\r\n\r\ntwo\r\n").await;
    let secrets = Secrets {
        incoming: Some("imap password".into()),
        outgoing: None,
    };
    let alice = old
        .add_account(&account("alice"), &secrets, 5)
        .await
        .unwrap();
    let bob = old
        .add_account(&account("bob"), &Secrets::default(), 6)
        .await
        .unwrap();
    // Written as schema 7 has them (this build's statements name later columns).
    for (acc, m, uid) in [(alice, m1, 42), (bob, m2, 5)] {
        sqlx::query(
            "INSERT INTO imap_folders (account, folder, uidvalidity, last_uid) VALUES (?, 'INBOX', 7, ?);
             INSERT INTO remote_messages (account, folder, uidvalidity, remote_key, uid, message, flags, fetched_at)
                 VALUES (?1, 'INBOX', 7, ?2, ?2, ?3, 1, 100)",
        )
        .bind(acc)
        .bind(uid)
        .bind(m)
        .execute(&old.pool)
        .await
        .unwrap();
    }
    // Message 1 is read: migration 0018 gives its copy the local read bit.
    sqlx::query(
        "INSERT OR IGNORE INTO tags (name) VALUES ('read');
         INSERT INTO message_tags (message, tag) SELECT ?, id FROM tags WHERE name = 'read'",
    )
    .bind(m1)
    .execute(&old.pool)
    .await
    .unwrap();
    let sent = old
        .queue_outgoing(&outgoing(alice), 10, 3600, None)
        .await
        .unwrap();
    old.mark_sent(sent, 11).await.unwrap();
    old.set_sent_copy(sent, m1).await.unwrap();
    old.queue_outgoing(&outgoing(bob), 12, 3600, None)
        .await
        .unwrap();
    let gone = old
        .queue_outgoing(&outgoing(bob), 13, 3600, None)
        .await
        .unwrap();
    sqlx::query("DELETE FROM outbox WHERE id = ?")
        .bind(gone)
        .execute(&old.pool)
        .await
        .unwrap();
    let content = DraftContent {
        subject: "draft".into(),
        ..Default::default()
    };
    let d1 = old.create_draft(&content, 20).await.unwrap();
    let d2 = old.create_draft(&content, 21).await.unwrap();
    let d3 = old.create_draft(&content, 22).await.unwrap();
    assert!(old.delete_draft(d3).await.unwrap());
    for (d, data) in [(d1, &b"first"[..]), (d1, b"second"), (d2, b"third")] {
        assert!(
            old.add_draft_attachment(d, "a.txt", "text/plain", data, 23)
                .await
                .unwrap()
        );
    }
    old.add_identity_key("AAAA", "alice@example.org", b"secret", 30)
        .await
        .unwrap();
    let peer = PeerRow {
        address: "bob@example.org".into(),
        last_seen: Some(40),
        autocrypt_timestamp: Some(40),
        public_key: Some(vec![1, 2, 3]),
        prefer_encrypt: 1,
        gossip_key: Some(vec![4]),
        gossip_timestamp: Some(39),
        pinned_fingerprint: Some("BBBB".into()),
        pinned_key: Some(vec![1, 2, 3]),
        pinned_source: Some("autocrypt".into()),
        changed_fingerprint: Some("CCCC".into()),
        changed_at: Some(41),
        signed_count: 2,
        encrypted_count: 3,
        autocrypt_count: 4,
        discovered_key: Some(vec![5]),
        discovered_source: Some("wkd-advanced".into()),
        discovered_at: Some(42),
        announced_url: Some("https://example.org/key".into()),
        announced_id: Some("BBBB".into()),
    };
    old.save_peer(&peer).await.unwrap();
    // Written as version 7 did (set_message_crypto also clears crypto_pending,
    // a table of version 9).
    sqlx::query("INSERT INTO message_crypto (message, outcome, decrypted) VALUES (?, ?, ?)")
        .bind(m2)
        .bind("{\"encrypted\":true}")
        .bind(&b"plain"[..])
        .execute(&old.pool)
        .await
        .unwrap();
    let before = snapshot(&old.pool).await;
    for (table, rows) in REBUILT.iter().zip(&before.rows) {
        assert!(!rows.is_empty(), "no rows in {table} to migrate");
    }
    let loose = tables(&old.pool).await;
    for table in REBUILT {
        assert!(
            loose.contains(&(table.to_string(), false)),
            "{table} already STRICT"
        );
    }
    old.close().await;

    // Just past the rebuild: the same tables, rows and indexes, now STRICT.
    let rebuilt = Store::open_at(&path, &key, 8).await.unwrap();
    let after = snapshot(&rebuilt.pool).await;
    assert_eq!(after, before, "a rebuilt table changed");
    let strict: Vec<(String, bool)> = tables(&rebuilt.pool).await;
    for table in REBUILT {
        assert!(
            strict.contains(&(table.to_string(), true)),
            "{table} not STRICT"
        );
    }
    rebuilt.close().await;

    let store = Store::open(&path, &key).await.unwrap();
    let pool = &store.pool;
    assert_eq!(scalar(pool, "PRAGMA user_version").await, super::LATEST);
    let leftovers = scalar(
        pool,
        "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%new\\_%' ESCAPE '\\'",
    )
    .await;
    assert_eq!(leftovers, 0, "a new_ name outlived the rebuild");
    let violations: Vec<(String, i64)> =
        sqlx::query_as("SELECT \"table\", rowid FROM pragma_foreign_key_check")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(violations, []);

    // The data reads back through the store as it was written.
    assert_eq!(
        store.account(alice).await.unwrap().unwrap().config,
        account("alice")
    );
    let stored = store.account_secrets(alice).await.unwrap().unwrap();
    assert_eq!(stored.incoming.as_deref(), Some("imap password"));
    assert_eq!(
        store.imap_folder(alice, "INBOX").await.unwrap(),
        Some((7, 42))
    );
    assert_eq!(
        store.remote_copies(&remote(bob)).await.unwrap()[0].message,
        m2
    );
    let alices = store.remote_copies(&remote(alice)).await.unwrap();
    assert_eq!((alices[0].local, alices[0].synced), (crate::FLAG_READ, 1));
    assert_eq!(store.remote_copies(&remote(bob)).await.unwrap()[0].local, 0);
    assert_eq!(
        store.outbox_item(sent).await.unwrap().unwrap().message_id,
        Some(m1)
    );
    let attachments = store.draft_attachment_data(d1).await.unwrap();
    assert_eq!(attachments[1].2, b"second");
    assert_eq!(store.peer("bob@example.org").await.unwrap(), Some(peer));
    let active = store
        .active_identity_key("alice@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&active.secret[..], b"secret");
    let (_, decrypted) = store.message_crypto(m2).await.unwrap().unwrap();
    assert_eq!(decrypted.as_deref(), Some(&b"plain"[..]));

    // AUTOINCREMENT still never gives a deleted row's id again.
    assert_eq!(store.create_draft(&content, 50).await.unwrap(), d3 + 1);
    let next = store
        .queue_outgoing(&outgoing(bob), 50, 3600, None)
        .await
        .unwrap();
    assert_eq!(next, gone + 1);

    // Deleting a parent still takes its children, and only its own.
    assert!(store.delete_account(alice).await.unwrap());
    assert_eq!(store.imap_folder(alice, "INBOX").await.unwrap(), None);
    assert!(
        store
            .remote_copies(&remote(alice))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.imap_folder(bob, "INBOX").await.unwrap(), Some((7, 5)));
    assert_eq!(store.remote_copies(&remote(bob)).await.unwrap().len(), 1);
    assert!(
        store.outbox_item(sent).await.unwrap().is_some(),
        "outbox.account has no foreign key"
    );
    assert!(store.delete_draft(d1).await.unwrap());
    assert_eq!(
        scalar(pool, "SELECT count(*) FROM draft_attachments").await,
        1
    );

    // And references to missing rows are still refused.
    assert!(store.set_imap_folder(alice, "INBOX", 1, 1).await.is_err());
    let unknown_message = [("9".to_string(), Some(9), 999, 0)];
    let missing = store.record_remote(&remote(bob), &unknown_message, 1).await;
    assert!(missing.is_err());
    assert!(
        store
            .add_draft_attachment(d1, "x", "text/plain", b"x", 1)
            .await
            .is_ok_and(|added| !added)
    );
    assert!(
        store
            .set_message_crypto(999, "{}", None, None)
            .await
            .is_err()
    );
    store.close().await;
}
