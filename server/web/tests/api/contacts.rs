//! The address book through the API: contacts made from the test mail,
//! completion drawing on the user's edits, create/update/merge/delete with
//! their refusals, CSRF, paging, and vCard import and export.

use actix_web::http::{Method, StatusCode, header};
use actix_web::test;
use serde_json::{Value, json};

use crate::common::*;

/// An Apple-style 3.0 card (folded, item groups), a bad card, a 4.0 card
/// that shares an address with the test mail's Alice.
const CARDS: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Builder;Bob;;;\r\nFN:Bob Builder\r\nitem1.EMAIL;type=INTERNET;type=pref:bob.builder@example.net\r\nitem1.X-ABLabel:_$!<Home>!$_\r\nTEL;type=CELL:+1 555 0100\r\nNOTE:Fixes everything\\, given time. A note long enough that the exporter f\r\n olded it.\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:2.1\r\nFN:Too Old\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nFN:Alice Liddell\r\nEMAIL:ALICE@example.org\r\nEMAIL:alice@home.example\r\nEND:VCARD\r\n";

fn addresses(c: &Value) -> Vec<&str> {
    c["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap())
        .collect()
}

#[actix_web::test]
async fn the_book_is_made_from_the_mail_and_edits_win() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;

    let (s, _, page) = call(&app, b.get("/api/v1/contacts/list?q=alice")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let alice = page["contacts"][0].clone();
    assert_eq!(alice["name"], "Alice");
    assert_eq!(alice["from_count"], 30);
    assert!(alice["last_seen"].is_i64());
    let id = alice["id"].as_i64().unwrap();

    // Paging: one at a time, the cursor leads on, and ends.
    let (_, _, p1) = call(&app, b.get("/api/v1/contacts/list?limit=1")).await;
    assert_eq!(p1["contacts"].as_array().unwrap().len(), 1);
    let cursor = p1["next_cursor"].as_str().unwrap().to_string();
    let (_, _, p2) = call(
        &app,
        b.get(&format!("/api/v1/contacts/list?limit=1&cursor={cursor}")),
    )
    .await;
    assert_ne!(p1["contacts"][0]["id"], p2["contacts"][0]["id"]);
    let (_, _, all) = call(&app, b.get("/api/v1/contacts/list?sort=name&limit=200")).await;
    assert!(all["next_cursor"].is_null());
    let (s, _, e) = call(&app, b.get("/api/v1/contacts/list?sort=size")).await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "bad_request");

    // The user's name wins in the book and in completion.
    let (s, _, c) = call(
        &app,
        b.put(
            &format!("/api/v1/contacts/{id}"),
            json!({"name": "Alice Liddell", "addresses": ["alice@example.org"], "phones": ["+44 1"], "notes": "tea"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(
        (c["name"].as_str(), c["mail_name"].as_str()),
        (Some("Alice Liddell"), Some("Alice"))
    );
    let (_, _, done) = call(&app, b.get("/api/v1/contacts?q=lidd")).await;
    assert_eq!(done["contacts"][0]["name"], "Alice Liddell", "{done}");
    assert_eq!(done["contacts"][0]["address"], "alice@example.org");
    assert!(done["contacts"][0]["count"].as_i64().unwrap() >= 30);

    // A new contact may not take Alice's address; merging keeps both.
    let (s, _, e) = call(
        &app,
        b.post(
            "/api/v1/contacts",
            json!({"name": "A", "addresses": ["Alice@Example.org"]}),
        ),
    )
    .await;
    assert_error(s, &e, StatusCode::CONFLICT, "address_taken");
    let (s, _, e) = call(
        &app,
        b.post("/api/v1/contacts", json!({"addresses": ["not an address"]})),
    )
    .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "invalid_contact");
    let (s, _, work) = call(
        &app,
        b.post("/api/v1/contacts", json!({"name": "Alice at work", "addresses": ["alice@work.example"], "notes": "desk 4"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{work}");
    let work_id = work["id"].as_i64().unwrap();
    let (s, _, merged) = call(
        &app,
        b.post(
            &format!("/api/v1/contacts/{id}/merge"),
            json!({"from": work_id}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{merged}");
    assert_eq!(
        addresses(&merged),
        ["alice@example.org", "alice@work.example"]
    );
    assert_eq!(merged["name"], "Alice Liddell");
    assert_eq!(merged["notes"], "tea\n\ndesk 4");
    let (s, _, e) = call(&app, b.get(&format!("/api/v1/contacts/{work_id}"))).await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");

    // Deleted: not listed, not completed, not found.
    let (s, _, _) = call(
        &app,
        b.req(Method::DELETE, &format!("/api/v1/contacts/{id}")),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, done) = call(&app, b.get("/api/v1/contacts?q=ali")).await;
    assert_eq!(done["contacts"], json!([]), "{done}");
    let (_, _, page) = call(&app, b.get("/api/v1/contacts/list?q=alice")).await;
    assert_eq!(page["contacts"], json!([]));
    let (s, _, e) = call(
        &app,
        b.req(Method::DELETE, &format!("/api/v1/contacts/{id}")),
    )
    .await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn changes_need_the_csrf_token() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let mut b = unlocked(&app).await;
    b.csrf = None;
    for req in [
        b.post("/api/v1/contacts", json!({"name": "X"})),
        b.put("/api/v1/contacts/1", json!({"name": "X"})),
        b.req(Method::DELETE, "/api/v1/contacts/1"),
        b.post("/api/v1/contacts/1/merge", json!({"from": 2})),
        b.req(Method::POST, "/api/v1/contacts/import")
            .set_payload(CARDS),
    ] {
        let (s, _, e) = call(&app, req).await;
        assert_error(s, &e, StatusCode::FORBIDDEN, "csrf");
    }
}

#[actix_web::test]
async fn vcards_import_merged_by_address_and_export_as_4_0() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let import = |body: Vec<u8>| {
        b.req(Method::POST, "/api/v1/contacts/import")
            .insert_header((header::CONTENT_TYPE, "text/vcard"))
            .set_payload(body)
    };
    let (s, _, report) = call(&app, import(CARDS.into())).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["updated"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(report["problems"][0]["card"], 2);
    assert_eq!(report["problems"][0]["line"], 11);
    assert!(
        report["problems"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("2.1")
    );

    // Alice's card joined the contact the mail made (her address was known).
    let (_, _, page) = call(&app, b.get("/api/v1/contacts/list?q=alice")).await;
    let alice = &page["contacts"][0];
    assert_eq!(page["contacts"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(alice["name"], "Alice Liddell");
    assert_eq!(
        addresses(alice),
        ["alice@example.org", "alice@home.example"]
    );
    assert_eq!(alice["from_count"], 30);

    let res = test::call_service(&app, b.get("/api/v1/contacts/export.vcf").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let ctype = res
        .headers()
        .get(header::CONTENT_TYPE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(ctype.starts_with("text/vcard"), "{ctype}");
    let disposition = res
        .headers()
        .get(header::CONTENT_DISPOSITION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    assert!(
        body.contains("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Bob Builder\r\n"),
        "{body}"
    );
    assert!(body.contains("item1.X-ABLabel:_$!<Home>!$_\r\n"));
    assert!(body.contains("NOTE:Fixes everything\\, given time."));

    // Exported and imported again: every card is merged, nothing is new.
    let (s, _, again) = call(&app, import(body.into_bytes())).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["created"], 0, "{again}");
    assert_eq!(again["problems"], json!([]));

    let (s, _, e) = call(&app, import(b"no cards here".to_vec())).await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "invalid_vcard");
    let (s, _, e) = call(&app, import(vec![b'x'; 5 * 1024 * 1024 + 1])).await;
    assert_error(s, &e, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}
