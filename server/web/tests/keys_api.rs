//! Keys through the API, in-process: own keys and their export, a WKD lookup
//! against the local HTTPS test server (which also turns an unknown signer
//! into a good signature), decrypted attachments and replies, a key change
//! accepted only with the fingerprint the user compared, and the Autocrypt
//! Setup Message both ways.

mod common;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::{StatusCode, header};
use actix_web::test;
use common::*;
use homepost_mail::compose::Attachment;
use homepost_net::testing::{Answer, file, serve};
use homepost_net::{Limits, LookupOptions};
use homepost_pgp::autocrypt::{AutocryptHeader, PreferEncrypt};
use homepost_pgp::discovery::wkd_hash;
use homepost_pgp::setup::{SetupCode, create_setup_message};
use homepost_pgp::{SecretKey, encrypt_message};
use homepost_store::Inserted;
use homepost_testing::{compose, vault};
use serde_json::{Value, json};

const ME: &str = "me@example.net";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn clock() -> SystemTime {
    SystemTime::now() - Duration::from_secs(3600)
}

fn mail(from: &str, subject: &str, body: &str, attachments: &[Attachment]) -> Vec<u8> {
    compose::message(from, &[ME], subject, body, attachments, now() - 600)
}

/// What [`prepared_vault`] put in the library.
struct Prepared {
    secret_id: i64,
    erin_id: i64,
    erin_changed_id: i64,
    setup_id: i64,
    /// A Setup Message with a stranger's key for our address, from the stranger.
    forged_id: i64,
    forged_code: SetupCode,
    erin1: SecretKey,
    erin2: SecretKey,
    code: SetupCode,
}

/// Mail from Erin with an Autocrypt header for `key`, signed by it.
fn from_erin(key: &SecretKey, body: &str) -> Vec<u8> {
    let header = AutocryptHeader::new(
        "erin@example.org",
        &key.certificate(),
        PreferEncrypt::Mutual,
        clock(),
    )
    .unwrap();
    let mut raw = header.to_field().unwrap().into_bytes();
    raw.extend_from_slice(b"\r\n");
    raw.extend_from_slice(&mail("erin@example.org", "Hi", body, &[]));
    homepost_pgp::sign_message(&raw, key, clock()).unwrap()
}

