//! The first run from the app: claiming the box with its setup code (one
//! browser only), the passphrase estimate and bar, and the wizard's progress.

use actix_web::http::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::common::*;

/// `req` with the claim cookie `claim` (the test browser knows only its session
/// and device cookies).
fn with_claim(
    req: actix_web::test::TestRequest,
    claim: Option<&str>,
) -> actix_web::test::TestRequest {
    match claim {
        Some(c) => req.insert_header((header::COOKIE, format!("hp_claim={c}"))),
        None => req,
    }
}

#[actix_web::test]
async fn one_browser_claims_the_box_and_a_second_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir.path().join("data"), IDLE);
    let app = service(&st).await;
    let first = Browser::new();
    let mut second = Browser::new();
    second.peer = client(2);
    let code = st.setup_token().expect("a new box has a setup code");

    // A wrong code is refused and counts as a failure.
    let (s, _, e) = call(
        &app,
        first.post(
            "/api/v1/claim",
            json!({"setup_token": "AAAAA-AAAAA-AAAAA-AAAAA"}),
        ),
    )
    .await;
    assert_error(s, &e, StatusCode::FORBIDDEN, "wrong_setup_token");

    // The right one claims the box for this browser: a cookie, and status says so.
    let (s, headers, _) = call(
        &app,
        first.post("/api/v1/claim", json!({"setup_token": code.as_str()})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let claim = set_cookie(&headers, "hp_claim").expect("a claim cookie");
    let raw = headers
        .get_all(header::SET_COOKIE)
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("hp_claim="))
        .unwrap_or_default();
    assert!(
        raw.contains("HttpOnly") && raw.contains("SameSite=Strict"),
        "{raw}"
    );
    let (_, _, status) = call(&app, with_claim(first.get("/api/v1/status"), Some(&claim))).await;
    assert_eq!(
        (
            status["claimed"].as_bool(),
            status["setup_token_required"].as_bool()
        ),
        (Some(true), Some(false))
    );
    let (_, _, status) = call(&app, second.get("/api/v1/status")).await;
    assert_eq!(
        (
            status["claimed"].as_bool(),
            status["setup_token_required"].as_bool()
        ),
        (Some(false), Some(true))
    );

    // A second browser with the same (right) code: refused, to claim and to create.
    let (s, _, e) = call(
        &app,
        second.post("/api/v1/claim", json!({"setup_token": code.as_str()})),
    )
    .await;
    assert_error(s, &e, StatusCode::CONFLICT, "claimed");
    let (s, _, e) = call(
        &app,
        second.post(
            "/api/v1/vault",
            json!({"passphrase": PASS, "setup_token": code.as_str()}),
        ),
    )
    .await;
    assert_error(s, &e, StatusCode::CONFLICT, "claimed");
    assert!(!st.has_vault());

    // The claiming browser: a weak passphrase is refused with the reason.
    let (s, _, e) = call(
        &app,
        with_claim(
            first.post("/api/v1/vault", json!({"passphrase": "password1234"})),
            Some(&claim),
        ),
    )
    .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "weak_passphrase");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too easy to guess"),
        "{e}"
    );

    // Then a good one creates the vault without the code; the claim cookie goes.
    let (s, headers, body) = call(
        &app,
        with_claim(
            first.post("/api/v1/vault", json!({"passphrase": PASS})),
            Some(&claim),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let gone = headers
        .get_all(header::SET_COOKIE)
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("hp_claim="))
        .unwrap_or_default();
    assert!(gone.contains("Max-Age=0"), "{gone}");

    // Spent: the code and the claim are refused from now on.
    assert!(st.setup_token().is_none());
    let (s, _, e) = call(
        &app,
        with_claim(
            first.post("/api/v1/claim", json!({"setup_token": code.as_str()})),
            Some(&claim),
        ),
    )
    .await;
    assert_error(s, &e, StatusCode::CONFLICT, "vault_exists");

    // The wizard starts at the account step, and keeps what is saved.
    let mut b = first;
    b.cookie = session_cookie(&headers);
    b.csrf = body["csrf_token"].as_str().map(String::from);
    let (s, _, setup) = call(&app, b.get("/api/v1/setup")).await;
    assert_eq!(
        (s, setup["step"].as_str()),
        (StatusCode::OK, Some("account")),
        "{setup}"
    );
    let (s, _, e) = call(
        &app,
        b.put("/api/v1/setup", json!({"step": "remote", "account": 99})),
    )
    .await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
    let (s, _, _) = call(&app, b.put("/api/v1/setup", json!({"step": "mail"}))).await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, setup) = call(&app, b.get("/api/v1/setup")).await;
    assert_eq!(setup["step"], "mail");
    let (s, _, e) = call(&app, b.put("/api/v1/setup", json!({"step": "elsewhere"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    // Without a session: nothing.
    let (s, _, _) = call(&app, second.get("/api/v1/setup")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn a_box_set_up_before_the_wizard_skips_it() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let (s, _, setup) = call(&app, b.get("/api/v1/setup")).await;
    assert_eq!((s, setup["step"].as_str()), (StatusCode::OK, Some("done")));
}

#[actix_web::test]
async fn the_strength_meter_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(&dir.path().join("data"), IDLE);
    let app = service(&st).await;
    let b = Browser::new();
    let estimate = |p: &str| {
        b.req(Method::POST, "/api/v1/passphrase/strength")
            .set_json(json!({"passphrase": p}))
    };
    let (s, _, weak) = call(&app, estimate("qwertyuiop")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(weak["acceptable"], false);
    assert!(weak["score"].as_u64().unwrap() < 3, "{weak}");
    assert!(weak["warning"].is_string(), "{weak}");
    let (_, _, good) = call(&app, estimate(PASS)).await;
    assert_eq!(good["acceptable"], true, "{good}");
    assert!(good["guesses_log10"].as_f64().unwrap() > weak["guesses_log10"].as_f64().unwrap());
    assert!(good["crack_time"].is_string());
    let _: &Value = &good;
}
