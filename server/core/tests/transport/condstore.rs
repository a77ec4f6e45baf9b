//! CONDSTORE and QRESYNC (RFC 7162) against Dovecot: after the first pass, a
//! pass reads only what changed on the server since the last one (flags, and
//! with QRESYNC the expunged messages), and what changed here, and ends in the
//! same state as a full pass would.

use homepost_store::{DeletePolicy, FLAG_FLAGGED, FLAG_READ};
use homepost_testing::peers::Dovecot;
use homepost_transport::imap::Imap;
use homepost_transport::{FlagSync, MergeReport, Options, Transport};

use crate::common::*;

const MESSAGES: usize = 300;

async fn merged(t: &Transport, account: i64) -> Option<MergeReport> {
    t.status(account)
        .incoming
        .filter(|s| s.state == homepost_transport::SyncState::Idle)
        .and_then(|s| s.last_merge)
}

/// Fetches a folder, changes flags and expunges on the server and flags here
/// while Homepost is stopped, starts it again and checks the first pass: what
/// it read, and that both sides agree.
async fn changes_while_away(flag_sync: FlagSync) {
    let dovecot = Dovecot::start();
    dovecot.deliver_many("alice", &(0..MESSAGES).map(message).collect::<Vec<_>>());
    let (env, id) = Env::with_imap_account(&dovecot, "alice", DeletePolicy::Keep).await;
    let opts = Options {
        flag_sync,
        ..fast()
    };
    let t = env.start(opts.clone()).await;
    wait_for("the folder fetched", 120, || async {
        env.count().await == MESSAGES as i64 && merged(&t, id).await.is_some()
    })
    .await;
    let first = merged(&t, id).await.unwrap();
    assert_eq!(
        (first.method, first.flags_read),
        (FlagSync::Full, MESSAGES as u64),
        "the first merge reads every message's flags"
    );
    t.shutdown().await;
    let modseq = env.store.imap_modseq(id, "INBOX").await.unwrap();
    assert_eq!(modseq.is_some(), flag_sync != FlagSync::Full);

    let copies = inbox_copies(&env, id).await;
    let uid = |i: usize| copies[i].uid.unwrap();
    // Another client: three read, one flagged, two expunged.
    let mut other = other_client(&dovecot, "alice").await;
    other
        .store_flags(&[uid(10), uid(11), uid(12)], FLAG_READ, true)
        .await
        .unwrap();
    other
        .store_flags(&[uid(20)], FLAG_FLAGGED, true)
        .await
        .unwrap();
    other.delete(&[uid(30), uid(31)]).await.unwrap();
    other.logout().await;
    // Here: one flagged, one read.
    env.change_tags(copies[40].message, &["flagged"], &[]).await;
    env.change_tags(copies[41].message, &["read"], &[]).await;

    let t = env.start(opts).await;
    wait_for("a merge after the restart", 60, || async {
        merged(&t, id).await.is_some()
    })
    .await;
    let report = merged(&t, id).await.unwrap();
    t.shutdown().await;
    let expected_read = match flag_sync {
        FlagSync::Full => MESSAGES as u64 - 2,
        _ => 4,
    };
    assert_eq!(
        report,
        MergeReport {
            method: flag_sync,
            flags_read: expected_read,
            expunged: 2,
        },
        "{flag_sync:?}: only what changed is read"
    );

    // Both sides agree, message by message.
    let (exists, server) = server_inbox(&dovecot, "alice").await;
    assert_eq!(exists as usize, MESSAGES - 2);
    let now = inbox_copies(&env, id).await;
    assert_eq!(now.len(), MESSAGES - 2, "the expunged copies are forgotten");
    for c in &now {
        let want = match copies.iter().position(|o| o.key == c.key) {
            Some(10..=12 | 41) => FLAG_READ,
            Some(20 | 40) => FLAG_FLAGGED,
            _ => 0,
        };
        let uid = c.uid.unwrap();
        assert_eq!(server.get(&uid), Some(&want), "server, uid {uid}");
        assert_eq!(c.local, want, "here, uid {uid}");
        assert_eq!(c.synced, want, "agreed, uid {uid}");
    }
    assert!(
        env.store
            .remote_copies_changed(&inbox_at(&env, id).await)
            .await
            .unwrap()
            .is_empty(),
        "nothing left to push"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qresync_reads_only_changed_flags_and_vanished_messages() {
    changes_while_away(FlagSync::Qresync).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn condstore_alone_reads_only_changed_flags() {
    changes_while_away(FlagSync::Condstore).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_passes_still_agree() {
    changes_while_away(FlagSync::Full).await;
}

/// Dovecot's VANISHED (EARLIER) and CHANGEDSINCE answers, read directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_since_a_modseq_from_dovecot() {
    let dovecot = Dovecot::start();
    dovecot.deliver_many("alice", &(0..20).map(message).collect::<Vec<_>>());
    let endpoint = imap_endpoint(&dovecot, "alice", true);
    let mut imap = Imap::connect(&endpoint, "secret", Default::default())
        .await
        .unwrap();
    assert!(imap.has_condstore());
    assert!(imap.enable_qresync().await.unwrap(), "Dovecot has QRESYNC");
    let sel = imap.select("INBOX").await.unwrap();
    let base = sel.highest_modseq.expect("HIGHESTMODSEQ");
    let uids: Vec<u32> = {
        let mut u: Vec<u32> = imap.uids(sel.exists).await.unwrap().into_iter().collect();
        u.sort_unstable();
        u
    };
    let nothing = imap.changes_since(base, sel.exists).await.unwrap();
    assert!(nothing.flags.is_empty());
    assert_eq!(nothing.vanished, Some(Vec::new()));

    imap.store_flags(&uids[2..4], FLAG_READ, true)
        .await
        .unwrap();
    imap.delete(&uids[5..8]).await.unwrap();
    let changes = imap.changes_since(base, sel.exists).await.unwrap();
    let mut changed: Vec<(u32, i64)> = changes.flags.into_iter().collect();
    changed.sort_unstable();
    assert_eq!(changed, [(uids[2], FLAG_READ), (uids[3], FLAG_READ)]);
    let vanished = changes.vanished.unwrap();
    let gone: Vec<u32> = uids
        .iter()
        .copied()
        .filter(|u| vanished.iter().any(|&(a, b)| (a..=b).contains(u)))
        .collect();
    assert_eq!(gone, uids[5..8]);
    imap.logout().await;

    // Without QRESYNC on, the same question has no VANISHED part.
    let mut plain = Imap::connect(&endpoint, "secret", Default::default())
        .await
        .unwrap();
    let sel = plain.select("INBOX").await.unwrap();
    let changes = plain.changes_since(base, sel.exists).await.unwrap();
    assert_eq!(changes.flags.len(), 2);
    assert_eq!(changes.vanished, None);
    plain.logout().await;
}
