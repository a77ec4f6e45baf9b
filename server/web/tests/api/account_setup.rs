//! Setting an account up from the wizard: discovery's answer, and the
//! connection test against real Dovecot and a real SMTP server on loopback,
//! with each failure in plain words, then a saved account that keeps the
//! certificate the test logged in with (and only that one).

use actix_web::http::StatusCode;
use homepost_testing::peers::{Dovecot, SmtpServer};
use serde_json::{Value, json};

use crate::common::*;

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn server(host: &str, port: u16, security: &str, username: &str, password: &str) -> Value {
    json!({"host": host, "port": port, "security": security, "username": username, "password": password})
}

fn incoming(host: &str, port: u16, username: &str, password: &str) -> Value {
    let mut s = server(host, port, "tls", username, password);
    s["protocol"] = json!("imap");
    s
}

#[actix_web::test]
async fn the_connection_test_says_what_is_wrong_in_plain_words() {
    let dovecot = Dovecot::start();
    let smtp = SmtpServer::start(true);
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let email = "alice@wizard.test";
    let test = |body: Value| b.post("/api/v1/accounts/test", body);

    // Self-signed certificates: refused, with the fingerprint to compare.
    let (s, _, r) = call(
        &app,
        test(json!({
            "email": email,
            "incoming": incoming("localhost", dovecot.imaps, email, "secret"),
            "outgoing": server("localhost", smtp.port, "tls", email, "secret"),
        })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    for (side, fp) in [
        ("incoming", dovecot.cert_sha256()),
        ("outgoing", smtp.cert_sha256()),
    ] {
        assert_eq!(r[side]["ok"], false, "{r}");
        assert_eq!(r[side]["error"]["code"], "untrusted_certificate", "{r}");
        assert_eq!(r[side]["error"]["fingerprint"], fp.as_str(), "{r}");
    }

    // Trusted by fingerprint: logged in, as the local part once the whole
    // address was refused; the folders are listed with their special use.
    let mut inc = incoming("localhost", dovecot.imaps, email, "secret");
    inc["pinned_sha256"] = json!(dovecot.cert_sha256());
    let mut out = server("localhost", smtp.port, "tls", email, "secret");
    out["pinned_sha256"] = json!(smtp.cert_sha256());
    let (_, _, r) = call(
        &app,
        test(json!({"email": email, "incoming": inc, "outgoing": out})),
    )
    .await;
    assert_eq!(
        (r["incoming"]["ok"].as_bool(), r["outgoing"]["ok"].as_bool()),
        (Some(true), Some(true)),
        "{r}"
    );
    assert_eq!(r["incoming"]["username"], "alice");
    assert_eq!(r["outgoing"]["username"], "alice");
    let folders = r["incoming"]["folders"].as_array().unwrap();
    assert_eq!(folders[0]["name"], "INBOX", "{r}");

    // A wrong password.
    let mut wrong = inc.clone();
    wrong["password"] = json!("not-the-password");
    let mut wrong_out = out.clone();
    wrong_out["password"] = json!("not-the-password");
    let (_, _, r) = call(
        &app,
        test(json!({"email": email, "incoming": wrong, "outgoing": wrong_out})),
    )
    .await;
    for side in ["incoming", "outgoing"] {
        assert_eq!(r[side]["error"]["code"], "wrong_password", "{r}");
        assert!(
            r[side]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("user name or password"),
            "{r}"
        );
    }

    // A name that does not exist, a port nobody listens on, plain off loopback.
    let (_, _, r) = call(
        &app,
        test(json!({
            "email": email,
            "incoming": incoming("no-such-host.invalid", 993, email, "secret"),
            "outgoing": server("127.0.0.1", closed_port(), "tls", email, "secret"),
        })),
    )
    .await;
    assert_eq!(r["incoming"]["error"]["code"], "server_not_found", "{r}");
    assert!(
        r["incoming"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("was not found"),
        "{r}"
    );
    assert_eq!(r["outgoing"]["error"]["code"], "blocked_port", "{r}");
    assert!(
        r["outgoing"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("firewall"),
        "{r}"
    );
    let mut plain = incoming("mail.example.org", 143, email, "secret");
    plain["security"] = json!("plain");
    let (_, _, r) = call(&app, test(json!({"email": email, "incoming": plain}))).await;
    assert_eq!(r["incoming"]["error"]["code"], "plain_refused", "{r}");
    assert_eq!(r["outgoing"], Value::Null);

    // Saved: the pins the test logged in with are kept; another is dropped.
    inc["username"] = json!("alice");
    inc["folders"] = json!(["INBOX"]);
    inc["first_sync"] = json!({"scope": "none", "mark_read": false});
    out["username"] = json!("alice");
    out["pinned_sha256"] = json!("AA:".repeat(31) + "AA");
    let (s, _, a) = call(
        &app,
        b.post(
            "/api/v1/accounts",
            json!({"name": "Wizard", "email": email, "incoming": inc, "outgoing": out}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(
        a["incoming"]["pinned_sha256"],
        dovecot.cert_sha256().as_str(),
        "{a}"
    );
    assert_eq!(a["outgoing"]["pinned_sha256"], Value::Null, "{a}");
    assert_eq!(a["incoming"]["first_sync"]["scope"], "none", "{a}");
}

#[actix_web::test]
async fn discovery_reports_every_source_when_nothing_is_found() {
    let (_dir, st) = mail_state().await;
    // A name server that never answers, and no ISPDB: nothing to find, fast.
    st.set_discovery(homepost_web::routes::account_setup::DiscoverySetup::new(
        std::sync::Arc::new(homepost_net::Direct),
        false,
        Some(format!("127.0.0.1:{}", closed_port()).parse().unwrap()),
        None,
    ));
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let (s, _, e) = call(
        &app,
        b.post(
            "/api/v1/accounts/discover",
            json!({"email": "not an address"}),
        ),
    )
    .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "invalid_account");
    let (s, _, r) = call(
        &app,
        b.post(
            "/api/v1/accounts/discover",
            json!({"email": "bob@nowhere.invalid"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["candidates"], json!([]), "{r}");
    assert_eq!(r["best"], Value::Null);
    let log = r["log"].as_array().unwrap();
    assert!(
        log.iter().any(|l| l.as_str().unwrap().contains("SRV")),
        "{r}"
    );
    assert!(
        log.iter()
            .any(|l| l.as_str().unwrap().contains("turned off")),
        "{r}"
    );
}
