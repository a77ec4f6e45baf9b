//! What the first pass over a folder takes of the mail already there (the
//! wizard's "existing mail" step): all of it, the last N days, or nothing, and
//! marking it read, against real Dovecot.

use std::time::{Duration, SystemTime};

use homepost_store::{DeletePolicy, FLAG_READ, FirstScope, FirstSync};
use homepost_testing::peers::Dovecot;

use crate::common::*;

/// An account over `dovecot` for alice that treats existing mail as `first`.
async fn account(dovecot: &Dovecot, first: FirstSync) -> (Env, i64) {
    let env = Env::new().await;
    let mut config = imap_account(dovecot, "alice", DeletePolicy::Keep);
    if let Some(i) = config.incoming.as_mut() {
        i.first_sync = first;
    }
    let id = add(&env, &config, &password()).await;
    (env, id)
}

/// Makes the messages in alice's `new/` look as if they arrived `days` ago
/// (Dovecot takes a maildir message's INTERNALDATE from its file's mtime).
fn age_delivered(dovecot: &Dovecot, days: u64) {
    let old = SystemTime::now() - Duration::from_secs(days * 86_400);
    for entry in std::fs::read_dir(dovecot.maildir("alice").join("new")).unwrap() {
        let file = std::fs::File::options()
            .write(true)
            .open(entry.unwrap().path())
            .unwrap();
        file.set_modified(old).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_old_is_fetched_only_what_arrives_after() {
    let dovecot = Dovecot::start();
    dovecot.deliver_many("alice", &(0..3).map(message).collect::<Vec<_>>());
    let first = FirstSync {
        scope: FirstScope::None,
        ..FirstSync::default()
    };
    let (env, id) = account(&dovecot, first).await;
    let t = env.start(fast()).await;
    wait_for("the first pass", 60, || idle_status(&t, id)).await;
    assert_eq!(env.count().await, 0);
    dovecot.deliver("alice", &message(3));
    wait_for("the new message", 60, || async { env.count().await == 1 }).await;
    wait_for("the new message searchable", 30, || async {
        let mut g = env.library.write().await;
        g.as_mut().unwrap().count("zebra3quokka").await.unwrap() == 1
    })
    .await;
    {
        let mut g = env.library.write().await;
        let lib = g.as_mut().unwrap();
        assert_eq!(lib.count("is:read").await.unwrap(), 0);
    }
    t.shutdown().await;
    // A restart does not treat the folder as new again.
    let t = env.start(fast()).await;
    wait_for("the resync", 60, || idle_status(&t, id)).await;
    assert_eq!(env.count().await, 1);
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_recent_mail_is_fetched_and_old_mail_is_marked_read_on_both_sides() {
    let dovecot = Dovecot::start();
    dovecot.deliver_many("alice", &(0..3).map(message).collect::<Vec<_>>());
    age_delivered(&dovecot, 100);
    dovecot.deliver_many("alice", &(3..5).map(message).collect::<Vec<_>>());
    let first = FirstSync {
        scope: FirstScope::Recent,
        days: 30,
        mark_read: true,
    };
    let (env, id) = account(&dovecot, first).await;
    let t = env.start(fast()).await;
    wait_for("the first pass", 60, || async {
        env.count().await == 2 && idle_status(&t, id).await
    })
    .await;
    {
        let mut g = env.library.write().await;
        let lib = g.as_mut().unwrap();
        assert_eq!(lib.count("zebra0quokka").await.unwrap(), 0, "100 days old");
        assert_eq!(lib.count("zebra4quokka").await.unwrap(), 1);
        assert_eq!(lib.count("is:read").await.unwrap(), 2);
    }
    // Read here, so read on the server too (after the flag merge).
    wait_for("\\Seen on the server", 60, || async {
        let (_, flags) = server_inbox(&dovecot, "alice").await;
        flags.values().filter(|f| *f & FLAG_READ != 0).count() == 2
    })
    .await;
    // Mail arriving later is new mail: fetched, and unread.
    dovecot.deliver("alice", &message(5));
    wait_for("the new message", 60, || async { env.count().await == 3 }).await;
    // Stored first; searchable once the pass has committed the index.
    wait_for("the new message searchable", 30, || async {
        let mut g = env.library.write().await;
        g.as_mut().unwrap().count("zebra5quokka").await.unwrap() == 1
    })
    .await;
    {
        let mut g = env.library.write().await;
        let lib = g.as_mut().unwrap();
        assert_eq!(lib.count("zebra5quokka -is:read").await.unwrap(), 1);
    }
    t.shutdown().await;
}

/// Nothing in the window: the old mail stays left out after the first pass too
/// (it was fetched at the next pass when only fetched mail moved the mark).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_window_still_leaves_the_old_mail_out() {
    let dovecot = Dovecot::start();
    dovecot.deliver_many("alice", &(0..3).map(message).collect::<Vec<_>>());
    age_delivered(&dovecot, 100);
    let first = FirstSync {
        scope: FirstScope::Recent,
        days: 30,
        mark_read: false,
    };
    let (env, id) = account(&dovecot, first).await;
    let t = env.start(fast()).await;
    wait_for("the first pass", 60, || idle_status(&t, id)).await;
    assert_eq!(env.count().await, 0);
    dovecot.deliver("alice", &message(3));
    wait_for("the new message", 60, || async { env.count().await >= 1 }).await;
    // A moment for anything else a pass would bring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(env.count().await, 1, "old mail fetched after all");
    t.shutdown().await;
    let t = env.start(fast()).await;
    wait_for("the resync", 60, || idle_status(&t, id)).await;
    assert_eq!(env.count().await, 1);
    t.shutdown().await;
}
