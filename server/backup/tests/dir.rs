//! Backups to a directory: the whole cycle without a mail server.

mod common;

use common::*;
use homepost_backup::{
    DirRemote, Error, Options, RecoveryKey, Secret, VaultAccess, backup, list, restore, verify,
};
use homepost_vault::Passphrase;

fn remote(dir: &std::path::Path) -> DirRemote {
    DirRemote::new(dir.to_path_buf()).unwrap()
}

#[tokio::test]
async fn backup_then_restore_gives_back_the_same_store() {
    let b = new_box().await;
    add_mail(&b.store, 0, 40, "alpha").await;
    b.store.create_tag("receipts").await.unwrap();
    b.store
        .change_tags(&[2, 5], &["receipts".into()], &[])
        .await
        .unwrap();
    b.store.set_setting("ui.theme", "dark").await.unwrap();
    let folder = tempfile::tempdir().unwrap();
    let mut r = remote(folder.path());
    let first = back_up(&b, &mut r).await;
    assert_eq!(first.messages, 40);
    assert!(
        first.recovery_key.is_some(),
        "the first backup makes a recovery key"
    );

    let restored = restore_new(&mut r, None).await;
    assert_eq!(restored.summary.snapshot, first.snapshot);
    assert_eq!(restored.summary.messages, 40);
    assert_eq!(contents(&restored.store).await, contents(&b.store).await);
    restored.store.close().await;
    b.store.close().await;
}

#[tokio::test]
async fn a_second_backup_sends_only_what_changed() {
    // The measure: 100 new messages after a first backup, under 2% of
    // what the first one sent (100 of 8,000 messages is 1.25% of the mail).
    let b = new_box().await;
    add_mail(&b.store, 0, 8000, "alpha").await;
    let folder = tempfile::tempdir().unwrap();
    let mut r = remote(folder.path());
    let first = back_up(&b, &mut r).await;
    assert!(first.recovery_key.is_some());
    homepost_backup::recovery_key_shown(&b.store).await.unwrap();
    add_mail(&b.store, 8000, 8100, "beta").await;
    let second = back_up(&b, &mut r).await;
    assert!(second.recovery_key.is_none());
    assert_eq!(second.messages, 8100);
    let ratio = second.sent as f64 / first.sent as f64;
    eprintln!(
        "first: {} bytes; +100 messages: {} bytes ({:.2}%)",
        first.sent,
        second.sent,
        ratio * 100.0
    );
    assert!(
        ratio < 0.02,
        "second backup sent {} of {} bytes",
        second.sent,
        first.sent
    );
    // Nothing changed: only a snapshot (and the pieces around nothing).
    let third = back_up(&b, &mut r).await;
    assert_eq!(third.new_objects, 0);
    let keys = homepost_backup::Keys::from_bytes(&stored_key(&b.store).await);
    assert_eq!(list(&mut r, &keys).await.unwrap().len(), 3);
    b.store.close().await;
}

async fn stored_key(store: &homepost_store::Store) -> [u8; 32] {
    let hex_key = store.setting("backup.key").await.unwrap().unwrap();
    hex::decode(hex_key).unwrap().try_into().unwrap()
}

#[tokio::test]
async fn damage_on_the_server_is_named_and_nothing_wrong_is_restored() {
    let b = new_box().await;
    add_mail(&b.store, 0, 30, "alpha").await;
    let folder = tempfile::tempdir().unwrap();
    let mut r = remote(folder.path());
    back_up(&b, &mut r).await;
    let keys = homepost_backup::Keys::from_bytes(&stored_key(&b.store).await);
    let clean = verify(&mut r, &keys, None, &mut |_, _| {}).await.unwrap();
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    assert!(clean.objects > 30);
    let one = verify(&mut r, &keys, Some(1), &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (one.packs, one.problems.len()),
        (1, 0),
        "{:?}",
        one.problems
    );

    let pack = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("pack.")
        })
        .unwrap();
    let mut bytes = std::fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&pack, &bytes).unwrap();
    let report = verify(&mut r, &keys, None, &mut |_, _| {}).await.unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains("damaged")),
        "{:?}",
        report.problems
    );
    let target = tempfile::tempdir().unwrap();
    let dest = target.path().join("data");
    let err = restore(
        &mut r,
        &Secret::Passphrase(passphrase()),
        &dest,
        None,
        &mut |_, _| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Damaged(_)), "{err}");
    assert!(!dest.exists() && !dest.with_extension("restoring").exists());

    // The next backup sees the pack as it is listed and keeps going; a pack
    // deleted from the server is sent again.
    std::fs::remove_file(&pack).unwrap();
    let again = back_up(&b, &mut r).await;
    assert!(again.new_objects > 0);
    restore(
        &mut r,
        &Secret::Passphrase(passphrase()),
        &dest,
        None,
        &mut |_, _| {},
    )
    .await
    .unwrap();
    b.store.close().await;
}

