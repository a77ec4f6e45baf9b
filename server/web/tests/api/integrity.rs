//! `/integrity` and `/trash` (issue 19): a check in the background with its
//! outcome in the status; vault.json damaged while the box runs is found and
//! written again by a repair (the box then unlocks after a restart); the
//! trash's retention, emptying it, and deleting one message for good only
//! from the trash.

use std::time::{Duration, Instant};

use actix_web::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

/// Polls `GET /integrity` until nothing runs; returns the last answer.
async fn settled<S, B>(app: &S, b: &Browser) -> Value
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (s, _, v) = call(app, b.get("/api/v1/integrity")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        if v["status"]["running"].is_null() {
            return v;
        }
        assert!(Instant::now() < deadline, "still running: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn a_check_runs_and_a_damaged_vault_file_is_repaired() {
    let (dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let (s, _, v) = call(&app, b.get("/api/v1/integrity")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["status"]["last_check"].is_null(), "{v}");
    assert!(v["status"]["next_check"].as_i64().unwrap() > 0, "{v}");
    assert_eq!(v["trash_days"], 30);

    let (s, _, v) = call(&app, b.post("/api/v1/integrity/check", json!({}))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let v = settled(&app, &b).await;
    assert_eq!(v["status"]["clean"], true, "{v}");
    assert_eq!(v["status"]["messages"], 32, "{v}");
    assert_eq!(v["status"]["findings"], json!([]));

    // A failing card changes vault.json while the box runs.
    let vault = dir.path().join("vault.json");
    let sound = std::fs::read(&vault).unwrap();
    let mut damaged = sound.clone();
    let at = damaged.len() / 2;
    damaged[at] ^= 0x01;
    std::fs::write(&vault, &damaged).unwrap();
    call(&app, b.post("/api/v1/integrity/check", json!({}))).await;
    let v = settled(&app, &b).await;
    assert_eq!(v["status"]["clean"], false, "{v}");
    let findings = v["status"]["findings"].to_string();
    assert!(findings.contains("vault.json"), "{v}");

    let (s, _, v) = call(&app, b.post("/api/v1/integrity/repair", json!({}))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let v = settled(&app, &b).await;
    assert_eq!(v["status"]["clean"], true, "{v}");
    assert!(
        v["status"]["repaired"]
            .to_string()
            .contains("vault.json written again"),
        "{v}"
    );
    assert_eq!(std::fs::read(&vault).unwrap(), sound);
    // After a restart the passphrase opens the box.
    homepost_vault::Vault::unlock(dir.path(), &homepost_vault::Passphrase::new(PASS.into()))
        .unwrap();
}

#[actix_web::test]
async fn the_trash_keeps_its_days_and_deletes_for_good_only_what_is_in_it() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let (_, _, page) = call(&app, b.get("/api/v1/search?q=zanzibar")).await;
    let id = page["results"][0]["id"].as_i64().unwrap();

    let (s, _, v) = call(
        &app,
        b.req(Method::DELETE, &format!("/api/v1/messages/{id}")),
    )
    .await;
    assert_error(s, &v, StatusCode::CONFLICT, "not_in_trash");
    let (s, _, v) = call(
        &app,
        b.post(
            "/api/v1/messages/tags",
            json!({"ids": [id], "add": ["trash"]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _, v) = call(
        &app,
        b.req(Method::DELETE, &format!("/api/v1/messages/{id}")),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, _, v) = call(&app, b.get(&format!("/api/v1/messages/{id}"))).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, _, v) = call(
        &app,
        b.req(Method::DELETE, &format!("/api/v1/messages/{id}")),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    let (s, _, v) = call(&app, b.put("/api/v1/trash", json!({"days": 9999}))).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "bad_request");
    let (s, _, v) = call(&app, b.put("/api/v1/trash", json!({"days": 7}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["trash_days"], 7);

    let (_, _, page) = call(&app, b.get("/api/v1/search?q=in:inbox&limit=3")).await;
    let ids: Vec<i64> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    call(
        &app,
        b.post(
            "/api/v1/messages/tags",
            json!({"ids": ids, "add": ["trash"], "remove": ["inbox"]}),
        ),
    )
    .await;
    let (s, _, v) = call(&app, b.post("/api/v1/trash/empty", json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["deleted"], 3);
    let (_, _, page) = call(&app, b.get("/api/v1/search?q=in:trash")).await;
    assert_eq!(page["total"], 0, "{page}");
}
