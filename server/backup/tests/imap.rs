//! Backups to a folder of a real Dovecot on loopback.

mod common;

use common::*;
use homepost_backup::{
    ImapRemote, Keys, Options, Secret, VaultAccess, backup, list, restore, verify,
};
use homepost_store::{Endpoint, Security};
use homepost_testing::peers::{Dovecot, PASSWORD};
use zeroize::Zeroizing;

const FOLDER: &str = "Homepost Backup";

fn remote(d: &Dovecot) -> ImapRemote {
    ImapRemote::new(
        Endpoint {
            host: "127.0.0.1".into(),
            port: d.imaps,
            security: Security::Tls,
            username: "alice".into(),
            pinned_sha256: Some(d.cert_sha256()),
        },
        Zeroizing::new(PASSWORD.into()),
        FOLDER.into(),
    )
}

/// Every file under `dir`.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    homepost_testing::disk::files(dir)
}

#[tokio::test]
async fn a_backup_in_dovecot_restores_and_the_server_sees_no_plaintext() {
    let d = Dovecot::start();
    let b = new_box().await;
    add_mail(&b.store, 0, 3000, "Zanzibarquux").await;
    b.store
        .set_setting("ui.theme", "Quillfeatherstone")
        .await
        .unwrap();
    // A stranger's message in the folder is left alone.
    d.deliver("alice", b"Subject: not a backup\r\n\r\nhello\r\n");
    let mut r = remote(&d);
    let options = Options {
        message_limit: 1 << 20,
        ..Options::default()
    };
    let first = backup(
        &b.store,
        &VaultAccess::new(&b.vault),
        &mut r,
        &options,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(first.messages, 3000);
    add_mail(&b.store, 3000, 3030, "Zanzibarquux").await;
    let second = backup(
        &b.store,
        &VaultAccess::new(&b.vault),
        &mut r,
        &options,
        &mut |_| {},
    )
    .await
    .unwrap();
    // 30 new messages of 3,030 (1%): the second run sends about that, not more
    // than twice as much.
    let ratio = second.sent as f64 / first.sent as f64;
    eprintln!(
        "first run: {} messages, {} bytes sent; second (+30): {} bytes, {} objects ({:.2}%)",
        first.messages,
        first.sent,
        second.sent,
        second.new_objects,
        ratio * 100.0
    );
    assert!(
        ratio < 0.02,
        "second run sent {} of {} bytes",
        second.sent,
        first.sent
    );

    // The server holds nothing readable: no subject, address, body or setting.
    let maildir = d.maildir("alice");
    let all = files(&maildir);
    assert!(all.len() > 5, "{all:?}");
    for needle in [
        "Zanzibarquux",
        "alice@example.org",
        "Quillfeatherstone",
        "Alice Example",
    ] {
        let found = homepost_testing::disk::file_containing(&maildir, needle.as_bytes());
        assert!(found.is_none(), "{needle} in {found:?}");
    }
    // Every message is at most the size limit.
    for f in &all {
        if f.to_string_lossy().contains("Backup") {
            let len = std::fs::metadata(f).unwrap().len();
            assert!(len <= 1 << 20, "{} is {len} bytes", f.display());
        }
    }

    let hex_key = b.store.setting("backup.key").await.unwrap().unwrap();
    let keys = Keys::from_bytes(&hex::decode(hex_key).unwrap().try_into().unwrap());
    assert_eq!(list(&mut r, &keys).await.unwrap().len(), 2);
    let report = verify(&mut r, &keys, None, &mut |_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.snapshots, 2);

    // A new box: only the server, the login and the passphrase.
    let mut fresh = remote(&d);
    let restored = restore_new(&mut fresh, None).await;
    assert_eq!(restored.summary.messages, 3030);
    assert_eq!(contents(&restored.store).await, contents(&b.store).await);
    restored.store.close().await;
    fresh.close().await;
    r.close().await;
    b.store.close().await;
}

/// Waits until the folder holds at least `n` items (the run is well under way).
fn wait_for_items(d: &Dovecot, n: usize) {
    let folder = d.maildir("alice").join(".Homepost Backup");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let count = ["cur", "new"]
            .iter()
            .filter_map(|s| std::fs::read_dir(folder.join(s)).ok())
            .map(Iterator::count)
            .sum::<usize>();
        if count >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {count} items arrived"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_dying_mid_backup_or_mid_restore_loses_nothing() {
    let mut d = Dovecot::start();
    let b = new_box().await;
    add_mail(&b.store, 0, 3000, "Zanzibarquux").await;
    let options = Options {
        message_limit: 256 << 10,
        ..Options::default()
    };

    // Killed mid-backup, and not back: the run fails, saying why, and lists
    // nothing.
    let (store, access, opts) = (b.store.clone(), VaultAccess::new(&b.vault), options.clone());
    let mut r = remote(&d);
    let run = tokio::spawn(async move {
        let out = backup(&store, &access, &mut r, &opts, &mut |_| {}).await;
        r.close().await;
        out
    });
    wait_for_items(&d, 4);
    d.kill();
    let err = run.await.unwrap().unwrap_err();
    let text = err.to_string();
    assert!(text.contains("backup server"), "{text}");
    d.restart();
    let keys = keys_of(&b).await;
    let mut r = remote(&d);
    assert!(
        list(&mut r, &keys).await.unwrap().is_empty(),
        "no snapshot from the failed run"
    );

    // Killed and back at once: the run goes on over a new connection.
    let (store, access, opts) = (b.store.clone(), VaultAccess::new(&b.vault), options.clone());
    let mut r2 = remote(&d);
    let run = tokio::spawn(async move {
        let out = backup(&store, &access, &mut r2, &opts, &mut |_| {}).await;
        r2.close().await;
        out
    });
    wait_for_items(&d, 12);
    d.kill();
    d.restart();
    let done = run.await.unwrap().unwrap();
    assert_eq!(done.messages, 3000);
    let report = verify(&mut r, &keys, None, &mut |_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.snapshots, 1);

    // The same during a restore.
    let target = tempfile::tempdir().unwrap();
    let dest = target.path().join("data");
    let mut r3 = remote(&d);
    let to = dest.clone();
    let restoring = tokio::spawn(async move {
        let out = restore(
            &mut r3,
            &Secret::Passphrase(passphrase()),
            &to,
            None,
            &mut |_, _| {},
        )
        .await;
        r3.close().await;
        out
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    d.kill();
    d.restart();
    let done = restoring.await.unwrap().unwrap();
    assert_eq!(done.messages, 3000);
    let restored = open_restored(&dest, &passphrase()).await;
    assert_eq!(contents(&restored).await, contents(&b.store).await);
    restored.close().await;
    r.close().await;
    b.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_account_or_a_size_limit_is_said_plainly_and_loses_nothing() {
    let mut d = Dovecot::start_limited(Some("2M"), Some("300k"));
    let b = new_box().await;
    add_mail(&b.store, 0, 3000, "Zanzibarquux").await;
    let access = VaultAccess::new(&b.vault);
    // Everything but the settings (where the first run keeps its new key).
    let mail_state = |mut c: std::collections::BTreeMap<String, _>| {
        c.remove("settings");
        c
    };
    let before = mail_state(contents(&b.store).await);

    // Messages bigger than the server takes.
    let big = Options {
        message_limit: 1 << 20,
        ..Options::default()
    };
    let mut r = remote(&d);
    let err = backup(&b.store, &access, &mut r, &big, &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, homepost_backup::Error::TooLarge(_)), "{err}");
    assert!(err.to_string().contains("message size limit"), "{err}");

    // Small enough, but more than the quota.
    let small = Options {
        message_limit: 256 << 10,
        ..Options::default()
    };
    let err = backup(&b.store, &access, &mut r, &small, &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, homepost_backup::Error::ServerFull(_)),
        "{err}"
    );
    assert!(err.to_string().contains("is full"), "{err}");
    let keys = keys_of(&b).await;
    assert!(
        list(&mut r, &keys).await.unwrap().is_empty(),
        "nothing half-written is listed"
    );
    r.close().await;
    assert!(
        mail_state(contents(&b.store).await) == before,
        "the box lost nothing"
    );

    // More room: the next run completes (what arrived before is not sent again).
    d.set_limits(Some("64M"), Some("300k"));
    d.restart();
    let mut r = remote(&d);
    let done = backup(&b.store, &access, &mut r, &small, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(done.messages, 3000);
    let report = verify(&mut r, &keys, None, &mut |_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    r.close().await;
    b.store.close().await;
}
