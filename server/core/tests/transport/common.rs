//! What the transport tests share: a library with its sink, accounts on the
//! loopback servers, and waiting for a condition.

use std::sync::Arc;
use std::time::{Duration, Instant};

use homepost_core::library::Library;
use homepost_core::sink::LibrarySink;
use homepost_store::{
    AccountConfig, DeletePolicy, Endpoint, Incoming, Protocol, RemoteId, Secrets, Security, Store,
};
use homepost_testing::peers::Dovecot;
use homepost_testing::vault;
use homepost_transport::imap::Imap;
use homepost_transport::{Options, SyncState, Transport};
use tokio::sync::RwLock;

pub(crate) struct Env {
    _dir: tempfile::TempDir,
    pub(crate) library: Arc<RwLock<Option<Library>>>,
    pub(crate) store: Store,
}

impl Env {
    pub(crate) async fn new() -> Env {
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

    /// A new library with one IMAP account on `dovecot` for `user`.
    pub(crate) async fn with_imap_account(
        dovecot: &Dovecot,
        user: &str,
        policy: DeletePolicy,
    ) -> (Env, i64) {
        let env = Env::new().await;
        let id = add(&env, &imap_account(dovecot, user, policy), &password()).await;
        (env, id)
    }

    pub(crate) async fn start(&self, opts: Options) -> Transport {
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

    pub(crate) async fn count(&self) -> i64 {
        self.store.count().await.unwrap()
    }

    pub(crate) async fn change_tags(&self, id: i64, add: &[&str], remove: &[&str]) {
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

pub(crate) fn fast() -> Options {
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

pub(crate) async fn wait_for<F, Fut>(what: &str, secs: u64, mut check: F)
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

pub(crate) fn message(n: usize) -> Vec<u8> {
    format!(
        "From: Bob <bob@example.org>\r\nTo: alice@localhost\r\nSubject: Message {n}\r\n\
         Message-ID: <m{n}@example.org>\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\n\
         Body of message {n} with the token zebra{n}quokka.\r\n"
    )
    .into_bytes()
}

pub(crate) fn imap_endpoint(d: &Dovecot, user: &str, pin: bool) -> Endpoint {
    Endpoint {
        host: "localhost".into(),
        port: d.imaps,
        security: Security::Tls,
        username: user.into(),
        pinned_sha256: pin.then(|| d.cert_sha256()),
    }
}

pub(crate) fn imap_account(d: &Dovecot, user: &str, policy: DeletePolicy) -> AccountConfig {
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
            first_sync: Default::default(),
        }),
        outgoing: None,
    }
}

pub(crate) fn password() -> Secrets {
    Secrets {
        incoming: Some("secret".into()),
        outgoing: Some("secret".into()),
    }
}

pub(crate) async fn add(env: &Env, config: &AccountConfig, secrets: &Secrets) -> i64 {
    env.store.add_account(config, secrets, 0).await.unwrap()
}

/// Where an account's INBOX copies are recorded, as of its UIDVALIDITY.
pub(crate) async fn inbox_at(env: &Env, account: i64) -> RemoteId {
    let (uidvalidity, _) = env
        .store
        .imap_folder(account, "INBOX")
        .await
        .unwrap()
        .unwrap();
    RemoteId {
        account,
        folder: "INBOX".into(),
        uidvalidity,
    }
}

/// The remote copies recorded for an account's INBOX, as of its UIDVALIDITY.
pub(crate) async fn inbox_copies(env: &Env, account: i64) -> Vec<homepost_store::RemoteCopy> {
    env.store
        .remote_copies(&inbox_at(env, account).await)
        .await
        .unwrap()
}

/// Another client of `user`'s mailbox, with INBOX selected.
pub(crate) async fn other_client(d: &Dovecot, user: &str) -> Imap {
    let mut other = Imap::connect(&imap_endpoint(d, user, true), "secret", Default::default())
        .await
        .unwrap();
    other.select("INBOX").await.unwrap();
    other
}

pub(crate) async fn idle_status(t: &Transport, account: i64) -> bool {
    t.status(account)
        .incoming
        .is_some_and(|s| s.state == SyncState::Idle)
}

pub(crate) async fn server_inbox(
    d: &Dovecot,
    user: &str,
) -> (u32, std::collections::HashMap<u32, i64>) {
    let mut imap = Imap::connect(&imap_endpoint(d, user, true), "secret", Default::default())
        .await
        .unwrap();
    let sel = imap.select("INBOX").await.unwrap();
    let flags = imap.all_flags(sel.exists).await.unwrap();
    imap.logout().await;
    (sel.exists, flags)
}
