//! IMAP: fetching, IDLE, flags both ways, delete policies, errors shown then fixed, a server killed mid-fetch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use homepost_core::sink::LibrarySink;
use homepost_mail::RawMessage;
use homepost_store::{DeletePolicy, FLAG_FLAGGED, FLAG_READ, Secrets, Side};
use homepost_testing::peers::Dovecot;
use homepost_transport::{
    BoxFuture, FlagChange, Options, Prepared, Sink, SinkError, SyncState, Transport,
};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_fetches_a_thousand_then_idle_brings_new_mail_and_a_restart_adds_nothing() {
    let dovecot = Dovecot::start();
    let mails: Vec<Vec<u8>> = (0..1000).map(message).collect();
    dovecot.deliver_many("alice", &mails);
    let (env, id) = Env::with_imap_account(&dovecot, "alice", DeletePolicy::Keep).await;
    let t = env.start(fast()).await;
    let started = Instant::now();
    wait_for("1000 messages", 300, || async {
        env.count().await == 1000 && idle_status(&t, id).await
    })
    .await;
    eprintln!(
        "fetched 1000 messages over IMAPS in {:?}",
        started.elapsed()
    );
    // Fetched mail went through the pipeline: tagged inbox, searchable.
    {
        let mut g = env.library.write().await;
        let lib = g.as_mut().unwrap();
        assert_eq!(lib.count("tag:inbox").await.unwrap(), 1000);
        assert_eq!(lib.count("zebra77quokka").await.unwrap(), 1);
    }
    // IDLE: new mail arrives although the poll interval is an hour.
    dovecot.deliver("alice", &message(1000));
    let started = Instant::now();
    wait_for("the IDLE delivery", 60, || async {
        env.count().await == 1001
    })
    .await;
    // Stored first; searchable once the pass ends (the index commits then).
    wait_for("the IDLE delivery searchable", 30, || async {
        let mut g = env.library.write().await;
        g.as_mut().unwrap().count("zebra1000quokka").await.unwrap() == 1
    })
    .await;
    eprintln!("IDLE delivery visible after {:?}", started.elapsed());
    assert!(t.mail_seq() > 0);
    t.shutdown().await;
    drop(t);
    // A restart resumes from the recorded UIDs: nothing fetched twice.
    let t = env.start(fast()).await;
    wait_for("the resync", 60, || idle_status(&t, id)).await;
    assert_eq!(env.count().await, 1001);
    assert_eq!(inbox_copies(&env, id).await.len(), 1001);
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_and_flagged_sync_both_ways() {
    let dovecot = Dovecot::start();
    dovecot.deliver_many("alice", &(0..3).map(message).collect::<Vec<_>>());
    let (env, id) = Env::with_imap_account(&dovecot, "alice", DeletePolicy::Keep).await;
    let t = env.start(fast()).await;
    wait_for("3 messages", 60, || async {
        env.count().await == 3 && idle_status(&t, id).await
    })
    .await;
    let copies = inbox_copies(&env, id).await;
    let (uid1, msg1) = (copies[0].uid.unwrap(), copies[0].message);
    let (uid2, msg2) = (copies[1].uid.unwrap(), copies[1].message);

    // Here -> there: read locally, \Seen on the server.
    env.change_tags(msg1, &["read"], &[]).await;
    t.local_change();
    wait_for("\\Seen on the server", 30, || async {
        server_inbox(&dovecot, "alice").await.1.get(&uid1) == Some(&FLAG_READ)
    })
    .await;

    // There -> here: another client flags message 2 and marks 1 unread.
    let mut other = other_client(&dovecot, "alice").await;
    other
        .store_flags(&[uid2], FLAG_FLAGGED, true)
        .await
        .unwrap();
    other.store_flags(&[uid1], FLAG_READ, false).await.unwrap();
    other.logout().await;
    let tags_of = |m: i64| {
        let store = env.store.clone();
        async move { store.tags_of(m).await.unwrap() }
    };
    wait_for("the server's flags here", 30, || async {
        tags_of(msg2).await.contains(&"flagged".to_owned())
            && !tags_of(msg1).await.contains(&"read".to_owned())
    })
    .await;
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_delete_policy_over_imap() {
    let dovecot = Dovecot::start();
    dovecot.deliver_many("alice", &(0..4).map(message).collect::<Vec<_>>());
    dovecot.deliver_many("bob", &(10..14).map(message).collect::<Vec<_>>());
    let env = Env::new().await;
    // alice: delete once stored; bob: keep, then delete after 0 days (at once).
    let alice = add(
        &env,
        &imap_account(&dovecot, "alice", DeletePolicy::DeleteWhenStored),
        &password(),
    )
    .await;
    let bob_config = imap_account(&dovecot, "bob", DeletePolicy::Keep);
    let bob = add(&env, &bob_config, &password()).await;
    let t = env.start(fast()).await;
    wait_for("both accounts", 60, || async {
        env.count().await == 8 && idle_status(&t, alice).await && idle_status(&t, bob).await
    })
    .await;
    assert_eq!(
        server_inbox(&dovecot, "alice").await.0,
        0,
        "delete when stored"
    );
    assert_eq!(server_inbox(&dovecot, "bob").await.0, 4, "keep");
    let mut config = bob_config.clone();
    if let Some(i) = config.incoming.as_mut() {
        i.policy = DeletePolicy::DeleteAfter { days: 0 };
    }
    env.store
        .update_account(bob, &config, &Secrets::default())
        .await
        .unwrap();
    t.reload(bob).await;
    wait_for("bob's expired mail deleted", 60, || async {
        server_inbox(&dovecot, "bob").await.0 == 0
    })
    .await;
    assert_eq!(env.count().await, 8, "the store keeps everything");
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_untrusted_certificate_are_shown_then_fixed() {
    let dovecot = Dovecot::start();
    dovecot.deliver("alice", &message(1));
    let env = Env::new().await;
    let mut config = imap_account(&dovecot, "alice", DeletePolicy::Keep);
    // No pin: the self-signed certificate is refused and offered for trust.
    if let Some(i) = config.incoming.as_mut() {
        i.endpoint.pinned_sha256 = None;
    }
    let id = add(&env, &config, &password()).await;
    let t = env.start(fast()).await;
    let mut offered = None;
    wait_for("the certificate error", 30, || {
        let s = t.status(id).incoming;
        offered = s
            .as_ref()
            .and_then(|s| s.error.as_ref())
            .filter(|e| e.code == "untrusted_certificate")
            .and_then(|e| e.fingerprint.clone());
        std::future::ready(offered.is_some())
    })
    .await;
    assert_eq!(offered.as_deref(), Some(dovecot.cert_sha256().as_str()));
    assert_eq!(env.count().await, 0);
    env.store
        .pin_certificate(id, Side::Incoming, &dovecot.cert_sha256())
        .await
        .unwrap();
    // And a wrong password.
    let wrong = Secrets {
        incoming: Some("not the password".into()),
        outgoing: None,
    };
    env.store
        .update_account(
            id,
            &env.store.account(id).await.unwrap().unwrap().config,
            &wrong,
        )
        .await
        .unwrap();
    t.reload(id).await;
    wait_for("the login error", 30, || {
        let s = t.status(id).incoming;
        std::future::ready(
            s.and_then(|s| s.error)
                .is_some_and(|e| e.code == "auth_failed"),
        )
    })
    .await;
    assert_eq!(env.count().await, 0);
    env.store
        .update_account(
            id,
            &env.store.account(id).await.unwrap().unwrap().config,
            &password(),
        )
        .await
        .unwrap();
    t.reload(id).await;
    wait_for("the fetch", 30, || async { env.count().await == 1 }).await;
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_server_killed_mid_fetch_loses_and_duplicates_nothing() {
    let mut dovecot = Dovecot::start();
    let mails: Vec<Vec<u8>> = (0..1000).map(message).collect();
    dovecot.deliver_many("alice", &mails);
    let (env, id) = Env::with_imap_account(&dovecot, "alice", DeletePolicy::Keep).await;
    let t = env
        .start(Options {
            fetch_batch: 10,
            ..fast()
        })
        .await;
    wait_for("the fetch to be under way", 120, || async {
        env.count().await >= 100
    })
    .await;
    dovecot.kill();
    let at_kill = env.count().await;
    assert!(
        at_kill < 1000,
        "the fetch finished before the kill ({at_kill})"
    );
    wait_for("the error", 60, || {
        let s = t.status(id).incoming;
        std::future::ready(s.is_some_and(|s| s.state == SyncState::Error))
    })
    .await;
    dovecot.restart();
    t.sync_now(id).await;
    wait_for("all 1000", 300, || async {
        env.count().await == 1000 && idle_status(&t, id).await
    })
    .await;
    assert_eq!(inbox_copies(&env, id).await.len(), 1000);
    t.shutdown().await;
}

/// The library's sink, but its first index commit fails (as when the vault
/// locks or the disk fills mid-fetch); everything else goes through.
struct FirstCommitFails {
    inner: LibrarySink,
    failed: AtomicBool,
}

impl Sink for FirstCommitFails {
    fn deliver(&self, messages: Vec<RawMessage>) -> BoxFuture<'_, Result<Vec<i64>, SinkError>> {
        self.inner.deliver(messages)
    }

    fn prepare(&self, messages: Vec<RawMessage>) -> BoxFuture<'_, Result<Prepared, SinkError>> {
        self.inner.prepare(messages)
    }

    fn deliver_prepared(&self, prepared: Prepared) -> BoxFuture<'_, Result<Vec<i64>, SinkError>> {
        self.inner.deliver_prepared(prepared)
    }

    fn flush(&self) -> BoxFuture<'_, Result<(), SinkError>> {
        if self.failed.swap(true, Ordering::SeqCst) {
            self.inner.flush()
        } else {
            Box::pin(async { Err(SinkError::Failed("the index commit failed".into())) })
        }
    }

    fn apply_flags(&self, changes: Vec<FlagChange>) -> BoxFuture<'_, Result<(), SinkError>> {
        self.inner.apply_flags(changes)
    }
}

/// A chunk stored and recorded is deleted on the server (DeleteWhenStored)
/// even when the index commit due after it fails: its folder mark is already
/// past it, so no later pass would delete it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_index_commit_mid_fetch_still_deletes_what_was_stored() {
    let dovecot = Dovecot::start();
    dovecot.deliver_many("alice", &(0..6).map(message).collect::<Vec<_>>());
    let (env, _) = Env::with_imap_account(&dovecot, "alice", DeletePolicy::DeleteWhenStored).await;
    let sink = FirstCommitFails {
        inner: LibrarySink::new(env.library.clone()),
        failed: AtomicBool::new(false),
    };
    let opts = Options {
        fetch_batch: 2,
        index_every: Duration::ZERO,
        ..fast()
    };
    let t = Transport::start(env.store.clone(), Arc::new(sink), opts)
        .await
        .unwrap();
    wait_for(
        "every message stored and gone from the server",
        60,
        || async { env.count().await == 6 && server_inbox(&dovecot, "alice").await.0 == 0 },
    )
    .await;
    t.shutdown().await;
}
