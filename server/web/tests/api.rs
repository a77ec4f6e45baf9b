//! The API end to end in-process: real vault, SQLCipher store and tantivy index,
//! real actix service; only the socket is left out (see tests/server.rs for that).

use std::time::Duration;

use actix_web::http::{Method, StatusCode, header};
use actix_web::test;
use homepost_vault::KdfParams;
use serde_json::{Value, json};

mod common;

use common::*;

#[actix_web::test]
async fn locked_server_serves_only_unlock() {
    let dir = tempfile::tempdir().unwrap();
    vault_with_mail(dir.path()).await;
    let app = test::init_service(homepost_web::app(state(
        dir.path(),
        Duration::from_secs(600),
    )))
    .await;
    let b = Browser::new();
    let (s, _, body) = call(&app, b.req(Method::GET, "/api/v1/status")).await;
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
        let (s, _, body) = call(&app, b.req(Method::GET, uri)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{uri}");
        // The same answer as when someone else is logged in (security.rs).
        assert_eq!(body["error"]["code"], "unauthenticated", "{uri}");
    }
    // The unlock page (the PWA) is served.
    let (s, headers, _) = call(&app, b.req(Method::GET, "/")).await;
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
async fn unlock_search_read_tag_and_lock() {
    let dir = tempfile::tempdir().unwrap();
    vault_with_mail(dir.path()).await;
    let st = state(dir.path(), Duration::from_secs(600));
    let app = test::init_service(homepost_web::app(st.clone())).await;
    let mut b = Browser::new();
    let (s, body) = unlock(&app, &mut b, PASS).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["csrf_token"].as_str().unwrap().len(), 43);
    assert_eq!(body["idle_timeout"], 600);
    assert!(b.cookie.as_ref().unwrap().len() == 43);

    // Search: spam is hidden unless asked for.
    let (s, _, page) = call(&app, b.req(Method::GET, "/api/v1/search?q=zanzibar")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["results"][0]["subject"], "Quarterly zanzibar report");
    assert_eq!(page["results"][0]["unread"], true);
    let (_, _, spam) = call(
        &app,
        b.req(Method::GET, "/api/v1/search?q=zanzibar%20in:spam"),
    )
    .await;
    assert_eq!(spam["total"], 1);
    assert_eq!(spam["results"][0]["subject"], "buy zanzibar now");

    // Paging with the cursor walks all 31 inbox messages (spam hidden) once.
    let mut seen = std::collections::HashSet::new();
    let mut cursor = String::new();
    loop {
        let (s, _, page) = call(
            &app,
            b.req(
                Method::GET,
                &format!("/api/v1/search?q=in:inbox&limit=7&cursor={cursor}"),
            ),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(page["total"], 31);
        for r in page["results"].as_array().unwrap() {
            assert!(seen.insert(r["id"].as_i64().unwrap()));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 31);

    // Bad queries and parameters are JSON errors with stable codes.
    let (s, _, e) = call(&app, b.req(Method::GET, "/api/v1/search?q=(unclosed")).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("never closed")
    );
    let (s, _, e) = call(&app, b.req(Method::GET, "/api/v1/search?limit=0")).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let (s, _, _) = call(&app, b.req(Method::GET, "/api/v1/search?cursor=abc")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // One message, with body and thread.
    let (_, _, note) = call(
        &app,
        b.req(Method::GET, "/api/v1/search?q=subject:%22note%203%22"),
    )
    .await;
    let id = note["results"][0]["id"].as_i64().unwrap();
    let (_, _, found) = call(
        &app,
        b.req(Method::GET, "/api/v1/search?q=subject:quarterly"),
    )
    .await;
    let id7 = found["results"][0]["id"].as_i64().unwrap();
    let (s, _, m) = call(&app, b.req(Method::GET, &format!("/api/v1/messages/{id7}"))).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(
        m["body"]["text"].as_str().unwrap().trim(),
        "Body of message 7."
    );
    assert_eq!(m["from"][0]["address"], "alice@example.org");
    assert_eq!(m["thread"].as_array().unwrap().len(), 1);
    let (s, _, e) = call(&app, b.req(Method::GET, "/api/v1/messages/999999")).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, _, t) = call(
        &app,
        b.req(Method::GET, &format!("/api/v1/threads/{}", m["thread_id"])),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(t["messages"][0]["id"], id7);

    // Raw download: an attachment, never rendered.
    let res = test::call_service(
        &app,
        b.req(Method::GET, &format!("/api/v1/messages/{id7}/raw"))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cd = res
        .headers()
        .get(header::CONTENT_DISPOSITION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.starts_with("attachment"), "{cd}");
    assert!(
        res.headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    let raw = test::read_body(res).await;
    assert!(String::from_utf8_lossy(&raw).contains("Subject: Quarterly zanzibar report"));

    // Tags on many messages at once, read state, and the counts (32 messages, spam included).
    let (s, _, u) = call(
        &app,
        b.req(Method::POST, "/api/v1/messages/tags")
            .set_json(json!({"ids": [id, id7], "add": ["Work", "read"], "remove": ["inbox"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["updated"], 2);
    let (_, _, w) = call(&app, b.req(Method::GET, "/api/v1/search?q=tag:work")).await;
    assert_eq!(w["total"], 2);
    assert_eq!(w["results"][0]["unread"], false);
    let (_, _, tags) = call(&app, b.req(Method::GET, "/api/v1/tags")).await;
    let tag = |name: &str| {
        tags["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
    };
    assert_eq!(tag("inbox").unwrap()["total"], 30);
    assert_eq!(tag("inbox").unwrap()["unread"], 30);
    assert_eq!(tag("work").unwrap()["unread"], 0);
    let (s, _, e) = call(
        &app,
        b.req(Method::POST, "/api/v1/messages/tags")
            .set_json(json!({"ids": [id, 999999], "add": ["x"]})),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, _, e) = call(
        &app,
        b.req(Method::POST, "/api/v1/messages/tags")
            .set_json(json!({"ids": [id], "add": ["two words"]})),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_tag"))
    );

    // Tag management.
    let (s, _, t) = call(
        &app,
        b.req(Method::POST, "/api/v1/tags")
            .set_json(json!({"name": "Later"})),
    )
    .await;
    assert_eq!(
        (s, t["name"].as_str()),
        (StatusCode::CREATED, Some("later"))
    );
    let (s, _, e) = call(
        &app,
        b.req(Method::POST, "/api/v1/tags")
            .set_json(json!({"name": "later"})),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let (s, _, t) = call(
        &app,
        b.req(Method::PATCH, "/api/v1/tags/work")
            .set_json(json!({"name": "job"})),
    )
    .await;
    assert_eq!((s, t["total"].as_i64()), (StatusCode::OK, Some(2)));
    let (_, _, j) = call(&app, b.req(Method::GET, "/api/v1/search?q=tag:job")).await;
    assert_eq!(j["total"], 2, "the index follows a rename");
    let (s, _, e) = call(&app, b.req(Method::DELETE, "/api/v1/tags/read")).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("reserved_tag"))
    );
    let (s, _, _) = call(&app, b.req(Method::DELETE, "/api/v1/tags/job")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, j) = call(&app, b.req(Method::GET, "/api/v1/search?q=tag:job")).await;
    assert_eq!(j["total"], 0, "the index follows a delete");
    let (s, _, _) = call(&app, b.req(Method::DELETE, "/api/v1/tags/job")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Lock: keys dropped, session gone.
    let (s, _, _) = call(&app, b.req(Method::POST, "/api/v1/lock")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(!st.is_unlocked().await);
    let (s, _, e) = call(&app, b.req(Method::GET, "/api/v1/tags")).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("locked"))
    );
}

#[actix_web::test]
async fn csrf_is_required_on_every_state_change() {
    let dir = tempfile::tempdir().unwrap();
    vault_with_mail(dir.path()).await;
    let app = test::init_service(homepost_web::app(state(
        dir.path(),
        Duration::from_secs(600),
    )))
    .await;
    let mut b = Browser::new();
    unlock(&app, &mut b, PASS).await;
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
            let (s, _, e) = call(&app, b.req(m.clone(), uri).set_json(body)).await;
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
    let (_, _, tags) = call(&app, b.req(Method::GET, "/api/v1/tags")).await;
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
    let (s, _, _) = call(
        &app,
        b.req(Method::POST, "/api/v1/tags")
            .set_json(json!({"name": "x"})),
    )
    .await;
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
    let dir = tempfile::tempdir().unwrap();
    vault_with_mail(dir.path()).await;
    let st = state(dir.path(), Duration::from_secs(600));
    let app = test::init_service(homepost_web::app(st.clone())).await;
    let mut b = Browser::new();
    for _ in 0..5 {
        let (s, e) = unlock(&app, &mut b, "not the passphrase").await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("wrong_passphrase"))
        );
    }
    assert!(!st.is_unlocked().await);
    // Now even the right passphrase must wait, with Retry-After.
    let (s, headers, e) = call(
        &app,
        b.req(Method::POST, "/api/v1/session")
            .set_json(json!({"passphrase": PASS})),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("throttled"))
    );
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
    let app = test::init_service(homepost_web::app(st.clone())).await;
    let (mut a, mut b) = (Browser::new(), Browser::new());
    unlock(&app, &mut a, PASS).await;
    unlock(&app, &mut b, PASS).await;
    // Logging one out leaves the other, and the server unlocked.
    let (s, _, _) = call(&app, a.req(Method::DELETE, "/api/v1/session")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, e) = call(&app, a.req(Method::GET, "/api/v1/tags")).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let (s, _, _) = call(&app, b.req(Method::GET, "/api/v1/tags")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(st.is_unlocked().await);
    // Status checks do not keep a session alive; after the idle time it is gone and
    // the reaper drops the keys.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (_, _, status) = call(&app, b.req(Method::GET, "/api/v1/status")).await;
        // Only a live session learns that the box is unlocked.
        let expected = if status["session"] == true {
            "unlocked"
        } else {
            "locked"
        };
        assert_eq!(status["state"], expected, "{status}");
    }
    let (_, _, status) = call(&app, b.req(Method::GET, "/api/v1/status")).await;
    assert_eq!(
        (status["session"].as_bool(), status["state"].as_str()),
        (Some(false), Some("locked"))
    );
    // The keys stay until the reaper sees that no session is left.
    assert!(st.is_unlocked().await);
    st.reap().await;
    assert!(!st.is_unlocked().await);
    // The session ran out (nobody pressed Lock): "your session has ended".
    let (s, _, e) = call(&app, b.req(Method::GET, "/api/v1/tags")).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    // The last logout locks too.
    let mut c = Browser::new();
    unlock(&app, &mut c, PASS).await;
    assert!(st.is_unlocked().await);
    call(&app, c.req(Method::DELETE, "/api/v1/session")).await;
    assert!(!st.is_unlocked().await);
}

#[actix_web::test]
async fn vault_is_created_once_from_the_web() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let st = state(&data, Duration::from_secs(600));
    let app = test::init_service(homepost_web::app(st.clone())).await;
    let mut b = Browser::new();
    let (_, _, status) = call(&app, b.req(Method::GET, "/api/v1/status")).await;
    assert_eq!(status["state"], "no_vault");
    // A client on the network must bring the setup code the box printed.
    assert_eq!(status["setup_token_required"], true);
    let token = st.setup_token().expect("a new box has a setup code");
    assert_eq!(token.len(), 23, "{}", token.as_str());
    let (s, e) = unlock(&app, &mut b, PASS).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("no_vault"))
    );
    let create = |b: &Browser, body: Value| b.req(Method::POST, "/api/v1/vault").set_json(body);
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
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some(code))
        );
        assert!(!st.has_vault());
    }
    // The box itself needs no code (it shows the code; its owner is at it).
    let mut local = Browser::new();
    local.peer = "127.0.0.1:40000".parse().unwrap();
    let (_, _, status) = call(&app, local.req(Method::GET, "/api/v1/status")).await;
    assert_eq!(status["setup_token_required"], false);
    let typed = token.to_lowercase().replace('-', " ");
    let (s, _, e) = call(
        &app,
        create(&b, json!({"passphrase": "short", "setup_token": typed})),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("weak_passphrase"))
    );
    let (s, headers, body) = call(
        &app,
        create(&b, json!({"passphrase": PASS, "setup_token": typed})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // Spent: the code claims no second vault, and status no longer asks for it.
    assert!(st.setup_token().is_none());
    let (_, _, status) = call(&app, local.req(Method::GET, "/api/v1/status")).await;
    assert_eq!(status["setup_token_required"], false);
    b.cookie = session_cookie(&headers);
    b.csrf = body["csrf_token"].as_str().map(String::from);
    let (_, _, status) = call(&app, b.req(Method::GET, "/api/v1/status")).await;
    assert_eq!(
        (status["state"].as_str(), status["session"].as_bool()),
        (Some("unlocked"), Some(true))
    );
    let (s, _, e) = call(
        &app,
        b.req(Method::POST, "/api/v1/vault")
            .set_json(json!({"passphrase": "another passphrase"})),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("vault_exists"))
    );
    let (s, _, page) = call(&app, b.req(Method::GET, "/api/v1/search")).await;
    assert_eq!((s, page["total"].as_i64()), (StatusCode::OK, Some(0)));
    // The new vault opens with its passphrase from the CLI's side too.
    st.lock().await;
    assert!(
        homepost_vault::Vault::unlock(&data, &homepost_vault::Passphrase::new(PASS.into())).is_ok()
    );
}