/// A vault whose library holds: an encrypted, signed message from Carol
/// (unknown key) with an attachment, a message from Erin with an Autocrypt
/// header, then one with another key (a key change), and a Setup Message
/// from "another app" of ours.
async fn prepared_vault(dir: &std::path::Path, carol: &SecretKey) -> Prepared {
    let vault = vault::create(dir);
    let mut lib = homepost_core::library::Library::open(dir, &vault)
        .await
        .unwrap();
    homepost_core::keys::ensure_identity_key(lib.store(), None, ME, now() - 7200)
        .await
        .unwrap();
    let me = SecretKey::from_bytes(
        &lib.store()
            .active_identity_key(ME)
            .await
            .unwrap()
            .unwrap()
            .secret,
    )
    .unwrap();
    let notes = Attachment {
        name: "notes.txt".into(),
        content_type: "text/plain".into(),
        data: b"the vault combination is quokka-42".to_vec(),
    };
    let inner = mail(
        "carol@example.org",
        "Secret plans",
        "Meet at the marzipan factory.",
        std::slice::from_ref(&notes),
    );
    let sealed = encrypt_message(&inner, carol, &[&me.certificate()], &[], clock()).unwrap();

    let erin1 = SecretKey::generate(None, "erin@example.org", clock()).unwrap();
    let erin2 = SecretKey::generate(None, "erin@example.org", clock()).unwrap();
    let other_app_key = SecretKey::generate(None, ME, clock()).unwrap();
    let code = SetupCode::generate().unwrap();
    let setup = create_setup_message(
        &other_app_key,
        ME,
        PreferEncrypt::NoPreference,
        &code,
        clock(),
    )
    .unwrap();

    let mallory_key = SecretKey::generate(None, ME, clock()).unwrap();
    let forged_code = SetupCode::generate().unwrap();
    let forged = create_setup_message(
        &mallory_key,
        ME,
        PreferEncrypt::NoPreference,
        &forged_code,
        clock(),
    )
    .unwrap();
    let forged: String = String::from_utf8(forged)
        .unwrap()
        .split_inclusive('\n')
        .map(|line| {
            if line.starts_with("From:") {
                "From: Mallory <mallory@evil.example>\r\n".to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect();

    let mut ids = Vec::new();
    for raw in [
        sealed,
        from_erin(&erin1, "Hello from Erin."),
        from_erin(&erin2, "New phone, new key."),
        setup,
        forged.into_bytes(),
    ] {
        let out = lib
            .deliver(vec![compose::to_inbox(raw)], now())
            .await
            .unwrap();
        match out[0] {
            Inserted::New(id) => ids.push(id),
            Inserted::Duplicate(_) => panic!("duplicate"),
        }
    }
    lib.close().await;
    Prepared {
        secret_id: ids[0],
        erin_id: ids[1],
        erin_changed_id: ids[2],
        setup_id: ids[3],
        forged_id: ids[4],
        forged_code,
        erin1,
        erin2,
        code,
    }
}

#[actix_web::test]
async fn keys_lookups_key_changes_and_setup_messages() {
    let dir = tempfile::tempdir().unwrap();
    let carol = SecretKey::generate(Some("Carol"), "carol@example.org", clock()).unwrap();
    let Prepared {
        secret_id,
        erin_id,
        erin_changed_id,
        setup_id,
        forged_id,
        forged_code,
        erin1,
        erin2,
        code,
    } = prepared_vault(dir.path(), &carol).await;

    // The WKD of example.org has Carol's key and Erin's second key.
    let server = serve(HashMap::from([
        file(
            "openpgpkey.example.org",
            format!(
                "/.well-known/openpgpkey/example.org/hu/{}",
                wkd_hash("carol")
            ),
            Answer::Body(carol.certificate().to_bytes().unwrap().into()),
        ),
        file(
            "openpgpkey.example.org",
            format!(
                "/.well-known/openpgpkey/example.org/hu/{}",
                wkd_hash("erin")
            ),
            Answer::Body(erin2.certificate().to_bytes().unwrap().into()),
        ),
    ]))
    .await;
    let (client, _) = server.client(vec![], Limits::default());
    let state = state(dir.path(), IDLE);
    state.set_key_lookup(
        client,
        LookupOptions {
            announced: false,
            wkd: true,
            keys_openpgp_org: false,
        },
    );
    let app = service(&state).await;
    let b = unlocked(&app).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (s, _, account) = call(
        &app,
        b.post(
            "/api/v1/accounts",
            json!({
                "name": "Me", "email": ME, "display_name": "",
                "outgoing": {"host": "127.0.0.1", "port": port, "security": "starttls",
                             "username": "me", "password": "out-secret-5678"}
            }),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{account}");

    let (_, _, status) = call(&app, b.get("/api/v1/status")).await;
    assert_eq!(status["key_lookup"], "wkd", "{status}");
    // Own keys: the one made for the vault, exported armored.
    let (_, _, keys) = call(&app, b.get("/api/v1/keys")).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1, "{keys}");
    let mine = keys["keys"][0]["fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(keys["keys"][0]["address"], ME);
    let res = test::call_service(
        &app,
        b.get(&format!("/api/v1/keys/{mine}/public")).to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers().get(header::CONTENT_TYPE).unwrap(),
        "application/pgp-keys"
    );
    let armored = test::read_body(res).await;
    assert!(armored.starts_with(b"-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    assert!(!String::from_utf8_lossy(&armored).contains("PRIVATE"));

    // Carol's encrypted mail: decrypted text and attachment, signer unknown.
    let (_, _, m) = call(&app, b.get(&format!("/api/v1/messages/{secret_id}"))).await;
    assert_eq!(m["crypto"]["decrypted"], true, "{m}");
    assert_eq!(m["crypto"]["signature"], "unknown_key");
    assert!(m["body"]["text"].as_str().unwrap().contains("marzipan"));
    let files: Vec<&str> = m["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(files, ["notes.txt"], "{m}");
    let res = test::call_service(
        &app,
        b.get(&format!("/api/v1/messages/{secret_id}/attachments/0"))
            .to_request(),
    )
    .await;
    assert_eq!(
        test::read_body(res).await.as_ref(),
        b"the vault combination is quokka-42"
    );
    // A reply quotes the decrypted text under the real subject.
    let (_, _, reply) = call(
        &app,
        b.post(
            "/api/v1/drafts",
            json!({"reply": {"id": secret_id, "mode": "reply"}}),
        ),
    )
    .await;
    assert_eq!(reply["subject"], "Re: Secret plans", "{reply}");
    assert!(
        reply["body"]
            .as_str()
            .unwrap()
            .contains("> Meet at the marzipan factory.")
    );

    // Looking up the sender's key (WKD) turns the unknown signer into a good one.
    let (s, _, l) = call(
        &app,
        b.post(
            &format!("/api/v1/messages/{secret_id}/crypto/lookup"),
            json!({"keyserver": false}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!(l["found"], true);
    assert_eq!(l["source"], "wkd-advanced");
    assert_eq!(l["fingerprint"], carol.fingerprint().to_hex());
    assert_eq!(l["crypto"]["signature"], "good", "{l}");
    assert_eq!(l["crypto"]["signer_is_sender"], true);
    assert_eq!(l["peer"]["key_source"], "wkd-advanced");
    assert_eq!(l["peer"]["encrypted_count"], 1);
    assert_eq!(l["peer"]["recommendation"], "encrypt", "{l}");
    let (_, _, m) = call(&app, b.get(&format!("/api/v1/messages/{secret_id}"))).await;
    assert_eq!(m["crypto"]["signature"], "good");
    // Nobody there: the attempts say so.
    let (s, _, none) = call(
        &app,
        b.post(
            "/api/v1/keys/lookup",
            json!({"address": "nobody@example.org"}),
        ),
    )
    .await;
    assert_eq!((s, none["found"].clone()), (StatusCode::OK, json!(false)));
    assert_eq!(none["attempts"][0]["outcome"], "no key there", "{none}");
    let (s, _, bad) = call(
        &app,
        b.post("/api/v1/keys/lookup", json!({"address": "not an address"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");

    // Erin's first key is pinned; her next mail brought another, signed by it:
    // flagged, and not taken as hers.
    let (_, _, m) = call(&app, b.get(&format!("/api/v1/messages/{erin_changed_id}"))).await;
    assert_eq!(m["crypto"]["signature"], "good", "{m}");
    assert_eq!(m["crypto"]["key_changed"], true);
    assert_eq!(m["crypto"]["signer_is_sender"], false);
    let (_, _, erin) = call(&app, b.get("/api/v1/peers/Erin@Example.org")).await;
    let (first, new) = (erin1.fingerprint().to_hex(), erin2.fingerprint().to_hex());
    assert_eq!(erin["pinned"], first, "{erin}");
    assert_eq!(erin["key"], first);
    assert_eq!(erin["key_status"], "usable");
    assert_eq!(erin["key_source"], "autocrypt");
    assert_eq!(erin["changed"], new);
    assert_eq!(erin["changed_source"], "autocrypt");
    assert_eq!(erin["autocrypt_count"], 2);
    assert_eq!(erin["signed_count"], 2);
    assert_eq!(erin["prefer_encrypt"], true);
    assert_eq!(erin["recommendation"], "disable");
    // Compose says so per recipient, in words for the app (no CLI hint).
    let (_, _, d) = call(
        &app,
        b.post("/api/v1/drafts", json!({"to": ["erin@example.org"]})),
    )
    .await;
    let (_, _, c) = call(&app, b.get(&format!("/api/v1/drafts/{}/crypto", d["id"]))).await;
    assert_eq!(c["recipients"][0]["key_changed"], true, "{c}");
    let warning = c["warning"].as_str().unwrap();
    assert!(
        warning.contains("changed") && !warning.contains("homepost"),
        "{warning}"
    );
    // WKD has the new key too: still a change waiting.
    let (_, _, l) = call(
        &app,
        b.post(
            "/api/v1/keys/lookup",
            json!({"address": "erin@example.org", "keyserver": false}),
        ),
    )
    .await;
    assert_eq!(l["key_changed"], true, "{l}");
    assert_eq!(l["source"], "wkd-advanced");
    assert_eq!(l["peer"]["changed"], new);
    let accept = |fpr: &str| {
        b.post(
            "/api/v1/peers/erin@example.org/accept",
            json!({ "fingerprint": fpr }),
        )
    };
    let (s, _, e) = call(&app, accept(&first)).await;
    assert_error(s, &e, StatusCode::CONFLICT, "other_key");
    let spaced = erin2.fingerprint().to_spaced_hex();
    let (s, _, p) = call(&app, accept(&spaced)).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(
        (p["pinned"].clone(), p["changed"].clone()),
        (json!(new), Value::Null)
    );
    assert_eq!(p["key"], new);
    assert_eq!(p["key_status"], "usable");
    let (s, _, e) = call(&app, accept(&new)).await;
    assert_error(s, &e, StatusCode::CONFLICT, "no_key_change");
    // The flagged message now reads as signed by Erin.
    let (_, _, m) = call(&app, b.get(&format!("/api/v1/messages/{erin_changed_id}"))).await;
    assert_eq!(m["crypto"]["key_changed"], false, "{m}");
    assert_eq!(m["crypto"]["signer_is_sender"], true);
    let (s, _, _) = call(&app, b.get("/api/v1/peers/stranger@example.org")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, _, m) = call(&app, b.get(&format!("/api/v1/messages/{erin_id}"))).await;
    assert_eq!(m["setup_message"], Value::Null);

    // A Setup Message from another app: wrong code refused, right one imports.
    let (_, _, m) = call(&app, b.get(&format!("/api/v1/messages/{setup_id}"))).await;
    assert_eq!(
        m["setup_message"]["passphrase_begin"],
        json!(&code.as_str()[..2])
    );
    let wrong = if code.as_str().starts_with('1') {
        "2"
    } else {
        "1"
    }
    .repeat(36);
    let (s, _, e) = call(
        &app,
        b.post(
            &format!("/api/v1/messages/{setup_id}/setup-message"),
            json!({ "code": wrong }),
        ),
    )
    .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "wrong_setup_code");
    let (s, _, e) = call(
        &app,
        b.post(
            &format!("/api/v1/messages/{erin_id}/setup-message"),
            json!({ "code": code.as_str() }),
        ),
    )
    .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "not_a_setup_message");
    // A stranger's Setup Message is not offered, and refused even with its code.
    let (_, _, m) = call(&app, b.get(&format!("/api/v1/messages/{forged_id}"))).await;
    assert_eq!(m["setup_message"]["importable"], false, "{m}");
    let (s, _, e) = call(
        &app,
        b.post(
            &format!("/api/v1/messages/{forged_id}/setup-message"),
            json!({ "code": forged_code.as_str() }),
        ),
    )
    .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "not_from_ourselves");
    let (_, _, m) = call(&app, b.get(&format!("/api/v1/messages/{setup_id}"))).await;
    assert_eq!(m["setup_message"]["importable"], true, "{m}");
    let (s, _, imported) = call(
        &app,
        b.post(
            &format!("/api/v1/messages/{setup_id}/setup-message"),
            json!({ "code": code.as_str().replace('-', " ") }),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{imported}");
    assert_eq!(imported["addresses"], json!([ME]));
    let (_, _, keys) = call(&app, b.get("/api/v1/keys")).await;
    let active: Vec<&Value> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["active"] == true)
        .collect();
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    assert_eq!(active[0]["fingerprint"], imported["fingerprint"]);

    // And one of ours, sent to the account itself; the code is shown once.
    let (s, _, sent) = call(&app, b.post("/api/v1/keys/setup-message", json!({}))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{sent}");
    let shown = sent["code"].as_str().unwrap();
    assert_eq!(shown.chars().filter(char::is_ascii_digit).count(), 36);
    assert_eq!(sent["fingerprint"], imported["fingerprint"]);
    let (_, _, outbox) = call(&app, b.get("/api/v1/outbox")).await;
    let item = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == sent["outbox_id"])
        .unwrap()
        .clone();
    assert_eq!(item["subject"], "Autocrypt Setup Message", "{item}");
    assert_eq!(item["to"], json!([ME]), "{item}");

    // Lookups turned off on this box: refused in words.
    let (client, _) = server.client(vec![], Limits::default());
    state.set_key_lookup(
        client,
        LookupOptions {
            announced: false,
            wkd: false,
            keys_openpgp_org: false,
        },
    );
    let (s, _, e) = call(
        &app,
        b.post(
            "/api/v1/keys/lookup",
            json!({"address": "carol@example.org"}),
        ),
    )
    .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "lookups_off");
    // Closed before the test returns, as in mail_api.rs: a store left to drop
    // closes its SQLCipher connections on worker threads, which raced the
    // process's exit and crashed it (SIGSEGV seen in a CI run).
    state.lock().await;
}
