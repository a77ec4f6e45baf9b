//! Mail deleted for good leaves the backup at the next prune (issue 19): the
//! snapshots kept that held it are written again without it, its bytes leave
//! the packs, and every snapshot still restores whole.

mod common;

use common::*;
use homepost_backup::{DirRemote, Options, Retention, VaultAccess, backup, verify};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn a_message_deleted_for_good_is_dropped_from_every_snapshot_kept() {
    let b = new_box().await;
    add_mail(&b.store, 0, 60, "alpha").await;
    add_mail(&b.store, 60, 61, "zanzibarquokka").await;
    let doomed = 61;
    b.store.create_tag("secret").await.unwrap();
    b.store
        .change_tags(&[doomed], &["secret".into()], &[])
        .await
        .unwrap();
    let raw = b.store.raw(doomed).await.unwrap().unwrap();
    let digest = Sha256::digest(&raw).to_vec();
    let folder = tempfile::tempdir().unwrap();
    let mut r = DirRemote::new(folder.path().to_path_buf()).unwrap();
    let access = VaultAccess::new(&b.vault);
    let opts = Options {
        message_limit: 96 << 10,
        ..Options::default()
    };
    let first = backup(&b.store, &access, &mut r, &opts, &mut |_| {})
        .await
        .unwrap();
    let keys = keys_of(&b).await;
    let held = homepost_backup::messages(&mut r, &keys, std::slice::from_ref(&digest))
        .await
        .unwrap();
    assert_eq!(
        held.get(&digest),
        Some(&raw),
        "the backup holds it at first"
    );

    // Deleted for good, then the next backup, whose prune must keep the first
    // snapshot too (here: named, as a retention over days would).
    assert_eq!(
        b.store.delete_messages(&[doomed], &[]).await.unwrap(),
        vec![doomed]
    );
    assert_eq!(
        b.store.backup_forgotten().await.unwrap(),
        vec![digest.clone()]
    );
    let second = backup(&b.store, &access, &mut r, &opts, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(second.messages, 60);
    let keep_all = Retention {
        daily: 30,
        weekly: 0,
        monthly: 0,
    };
    let done = homepost_backup::prune(
        &b.store,
        &keys,
        &mut r,
        &keep_all,
        opts.message_limit,
        Some(&first.snapshot),
    )
    .await
    .unwrap();
    assert_eq!(done.snapshots_rewritten, 1, "{done:?}");
    assert!(b.store.backup_forgotten().await.unwrap().is_empty());

    // Its bytes are in no pack; every snapshot verifies and restores to the
    // box as it is now (the first one without the deleted message and its tag).
    let held = homepost_backup::messages(&mut r, &keys, std::slice::from_ref(&digest))
        .await
        .unwrap();
    assert!(held.is_empty(), "its bytes are still in the backup");
    let report = verify(&mut r, &keys, None, &mut |_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let snaps = homepost_backup::list(&mut r, &keys).await.unwrap();
    assert_eq!(snaps.len(), 2);
    // Still in the order they were taken: the one written again is not the
    // newest, which a restore takes by default.
    assert!(snaps[0].time <= snaps[1].time);
    assert_eq!(snaps[1].name, second.snapshot, "{snaps:?}");
    assert!(snaps.iter().all(|s| s.messages == 60), "{snaps:?}");
    let now = contents(&b.store).await;
    for snap in &snaps {
        let new_box = restore_new(&mut r, Some(&snap.name)).await;
        let restored = &new_box.store;
        assert!(restored.raw(doomed).await.unwrap().is_none());
        let got = contents(restored).await;
        let differ: Vec<&String> = now.keys().filter(|t| got.get(*t) != now.get(*t)).collect();
        assert!(
            differ.is_empty(),
            "snapshot {}: tables differ: {differ:?}",
            snap.name
        );
        new_box.store.close().await;
    }
    // A later prune has nothing to forget and changes nothing of it.
    let again =
        homepost_backup::prune(&b.store, &keys, &mut r, &keep_all, opts.message_limit, None)
            .await
            .unwrap();
    assert_eq!(again.snapshots_rewritten, 0);
    b.store.close().await;
}
