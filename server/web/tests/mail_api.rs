//! Accounts, contacts, drafts, sending and the outbox through the API, in-process.
//! The servers are unreachable loopback ports here; tests/servers.rs of the
//! transport crate talks to real ones.

mod common;

use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn account_body(port: u16) -> Value {
    json!({
        "name": "Home",
        "email": "bob@example.com",
        "display_name": "Bob",
        "incoming": {
            "protocol": "imap", "host": "127.0.0.1", "port": port, "security": "tls",
            "username": "bob", "password": "in-secret-1234", "folders": ["INBOX"],
            "policy": {"kind": "keep"}, "sent_folder": "Sent", "poll_seconds": 300
        },
        "outgoing": {
            "host": "127.0.0.1", "port": port, "security": "starttls",
            "username": "bob", "password": "out-secret-5678"
        }
    })
}

#[actix_web::test]
async fn accounts_are_checked_and_passwords_never_come_back() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let port = closed_port();

    // Unencrypted to another machine, a bad address, a bad port: refused with the reason.
    let mut plain = account_body(port);
    plain["incoming"]["host"] = json!("mail.example.org");
    plain["incoming"]["security"] = json!("plain");
    let mut bad_email = account_body(port);
    bad_email["email"] = json!("bob at example");
    let mut bad_port = account_body(port);
    bad_port["outgoing"]["port"] = json!(0);
    for (body, says) in [
        (plain, "TLS"),
        (bad_email, "not an e-mail address"),
        (bad_port, "port"),
    ] {
        let (s, _, e) = call(&app, b.post("/api/v1/accounts", body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert_eq!(e["error"]["code"], "invalid_account");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(says),
            "{e}"
        );
    }

    let mut body = account_body(port);
    body["incoming"]["pinned_sha256"] = json!("AB:CD");
    let (s, _, a) = call(&app, b.post("/api/v1/accounts", body)).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let id = a["id"].as_i64().unwrap();
    assert_eq!(a["incoming"]["has_password"], true);
    assert_eq!(a["outgoing"]["has_password"], true);
    assert_eq!(
        a["incoming"]["pinned_sha256"],
        Value::Null,
        "a pin is only set by /trust"
    );
    let text = a.to_string();
    assert!(
        !text.contains("secret") && !text.contains("\"password\""),
        "{text}"
    );

    // Changing settings without a password keeps the stored ones.
    let mut edit = account_body(port);
    edit["incoming"].as_object_mut().unwrap().remove("password");
    edit["display_name"] = Value::Null;
    let (s, _, a) = call(&app, b.put(&format!("/api/v1/accounts/{id}"), edit)).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["incoming"]["has_password"], true);
    assert_eq!(a["display_name"], "");

    // The fetcher reports the closed port in plain words.
    let mut status = Value::Null;
    // Up to a minute: the fetcher runs beside other tests on a busy machine.
    for _ in 0..600 {
        let (_, _, list) = call(&app, b.get("/api/v1/accounts")).await;
        status = list["accounts"][0]["status"]["incoming"].clone();
        if status["state"] == "error" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status["error"]["code"], "connect_failed", "{status}");
    assert!(status["next_attempt"].is_i64());

    // Trust only what the server presented (nothing, here).
    let fp = ["AB"; 32].join(":");
    let (s, _, e) = call(
        &app,
        b.post(
            &format!("/api/v1/accounts/{id}/trust"),
            json!({"side": "incoming", "fingerprint": fp}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["code"], "invalid_state");

    let (s, _, _) = call(
        &app,
        b.req(Method::POST, &format!("/api/v1/accounts/{id}/sync")),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _, _) = call(
        &app,
        b.req(Method::DELETE, &format!("/api/v1/accounts/{id}")),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, list) = call(&app, b.get("/api/v1/accounts")).await;
    assert_eq!(list["accounts"].as_array().unwrap().len(), 0);
    assert!(list["mail_seq"].is_u64());
    // Close the store before the test returns: a pool left to drop closes its
    // connections on worker threads, and when that races the process's exit
    // (this was the binary's last test), SQLCipher's teardown crashed it (SIGSEGV
    // seen in a CI run, 2 of 40 runs under load).
    st.lock().await;
}

#[actix_web::test]
async fn compose_a_reply_with_an_attachment_send_and_manage_the_outbox() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let (_, _, a) = call(
        &app,
        b.post("/api/v1/accounts", account_body(closed_port())),
    )
    .await;
    let account = a["id"].as_i64().unwrap();

    // Address completion from correspondents.
    let (s, _, c) = call(&app, b.get("/api/v1/contacts?q=ALI")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c["contacts"][0]["address"], "alice@example.org", "{c}");
    assert_eq!(c["contacts"][0]["name"], "Alice");
    assert!(c["contacts"][0]["count"].as_i64().unwrap() >= 30);

    let (_, _, found) = call(&app, b.get("/api/v1/search?q=subject:zanzibar")).await;
    let original = found["results"][0]["id"].as_i64().unwrap();
    let (s, _, d) = call(
        &app,
        b.post(
            "/api/v1/drafts",
            json!({"reply": {"id": original, "mode": "all"}}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let draft = d["id"].as_i64().unwrap();
    assert_eq!(d["to"], json!(["Alice <alice@example.org>"]));
    assert_eq!(d["cc"], json!([]), "the user's own address is left out");
    assert_eq!(d["subject"], "Re: Quarterly zanzibar report");
    assert!(
        d["body"].as_str().unwrap().contains("> Body of message 7."),
        "{d}"
    );
    assert_eq!(d["in_reply_to"], original);
    assert_eq!(
        d["account_id"], account,
        "answered from the identity it was sent to"
    );

    // Autosave takes half-typed recipients.
    let put = |to: Value| {
        json!({"account_id": account, "to": to, "cc": [], "bcc": ["hidden@example.org"],
               "subject": "Re: Quarterly zanzibar report", "body": "Thanks!"})
    };
    let (s, _, _) = call(
        &app,
        b.put(&format!("/api/v1/drafts/{draft}"), put(json!(["ali"]))),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // Attachments: the name loses its directories; bad base64 is refused.
    let (s, _, d) = call(
        &app,
        b.post(&format!("/api/v1/drafts/{draft}/attachments"), json!({"name": "../../etc/notes.txt", "content_type": "text/plain", "data": "aGVsbG8="})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!(
        d["attachments"],
        json!([{"index": 0, "name": "notes.txt", "content_type": "text/plain", "size": 5}])
    );
    let (s, _, _) = call(
        &app,
        b.post(
            &format!("/api/v1/drafts/{draft}/attachments"),
            json!({"name": "x", "content_type": "text/plain", "data": "not base64!"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Sending checks the recipients.
    let (s, _, e) = call(
        &app,
        b.req(Method::POST, &format!("/api/v1/drafts/{draft}/send")),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        e["error"]["message"].as_str().unwrap().contains("\"ali\""),
        "{e}"
    );
    call(
        &app,
        b.put(
            &format!("/api/v1/drafts/{draft}"),
            put(json!(["Alice <alice@example.org>"])),
        ),
    )
    .await;
    let (s, _, item) = call(
        &app,
        b.req(Method::POST, &format!("/api/v1/drafts/{draft}/send")),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{item}");
    assert_eq!(
        item["to"],
        json!(["alice@example.org", "hidden@example.org"])
    );
    let outbox = item["id"].as_i64().unwrap();
    let (_, _, drafts) = call(&app, b.get("/api/v1/drafts")).await;
    assert_eq!(drafts["drafts"], json!([]), "the draft went with the send");
    let (_, _, m) = call(&app, b.get(&format!("/api/v1/messages/{original}"))).await;
    assert!(
        m["tags"].as_array().unwrap().contains(&json!("replied")),
        "{m}"
    );

    // The server is unreachable: deferred with the reason and the next attempt.
    let mut item = Value::Null;
    // Up to a minute: the fetcher runs beside other tests on a busy machine.
    for _ in 0..600 {
        let (_, _, list) = call(&app, b.get("/api/v1/outbox")).await;
        item = list["items"][0].clone();
        if item["state"] == "deferred" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(item["state"], "deferred", "{item}");
    assert!(
        item["last_error"].as_str().unwrap().contains("connection"),
        "{item}"
    );
    assert!(item["next_attempt"].as_i64().unwrap() > item["created_at"].as_i64().unwrap());

    let (s, _, c) = call(
        &app,
        b.req(Method::POST, &format!("/api/v1/outbox/{outbox}/cancel")),
    )
    .await;
    assert_eq!(
        (s, c["state"].clone()),
        (StatusCode::OK, json!("cancelled"))
    );
    let (s, _, e) = call(
        &app,
        b.req(Method::POST, &format!("/api/v1/outbox/{outbox}/cancel")),
    )
    .await;
    assert_error(s, &e, StatusCode::CONFLICT, "invalid_state");
    let (s, _, r) = call(
        &app,
        b.req(Method::POST, &format!("/api/v1/outbox/{outbox}/retry")),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        matches!(r["state"].as_str(), Some("queued" | "sending" | "deferred")),
        "{r}"
    );

    // A forward starts empty-addressed with the subject marked.
    let (_, _, f) = call(
        &app,
        b.post(
            "/api/v1/drafts",
            json!({"reply": {"id": original, "mode": "forward_attached"}}),
        ),
    )
    .await;
    assert_eq!(f["subject"], "Fwd: Quarterly zanzibar report");
    // Nobody has a key here: encryption is not possible, and nothing warns.
    call(
        &app,
        b.put(
            &format!("/api/v1/drafts/{}", f["id"]),
            json!({"to": ["Alice <alice@example.org>"], "encrypt": null}),
        ),
    )
    .await;
    let (s, _, c) = call(&app, b.get(&format!("/api/v1/drafts/{}/crypto", f["id"]))).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["recommendation"], "disable");
    assert_eq!(c["will_encrypt"], false);
    assert_eq!(
        c["recipients"],
        json!([{"address": "alice@example.org", "recommendation": "disable", "key": null, "key_changed": false}])
    );
    assert_eq!(c["warning"], Value::Null);
    // Asking for encryption anyway is refused at send, naming who has no key.
    call(
        &app,
        b.put(
            &format!("/api/v1/drafts/{}", f["id"]),
            json!({"account_id": account, "to": ["Alice <alice@example.org>"], "encrypt": true}),
        ),
    )
    .await;
    let (s, _, e) = call(
        &app,
        b.req(Method::POST, &format!("/api/v1/drafts/{}/send", f["id"])),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("alice@example.org"),
        "{e}"
    );
    // Plain mail has no crypto object.
    let (_, _, m) = call(&app, b.get(&format!("/api/v1/messages/{original}"))).await;
    assert_eq!(m["crypto"], Value::Null);
    assert_eq!(f["forward"], json!({"id": original, "mode": "attached"}));
    let (s, _, _) = call(
        &app,
        b.req(Method::DELETE, &format!("/api/v1/drafts/{}", f["id"])),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Close the store before the test returns: a pool left to drop closes its
    // connections on worker threads, and when that races the process's exit
    // (this was the binary's last test), SQLCipher's teardown crashed it (SIGSEGV
    // seen in a CI run, 2 of 40 runs under load).
    st.lock().await;
}
