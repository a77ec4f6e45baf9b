//! `POST /restore`: a new box made again from its backup in a real Dovecot, as
//! the setup wizard does it; and what is refused before anything starts.

use std::time::Duration;

use actix_web::http::{StatusCode, header};
use homepost_backup::{ImapRemote, Options};
use homepost_store::{Endpoint, Security};
use homepost_testing::peers::{Dovecot, PASSWORD};
use serde_json::{Value, json};

use crate::common::*;

fn source(d: &Dovecot) -> Value {
    json!({
        "host": "127.0.0.1", "port": d.imaps, "security": "tls",
        "username": "alice", "password": PASSWORD, "pinned_sha256": d.cert_sha256(),
    })
}

#[actix_web::test]
async fn a_new_box_comes_back_from_its_backup_and_unlocks() {
    let d = Dovecot::start();
    // The old box: the test mail, backed up to alice's folder.
    let old = tempfile::tempdir().unwrap();
    let mbox = std::fs::read_to_string(write_mbox(old.path())).unwrap();
    let old_dir = old.path().join("data");
    let lib = vault_with_mbox(&old_dir, &mbox).await;
    let mut remote = ImapRemote::new(
        Endpoint {
            host: "127.0.0.1".into(),
            port: d.imaps,
            security: Security::Tls,
            username: "alice".into(),
            pinned_sha256: Some(d.cert_sha256()),
        },
        zeroize::Zeroizing::new(PASSWORD.into()),
        "Homepost Backup".into(),
    );
    let done = homepost_backup::backup(
        lib.store(),
        lib.backup_access(),
        &mut remote,
        &Options::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    remote.close().await;
    let messages = done.messages;
    lib.close().await;

    // The new box: claimed with its code, then restored.
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir.path().join("data"), IDLE);
    let app = service(&st).await;
    let mut b = Browser::new();
    let code = st.setup_token().unwrap();
    let (s, headers, _) = call(
        &app,
        b.post("/api/v1/claim", json!({"setup_token": code.as_str()})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let claim = set_cookie(&headers, "hp_claim").unwrap();
    let with_claim = |r: actix_web::test::TestRequest| {
        r.insert_header((header::COOKIE, format!("hp_claim={claim}")))
    };

    // A wrong passphrase: refused in plain words, nothing kept.
    let (s, _, _) = call(
        &app,
        with_claim(b.post(
            "/api/v1/restore",
            json!({"source": source(&d), "passphrase": "not the passphrase"}),
        )),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let view = wait(&app, &with_claim).await;
    assert_eq!(view["phase"], "failed", "{view}");
    assert!(
        view["error"]
            .as_str()
            .unwrap()
            .contains("does not open the backup"),
        "{view}"
    );
    assert!(!st.has_vault());

    let (s, _, view) = call(
        &app,
        with_claim(b.post(
            "/api/v1/restore",
            json!({"source": source(&d), "passphrase": PASS}),
        )),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{view}");
    let view = wait(&app, &with_claim).await;
    assert_eq!(view["phase"], "done", "{view}");
    assert_eq!(view["messages"].as_u64(), Some(messages));
    assert!(st.has_vault());

    let (s, _) = unlock(&app, &mut b, PASS).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, found) = call(&app, b.get("/api/v1/search?q=zanzibar")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(found["total"].as_u64().unwrap() >= 1, "{found}");

    // Once the box exists, another restore is refused.
    let (s, _, e) = call(
        &app,
        with_claim(b.post(
            "/api/v1/restore",
            json!({"source": source(&d), "passphrase": PASS}),
        )),
    )
    .await;
    assert_error(s, &e, StatusCode::CONFLICT, "vault_exists");
    st.lock().await;
}

/// Polls `GET /restore` until it ends.
async fn wait<S, B>(
    app: &S,
    with_claim: &impl Fn(actix_web::test::TestRequest) -> actix_web::test::TestRequest,
) -> Value
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let b = Browser::new();
    for _ in 0..600 {
        let (s, _, view) = call(app, with_claim(b.get("/api/v1/restore"))).await;
        assert_eq!(s, StatusCode::OK, "{view}");
        if view["phase"] == "done" || view["phase"] == "failed" {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the restore did not end");
}

#[actix_web::test]
async fn a_restore_is_refused_before_it_starts_when_it_cannot_work() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir.path().join("data"), IDLE);
    let app = service(&st).await;
    let b = Browser::new();
    let code = st.setup_token().unwrap();
    let src = json!({"host": "127.0.0.1", "port": 1, "security": "tls", "username": "a", "password": "p"});

    // Without the setup code, from elsewhere than the box.
    let (s, _, e) = call(
        &app,
        b.post(
            "/api/v1/restore",
            json!({"source": src, "passphrase": PASS}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, _, _) = call(&app, b.get("/api/v1/restore")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let with_code = |body: Value| {
        let mut body = body;
        body["setup_token"] = json!(code.as_str());
        b.post("/api/v1/restore", body)
    };
    for (body, code_expected) in [
        (json!({"source": src}), "bad_request"),
        (
            json!({"source": src, "passphrase": PASS, "recovery_key": "0000"}),
            "bad_request",
        ),
        (
            json!({"source": src, "recovery_key": "0000-1111", "new_passphrase": "a long new passphrase here"}),
            "bad_recovery_key",
        ),
        (
            json!({"source": src, "recovery_key": "0000-0000-0000-0000-0000-0000-0000-0000", "new_passphrase": "short"}),
            "weak_passphrase",
        ),
        (
            json!({"source": {"host": "mail.example.org", "port": 143, "security": "plain", "username": "a", "password": "p"}, "passphrase": PASS}),
            "bad_request",
        ),
    ] {
        let (s, _, e) = call(&app, with_code(body.clone())).await;
        assert_error(s, &e, StatusCode::BAD_REQUEST, code_expected);
    }
    assert!(!st.has_vault());
}
