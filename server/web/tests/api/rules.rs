//! `/saved-searches` and `/rules` (issue 22): saved searches with counts,
//! order and errors; a rule counted, run over stored mail in the background
//! and its progress read; a Sieve script previewed, carried over and exported.

use std::time::{Duration, Instant};

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use crate::common::*;

#[actix_web::test]
async fn saved_searches_count_reorder_and_refuse_bad_input() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let (s, _, zanzibar) = call(
        &app,
        b.post(
            "/api/v1/saved-searches",
            json!({"name": "Zanzibar", "query": "zanzibar"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{zanzibar}");
    // The spam message also says zanzibar: left out, as in the inbox.
    assert_eq!(
        (zanzibar["total"].as_i64(), zanzibar["unread"].as_i64()),
        (Some(1), Some(1))
    );
    let (s, _, alice) = call(
        &app,
        b.post(
            "/api/v1/saved-searches",
            json!({"name": "Alice", "query": "from:alice@example.org"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{alice}");
    assert_eq!(alice["total"], 30);

    for (body, status, code) in [
        (
            json!({"name": "zanzibar", "query": "x"}),
            StatusCode::CONFLICT,
            "conflict",
        ),
        (
            json!({"name": "Broken", "query": "(budget"}),
            StatusCode::BAD_REQUEST,
            "bad_query",
        ),
        (
            json!({"name": "Long", "query": "a ".repeat(600)}),
            StatusCode::BAD_REQUEST,
            "bad_query",
        ),
        (
            json!({"name": " ", "query": "x"}),
            StatusCode::BAD_REQUEST,
            "bad_name",
        ),
    ] {
        let (s, _, v) = call(&app, b.post("/api/v1/saved-searches", &body)).await;
        assert_eq!(s, status, "{body}: {v}");
        assert_eq!(v["error"]["code"], code, "{v}");
    }

    let order = json!({"ids": [alice["id"], zanzibar["id"]]});
    let (s, _, v) = call(&app, b.put("/api/v1/saved-searches/order", &order)).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, _, v) = call(
        &app,
        b.put("/api/v1/saved-searches/order", json!({"ids": [1]})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (_, _, v) = call(&app, b.get("/api/v1/saved-searches")).await;
    let names: Vec<&str> = v["saved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Alice", "Zanzibar"]);

    let uri = format!("/api/v1/saved-searches/{}", zanzibar["id"]);
    let (s, _, v) = call(
        &app,
        b.json(Method::PATCH, &uri, json!({"query": "quarterly"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["query"], "quarterly");
    let (s, _, _) = call(&app, b.req(Method::DELETE, &uri)).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call(&app, b.req(Method::DELETE, &uri)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_rule_runs_over_stored_mail_with_a_count_first() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let rule = json!({
        "name": "Alice's notes",
        "query": "from:alice@example.org subject:note",
        "actions": {"add_tags": ["notes"], "archive": true, "mark_read": true},
    });
    let (s, _, r) = call(&app, b.post("/api/v1/rules", &rule)).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["enabled"], true);
    let id = r["id"].as_i64().unwrap();
    let (_, _, v) = call(&app, b.get(&format!("/api/v1/rules/{id}/matches"))).await;
    assert_eq!(v["count"], 29, "{v}");

    let (s, _, v) = call(&app, b.post(&format!("/api/v1/rules/{id}/run"), json!({}))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["count"], 29);
    let deadline = Instant::now() + Duration::from_secs(60);
    let last = loop {
        let (_, _, v) = call(&app, b.get("/api/v1/rules/run")).await;
        if v["running"].is_null() && !v["last"].is_null() {
            break v["last"].clone();
        }
        assert!(Instant::now() < deadline, "{v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(last["changed"], 29, "{last}");
    assert!(last["error"].is_null());
    let (_, _, v) = call(&app, b.get("/api/v1/tags")).await;
    let notes = v["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "notes")
        .cloned();
    assert_eq!(
        notes,
        Some(json!({"name": "notes", "total": 29, "unread": 0}))
    );

    // Bad rules are refused with what is wrong.
    for (body, code) in [
        (
            json!({"name": "x", "query": "*", "actions": {}}),
            "no_actions",
        ),
        (
            json!({"name": "x", "query": "(", "actions": {"trash": true}}),
            "bad_query",
        ),
        (
            json!({"name": "x", "query": "*", "actions": {"add_tags": ["a b"]}}),
            "invalid_tag",
        ),
    ] {
        let (s, _, v) = call(&app, b.post("/api/v1/rules", &body)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(v["error"]["code"], code, "{v}");
    }
    let (s, _, _) = call(
        &app,
        b.post(
            "/api/v1/rules",
            json!({"name": "x", "query": "*", "actions": {"explode": true}}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "unknown action");
}

#[actix_web::test]
async fn sieve_is_previewed_carried_over_and_exported() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let script = r#"require ["fileinto", "imap4flags"];
# Lists
if address :is "from" "alice@example.org" {
    fileinto "Alice";
}
if header :contains "subject" "zanzibar" {
    redirect "elsewhere@example.net";
    addflag "\\Flagged";
}
"#;
    let (s, _, v) = call(
        &app,
        b.post(
            "/api/v1/rules/sieve",
            json!({"script": script, "dry_run": true}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["rules"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["rules"][0]["id"], 0);
    assert_eq!(v["rules"][0]["name"], "Lists");
    assert!(
        v["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["line"] == 7),
        "{v}"
    );
    let (_, _, rules) = call(&app, b.get("/api/v1/rules")).await;
    assert_eq!(rules["rules"], json!([]), "a dry run adds nothing");

    let (s, _, v) = call(
        &app,
        b.post("/api/v1/rules/sieve", json!({"script": script})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, _, rules) = call(&app, b.get("/api/v1/rules")).await;
    let first = &rules["rules"][0];
    assert_eq!(first["query"], "from:alice@example.org", "{rules}");
    assert_eq!(first["actions"]["add_tags"], json!(["alice"]));
    assert_eq!(first["actions"]["archive"], true);

    let (s, _, v) = call(&app, b.get("/api/v1/rules/sieve")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let out = v["script"].as_str().unwrap();
    assert!(out.contains("fileinto \"alice\""), "{out}");
    assert!(!out.contains("redirect"), "{out}");

    let (s, _, v) = call(
        &app,
        b.post("/api/v1/rules/sieve", json!({"script": "if true {"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["code"], "bad_sieve");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("line 1"),
        "{v}"
    );
}
