//! The transport delivering into the library: fetching and sending against real
//! servers on loopback, Dovecot (IMAP, POP3) and an aiosmtpd submission server
//! (homepost-testing's peers), with the core's `LibrarySink` as the transport's sink.

use std::sync::Arc;
use std::time::{Duration, Instant};

use homepost_core::library::Library;
use homepost_core::sink::LibrarySink;
use homepost_store::{
    AccountConfig, DeletePolicy, Endpoint, FLAG_FLAGGED, FLAG_READ, Incoming, NewOutgoing,
    OutboxState, Outgoing, Protocol, RemoteId, Secrets, Security, Side, Store,
};
use homepost_testing::peers::{Dovecot, SmtpServer};
use homepost_testing::vault;
use homepost_transport::imap::Imap;
use homepost_transport::pop3::Pop3;
use homepost_transport::{Options, SyncState, Transport};
use tokio::sync::RwLock;

struct Env {
    _dir: tempfile::TempDir,
    library: Arc<RwLock<Option<Library>>>,
    store: Store,
}

impl Env {
    async fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let lib = Library::open(dir.path(), &vault::create(dir.path()))
            .await
            .unwrap();
        let store = lib.store().clone();
        Env {
            _dir: dir,
            library: Arc::new(RwLock::new(Some(lib))),
            store,
        }
    }

    async fn start(&self, opts: Options) -> Transport {
        Transport::start(
            self.store.clone(),
            Arc::new(LibrarySink::with_clock(self.library.clone(), || {
                1_700_000_000
            })),
            opts,
        )
        .await
        .unwrap()
    }

    async fn count(&self) -> i64 {
        self.store.count().await.unwrap()
    }

    async fn change_tags(&self, id: i64, add: &[&str], remove: &[&str]) {
        let mut g = self.library.write().await;
        let add: Vec<String> = add.iter().map(std::string::ToString::to_string).collect();
        let remove: Vec<String> = remove
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        g.as_mut()
            .unwrap()
            .change_tags(&[id], &add, &remove)
            .await
            .unwrap();
    }
}

fn fast() -> Options {
    Options {
        reconnect_base: Duration::from_millis(300),
        reconnect_max: Duration::from_secs(2),
        retry_base: Duration::from_millis(500),
        retry_max: Duration::from_secs(2),
        read_timeout: Duration::from_secs(10),
        command_timeout: Duration::from_secs(30),
        send_timeout: Duration::from_secs(60),
        ..Options::default()
    }
}

async fn wait_for<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

fn message(n: usize) -> Vec<u8> {
    format!(
        "From: Bob <bob@example.org>\r\nTo: alice@localhost\r\nSubject: Message {n}\r\n\
         Message-ID: <m{n}@example.org>\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\n\
         Body of message {n} with the token zebra{n}quokka.\r\n"
    )
    .into_bytes()
}

fn imap_endpoint(d: &Dovecot, user: &str, pin: bool) -> Endpoint {
    Endpoint {
        host: "localhost".into(),
        port: d.imaps,
        security: Security::Tls,
        username: user.into(),
        pinned_sha256: pin.then(|| d.cert_sha256()),
    }
}

fn imap_account(d: &Dovecot, user: &str, policy: DeletePolicy) -> AccountConfig {
    AccountConfig {
        name: "Home".into(),
        email: format!("{user}@localhost"),
        display_name: "Alice".into(),
        incoming: Some(Incoming {
            protocol: Protocol::Imap,
            endpoint: imap_endpoint(d, user, true),
            folders: vec!["INBOX".into()],
            policy,
            sent_folder: Some("Sent".into()),
            // Only IDLE can bring new mail in time.
            poll_seconds: 3600,
        }),
        outgoing: None,
    }
}

fn password() -> Secrets {
    Secrets {
        incoming: Some("secret".into()),
        outgoing: Some("secret".into()),
    }
}

async fn add(env: &Env, config: &AccountConfig, secrets: &Secrets) -> i64 {
    env.store.add_account(config, secrets, 0).await.unwrap()
}

/// The remote copies recorded for an account's INBOX, as of its UIDVALIDITY.
async fn inbox_copies(env: &Env, account: i64) -> Vec<homepost_store::RemoteCopy> {
    let (uidvalidity, _) = env
        .store
        .imap_folder(account, "INBOX")
        .await
        .unwrap()
        .unwrap();
    let at = RemoteId {
        account,
        folder: "INBOX".into(),
        uidvalidity,
    };
    env.store.remote_copies(&at).await.unwrap()
}

async fn idle_status(t: &Transport, account: i64) -> bool {
    t.status(account)
        .incoming
        .is_some_and(|s| s.state == SyncState::Idle)
}

async fn server_inbox(d: &Dovecot, user: &str) -> (u32, std::collections::HashMap<u32, i64>) {
    let mut imap = Imap::connect(&imap_endpoint(d, user, true), "secret", Default::default())
        .await
        .unwrap();
    let sel = imap.select("INBOX").await.unwrap();
    let flags = imap.all_flags(sel.exists).await.unwrap();
    imap.logout().await;
    (sel.exists, flags)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_fetches_a_thousand_then_idle_brings_new_mail_and_a_restart_adds_nothing() {
    let dovecot = Dovecot::start();
    let mails: Vec<Vec<u8>> = (0..1000).map(message).collect();
    dovecot.deliver_many("alice", &mails);
    let env = Env::new().await;
    let id = add(
        &env,
        &imap_account(&dovecot, "alice", DeletePolicy::Keep),
        &password(),
    )
    .await;
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
    let env = Env::new().await;
    let id = add(
        &env,
        &imap_account(&dovecot, "alice", DeletePolicy::Keep),
        &password(),
    )
    .await;
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
    let mut other = Imap::connect(
        &imap_endpoint(&dovecot, "alice", true),
        "secret",
        Default::default(),
    )
    .await
    .unwrap();
    other.select("INBOX").await.unwrap();
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
    let env = Env::new().await;
    let id = add(
        &env,
        &imap_account(&dovecot, "alice", DeletePolicy::Keep),
        &password(),
    )
    .await;
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
