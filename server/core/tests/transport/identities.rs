//! Identities over real SMTP: a reply to mail sent to an alias goes From the
//! alias, with the alias's signature, through its account's submission server.

use homepost_core::{compose, identities, outgoing};
use homepost_mail::compose::ReplyMode;
use homepost_store::{
    AccountConfig, DraftContent, Endpoint, IdentityFields, OutboxState, Outgoing, Security,
};
use homepost_testing::peers::SmtpServer;

use crate::common::*;

fn now() -> i64 {
    homepost_core::unix_now()
}

fn sending_account(s: &SmtpServer) -> AccountConfig {
    AccountConfig {
        name: "Home".into(),
        email: "alice@localhost".into(),
        display_name: "Alice".into(),
        incoming: None,
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

/// Mail from Bob to the shop alias, in an mbox.
const TO_THE_SHOP: &str = "From bob@example.org Tue Mar  5 10:00:00 2024
From: Bob <bob@example.org>
To: The shop <shop@localhost>
Subject: Opening hours
Message-ID: <hours@example.org>
Date: Tue, 05 Mar 2024 10:00:00 +0000

When do you open on Saturday?

";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_to_an_alias_is_sent_from_it_with_its_signature_through_its_accounts_smtp() {
    let smtp = SmtpServer::start(false);
    let env = Env::new().await;
    let account = add(&env, &sending_account(&smtp), &password()).await;
    let shop = identities::add(
        &env.store,
        account,
        IdentityFields {
            address: "shop@localhost".into(),
            display_name: "Alice's shop".into(),
            signature: "Alice\nThe shop on the corner".into(),
        },
        now(),
    )
    .await
    .unwrap();
    // The account's own address stays the default: the reply must not use it.
    let own = env.store.default_identity().await.unwrap().unwrap();
    assert_eq!(own.address, "alice@localhost");

    let mbox = tempfile::tempdir().unwrap();
    let path = mbox.path().join("in.mbox");
    std::fs::write(&path, TO_THE_SHOP).unwrap();
    let original = {
        let mut g = env.library.write().await;
        let lib = g.as_mut().unwrap();
        lib.import(
            homepost_mail::ImportSources::new(vec![path]),
            &["inbox".to_owned()],
            now(),
            |_| {},
        )
        .await
        .unwrap();
        let (_, found) = lib
            .search("subject:hours", &Default::default())
            .await
            .unwrap();
        found[0].id
    };

    let draft = compose::start_draft(
        &env.store,
        DraftContent::default(),
        Some((original, ReplyMode::Reply)),
        true,
        now(),
    )
    .await
    .unwrap()
    .unwrap();
    let mut content = env.store.draft(draft).await.unwrap().unwrap().content;
    assert_eq!(content.identity_id, Some(shop.id));
    assert_eq!(content.account_id, Some(account));
    // The person writes above the signature; saving and reopening adds nothing.
    content.body = format!("We open at nine.{}", content.body);
    env.store
        .update_draft(draft, &content, now())
        .await
        .unwrap();

    let t = env.start(fast()).await;
    let queued = {
        let mut g = env.library.write().await;
        outgoing::send_draft(g.as_mut().unwrap(), draft, 86_400, now())
            .await
            .unwrap()
    };
    t.outbox_changed();
    wait_for("sent", 60, || async {
        env.store.outbox_item(queued).await.unwrap().unwrap().state == OutboxState::Sent
    })
    .await;

    let accepted = smtp.accepted();
    assert_eq!(accepted.len(), 1, "{accepted:?}");
    let record = &accepted[0];
    assert_eq!(record["mail_from"], "shop@localhost", "{record}");
    assert_eq!(record["rcpt_tos"], serde_json::json!(["bob@example.org"]));
    assert_eq!(record["auth_user"], "alice", "the account's SMTP login");
    let raw = smtp.message(record["file"].as_str().unwrap());
    let sent = homepost_mail::parse(&raw);
    assert_eq!(sent.from.len(), 1);
    assert_eq!(sent.from[0].address.as_deref(), Some("shop@localhost"));
    assert_eq!(sent.from[0].name.as_deref(), Some("Alice's shop"));
    assert_eq!(sent.in_reply_to, ["hours@example.org"]);
    let text = sent.body_text.replace("\r\n", "\n");
    assert!(
        text.starts_with("We open at nine.\n\n-- \nAlice\nThe shop on the corner\n\nOn "),
        "{text:?}"
    );
    assert_eq!(text.matches("-- \n").count(), 1, "{text:?}");
    assert!(text.contains("> When do you open on Saturday?"), "{text:?}");
    t.shutdown().await;
}