#[actix_web::test]
async fn every_response_has_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    vault_with_mail(dir.path()).await;
    let app = test::init_service(homepost_web::app(state(
        dir.path(),
        Duration::from_secs(600),
    )))
    .await;
    let mut b = Browser::new();
    unlock(&app, &mut b, PASS).await;
    let uris = [
        "/",
        "/index.html",
        "/api/v1/status",
        "/api/v1/search",
        "/api/v1/tags",
        "/api/v1/messages/1/raw",
        "/nope",
        "/api/v1/nope",
        "/api/v1/openapi.json",
    ];
    for uri in uris {
        let res = test::call_service(&app, b.req(Method::GET, uri).to_request()).await;
        let h = res.headers();
        let get = |n: &str| {
            h.get(n)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let csp = get("content-security-policy");
        assert!(
            csp.contains("default-src 'self'") || csp.contains("default-src 'none'"),
            "{uri}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{uri}: {csp}"
        );
        assert_eq!(get("x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(get("referrer-policy"), "no-referrer", "{uri}");
        assert!(get("permissions-policy").contains("camera=()"), "{uri}");
        assert!(h.get(header::SERVER).is_none(), "{uri}");
        if uri.starts_with("/api/") {
            assert_eq!(get("cache-control"), "no-store", "{uri}");
        }
    }
    // Errors outside the API are JSON without internals.
    let (s, _, e) = call(&app, b.req(Method::GET, "/api/v1/nope")).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, _, e) = call(
        &app,
        b.req(Method::POST, "/api/v1/session")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload("{not json"),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
}

#[actix_web::test]
async fn openapi_document_matches_the_routes() {
    let dir = tempfile::tempdir().unwrap();
    vault_with_mail(dir.path()).await;
    let app = test::init_service(homepost_web::app(state(
        dir.path(),
        Duration::from_secs(600),
    )))
    .await;
    let b = Browser::new();
    let (s, _, doc) = call(&app, b.req(Method::GET, "/api/v1/openapi.json")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        assert!(path.starts_with("/api/v1/"), "{path}");
        for (method, op) in item.as_object().unwrap() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // Fill path parameters with a plausible value.
            let uri = path
                .replace("{id}", "1")
                .replace("{name}", "inbox")
                .replace("{index}", "0")
                .replace("{index}", "0");
            let (status, _, body) = call(&app, b.req(m.clone(), &uri).set_json(json!({}))).await;
            // Every documented operation is routed: without a session it is refused
            // by the API (401/403/400/409...), never "no such endpoint".
            assert!(
                !(status == StatusCode::NOT_FOUND
                    && body["error"]["message"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("no API endpoint"))
                    && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not routed ({status})"
            );
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            operations += 1;
        }
    }
    // And every route is documented: the routed operations of docs/api.md.
    let expected = [
        ("get", "/api/v1/status"),
        ("post", "/api/v1/vault"),
        ("post", "/api/v1/session"),
        ("get", "/api/v1/session"),
        ("delete", "/api/v1/session"),
        ("post", "/api/v1/lock"),
        ("get", "/api/v1/search"),
        ("get", "/api/v1/messages/{id}"),
        ("get", "/api/v1/messages/{id}/raw"),
        ("get", "/api/v1/threads/{id}"),
        ("post", "/api/v1/messages/tags"),
        ("get", "/api/v1/tags"),
        ("post", "/api/v1/tags"),
        ("patch", "/api/v1/tags/{name}"),
        ("delete", "/api/v1/tags/{name}"),
        ("get", "/api/v1/messages/{id}/html"),
        ("get", "/api/v1/messages/{id}/attachments/{index}"),
        // docs/api-mail-accounts.md
        ("get", "/api/v1/accounts"),
        ("post", "/api/v1/accounts"),
        ("put", "/api/v1/accounts/{id}"),
        ("delete", "/api/v1/accounts/{id}"),
        ("post", "/api/v1/accounts/{id}/sync"),
        ("post", "/api/v1/accounts/{id}/trust"),
        ("get", "/api/v1/contacts"),
        ("get", "/api/v1/drafts"),
        ("post", "/api/v1/drafts"),
        ("get", "/api/v1/drafts/{id}"),
        ("put", "/api/v1/drafts/{id}"),
        ("delete", "/api/v1/drafts/{id}"),
        ("post", "/api/v1/drafts/{id}/attachments"),
        ("delete", "/api/v1/drafts/{id}/attachments/{index}"),
        ("post", "/api/v1/drafts/{id}/send"),
        ("get", "/api/v1/drafts/{id}/crypto"),
        ("get", "/api/v1/outbox"),
        ("post", "/api/v1/outbox/{id}/retry"),
        ("post", "/api/v1/outbox/{id}/cancel"),
        // docs/api-mail-accounts.md, keys and correspondents
        ("get", "/api/v1/keys"),
        ("get", "/api/v1/keys/{fingerprint}/public"),
        ("post", "/api/v1/keys/lookup"),
        ("post", "/api/v1/keys/setup-message"),
        ("post", "/api/v1/messages/{id}/crypto/lookup"),
        ("post", "/api/v1/messages/{id}/setup-message"),
        ("get", "/api/v1/peers/{address}"),
        ("post", "/api/v1/peers/{address}/accept"),
    ];
    for (m, p) in expected {
        assert!(
            paths.get(p).and_then(|i| i.get(m)).is_some(),
            "{m} {p} is not documented"
        );
    }
    assert_eq!(
        operations,
        expected.len(),
        "documented operations: {:?}",
        paths.keys().collect::<Vec<_>>()
    );
    assert!(doc["components"]["schemas"]["MessageView"].is_object());
    for schema in ["PeerSummary", "DraftCrypto", "LookupView", "SetupSent"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} has no schema"
        );
    }
}

