//! Identities through the API: an account's own address and its aliases, checked
//! fields, the one default, signatures added once to new messages and replies,
//! replies written from the address they were sent to, and drafts that follow a
//! deleted alias. Sending from an alias over real SMTP is tested in the core
//! (tests/transport/identities.rs).

use actix_web::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

/// An account for the test mail's recipient, bob@example.com (its servers are
/// never reached here).
fn account() -> Value {
    json!({
        "name": "Home", "email": "bob@example.com", "display_name": "Bob",
        "outgoing": {"host": "127.0.0.1", "port": 1, "security": "starttls", "username": "bob"}
    })
}

fn alias(address: &str, signature: &str) -> Value {
    json!({"address": address, "display_name": "Bob's shop", "signature": signature})
}

#[actix_web::test]
async fn aliases_the_default_and_signatures_in_drafts() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let (s, _, a) = call(&app, b.post("/api/v1/accounts", account())).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let account = a["id"].as_i64().unwrap();

    // The account's own address is its primary identity, and the default.
    let (s, _, list) = call(&app, b.get("/api/v1/identities")).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let primary = list["identities"][0].clone();
    assert_eq!(list["identities"].as_array().unwrap().len(), 1);
    assert_eq!(
        primary,
        json!({"id": primary["id"], "account_id": account, "address": "bob@example.com",
               "display_name": "Bob", "signature": "", "is_primary": true, "is_default": true})
    );
    let primary = primary["id"].as_i64().unwrap();

    // Aliases: one bare address, a name on one line, a signature of bounded size.
    let with = |fields: Value| {
        let mut body = fields;
        body["account_id"] = json!(account);
        body
    };
    for (fields, says) in [
        (
            alias("shop@example.com\r\nBcc: x@y.org", ""),
            "not one e-mail address",
        ),
        (
            alias("a@example.com, b@example.com", ""),
            "not one e-mail address",
        ),
        (
            json!({"address": "shop@example.com", "display_name": "Shop\nBcc: x@y.org"}),
            "one line",
        ),
        (alias("shop@example.com", &"x".repeat(2001)), "at most 2000"),
    ] {
        let (s, _, e) = call(&app, b.post("/api/v1/identities", with(fields))).await;
        assert_error(s, &e, StatusCode::BAD_REQUEST, "invalid_identity");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(says),
            "{e}"
        );
    }
    let (s, _, shop) = call(
        &app,
        b.post(
            "/api/v1/identities",
            with(alias(" shop@example.com ", "-- \r\nBob\r\nThe shop\r\n")),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{shop}");
    assert_eq!(shop["address"], "shop@example.com");
    assert_eq!(
        shop["signature"], "Bob\nThe shop",
        "tidied, without the separator"
    );
    assert_eq!(
        (shop["is_primary"].clone(), shop["is_default"].clone()),
        (json!(false), json!(false))
    );
    let shop = shop["id"].as_i64().unwrap();
    let (s, _, e) = call(
        &app,
        b.post("/api/v1/identities", with(alias("SHOP@example.com", ""))),
    )
    .await;
    assert_error(s, &e, StatusCode::CONFLICT, "conflict");
    let mut elsewhere = alias("x@example.com", "");
    elsewhere["account_id"] = json!(999);
    let (s, _, e) = call(&app, b.post("/api/v1/identities", elsewhere)).await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");

    // The primary: its address changes with the account; its name and signature here.
    let (s, _, e) = call(
        &app,
        b.put(
            &format!("/api/v1/identities/{primary}"),
            alias("other@example.com", ""),
        ),
    )
    .await;
    assert_error(s, &e, StatusCode::CONFLICT, "primary_identity");
    let (s, _, p) = call(
        &app,
        b.put(
            &format!("/api/v1/identities/{primary}"),
            json!({"address": "bob@example.com", "display_name": "Bob B.", "signature": "Bob"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["signature"], "Bob");
    let (_, _, accounts) = call(&app, b.get("/api/v1/accounts")).await;
    assert_eq!(accounts["accounts"][0]["display_name"], "Bob B.");

    // The default: new messages are written from it, with its signature once.
    let (s, _, list) = call(
        &app,
        b.req(Method::POST, &format!("/api/v1/identities/{shop}/default")),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let defaults: Vec<i64> = list["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["is_default"] == true)
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(defaults, [shop]);
    let (s, _, fresh) = call(&app, b.post("/api/v1/drafts", json!({"subject": "Hi"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{fresh}");
    assert_eq!(
        (fresh["identity_id"].as_i64(), fresh["account_id"].as_i64()),
        (Some(shop), Some(account))
    );
    assert_eq!(fresh["body"], "\n\n-- \nBob\nThe shop\n");
    // The app shows the signature itself in a new message.
    let (_, _, shown) = call(
        &app,
        b.post(
            "/api/v1/drafts",
            json!({"body": "typed", "add_signature": false}),
        ),
    )
    .await;
    assert_eq!(shown["body"], "typed");
    // Reopened and saved again: the signature is not added again.
    let (_, _, again) = call(&app, b.get(&format!("/api/v1/drafts/{}", fresh["id"]))).await;
    assert_eq!(again["body"], fresh["body"]);

    // A reply to mail sent to bob@example.com is written from it, its signature
    // between the text and the quote.
    let (_, _, found) = call(&app, b.get("/api/v1/search?q=subject:zanzibar")).await;
    let original = found["results"][0]["id"].as_i64().unwrap();
    let (s, _, reply) = call(
        &app,
        b.post(
            "/api/v1/drafts",
            json!({"reply": {"id": original, "mode": "reply"}}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{reply}");
    assert_eq!(reply["identity_id"].as_i64(), Some(primary));
    let body = reply["body"].as_str().unwrap();
    assert!(body.starts_with("\n\n-- \nBob\n\nOn "), "{body:?}");
    assert_eq!(body.matches("-- \n").count(), 1, "{body:?}");

    // Saving names the From picked; an unknown one is refused.
    let reply_id = reply["id"].as_i64().unwrap();
    let mut edit = reply.clone();
    edit["identity_id"] = json!(999);
    let (s, _, e) = call(
        &app,
        b.put(&format!("/api/v1/drafts/{reply_id}"), edit.clone()),
    )
    .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "bad_request");
    edit["identity_id"] = json!(shop);
    edit["account_id"] = Value::Null;
    let (s, _, saved) = call(&app, b.put(&format!("/api/v1/drafts/{reply_id}"), edit)).await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    assert_eq!(
        (saved["identity_id"].as_i64(), saved["account_id"].as_i64()),
        (Some(shop), Some(account))
    );
    assert_eq!(
        saved["body"], reply["body"],
        "a save never adds a signature"
    );

    // The primary cannot go; the default alias can, and the primary becomes the
    // default and takes over its drafts.
    let (s, _, e) = call(
        &app,
        b.req(Method::DELETE, &format!("/api/v1/identities/{primary}")),
    )
    .await;
    assert_error(s, &e, StatusCode::CONFLICT, "primary_identity");
    let (s, _, _) = call(
        &app,
        b.req(Method::DELETE, &format!("/api/v1/identities/{shop}")),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, e) = call(
        &app,
        b.req(Method::DELETE, &format!("/api/v1/identities/{shop}")),
    )
    .await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
    let (_, _, list) = call(&app, b.get("/api/v1/identities")).await;
    assert_eq!(list["identities"].as_array().unwrap().len(), 1);
    assert_eq!(list["identities"][0]["is_default"], true);
    let (_, _, moved) = call(&app, b.get(&format!("/api/v1/drafts/{reply_id}"))).await;
    assert_eq!(moved["identity_id"].as_i64(), Some(primary));

    // Without a session, nothing.
    let stranger = Browser::new();
    let (s, _, _) = call(&app, stranger.get("/api/v1/identities")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
