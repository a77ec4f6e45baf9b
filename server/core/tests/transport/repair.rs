//! `repair` against a real IMAP server (issue 19): damaged messages are
//! fetched again by UID, by Message-ID when the folder's UIDVALIDITY changed,
//! read back from the backup when the server no longer has them, and kept in
//! quarantine, listed, when neither has them.

use std::path::Path;
use std::sync::Arc;

use homepost_core::backups::{self, BackupSettings, Target};
use homepost_core::library::Library;
use homepost_core::sink::LibrarySink;
use homepost_store::DeletePolicy;
use homepost_testing::peers::Dovecot;
use homepost_testing::vault;
use homepost_transport::Transport;
use homepost_transport::imap::Imap;
use homepost_vault::{Purpose, SecretKey};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::RwLock;

use crate::common::*;

/// Runs SQL on the store with its key, beside the library's own connections:
/// how damage is made.
async fn sql(db: &Path, key: &SecretKey, statement: &str) {
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .connect()
        .await
        .unwrap();
    let keyed = format!("PRAGMA key = \"x'{}'\"", hex::encode(key.expose()));
    sqlx::raw_sql(sqlx::AssertSqlSafe(keyed))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

/// Fetches what is new on the server, then stops fetching.
async fn fetch(library: &Arc<RwLock<Option<Library>>>, store: &homepost_store::Store, n: i64) {
    let t = Transport::start(
        store.clone(),
        Arc::new(LibrarySink::new(library.clone())),
        fast(),
    )
    .await
    .unwrap();
    wait_for("the fetch", 120, || async {
        store.count().await.unwrap() == n
    })
    .await;
    t.shutdown().await;
}

/// Removes the messages with these Message-IDs from alice's INBOX.
async fn expunge(d: &Dovecot, message_ids: &[&str]) {
    let mut imap = Imap::connect(
        &imap_endpoint(d, "alice", true),
        "secret",
        Default::default(),
    )
    .await
    .unwrap();
    imap.select("INBOX").await.unwrap();
    for id in message_ids {
        let uids = imap.uids_with_message_id(id).await.unwrap();
        assert_eq!(uids.len(), 1, "{id}");
        imap.delete(&uids).await.unwrap();
    }
    imap.logout().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_messages_come_back_from_the_server_or_the_backup_or_go_to_quarantine() {
    let dovecot = Dovecot::start();
    dovecot.deliver_many("alice", &(0..6).map(message).collect::<Vec<_>>());
    let dir = tempfile::tempdir().unwrap();
    let vault = vault::create(dir.path());
    let key = vault.subkey(Purpose::Sqlcipher);
    let lib = Library::open(dir.path(), &vault).await.unwrap();
    let store = lib.store().clone();
    let access = lib.backup_access().clone();
    let library = Arc::new(RwLock::new(Some(lib)));
    store
        .add_account(
            &imap_account(&dovecot, "alice", DeletePolicy::Keep),
            &password(),
            0,
        )
        .await
        .unwrap();
    fetch(&library, &store, 6).await;

    // A backup of the six, then a seventh message that only the server has.
    let backup_dir = tempfile::tempdir().unwrap();
    let settings = BackupSettings {
        target: Some(Target::Directory {
            path: backup_dir.path().to_path_buf(),
        }),
        ..BackupSettings::default()
    };
    backups::set_settings(&store, &settings).await.unwrap();
    backups::run(&store, &access, &mut |_| {}).await.unwrap();
    dovecot.deliver("alice", &message(6));
    fetch(&library, &store, 7).await;

    let mut guard = library.write().await;
    let lib = guard.as_mut().unwrap();
    let mut ids = Vec::new();
    let mut originals = Vec::new();
    for n in 0..7 {
        let found = lib
            .search(&format!("zebra{n}quokka"), &Default::default())
            .await
            .unwrap()
            .1;
        let id = found[0].id;
        originals.push(lib.store().raw(id).await.unwrap().unwrap());
        ids.push(id);
    }
    // 1 stays on the server; 4 too, but its folder's UIDVALIDITY is said to
    // have changed, so only its Message-ID finds it; 2 is gone from the
    // server but in the backup; 6 is in neither.
    expunge(&dovecot, &["<m2@example.org>", "<m6@example.org>"]).await;
    let db = dir.path().join("store.db");
    let damaged = [ids[1], ids[2], ids[4], ids[6]];
    let list = damaged.map(|i| i.to_string()).join(",");
    sql(
        &db,
        &key,
        &format!("UPDATE messages SET raw = x'28b52ffd00' WHERE id IN ({list})"),
    )
    .await;
    sql(
        &db,
        &key,
        &format!(
            "UPDATE remote_messages SET uidvalidity = 1 WHERE message = {}",
            ids[4]
        ),
    )
    .await;

    let found = lib.check(|_, _| {}).await.unwrap();
    let mut named = found.store.damaged_messages.clone();
    named.sort_unstable();
    assert_eq!(named, damaged.to_vec(), "{found:?}");

    let mut steps = Vec::new();
    let report = lib
        .repair(Default::default(), |s| steps.push(s.to_owned()))
        .await
        .unwrap();
    let mut refetched = report.refetched.clone();
    refetched.sort_unstable();
    assert_eq!(refetched, vec![ids[1], ids[4]], "{report:?}");
    assert_eq!(report.from_backup, vec![ids[2]], "{report:?}");
    assert_eq!(report.quarantined.len(), 1, "{report:?}");
    assert_eq!(report.quarantined[0].message, ids[6]);
    let reason = &report.quarantined[0].reason;
    assert!(reason.contains("no longer has it"), "{reason}");
    assert!(reason.contains("the backup does not hold it"), "{reason}");
    assert!(report.after.is_clean(), "{:?}", report.after);
    assert_eq!(report.after.quarantined, vec![ids[6]]);
    assert!(steps.iter().any(|s| s.contains("backup")), "{steps:?}");
    for n in [1, 2, 4] {
        assert_eq!(
            lib.store().raw(ids[n]).await.unwrap().unwrap(),
            originals[n]
        );
    }
    // Kept with its metadata: still found by what the index holds of it.
    assert_eq!(lib.count("zebra6quokka").await.unwrap(), 1);

    // The same message back on the server (moved back by another client): the
    // next repair tries the quarantine again, finds it by its Message-ID and
    // takes it out.
    dovecot.deliver("alice", &originals[6]);
    let again = lib.repair(Default::default(), |_| {}).await.unwrap();
    assert_eq!(again.refetched, vec![ids[6]], "{again:?}");
    assert!(again.quarantined.is_empty(), "{again:?}");
    assert_eq!(
        lib.store().raw(ids[6]).await.unwrap().unwrap(),
        originals[6]
    );
    drop(guard);
}