#[tokio::test]
async fn the_wrong_secret_is_refused_and_the_recovery_key_opens_it() {
    let b = new_box().await;
    add_mail(&b.store, 0, 10, "alpha").await;
    let folder = tempfile::tempdir().unwrap();
    let mut r = remote(folder.path());
    let first = back_up(&b, &mut r).await;
    let shown = first.recovery_key.unwrap().display();
    // Shown again until the user says they have it.
    let pending = homepost_backup::pending_recovery_key(&b.store)
        .await
        .unwrap();
    assert_eq!(pending.unwrap().display(), shown);
    homepost_backup::recovery_key_shown(&b.store).await.unwrap();
    assert!(
        homepost_backup::pending_recovery_key(&b.store)
            .await
            .unwrap()
            .is_none()
    );

    let target = tempfile::tempdir().unwrap();
    let dest = target.path().join("data");
    let wrong = Secret::Passphrase(Passphrase::new("not the passphrase".into()));
    let err = restore(&mut r, &wrong, &dest, None, &mut |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WrongSecret), "{err}");
    assert!(!dest.exists());
    let wrong_key = Secret::Recovery {
        key: RecoveryKey::generate().unwrap(),
        new_passphrase: Passphrase::new("a new passphrase for the box".into()),
    };
    let err = restore(&mut r, &wrong_key, &dest, None, &mut |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WrongSecret), "{err}");
    assert!(!dest.exists());

    let new = Passphrase::new("a new passphrase for the box".into());
    let by_key = Secret::Recovery {
        key: RecoveryKey::parse(&shown).unwrap(),
        new_passphrase: Passphrase::new("a new passphrase for the box".into()),
    };
    restore(&mut r, &by_key, &dest, None, &mut |_, _| {})
        .await
        .unwrap();
    let restored = open_restored(&dest, &new).await;
    assert_eq!(contents(&restored).await, contents(&b.store).await);
    restored.close().await;
    b.store.close().await;
}

#[tokio::test]
async fn a_second_box_cannot_write_into_the_same_folder() {
    let a = new_box().await;
    let b = new_box().await;
    add_mail(&a.store, 0, 5, "alpha").await;
    let folder = tempfile::tempdir().unwrap();
    backup(
        &a.store,
        &VaultAccess::new(&a.vault),
        &mut remote(folder.path()),
        &Options::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    let before: Vec<_> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let err = backup(
        &b.store,
        &VaultAccess::new(&b.vault),
        &mut remote(folder.path()),
        &Options::default(),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Foreign(..)), "{err}");
    let after: Vec<_> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before.len(), after.len(), "the second box wrote nothing");
    assert!(
        b.store.setting("backup.key").await.unwrap().is_none(),
        "nor made a key whose recovery key nobody saw"
    );
    a.store.close().await;
    b.store.close().await;
}

#[tokio::test]
async fn pruning_keeps_what_the_kept_snapshots_need_and_frees_the_rest() {
    let b = new_box().await;
    add_mail(&b.store, 0, 60, "alpha").await;
    let folder = tempfile::tempdir().unwrap();
    let mut r = remote(folder.path());
    let access = VaultAccess::new(&b.vault);
    let opts = Options {
        message_limit: 96 << 10,
        ..Options::default()
    };
    backup(&b.store, &access, &mut r, &opts, &mut |_| {})
        .await
        .unwrap();
    // Changes all over the rows: every message gets a new tag.
    b.store.create_tag("later").await.unwrap();
    let ids: Vec<i64> = (1..=60).collect();
    b.store
        .change_tags(&ids, &["later".into()], &["inbox".into()])
        .await
        .unwrap();
    add_mail(&b.store, 60, 70, "beta").await;
    backup(&b.store, &access, &mut r, &opts, &mut |_| {})
        .await
        .unwrap();
    let keys = keys_of(&b).await;
    assert_eq!(list(&mut r, &keys).await.unwrap().len(), 2);

    let size = |dir: &std::path::Path| -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum()
    };
    let before = size(folder.path());
    let only_newest = homepost_backup::Retention {
        daily: 1,
        weekly: 0,
        monthly: 0,
    };
    let done = homepost_backup::prune(
        &b.store,
        &keys,
        &mut r,
        &only_newest,
        opts.message_limit,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (done.snapshots_deleted, done.snapshots_kept),
        (1, 1),
        "{done:?}"
    );
    assert!(done.packs_deleted + done.packs_rewritten > 0, "{done:?}");
    assert!(size(folder.path()) < before);
    let report = verify(&mut r, &keys, None, &mut |_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.snapshots, 1);

    // A later backup still knows what is there, and the restore is whole.
    let next = backup(&b.store, &access, &mut r, &opts, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(next.new_objects, 0, "nothing changed, nothing sent");
    let new_box = restore_new(&mut r, None).await;
    let restored = &new_box.store;
    assert_eq!(contents(restored).await, contents(&b.store).await);

    // The restored box goes on with the same folder and sends nothing twice.
    let restored_vault = homepost_vault::Vault::unlock(&new_box.dest, &passphrase()).unwrap();
    let again = backup(
        restored,
        &VaultAccess::new(&restored_vault),
        &mut r,
        &opts,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        again.new_objects, 0,
        "the restored box adopted the server's indexes"
    );
    new_box.store.close().await;
    b.store.close().await;
}

