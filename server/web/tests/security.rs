//! The security review's findings, each as a test that failed before its fix:
//! host names (DNS rebinding), CSRF, Origin and Host on every state change,
//! sessions replaced on a new unlock, drafts that can always be saved again,
//! download names judged as saved, and searches that leave the server answering.

mod common;

use actix_web::http::{Method, StatusCode, header};
use actix_web::test;
use common::*;
use serde_json::json;

#[actix_web::test]
async fn requests_for_other_host_names_are_refused() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = Browser::new();
    let with_host = |path: &str, host: Option<&str>| {
        let mut r = b.get(path);
        match host {
            Some(h) => r = r.insert_header((header::HOST, h)),
            None => {
                // The browser helper names 127.0.0.1: build one without any Host.
                r = test::TestRequest::default().uri(path).peer_addr(client(1));
            }
        }
        r
    };
    // A page on a name that now resolves to the box (DNS rebinding) is refused,
    // for the app and the API alike; so is a request that names no host.
    for host in [
        Some("rebind.example"),
        Some("rebind.example:33411"),
        Some("127.0.0.1.nip.io:33411"),
        Some("localhost.evil.example"),
        Some(""),
        None,
    ] {
        for path in ["/", "/api/v1/status"] {
            let (s, _, e) = call(&app, with_host(path, host)).await;
            assert_eq!(
                (s, e["error"]["code"].as_str()),
                (StatusCode::MISDIRECTED_REQUEST, Some("wrong_host")),
                "{host:?} {path}"
            );
        }
    }
    // The box's own names and addresses are answered.
    for host in [
        "127.0.0.1:33411",
        "localhost:33411",
        "LOCALHOST",
        "[::1]:33411",
        "phone.localhost",
        "192.168.1.20:33411",
    ] {
        let (s, _, _) = call(&app, with_host("/api/v1/status", Some(host))).await;
        assert_eq!(s, StatusCode::OK, "{host}");
    }
    // Once the listen address is known, other addresses are not ours; names the
    // operator configured are.
    st.set_network("127.0.0.1".parse().unwrap(), vec!["Homepost.LAN.".into()]);
    for (host, status) in [
        ("192.168.1.20:33411", StatusCode::MISDIRECTED_REQUEST),
        ("127.0.0.1:33411", StatusCode::OK),
        ("homepost.lan:33411", StatusCode::OK),
        ("HOMEPOST.lan.", StatusCode::OK),
        ("other.lan", StatusCode::MISDIRECTED_REQUEST),
    ] {
        let (s, _, _) = call(&app, with_host("/api/v1/status", Some(host))).await;
        assert_eq!(s, status, "{host}");
    }
    // Listening on every address, any address literal is one of ours.
    st.set_network("0.0.0.0".parse().unwrap(), vec![]);
    let (s, _, _) = call(
        &app,
        with_host("/api/v1/status", Some("192.168.1.20:33411")),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

/// Every documented state-changing operation, with its path parameters filled.
fn state_changes() -> Vec<(Method, String)> {
    let doc = serde_json::to_value(homepost_web::openapi()).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "head", "options"].contains(&method.as_str()) {
                continue;
            }
            let uri = path
                .replace("{id}", "1")
                .replace("{name}", "inbox")
                .replace("{index}", "0")
                .replace("{fingerprint}", "AB")
                .replace("{address}", "bob@example.com");
            out.push((
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                uri,
            ));
        }
    }
    assert!(out.len() >= 20, "{out:?}");
    out
}

