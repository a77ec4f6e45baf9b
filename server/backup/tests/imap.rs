//! Backups to a folder of a real Dovecot on loopback.

mod common;

use common::*;
use homepost_backup::{ImapRemote, Keys, Options, Secret, backup, list, restore, verify};
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
    let first = backup(&b.store, &b.vault, &mut r, &options, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(first.messages, 3000);
    add_mail(&b.store, 3000, 3030, "Zanzibarquux").await;
    let second = backup(&b.store, &b.vault, &mut r, &options, &mut |_| {})
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
    let report = verify(&mut r, &keys, &mut |_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.snapshots, 2);

    // A new box: only the server, the login and the passphrase.
    let target = tempfile::tempdir().unwrap();
    let dest = target.path().join("data");
    let mut fresh = remote(&d);
    let done = restore(
        &mut fresh,
        &Secret::Passphrase(passphrase()),
        &dest,
        None,
        &mut |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(done.messages, 3030);
    let restored = open_restored(&dest, &passphrase()).await;
    assert_eq!(contents(&restored).await, contents(&b.store).await);
    restored.close().await;
    fresh.close().await;
    r.close().await;
    b.store.close().await;
}