#[tokio::test]
async fn a_message_larger_than_a_pack_goes_in_parts_and_comes_back_whole() {
    let b = new_box().await;
    add_mail(&b.store, 0, 5, "alpha").await;
    // About 600 KB that does not compress: more than a pack of this limit.
    let mut x: u64 = 7;
    let noise: String = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{:x}", x % 4096)
        })
        .collect::<Vec<_>>()
        .join(" ");
    let big = format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: big one\r\nMessage-ID: <big@example.org>\r\n\r\n{noise}\r\n"
    );
    let parsed = homepost_mail::parse(big.as_bytes());
    let tags = vec!["inbox".to_string()];
    b.store
        .insert_batch(
            &[homepost_store::NewMessage {
                raw: big.as_bytes(),
                parsed: &parsed,
                tags: &tags,
                origin: "test",
                crypto_pending: false,
                packed: None,
                date: 0,
            }],
            0,
        )
        .await
        .unwrap();
    let folder = tempfile::tempdir().unwrap();
    let mut r = remote(folder.path());
    let access = VaultAccess::new(&b.vault);
    let opts = Options {
        message_limit: 256 << 10,
        ..Options::default()
    };
    backup(&b.store, &access, &mut r, &opts, &mut |_| {})
        .await
        .unwrap();
    for f in std::fs::read_dir(folder.path()).unwrap() {
        let len = f.unwrap().metadata().unwrap().len();
        assert!(len < 256 << 10, "an item of {len} bytes");
    }
    // A second run and a prune that keeps only it: the parts stay with it.
    b.store.set_setting("ui.theme", "dark").await.unwrap();
    backup(&b.store, &access, &mut r, &opts, &mut |_| {})
        .await
        .unwrap();
    let keys = keys_of(&b).await;
    let only_newest = homepost_backup::Retention {
        daily: 1,
        weekly: 0,
        monthly: 0,
    };
    homepost_backup::prune(
        &b.store,
        &keys,
        &mut r,
        &only_newest,
        opts.message_limit,
        None,
    )
    .await
    .unwrap();
    let report = verify(&mut r, &keys, None, &mut |_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let restored = restore_new(&mut r, None).await;
    assert!(contents(&restored.store).await == contents(&b.store).await);
    restored.store.close().await;
    b.store.close().await;
}

#[tokio::test]
async fn a_backup_disk_not_mounted_is_said_and_nothing_goes_onto_the_box() {
    let b = new_box().await;
    add_mail(&b.store, 0, 5, "alpha").await;
    let gone = tempfile::tempdir().unwrap().path().join("not-mounted");
    assert!(
        DirRemote::new(gone).is_err(),
        "a directory that is not there"
    );
    let folder = tempfile::tempdir().unwrap();
    let access = VaultAccess::new(&b.vault);
    backup(
        &b.store,
        &access,
        &mut remote(folder.path()),
        &Options::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    // The disk's mount point, empty: refused, nothing written there.
    let empty = tempfile::tempdir().unwrap();
    let err = backup(
        &b.store,
        &access,
        &mut remote(empty.path()),
        &Options::default(),
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("mounted"), "{err}");
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
    b.store.close().await;
}

#[tokio::test]
async fn pruning_removes_a_pack_no_index_names() {
    let b = new_box().await;
    add_mail(&b.store, 0, 5, "alpha").await;
    let folder = tempfile::tempdir().unwrap();
    let mut r = remote(folder.path());
    back_up(&b, &mut r).await;
    let keys = keys_of(&b).await;
    // What a run that stopped before its index leaves behind.
    let orphan = folder
        .path()
        .join(format!("pack.{}.0000000000000000000000ff", keys.owner()));
    std::fs::write(&orphan, b"HPPACK1\nleft by a run that stopped").unwrap();
    homepost_backup::prune(&b.store, &keys, &mut r, &Default::default(), 10 << 20, None)
        .await
        .unwrap();
    assert!(!orphan.exists());
    let report = verify(&mut r, &keys, None, &mut |_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    b.store.close().await;
}
