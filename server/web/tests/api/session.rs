//! Sessions: locked, unlock, CSRF, a wrong passphrase, logout and idle
//! timeout, and the vault created from the web.

use std::time::Duration;

use actix_web::http::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::common::*;

#[actix_web::test]
async fn locked_server_serves_only_unlock() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = Browser::new();
    let (s, _, body) = call(&app, b.get("/api/v1/status")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["state"], "locked");
    assert_eq!(body["session"], false);
    for uri in [
        "/api/v1/search?q=zanzibar",
        "/api/v1/messages/1",
        "/api/v1/tags",
        "/api/v1/threads/1",
        "/api/v1/session",
    ] {
        let (s, _, body) = call(&app, b.get(uri)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri}");
        // The same answer as when someone else is logged in (security.rs).
        assert_eq!(body["error"]["code"], "unauthenticated", "{uri}");
    }
    // The unlock page (the PWA) is served.
    let (s, headers, _) = call(&app, b.get("/")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        headers
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[actix_web::test]
async fn csrf_is_required_on_every_state_change() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let mut b = unlocked(&app).await;
    let good = b.csrf.take().unwrap();
    let changes: Vec<(Method, &str, Value)> = vec![
        (
            Method::POST,
            "/api/v1/messages/tags",
            json!({"ids": [1], "add": ["x"]}),
        ),
        (Method::POST, "/api/v1/tags", json!({"name": "x"})),
        (Method::PATCH, "/api/v1/tags/inbox", json!({"name": "y"})),
        (Method::DELETE, "/api/v1/tags/inbox", json!({})),
        (Method::DELETE, "/api/v1/session", json!({})),
        (Method::POST, "/api/v1/lock", json!({})),
    ];
    for token in [None, Some("wrong"), Some(&good[..42])] {
        b.csrf = token.map(String::from);
        for (m, uri, body) in &changes {
            let (s, _, e) = call(&app, b.json(m.clone(), uri, body)).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{m} {uri} with {token:?}");
            assert_eq!(e["error"]["code"], "csrf");
        }
    }
    // A cross-origin request is refused even with the right token.
    b.csrf = Some(good.clone());
    let (s, _, _) = call(
        &app,
        b.req(Method::POST, "/api/v1/tags")
            .insert_header((header::ORIGIN, "https://evil.example"))
            .set_json(json!({"name": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Nothing changed; with the token it works.
    let (_, _, tags) = call(&app, b.get("/api/v1/tags")).await;
    assert!(
        tags["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "inbox")
    );
    assert!(
        !tags["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "x")
    );
    let (s, _, _) = call(&app, b.post("/api/v1/tags", json!({"name": "x"}))).await;
    assert_eq!(s, StatusCode::CREATED);
    // A form post (not JSON) is refused before any handler runs.
    let (s, _, _) = call(
        &app,
        b.req(Method::POST, "/api/v1/tags")
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload("name=y"),
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[actix_web::test]
async fn wrong_passphrase_is_refused_and_throttled() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let mut b = Browser::new();
    for _ in 0..5 {
        let (s, e) = unlock(&app, &mut b, "not the passphrase").await;
        assert_error(s, &e, StatusCode::UNAUTHORIZED, "wrong_passphrase");
    }
    assert!(!st.is_unlocked().await);
    // Now even the right passphrase must wait, with Retry-After.
    let (s, headers, e) = call(&app, b.post("/api/v1/session", json!({"passphrase": PASS}))).await;
    assert_error(s, &e, StatusCode::TOO_MANY_REQUESTS, "throttled");
    let retry: u64 = headers
        .get(header::RETRY_AFTER)
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert!(!st.is_unlocked().await);
    // Another client is not held back by this one.
    let mut other = Browser::new();
    other.peer = client(2);
    let (s, _) = unlock(&app, &mut other, PASS).await;
    assert_eq!(s, StatusCode::OK);
    // Many clients guessing together hit the overall limit.
    for n in 10..40 {
        let mut g = Browser::new();
        g.peer = client(n);
        unlock(&app, &mut g, "guess").await;
    }
    let mut fresh = Browser::new();
    fresh.peer = client(200);
    let (s, _) = unlock(&app, &mut fresh, PASS).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    // A forged "known device" cookie does not get past it...
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    fresh.device = Some(format!("v1.{now}.AAAA.AAAA"));
    let (s, _) = unlock(&app, &mut fresh, PASS).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    // ...but the owner's browser, which unlocked before, does, from a new address
    // too; and so does the box itself (loopback).
    assert!(other.device.is_some(), "no known-device cookie was set");
    other.peer = client(201);
    let (s, _) = unlock(&app, &mut other, PASS).await;
    assert_eq!(s, StatusCode::OK);
    let mut local = Browser::new();
    local.peer = "127.0.0.1:40000".parse().unwrap();
    let (s, _) = unlock(&app, &mut local, PASS).await;
    assert_eq!(s, StatusCode::OK);
    // A known device still waits for its own failures.
    for _ in 0..6 {
        unlock(&app, &mut other, "my own typo").await;
    }
    let (s, _) = unlock(&app, &mut other, PASS).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn sessions_end_by_logout_and_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    vault_with_mail(dir.path()).await;
    let st = state(dir.path(), Duration::from_millis(800));
    let app = service(&st).await;
    let (mut a, mut b) = (Browser::new(), Browser::new());
    unlock(&app, &mut a, PASS).await;
    unlock(&app, &mut b, PASS).await;
    // Logging one out leaves the other, and the server unlocked.
    let (s, _, _) = call(&app, a.req(Method::DELETE, "/api/v1/session")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, e) = call(&app, a.get("/api/v1/tags")).await;
    assert_error(s, &e, StatusCode::UNAUTHORIZED, "unauthenticated");
    let (s, _, _) = call(&app, b.get("/api/v1/tags")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(st.is_unlocked().await);
    // Status checks do not keep a session alive; after the idle time it is gone and
    // the reaper drops the keys.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (_, _, status) = call(&app, b.get("/api/v1/status")).await;
        // Only a live session learns that the box is unlocked.
        let expected = if status["session"] == true {
            "unlocked"
        } else {
            "locked"
        };
        assert_eq!(status["state"], expected, "{status}");
    }
    let (_, _, status) = call(&app, b.get("/api/v1/status")).await;
    assert_eq!(
        (status["session"].as_bool(), status["state"].as_str()),
        (Some(false), Some("locked"))
    );
    // The keys stay until the reaper sees that no session is left.
    assert!(st.is_unlocked().await);
    st.reap().await;
    assert!(!st.is_unlocked().await);
    // The session ran out (nobody pressed Lock): "your session has ended".
    let (s, _, e) = call(&app, b.get("/api/v1/tags")).await;
    assert_error(s, &e, StatusCode::UNAUTHORIZED, "unauthenticated");
    // The last logout locks too.
    let c = unlocked(&app).await;
    assert!(st.is_unlocked().await);
    call(&app, c.req(Method::DELETE, "/api/v1/session")).await;
    assert!(!st.is_unlocked().await);
}

#[actix_web::test]
async fn vault_is_created_once_from_the_web() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let st = state(&data, IDLE);
    let app = service(&st).await;
    let mut b = Browser::new();
    let (_, _, status) = call(&app, b.get("/api/v1/status")).await;
    assert_eq!(status["state"], "no_vault");
    // A client on the network must bring the setup code the box printed.
    assert_eq!(status["setup_token_required"], true);
    let token = st.setup_token().expect("a new box has a setup code");
    assert_eq!(token.len(), 23, "{}", token.as_str());
    let (s, e) = unlock(&app, &mut b, PASS).await;
    assert_error(s, &e, StatusCode::CONFLICT, "no_vault");
    let create = |b: &Browser, body: Value| b.post("/api/v1/vault", body);
    for (body, code) in [
        (json!({"passphrase": PASS}), "setup_token_required"),
        (
            json!({"passphrase": PASS, "setup_token": "0000-0000-0000-0000"}),
            "wrong_setup_token",
        ),
        (
            json!({"passphrase": PASS, "setup_token": ""}),
            "wrong_setup_token",
        ),
    ] {
        let (s, _, e) = call(&app, create(&b, body)).await;
        assert_error(s, &e, StatusCode::FORBIDDEN, code);
        assert!(!st.has_vault());
    }
    // The box itself needs no code (it shows the code; its owner is at it).
    let mut local = Browser::new();
    local.peer = "127.0.0.1:40000".parse().unwrap();
    let (_, _, status) = call(&app, local.get("/api/v1/status")).await;
    assert_eq!(status["setup_token_required"], false);
    let typed = token.to_lowercase().replace('-', " ");
    let (s, _, e) = call(
        &app,
        create(&b, json!({"passphrase": "short", "setup_token": typed})),
    )
    .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "weak_passphrase");
    let (s, headers, body) = call(
        &app,
        create(&b, json!({"passphrase": PASS, "setup_token": typed})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // Spent: the code claims no second vault, and status no longer asks for it.
    assert!(st.setup_token().is_none());
    let (_, _, status) = call(&app, local.get("/api/v1/status")).await;
    assert_eq!(status["setup_token_required"], false);
    b.cookie = session_cookie(&headers);
    b.csrf = body["csrf_token"].as_str().map(String::from);
    let (_, _, status) = call(&app, b.get("/api/v1/status")).await;
    assert_eq!(
        (status["state"].as_str(), status["session"].as_bool()),
        (Some("unlocked"), Some(true))
    );
    let (s, _, e) = call(
        &app,
        b.post("/api/v1/vault", json!({"passphrase": "another passphrase"})),
    )
    .await;
    assert_error(s, &e, StatusCode::CONFLICT, "vault_exists");
    let (s, _, page) = call(&app, b.get("/api/v1/search")).await;
    assert_eq!((s, page["total"].as_i64()), (StatusCode::OK, Some(0)));
    // The new vault opens with its passphrase from the CLI's side too.
    st.lock().await;
    assert!(
        homepost_vault::Vault::unlock(&data, &homepost_vault::Passphrase::new(PASS.into())).is_ok()
    );
}
