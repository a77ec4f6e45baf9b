//! SMTP: the outbox waits, retries, fails for good, and sends once across crashes.

use std::time::Duration;

use homepost_store::{
    AccountConfig, DeletePolicy, Endpoint, NewOutgoing, OutboxState, Outgoing, Security,
};
use homepost_testing::peers::{Dovecot, SmtpServer};
use homepost_transport::Options;
use homepost_transport::imap::Imap;

use crate::common::*;

fn smtp_account(s: &SmtpServer, d: Option<&Dovecot>) -> AccountConfig {
    AccountConfig {
        name: "Send".into(),
        email: "alice@localhost".into(),
        display_name: "Alice".into(),
        incoming: d.map(|d| {
            imap_account(d, "alice", DeletePolicy::Keep)
                .incoming
                .unwrap()
        }),
        outgoing: Some(Outgoing {
            endpoint: Endpoint {
                host: "localhost".into(),
                port: s.port,
                security: Security::Starttls,
                username: "alice".into(),
                pinned_sha256: Some(s.cert_sha256()),
            },
        }),
    }
}

async fn queue(env: &Env, account: i64, to: &str, n: usize, sent_folder: Option<&str>) -> i64 {
    let raw = format!(
        "From: Alice <alice@localhost>\r\nTo: {to}\r\nSubject: Outgoing {n}\r\nMessage-ID: <out{n}@localhost>\r\n\r\nHello {n}\r\n"
    );
    env.store
        .queue_outgoing(
            &NewOutgoing {
                account,
                raw: raw.as_bytes(),
                mail_from: "alice@localhost",
                rcpt_to: &[to.to_owned()],
                subject: &format!("Outgoing {n}"),
                sent_folder,
            },
            now(),
            4 * 86_400,
            None,
        )
        .await
        .unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn state_of(env: &Env, id: i64) -> OutboxState {
    env.store.outbox_item(id).await.unwrap().unwrap().state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_waits_while_the_server_is_down_and_is_sent_once_when_it_is_back() {
    let dovecot = Dovecot::start();
    let mut smtp = SmtpServer::start(false);
    smtp.kill();
    let env = Env::new().await;
    let account = add(&env, &smtp_account(&smtp, Some(&dovecot)), &password()).await;
    // Retries an hour apart: only "sync now" brings the message back in time.
    let t = env
        .start(Options {
            retry_base: Duration::from_secs(3600),
            retry_max: Duration::from_secs(3600),
            ..fast()
        })
        .await;
    let id = queue(&env, account, "bob@example.org", 1, Some("Sent")).await;
    t.outbox_changed();
    wait_for("deferred", 30, || async {
        state_of(&env, id).await == OutboxState::Deferred
    })
    .await;
    let item = env.store.outbox_item(id).await.unwrap().unwrap();
    assert!(
        item.last_error.is_some() && item.next_attempt.is_some(),
        "{item:?}"
    );
    smtp.restart();
    t.sync_now(account).await;
    wait_for("sent", 60, || async {
        state_of(&env, id).await == OutboxState::Sent
    })
    .await;
    let accepted = smtp.accepted();
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    assert_eq!(accepted[0]["message_id"], "<out1@localhost>");
    // The sent copy is stored (tagged sent: just after the state changes) and
    // appended to the Sent folder.
    wait_for("the stored copy", 30, || async {
        env.store
            .outbox_item(id)
            .await
            .unwrap()
            .unwrap()
            .message_id
            .is_some()
    })
    .await;
    let item = env.store.outbox_item(id).await.unwrap().unwrap();
    let copy = item.message_id.expect("a stored copy");
    assert!(
        env.store
            .tags_of(copy)
            .await
            .unwrap()
            .contains(&"sent".to_owned())
    );
    wait_for("the copy in Sent", 60, || async {
        let mut imap = Imap::connect(
            &imap_endpoint(&dovecot, "alice", true),
            "secret",
            Default::default(),
        )
        .await
        .unwrap();
        let n = imap.select("Sent").await.map_or(0, |s| s.exists);
        imap.logout().await;
        n == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.accepted().len(), 1, "sent once");
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_rejection_fails_at_once() {
    let smtp = SmtpServer::start(true);
    let env = Env::new().await;
    let mut config = smtp_account(&smtp, None);
    if let Some(o) = config.outgoing.as_mut() {
        o.endpoint.security = Security::Tls;
    }
    let account = add(&env, &config, &password()).await;
    let t = env.start(fast()).await;
    let id = queue(&env, account, "rejectme@example.org", 2, None).await;
    t.outbox_changed();
    wait_for("failed", 30, || async {
        state_of(&env, id).await == OutboxState::Failed
    })
    .await;
    let item = env.store.outbox_item(id).await.unwrap().unwrap();
    assert_eq!(item.attempts, 1);
    assert!(
        item.last_error.as_deref().unwrap_or("").contains("550"),
        "{item:?}"
    );
    // A temporary refusal is deferred instead.
    let temp = queue(&env, account, "tempfail@example.org", 3, None).await;
    t.outbox_changed();
    wait_for("deferred", 30, || async {
        state_of(&env, temp).await == OutboxState::Deferred
    })
    .await;
    assert!(
        env.store
            .outbox_item(temp)
            .await
            .unwrap()
            .unwrap()
            .last_error
            .unwrap()
            .contains("451")
    );
    assert!(env.store.cancel_outgoing(temp).await.unwrap());
    assert!(smtp.accepted().is_empty());
    t.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_transfer_then_sent_once_and_a_crash_while_sending_resumes() {
    let mut smtp = SmtpServer::start(false);
    let env = Env::new().await;
    let account = add(&env, &smtp_account(&smtp, None), &password()).await;
    // A crash left one message "sending": the next start tries it again.
    let crashed = queue(&env, account, "carol@example.org", 4, None).await;
    assert!(env.store.claim_outgoing(now()).await.unwrap().is_some());
    assert_eq!(state_of(&env, crashed).await, OutboxState::Sending);
    let t = env.start(fast()).await;
    wait_for("the interrupted message sent", 30, || async {
        state_of(&env, crashed).await == OutboxState::Sent
    })
    .await;
    // The server dies while it holds the DATA of this one.
    let slow = queue(&env, account, "slowpoke@example.org", 5, None).await;
    t.outbox_changed();
    wait_for("sending", 30, || async {
        state_of(&env, slow).await == OutboxState::Sending
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    smtp.kill();
    wait_for("deferred", 60, || async {
        state_of(&env, slow).await == OutboxState::Deferred
    })
    .await;
    smtp.restart();
    wait_for("sent after the restart", 120, || async {
        state_of(&env, slow).await == OutboxState::Sent
    })
    .await;
    let ids: Vec<String> = smtp
        .accepted()
        .iter()
        .map(|a| a["message_id"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        ids.iter().filter(|m| *m == "<out5@localhost>").count(),
        1,
        "{ids:?}"
    );
    assert_eq!(
        ids.iter().filter(|m| *m == "<out4@localhost>").count(),
        1,
        "{ids:?}"
    );
    t.shutdown().await;
}
