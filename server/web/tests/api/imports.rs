//! Importing from the app: uploads stream to sealed spool files, an import job
//! runs in the background with progress, and its report names what it skipped.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::common::*;

const TOKEN: &str = "importtoken7f3a";

fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: Uma <uma@example.net>\nTo: me@example.org\nSubject: {subject}\nMessage-ID: <{subject}@example.net>\nDate: Mon, 1 Jun 2020 10:00:00 +0000\n\nThe {TOKEN} of {subject}.\n"
    )
    .into_bytes()
}

/// A Maildir as a user's archive tool packs it: flags in the names, one
/// message twice (the second a duplicate), one file that is not a message.
fn maildir_tar() -> Vec<u8> {
    let members: Vec<(&str, Vec<u8>)> = vec![
        ("Mail/cur/1.box:2,S", message("seen-one")),
        ("Mail/cur/2.box,2,FS", message("flagged-two")),
        ("Mail/new/3.box", message("new-three")),
        ("Mail/cur/4.box:2,S", message("seen-one")),
        (
            "Mail/cur/5.box:2,",
            b"no headers at all, only words\n".to_vec(),
        ),
        ("Mail/dovecot-uidlist", b"3 V1 N6\n".to_vec()),
    ];
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        builder.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    builder.into_inner().unwrap()
}

async fn upload<S, B>(app: &S, b: &Browser, name: &str, bytes: Vec<u8>) -> (StatusCode, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let req = b
        .req(
            Method::POST,
            &format!("/api/v1/imports/uploads?name={name}"),
        )
        .insert_header((header::CONTENT_TYPE, "application/octet-stream"))
        .set_payload(bytes);
    let (s, _, body) = call(app, req).await;
    (s, body)
}