#[actix_web::test]
async fn every_state_change_refuses_a_missing_csrf_token_a_wrong_origin_and_a_foreign_host() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;
    for (method, uri) in state_changes() {
        // Unlocking, claiming the box, the passphrase estimate, creating the
        // vault and restoring it happen before there is a session, so before
        // there is a CSRF token: Origin, Host and SameSite guard them.
        let before_session = uri == "/api/v1/session" && method == Method::POST
            || [
                "/api/v1/vault",
                "/api/v1/claim",
                "/api/v1/passphrase/strength",
                "/api/v1/restore",
            ]
            .contains(&uri.as_str());
        if !before_session {
            let mut no_token = Browser::new();
            no_token.cookie = b.cookie.clone();
            let (s, _, e) = call(&app, no_token.json(method.clone(), &uri, json!({}))).await;
            assert_eq!(
                (s, e["error"]["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("csrf")),
                "{method} {uri} without a CSRF token"
            );
        }
        let (s, _, e) = call(
            &app,
            b.req(method.clone(), &uri)
                .insert_header((header::ORIGIN, "http://rebind.example:33411"))
                .set_json(json!({})),
        )
        .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("csrf")),
            "{method} {uri} from another origin"
        );
        let (s, _, e) = call(
            &app,
            b.req(method.clone(), &uri)
                .insert_header((header::HOST, "rebind.example:33411"))
                .insert_header((header::ORIGIN, "http://rebind.example:33411"))
                .set_json(json!({})),
        )
        .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::MISDIRECTED_REQUEST, Some("wrong_host")),
            "{method} {uri} for another host"
        );
    }
    // The same origin, spelled as the browser does, is let through.
    let (s, _, _) = call(
        &app,
        b.req(Method::POST, "/api/v1/tags")
            .insert_header((header::ORIGIN, "http://127.0.0.1:33411"))
            .set_json(json!({"name": "kept"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // Everything above was refused before it did anything.
    assert!(st.is_unlocked().await);
}

#[actix_web::test]
async fn without_a_session_nothing_says_whether_someone_is_logged_in() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let stranger = Browser::new();
    let answers = |app| {
        let stranger = &stranger;
        async move {
            let (_, _, status) = call(app, stranger.get("/api/v1/status")).await;
            let (s, _, e) = call(app, stranger.get("/api/v1/tags")).await;
            (status["state"].clone(), s, e["error"]["code"].clone())
        }
    };
    let before = answers(&app).await;
    let mut owner = Browser::new();
    owner.peer = client(2);
    unlock(&app, &mut owner, PASS).await;
    assert!(st.is_unlocked().await);
    assert_eq!(answers(&app).await, before, "the owner's session shows");
    assert_eq!(before.0, "locked");
    // The owner's own browser is told that Lock ended its session.
    call(&app, owner.req(Method::POST, "/api/v1/lock")).await;
    let (_, _, e) = call(&app, owner.get("/api/v1/tags")).await;
    assert_eq!(e["error"]["code"], "locked");
    assert_eq!(answers(&app).await, before);
}

#[actix_web::test]
async fn unlocking_again_replaces_the_old_session() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let mut b = unlocked(&app).await;
    let old = Browser {
        cookie: b.cookie.clone(),
        device: None,
        csrf: b.csrf.clone(),
        peer: b.peer,
    };
    assert_eq!(unlock(&app, &mut b, PASS).await.0, StatusCode::OK);
    assert_ne!(old.cookie, b.cookie);
    let (s, _, e) = call(&app, old.get("/api/v1/tags")).await;
    assert_error(s, &e, StatusCode::UNAUTHORIZED, "unauthenticated");
    let (s, _, _) = call(&app, b.get("/api/v1/tags")).await;
    assert_eq!(s, StatusCode::OK);
}

/// One message: a long body, an encoded subject with control characters, and an
/// attachment whose name is longer than a download name may be.
fn long_message() -> String {
    let line = "a line of the long message that the reply quotes in full\n";
    format!(
        "From x@y Tue Mar  5 10:00:00 2024\nFrom: Long <long@example.org>\nTo: bob@example.com\nSubject: =?utf-8?q?Hello=07=1B_there?=\nMessage-ID: <long@example.org>\nDate: Tue, 05 Mar 2024 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n{}\n--b\nContent-Type: text/plain; name=\"{name}\"\nContent-Disposition: attachment; filename=\"{name}\"\n\nvar x = 1;\n--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename*=utf-8''invoice%E2%80%AEfdp.exe\n\nMZ\n--b--\n\n",
        line.repeat(6000),
        name = format!("{}.js.txt", "A".repeat(125)),
    )
}

async fn vault_with(dir: &std::path::Path, mbox: &str) {
    vault_with_mbox(dir, mbox).await.close().await;
}

#[actix_web::test]
async fn a_reply_to_a_long_message_is_a_draft_that_saves_again() {
    let dir = tempfile::tempdir().unwrap();
    vault_with(dir.path(), &long_message()).await;
    let st = state(dir.path(), IDLE);
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let (_, _, page) = call(&app, b.get("/api/v1/search?q=from:long")).await;
    let id = page["results"][0]["id"].as_i64().unwrap();
    let (s, _, draft) = call(
        &app,
        b.post("/api/v1/drafts", json!({"to": [], "cc": [], "bcc": [], "subject": "", "body": "", "reply": {"id": id, "mode": "reply"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{draft}");
    let body = draft["body"].as_str().unwrap();
    assert!(body.len() > 300_000, "the quote is {} bytes", body.len());
    let subject = draft["subject"].as_str().unwrap();
    assert!(subject.contains("Hello"), "{subject:?}");
    assert!(!subject.chars().any(char::is_control), "{subject:?}");
    // Every autosave of what the app got back is accepted (it got 413 before).
    let draft_id = draft["id"].as_i64().unwrap();
    let mut content = draft.clone();
    for field in ["id", "attachments", "updated_at"] {
        content.as_object_mut().unwrap().remove(field);
    }
    for _ in 0..2 {
        let (s, _, e) = call(&app, b.put(&format!("/api/v1/drafts/{draft_id}"), &content)).await;
        assert_eq!(s, StatusCode::OK, "{e}");
    }
    // The other JSON bodies keep their small limit.
    let (s, _, e) = call(
        &app,
        b.post("/api/v1/tags", json!({"name": "x".repeat(300 * 1024)})),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{e}");
}

#[actix_web::test]
async fn an_attachment_is_judged_by_the_name_it_is_saved_under() {
    let dir = tempfile::tempdir().unwrap();
    vault_with(dir.path(), &long_message()).await;
    let st = state(dir.path(), IDLE);
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let (_, _, page) = call(&app, b.get("/api/v1/search?q=from:long")).await;
    let id = page["results"][0]["id"].as_i64().unwrap();
    let (_, _, m) = call(&app, b.get(&format!("/api/v1/messages/{id}"))).await;
    let shown = m["attachments"][0]["filename"].as_str().unwrap().to_owned();
    assert_eq!(shown.chars().count(), 128);
    assert!(
        shown.ends_with("A.txt") && !shown.contains(".js"),
        "{shown}"
    );
    let res = test::call_service(
        &app,
        b.get(&format!("/api/v1/messages/{id}/attachments/0"))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = res
        .headers()
        .get(header::CONTENT_DISPOSITION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains(&format!("filename=\"{shown}\"")),
        "saved as something else than judged: {disposition}"
    );
    // A name that reverses its own text is saved without the override, and the
    // risk still says what the sender tried.
    let spoofed = &m["attachments"][1];
    assert_eq!(spoofed["filename"], "invoicefdp.exe", "{spoofed}");
    assert_eq!(spoofed["risk"]["level"], "high", "{spoofed}");
    assert!(
        spoofed["risk"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["code"] == "rtl_override"),
        "{spoofed}"
    );
}

#[actix_web::test]
async fn too_many_wrong_setup_codes_are_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir.path().join("data"), IDLE);
    let app = service(&st).await;
    let b = Browser::new();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let (s, _, _) = call(
            &app,
            b.post(
                "/api/v1/vault",
                json!({"passphrase": PASS, "setup_token": "AAAAA-AAAAA-AAAAA-AAAAA"}),
            ),
        )
        .await;
        statuses.push(s);
    }
    assert_eq!(statuses[0], StatusCode::FORBIDDEN);
    assert_eq!(statuses[7], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // Even the right code waits now; nothing was created meanwhile.
    let token = st.setup_token().unwrap();
    let (s, _, _) = call(
        &app,
        b.post(
            "/api/v1/vault",
            json!({"passphrase": PASS, "setup_token": token.as_str()}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(!st.has_vault());
}

#[actix_web::test]
async fn cookie_values_are_found_by_their_exact_name() {
    let req = test::TestRequest::default()
        .insert_header((
            header::COOKIE,
            "homepost_sessionx=1; other=2;  homepost_session=\"3\"; homepost_device=4",
        ))
        .to_http_request();
    let value = |name| homepost_web::auth::cookie_value(&req, name).map(|v| v.to_string());
    assert_eq!(value("homepost_session").as_deref(), Some("3"));
    assert_eq!(value("homepost_device").as_deref(), Some("4"));
    assert_eq!(value("homepost"), None);
}

#[actix_web::test]
async fn only_the_box_itself_skips_the_setup_code_not_a_proxy_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir.path().join("data"), IDLE);
    st.set_network("127.0.0.1".parse().unwrap(), vec!["homepost.lan".into()]);
    let app = service(&st).await;
    let mut local = Browser::new();
    local.peer = "127.0.0.1:40000".parse().unwrap();
    let required = |r: test::TestRequest| {
        let app = &app;
        async move {
            let (_, _, status) = call(app, r).await;
            status["setup_token_required"].clone()
        }
    };
    assert_eq!(required(local.get("/api/v1/status")).await, false);
    for (name, value) in [
        ("X-Forwarded-For", "203.0.113.9"),
        ("Forwarded", "for=203.0.113.9"),
        ("X-Real-IP", "203.0.113.9"),
        ("Via", "1.1 proxy"),
    ] {
        let r = local.get("/api/v1/status").insert_header((name, value));
        assert_eq!(required(r).await, true, "through a proxy ({name})");
    }
    // Over loopback, but by a name a proxy or tunnel would use.
    let r = local
        .get("/api/v1/status")
        .insert_header((header::HOST, "homepost.lan"));
    assert_eq!(required(r).await, true);
    // And such a request cannot create the vault without the code.
    let (s, _, e) = call(
        &app,
        local
            .req(Method::POST, "/api/v1/vault")
            .insert_header(("X-Forwarded-For", "203.0.113.9"))
            .set_json(json!({"passphrase": PASS})),
    )
    .await;
    assert_error(s, &e, StatusCode::FORBIDDEN, "setup_token_required");
    assert!(!st.has_vault());
}