#[actix_web::test]
async fn html_view_is_sanitised_and_attachments_download_with_their_risk() {
    let dir = tempfile::tempdir().unwrap();
    vault_with_mail(dir.path()).await;
    let app = test::init_service(homepost_web::app(state(
        dir.path(),
        Duration::from_secs(600),
    )))
    .await;
    let mut b = Browser::new();
    unlock(&app, &mut b, PASS).await;
    let (_, _, found) = call(&app, b.req(Method::GET, "/api/v1/search?q=xylophone")).await;
    let id = found["results"][0]["id"].as_i64().unwrap();
    let (s, _, m) = call(&app, b.req(Method::GET, &format!("/api/v1/messages/{id}"))).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    // The text body is the HTML as text, link target visible, no script text.
    let text = m["body"]["text"].as_str().unwrap();
    assert!(text.contains("https://pay.example/x"), "{text}");
    assert!(!text.contains("alert"), "{text}");
    assert_eq!(m["body"]["has_html"], true);
    let att = &m["attachments"][0];
    assert_eq!(att["filename"], "invoice.pdf.exe");
    assert_eq!(att["risk"]["level"], "high", "{att}");
    let codes: Vec<&str> = att["risk"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"double_extension") || codes.contains(&"executable"),
        "{codes:?}"
    );
    assert!(codes.contains(&"first_contact"), "{codes:?}");

    // The formatted view: inert, with its own policy, framable only by the app.
    let res = test::call_service(
        &app,
        b.req(Method::GET, &format!("/api/v1/messages/{id}/html"))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("sandbox")
            && csp.contains("frame-ancestors 'self'"),
        "{csp}"
    );
    assert!(
        !csp.contains("allow-scripts") && !csp.contains("allow-same-origin"),
        "{csp}"
    );
    let html = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    assert!(
        html.contains("Invoice") && html.contains("https://pay.example/x"),
        "{html}"
    );
    for bad in ["<script", "onclick", "tracker.example", "alert("] {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }
    // A plain-text message has no formatted view.
    let (_, _, plain) = call(
        &app,
        b.req(Method::GET, "/api/v1/search?q=subject:quarterly"),
    )
    .await;
    let plain_id = plain["results"][0]["id"].as_i64().unwrap();
    let (s, _, e) = call(
        &app,
        b.req(Method::GET, &format!("/api/v1/messages/{plain_id}/html")),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    // The attachment downloads as bytes, never rendered.
    let res = test::call_service(
        &app,
        b.req(Method::GET, &format!("/api/v1/messages/{id}/attachments/0"))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(
        h.get(header::CONTENT_TYPE).unwrap(),
        "application/octet-stream"
    );
    let cd = h
        .get(header::CONTENT_DISPOSITION)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        cd.starts_with("attachment") && cd.contains("invoice.pdf.exe"),
        "{cd}"
    );
    assert!(
        h.get(header::CONTENT_SECURITY_POLICY)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    let bytes = test::read_body(res).await;
    assert!(bytes.starts_with(b"MZ"));
    let (s, _, _) = call(
        &app,
        b.req(Method::GET, &format!("/api/v1/messages/{id}/attachments/1")),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn long_threads_are_windowed_and_paged() {
    let dir = tempfile::tempdir().unwrap();
    let vault = homepost_vault::Vault::create(
        dir.path(),
        &homepost_vault::Passphrase::new(PASS.into()),
        KdfParams::INSECURE_FOR_TESTS,
    )
    .unwrap();
    let mut mbox = String::new();
    for i in 0..60 {
        let refs = if i == 0 {
            String::new()
        } else {
            format!(
                "In-Reply-To: <t{}@x>\nReferences: <t0@x> <t{}@x>\n",
                i - 1,
                i - 1
            )
        };
        mbox.push_str(&format!(
            "From a@x Tue Mar  5 10:00:00 2024\nFrom: a@example.org\nSubject: Re: long\nMessage-ID: <t{i}@x>\n{refs}Date: Tue, 05 Mar 2024 {:02}:{:02}:00 +0000\n\nreply {i}\n\n",
            i / 60, i % 60
        ));
    }
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("t.mbox"), mbox).unwrap();
    let mut lib = homepost_core::library::Library::open(dir.path(), &vault)
        .await
        .unwrap();
    lib.import(
        homepost_mail::ImportSources::new(vec![src.path().join("t.mbox")]),
        &[],
        0,
        |_| {},
    )
    .await
    .unwrap();
    lib.close().await;
    let app = test::init_service(homepost_web::app(state(
        dir.path(),
        Duration::from_secs(600),
    )))
    .await;
    let mut b = Browser::new();
    unlock(&app, &mut b, PASS).await;
    let (_, _, found) = call(
        &app,
        b.req(Method::GET, "/api/v1/search?q=body:%22reply%2055%22"),
    )
    .await;
    let id = found["results"][0]["id"].as_i64().unwrap();
    let (_, _, m) = call(&app, b.req(Method::GET, &format!("/api/v1/messages/{id}"))).await;
    let thread = m["thread"].as_array().unwrap();
    assert_eq!((thread.len(), m["thread_total"].as_i64()), (50, Some(60)));
    assert!(
        thread.iter().any(|t| t["id"] == id),
        "the window holds the message"
    );
    assert_eq!(
        thread.last().unwrap()["snippet"],
        "reply 59",
        "near the end, the window is the last 50"
    );
    let mut seen = 0;
    let mut cursor = String::new();
    loop {
        let (s, _, page) = call(
            &app,
            b.req(
                Method::GET,
                &format!(
                    "/api/v1/threads/{}?limit=25&cursor={cursor}",
                    m["thread_id"]
                ),
            ),
        )
        .await;
        assert_eq!(
            (s, page["total"].as_i64()),
            (StatusCode::OK, Some(60)),
            "{page}"
        );
        seen += page["messages"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, 60);
    let (s, _, _) = call(&app, b.req(Method::GET, "/api/v1/threads/1?limit=5000")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
