//! Conversations: search results grouped by thread, paged without repeats, and
//! tag changes on whole threads that report exactly what they changed.

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

/// Three conversations: a four-message thread with two senders (one reply
/// unread, one filed out of the inbox), a lone message, and a two-message
/// thread whose newest message is spam; then 40 lone notes, older.
fn mbox() -> String {
    let mut out = String::new();
    let mut message = |from: &str, id: &str, refs: &str, subject: &str, minute: u32| {
        out.push_str(&format!(
            "From x Thu Jan  1 00:00:00 1970\nFrom: {from}\nTo: me@example.org\nSubject: {subject}\n\
             Message-ID: <{id}@example.org>\n{refs}Date: Tue, 05 Sep 2023 12:{minute:02}:00 +0000\n\n\
             Text of {id}.\n\n"
        ));
    };
    message("Ann <ann@example.org>", "t1", "", "Plans", 10);
    message(
        "Bob <bob@example.org>",
        "t2",
        "In-Reply-To: <t1@example.org>\n",
        "Re: Plans",
        11,
    );
    message(
        "Ann <ANN@example.org>",
        "t3",
        "References: <t1@example.org> <t2@example.org>\n",
        "Re: Plans",
        12,
    );
    message(
        "Bob <bob@example.org>",
        "t4",
        "In-Reply-To: <t3@example.org>\n",
        "Re: Plans",
        20,
    );
    message("Cat <cat@example.org>", "lone", "", "Lone", 15);
    message("Dan <dan@example.org>", "s1", "", "Offer", 13);
    message(
        "Dan <dan@example.org>",
        "s2",
        "In-Reply-To: <s1@example.org>\n",
        "Re: Offer",
        18,
    );
    for i in 0..40 {
        out.push_str(&format!(
            "From x Thu Jan  1 00:00:00 1970\nFrom: Eve <eve@example.org>\nSubject: Note {i}\n\
             Message-ID: <n{i}@example.org>\nDate: Mon, 04 Sep 2023 10:{i:02}:00 +0000\n\nnote\n\n"
        ));
    }
    out
}

fn subjects(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["latest"]["subject"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn conversations_group_threads_page_without_repeats_and_change_whole_threads() {
    let dir = tempfile::tempdir().unwrap();
    let mut lib = vault_with_mbox(dir.path(), &mbox()).await;
    let id_of = async |lib: &mut homepost_core::library::Library, q: &str| {
        lib.search(q, &Default::default()).await.unwrap().1[0].id
    };
    let t1 = id_of(&mut lib, "subject:plans -subject:re").await;
    let t2 = id_of(&mut lib, "\"Text of t2\"").await;
    let t3 = id_of(&mut lib, "\"Text of t3\"").await;
    let t4 = id_of(&mut lib, "\"Text of t4\"").await;
    let s2 = id_of(&mut lib, "\"Text of s2\"").await;
    // Read all but t2; t4 filed out of the inbox; s2 judged spam.
    let mut read: Vec<i64> = Vec::new();
    for q in [
        "\"Text of t1\"",
        "\"Text of t3\"",
        "\"Text of t4\"",
        "\"Text of s1\"",
        "\"Text of lone\"",
    ] {
        read.push(id_of(&mut lib, q).await);
    }
    lib.change_tags(&read, &["read".into()], &[]).await.unwrap();
    lib.change_tags(&[t4], &[], &["inbox".into()])
        .await
        .unwrap();
    lib.change_tags(&[s2], &["spam".into()], &[]).await.unwrap();
    lib.close().await;
    let st = state(dir.path(), IDLE);
    let app = service(&st).await;
    let b = unlocked(&app).await;

    // The inbox as conversations, by their newest inbox message: the Plans
    // thread by t3 (t4 is newer but filed away), the Offer thread by s1 (s2 is
    // spam), each thread once.
    let (s, _, page) = call(&app, b.get("/api/v1/conversations?q=in:inbox&limit=3")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(subjects(&page), ["Lone", "Offer", "Re: Plans"], "{page}");
    let plans = &page["results"][2];
    assert_eq!(plans["thread"]["messages"], 4);
    assert_eq!(plans["thread"]["unread"], 1);
    assert_eq!(
        plans["latest"]["id"], t3,
        "t4 is newer but not in the inbox"
    );
    let senders: Vec<&str> = plans["thread"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        senders,
        ["ann@example.org", "bob@example.org"],
        "one Ann, whatever the case"
    );
    assert!(
        plans["thread"]["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("inbox"))
    );
    assert_eq!(page["total_messages"], 45);

    // Paging walks 40 lone notes more, each conversation once.
    let mut seen: Vec<i64> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["thread"]["thread_id"].as_i64().unwrap())
        .collect();
    let mut cursor = page["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let (s, _, page) = call(
            &app,
            b.get(&format!(
                "/api/v1/conversations?q=in:inbox&limit=7&cursor={cursor}"
            )),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{page}");
        for c in page["results"].as_array().unwrap() {
            let thread = c["thread"]["thread_id"].as_i64().unwrap();
            assert!(!seen.contains(&thread), "thread {thread} twice");
            seen.push(thread);
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 43);

    // Archive the whole Plans conversation: inbox leaves the three that had it,
    // and the answer says which, so Undo puts back exactly those.
    let thread = plans["thread"]["thread_id"].as_i64().unwrap();
    let (s, _, done) = call(
        &app,
        b.post(
            "/api/v1/messages/tags",
            json!({"threads": [thread], "remove": ["inbox"], "add": ["read"]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["updated"], 4);
    let change = |tag: &str| {
        done["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["tag"] == tag)
            .cloned()
            .unwrap()
    };
    let mut removed: Vec<i64> = serde_json::from_value(change("inbox")["removed"].clone()).unwrap();
    removed.sort_unstable();
    assert_eq!(removed.len(), 3);
    assert!(!removed.contains(&t4));
    assert_eq!(change("read")["added"], json!([t2]));
    let (_, _, page) = call(&app, b.get("/api/v1/conversations?q=in:inbox&limit=3")).await;
    assert_eq!(subjects(&page), ["Lone", "Offer", "Note 39"], "{page}");
    // The undo the app sends.
    let (s, _, _) = call(
        &app,
        b.post(
            "/api/v1/messages/tags",
            json!({"ids": removed, "add": ["inbox"]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, back) = call(&app, b.get("/api/v1/search?q=in:inbox%20subject:plans")).await;
    assert_eq!(back["total"], 3);
    assert!(
        !back["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == t4)
    );
    assert!(removed.contains(&t1));

    // Bad requests get clear errors.
    let (s, _, e) = call(&app, b.post("/api/v1/messages/tags", json!({"add": ["x"]}))).await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "bad_request");
    let (s, _, e) = call(
        &app,
        b.post(
            "/api/v1/messages/tags",
            json!({"threads": [999999], "add": ["x"]}),
        ),
    )
    .await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
    let (s, _, e) = call(&app, b.get("/api/v1/conversations?q=(")).await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "invalid_query");
}
