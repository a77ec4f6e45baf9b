//! Mail through the API: search, read, tag; the sanitised HTML view and
//! attachments with their risk; long threads in windows and pages.

use actix_web::http::{Method, StatusCode, header};
use actix_web::test;
use serde_json::json;

use crate::common::*;

#[actix_web::test]
async fn unlock_search_read_tag_and_lock() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let mut b = Browser::new();
    let (s, body) = unlock(&app, &mut b, PASS).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["csrf_token"].as_str().unwrap().len(), 43);
    assert_eq!(body["idle_timeout"], 600);
    assert!(b.cookie.as_ref().unwrap().len() == 43);

    // Search: spam is hidden unless asked for.
    let (s, _, page) = call(&app, b.get("/api/v1/search?q=zanzibar")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["results"][0]["subject"], "Quarterly zanzibar report");
    assert_eq!(page["results"][0]["unread"], true);
    let (_, _, spam) = call(&app, b.get("/api/v1/search?q=zanzibar%20in:spam")).await;
    assert_eq!(spam["total"], 1);
    assert_eq!(spam["results"][0]["subject"], "buy zanzibar now");

    // Paging with the cursor walks all 31 inbox messages (spam hidden) once.
    let mut seen = std::collections::HashSet::new();
    let mut cursor = String::new();
    loop {
        let (s, _, page) = call(
            &app,
            b.get(&format!(
                "/api/v1/search?q=in:inbox&limit=7&cursor={cursor}"
            )),
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
    let (s, _, e) = call(&app, b.get("/api/v1/search?q=(unclosed")).await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "invalid_query");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("never closed")
    );
    let (s, _, e) = call(&app, b.get("/api/v1/search?limit=0")).await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "bad_request");
    let (s, _, _) = call(&app, b.get("/api/v1/search?cursor=abc")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // One message, with body and thread.
    let (_, _, note) = call(&app, b.get("/api/v1/search?q=subject:%22note%203%22")).await;
    let id = note["results"][0]["id"].as_i64().unwrap();
    let (_, _, found) = call(&app, b.get("/api/v1/search?q=subject:quarterly")).await;
    let id7 = found["results"][0]["id"].as_i64().unwrap();
    let (s, _, m) = call(&app, b.get(&format!("/api/v1/messages/{id7}"))).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(
        m["body"]["text"].as_str().unwrap().trim(),
        "Body of message 7."
    );
    assert_eq!(m["from"][0]["address"], "alice@example.org");
    assert_eq!(m["thread"].as_array().unwrap().len(), 1);
    let (s, _, e) = call(&app, b.get("/api/v1/messages/999999")).await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
    let (s, _, t) = call(&app, b.get(&format!("/api/v1/threads/{}", m["thread_id"]))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(t["messages"][0]["id"], id7);

    // Raw download: an attachment, never rendered.
    let res = test::call_service(
        &app,
        b.get(&format!("/api/v1/messages/{id7}/raw")).to_request(),
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
        b.post(
            "/api/v1/messages/tags",
            json!({"ids": [id, id7], "add": ["Work", "read"], "remove": ["inbox"]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["updated"], 2);
    let (_, _, w) = call(&app, b.get("/api/v1/search?q=tag:work")).await;
    assert_eq!(w["total"], 2);
    assert_eq!(w["results"][0]["unread"], false);
    let (_, _, tags) = call(&app, b.get("/api/v1/tags")).await;
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
        b.post(
            "/api/v1/messages/tags",
            json!({"ids": [id, 999999], "add": ["x"]}),
        ),
    )
    .await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
    let (s, _, e) = call(
        &app,
        b.post(
            "/api/v1/messages/tags",
            json!({"ids": [id], "add": ["two words"]}),
        ),
    )
    .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "invalid_tag");

    // Tag management.
    let (s, _, t) = call(&app, b.post("/api/v1/tags", json!({"name": "Later"}))).await;
    assert_eq!(
        (s, t["name"].as_str()),
        (StatusCode::CREATED, Some("later"))
    );
    let (s, _, e) = call(&app, b.post("/api/v1/tags", json!({"name": "later"}))).await;
    assert_error(s, &e, StatusCode::CONFLICT, "conflict");
    let (s, _, t) = call(
        &app,
        b.json(Method::PATCH, "/api/v1/tags/work", json!({"name": "job"})),
    )
    .await;
    assert_eq!((s, t["total"].as_i64()), (StatusCode::OK, Some(2)));
    let (_, _, j) = call(&app, b.get("/api/v1/search?q=tag:job")).await;
    assert_eq!(j["total"], 2, "the index follows a rename");
    let (s, _, e) = call(&app, b.req(Method::DELETE, "/api/v1/tags/read")).await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "reserved_tag");
    let (s, _, _) = call(&app, b.req(Method::DELETE, "/api/v1/tags/job")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, j) = call(&app, b.get("/api/v1/search?q=tag:job")).await;
    assert_eq!(j["total"], 0, "the index follows a delete");
    let (s, _, _) = call(&app, b.req(Method::DELETE, "/api/v1/tags/job")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Lock: keys dropped, session gone.
    let (s, _, _) = call(&app, b.req(Method::POST, "/api/v1/lock")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(!st.is_unlocked().await);
    let (s, _, e) = call(&app, b.get("/api/v1/tags")).await;
    assert_error(s, &e, StatusCode::UNAUTHORIZED, "locked");
}

#[actix_web::test]
async fn html_view_is_sanitised_and_attachments_download_with_their_risk() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let (_, _, found) = call(&app, b.get("/api/v1/search?q=xylophone")).await;
    let id = found["results"][0]["id"].as_i64().unwrap();
    let (s, _, m) = call(&app, b.get(&format!("/api/v1/messages/{id}"))).await;
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
        b.get(&format!("/api/v1/messages/{id}/html")).to_request(),
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
    let (_, _, plain) = call(&app, b.get("/api/v1/search?q=subject:quarterly")).await;
    let plain_id = plain["results"][0]["id"].as_i64().unwrap();
    let (s, _, e) = call(&app, b.get(&format!("/api/v1/messages/{plain_id}/html"))).await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");

    // The attachment downloads as bytes, never rendered.
    let res = test::call_service(
        &app,
        b.get(&format!("/api/v1/messages/{id}/attachments/0"))
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
    let (s, _, _) = call(&app, b.get(&format!("/api/v1/messages/{id}/attachments/1"))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn long_threads_are_windowed_and_paged() {
    let dir = tempfile::tempdir().unwrap();
    let vault = homepost_testing::vault::create(dir.path());
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
    let app = service(&state(dir.path(), IDLE)).await;
    let b = unlocked(&app).await;
    let (_, _, found) = call(&app, b.get("/api/v1/search?q=body:%22reply%2055%22")).await;
    let id = found["results"][0]["id"].as_i64().unwrap();
    let (_, _, m) = call(&app, b.get(&format!("/api/v1/messages/{id}"))).await;
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
            b.get(&format!(
                "/api/v1/threads/{}?limit=25&cursor={cursor}",
                m["thread_id"]
            )),
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
    let (s, _, _) = call(&app, b.get("/api/v1/threads/1?limit=5000")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
