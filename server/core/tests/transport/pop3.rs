//! POP3: fetching by UIDL and its delete policy.

use std::time::Duration;

use homepost_store::{
    AccountConfig, DeletePolicy, Endpoint, Incoming, Protocol, Secrets, Security,
};
use homepost_testing::peers::Dovecot;
use homepost_transport::pop3::Pop3;

use crate::common::*;

fn pop_account(d: &Dovecot, policy: DeletePolicy) -> AccountConfig {
    AccountConfig {
        name: "Pop".into(),
        email: "alice@localhost".into(),
        display_name: String::new(),
        incoming: Some(Incoming {
            protocol: Protocol::Pop3,
            endpoint: Endpoint {
                host: "localhost".into(),
                port: d.pop3,
                security: Security::Starttls,
                username: "alice".into(),
                pinned_sha256: Some(d.cert_sha256()),
            },
            folders: Vec::new(),
            policy,
            sent_folder: None,
            poll_seconds: 3600,
            first_sync: Default::default(),
        }),
        outgoing: None,
    }
}

async fn pop_count(d: &Dovecot) -> usize {
    let mut pop = Pop3::connect(
        &pop_account(d, DeletePolicy::Keep)
            .incoming
            .unwrap()
            .endpoint,
        "secret",
        Default::default(),
    )
    .await
    .unwrap();
    let n = pop.uidl().await.unwrap().len();
    pop.quit().await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pop3_fetches_by_uidl_and_applies_its_policy() {
    let dovecot = Dovecot::start();
    dovecot.deliver_many("alice", &(0..5).map(message).collect::<Vec<_>>());
    let env = Env::new().await;
    let config = pop_account(&dovecot, DeletePolicy::Keep);
    let id = add(&env, &config, &password()).await;
    let t = env.start(fast()).await;
    wait_for("5 messages over POP3 (STLS)", 60, || async {
        env.count().await == 5
    })
    .await;
    dovecot.deliver_many("alice", &(5..7).map(message).collect::<Vec<_>>());
    t.sync_now(id).await;
    wait_for("2 more", 60, || async { env.count().await == 7 }).await;
    t.sync_now(id).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(env.count().await, 7, "UIDL: nothing fetched twice");
    assert_eq!(pop_count(&dovecot).await, 7, "kept on the server");
    let mut config = config;
    if let Some(i) = config.incoming.as_mut() {
        i.policy = DeletePolicy::DeleteWhenStored;
    }
    env.store
        .update_account(id, &config, &Secrets::default())
        .await
        .unwrap();
    t.reload(id).await;
    wait_for("the server emptied", 60, || async {
        pop_count(&dovecot).await == 0
    })
    .await;
    assert_eq!(env.count().await, 7);
    t.shutdown().await;
}

/// Mail deleted for good stays deleted although the POP3 server keeps its copy
/// (issue 19): the box remembers the copy it deleted until the server drops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_deleted_for_good_is_not_fetched_again() {
    let dovecot = Dovecot::start();
    dovecot.deliver_many("alice", &(0..3).map(message).collect::<Vec<_>>());
    let env = Env::new().await;
    let id = add(
        &env,
        &pop_account(&dovecot, DeletePolicy::Keep),
        &password(),
    )
    .await;
    let t = env.start(fast()).await;
    wait_for("3 messages", 60, || async { env.count().await == 3 }).await;
    {
        let mut g = env.library.write().await;
        let lib = g.as_mut().unwrap();
        let (_, found) = lib
            .search("zebra1quokka", &Default::default())
            .await
            .unwrap();
        assert_eq!(lib.delete_for_good(&[found[0].id]).await.unwrap(), 1);
    }
    assert_eq!(env.count().await, 2);
    dovecot.deliver("alice", &message(3));
    t.sync_now(id).await;
    wait_for("the new one", 60, || async { env.count().await == 3 }).await;
    t.sync_now(id).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(env.count().await, 3, "the deleted message came back");
    let mut g = env.library.write().await;
    assert_eq!(g.as_mut().unwrap().count("zebra1quokka").await.unwrap(), 0);
    drop(g);
    t.shutdown().await;
}