/// Polls a job until it ends.
async fn finished<S, B>(app: &S, b: &Browser, id: &Value) -> Value
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    for _ in 0..600 {
        let (s, _, job) = call(app, b.get(&format!("/api/v1/imports/{id}"))).await;
        assert_eq!(s, StatusCode::OK, "{job}");
        if job["state"] == "done" || job["state"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the import did not finish");
}

#[actix_web::test]
async fn an_uploaded_maildir_imports_with_its_flags_and_a_report() {
    let (dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;

    let (s, tar) = upload(&app, &b, "Mail.tar", maildir_tar()).await;
    assert_eq!(s, StatusCode::CREATED, "{tar}");
    assert_eq!(tar["name"], "Mail.tar");
    let (s, mbox) = upload(
        &app,
        &b,
        "old.mbox",
        [
            b"From x Thu Jan  1 00:00:00 1970\n".as_slice(),
            &message("from-mbox"),
        ]
        .concat(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{mbox}");
    // Waiting on the box, the uploads are sealed: no plaintext anywhere.
    assert_eq!(
        homepost_testing::disk::file_containing(dir.path(), TOKEN.as_bytes()),
        None
    );

    let (s, _, job) = call(
        &app,
        b.post(
            "/api/v1/imports",
            json!({"uploads": [tar["id"], mbox["id"]], "mark_read": true, "skip_inbox": true}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["files"], json!(["Mail.tar", "old.mbox"]));
    let job = finished(&app, &b, &job["id"]).await;
    assert_eq!(job["state"], "done", "{job}");
    let report = &job["report"];
    assert_eq!(report["imported"], 5, "{job}");
    assert_eq!(report["duplicates"], 1, "{job}");
    assert_eq!(
        report["duplicate_origins"],
        json!(["Mail.tar: Mail/cur/4.box:2,S"])
    );
    assert_eq!(report["malformed"], 1, "{job}");
    assert_eq!(
        report["malformed_origins"],
        json!(["Mail.tar: Mail/cur/5.box:2,"])
    );
    assert_eq!(job["progress"]["bytes"], job["progress"]["total_bytes"]);
    // The uploads are gone once imported, and the store holds no plaintext.
    assert_eq!(
        std::fs::read_dir(dir.path().join("spool")).unwrap().count(),
        0
    );
    assert_eq!(
        homepost_testing::disk::file_containing(dir.path(), TOKEN.as_bytes()),
        None
    );

    // Searchable at once, with the options and the Maildir flags as tags.
    let (_, _, found) = call(&app, b.get(&format!("/api/v1/search?q={TOKEN}"))).await;
    assert_eq!(found["total"], 4, "{found}");
    for m in found["results"].as_array().unwrap() {
        let tags: Vec<&str> = m["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(tags.contains(&"read") && !tags.contains(&"inbox"), "{m}");
        assert_eq!(
            tags.contains(&"flagged"),
            m["subject"] == "flagged-two",
            "{m}"
        );
    }
    let (_, _, jobs) = call(&app, b.get("/api/v1/imports")).await;
    assert_eq!(jobs.as_array().unwrap().len(), 1);

    // A second import of the same file: all duplicates, into the inbox by default.
    let (_, again) = upload(&app, &b, "Mail.tar", maildir_tar()).await;
    let (_, _, job) = call(
        &app,
        b.post("/api/v1/imports", json!({"uploads": [again["id"]]})),
    )
    .await;
    let job = finished(&app, &b, &job["id"]).await;
    assert_eq!(job["report"]["imported"], 0, "{job}");
    assert_eq!(job["report"]["duplicates"], 5, "{job}");
}

#[actix_web::test]
async fn bad_uploads_and_imports_get_clear_errors() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let mut b = unlocked(&app).await;

    let (s, e) = upload(&app, &b, "empty.mbox", Vec::new()).await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "bad_request");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("empty.mbox"),
        "{e}"
    );
    let (s, _, e) = call(&app, b.post("/api/v1/imports", json!({"uploads": []}))).await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "bad_request");
    let (s, _, e) = call(
        &app,
        b.post("/api/v1/imports", json!({"uploads": ["nope"]})),
    )
    .await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
    let (s, _, e) = call(&app, b.get("/api/v1/imports/99")).await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");

    // Without the CSRF token, nothing is received.
    let csrf = b.csrf.take();
    let (s, e) = upload(&app, &b, "x.eml", message("x")).await;
    assert_error(s, &e, StatusCode::FORBIDDEN, "csrf");
    b.csrf = csrf;

    // A file that is no mail at all is still stored (and searchable), never lost.
    let (_, junk) = upload(&app, &b, "photo.eml", vec![0xff, 0xd8, 0xff, 0xe0, 0, 16]).await;
    let (_, _, job) = call(
        &app,
        b.post("/api/v1/imports", json!({"uploads": [junk["id"]]})),
    )
    .await;
    let job = finished(&app, &b, &job["id"]).await;
    assert_eq!(job["report"]["imported"], 1, "{job}");

    // A damaged zip ends in the report, not in a failed job.
    let (_, zip) = upload(&app, &b, "broken.zip", b"PK\x03\x04 cut short".to_vec()).await;
    let (_, _, job) = call(
        &app,
        b.post("/api/v1/imports", json!({"uploads": [zip["id"]]})),
    )
    .await;
    let job = finished(&app, &b, &job["id"]).await;
    assert_eq!(job["state"], "done", "{job}");
    let unreadable = job["report"]["unreadable"][0].as_str().unwrap();
    assert!(unreadable.contains("broken.zip"), "{unreadable}");

    // Locking drops waiting uploads and forgets the jobs.
    let (_, waiting) = upload(&app, &b, "x.eml", message("x")).await;
    let (s, _, _) = call(&app, b.req(Method::POST, "/api/v1/lock")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let b = unlocked(&app).await;
    let (s, _, e) = call(
        &app,
        b.post("/api/v1/imports", json!({"uploads": [waiting["id"]]})),
    )
    .await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
    let (_, _, jobs) = call(&app, b.get("/api/v1/imports")).await;
    assert_eq!(jobs, json!([]));
}
