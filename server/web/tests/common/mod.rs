//! What the API tests share: the app state, a cookie-keeping browser, a vault
//! with test mail, and the API's error answers (from homepost-testing).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::test::{self, TestRequest};
use actix_web::web::Data;
use homepost_testing::vault;
use homepost_vault::KdfParams;
use homepost_web::AppState;
use serde::Serialize;
use serde_json::{Value, json};

pub use homepost_testing::api::assert_error;

/// The passphrase of every test vault.
pub const PASS: &str = vault::PASSPHRASE;

/// How long a session may stay idle in most tests (long enough never to end).
pub const IDLE: Duration = Duration::from_secs(600);

pub fn state(dir: &Path, idle: Duration) -> Data<AppState> {
    Data::from(AppState::new(
        dir.to_path_buf(),
        KdfParams::INSECURE_FOR_TESTS,
        idle,
        Duration::from_secs(3600),
    ))
}

/// The test mail ([`vault_with_mail`]) in a new directory, and the app's state
/// over it with sessions that end after [`IDLE`].
pub async fn mail_state() -> (tempfile::TempDir, Data<AppState>) {
    let dir = tempfile::tempdir().unwrap();
    vault_with_mail(dir.path()).await;
    let st = state(dir.path(), IDLE);
    (dir, st)
}

/// The app on `st`, in process.
pub async fn service(
    st: &Data<AppState>,
) -> impl Service<
    actix_http::Request,
    Response = ServiceResponse<impl MessageBody + use<>>,
    Error = actix_web::Error,
> + use<> {
    test::init_service(homepost_web::app(st.clone(), homepost_web::Via::Direct)).await
}

/// A new browser that has unlocked `app` with [`PASS`].
pub async fn unlocked<S, B>(app: &S) -> Browser
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut b = Browser::new();
    let (status, body) = unlock(app, &mut b, PASS).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    b
}

pub fn client(n: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, n], 40000))
}

/// A browser: remembers the cookie and CSRF token.
pub struct Browser {
    pub cookie: Option<String>,
    /// The "known device" cookie, once the server set one.
    pub device: Option<String>,
    pub csrf: Option<String>,
    pub peer: SocketAddr,
}

impl Browser {
    pub fn new() -> Self {
        Browser {
            cookie: None,
            device: None,
            csrf: None,
            peer: client(1),
        }
    }

    pub fn req(&self, method: Method, uri: &str) -> TestRequest {
        let mut r = TestRequest::default()
            .method(method)
            .uri(uri)
            .insert_header((header::HOST, "127.0.0.1:33411"))
            .peer_addr(self.peer);
        let cookies: Vec<String> = [
            ("homepost_session", &self.cookie),
            ("homepost_device", &self.device),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={v}")))
        .collect();
        if !cookies.is_empty() {
            r = r.insert_header((header::COOKIE, cookies.join("; ")));
        }
        if let Some(t) = &self.csrf {
            r = r.insert_header(("X-CSRF-Token", t.as_str()));
        }
        r
    }

    /// A GET of `uri`.
    pub fn get(&self, uri: &str) -> TestRequest {
        self.req(Method::GET, uri)
    }

    /// A `method` request to `uri` with `body` as JSON.
    pub fn json(&self, method: Method, uri: &str, body: impl Serialize) -> TestRequest {
        self.req(method, uri).set_json(body)
    }

    /// A POST of `body` as JSON to `uri`.
    pub fn post(&self, uri: &str, body: impl Serialize) -> TestRequest {
        self.json(Method::POST, uri, body)
    }

    /// A PUT of `body` as JSON to `uri`.
    pub fn put(&self, uri: &str, body: impl Serialize) -> TestRequest {
        self.json(Method::PUT, uri, body)
    }
}

pub async fn call<S, B>(
    app: &S,
    req: TestRequest,
) -> (StatusCode, actix_web::http::header::HeaderMap, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req.to_request()).await;
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

pub fn session_cookie(headers: &actix_web::http::header::HeaderMap) -> Option<String> {
    set_cookie(headers, "homepost_session")
}

/// The value of cookie `name` set by a response.
pub fn set_cookie(headers: &actix_web::http::header::HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::SET_COOKIE).find_map(|v| {
        let v = v.to_str().ok()?;
        let rest = v.strip_prefix(name)?.strip_prefix('=')?;
        Some(rest.split(';').next()?.to_string())
    })
}

pub async fn unlock<S, B>(app: &S, b: &mut Browser, pass: &str) -> (StatusCode, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (status, headers, body) = call(
        app,
        b.req(Method::POST, "/api/v1/session")
            .set_json(json!({ "passphrase": pass })),
    )
    .await;
    if status == StatusCode::OK {
        b.cookie = session_cookie(&headers);
        b.device = set_cookie(&headers, "homepost_device").or(b.device.take());
        b.csrf = body["csrf_token"].as_str().map(String::from);
    }
    (status, body)
}

/// HTML with script, a remote image and a link, plus a disguised program.
pub const HTML_MAIL: &str = "From m@x Tue Mar  5 10:00:00 2024
From: Stranger <stranger@example.net>
To: bob@example.com
Subject: Your invoice xylophone
Message-ID: <html@example.net>
Date: Tue, 05 Mar 2024 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"b1\"

--b1
Content-Type: text/html; charset=utf-8

<html><body><h1>Invoice</h1><p onclick=\"steal()\">Pay <a href=\"https://pay.example/x\">here</a></p><script>alert(1)</script><img src=\"https://tracker.example/p.gif\" alt=\"logo\"></body></html>
--b1
Content-Type: application/pdf; name=\"invoice.pdf.exe\"
Content-Disposition: attachment; filename=\"invoice.pdf.exe\"
Content-Transfer-Encoding: base64

TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAA==
--b1--

";

pub fn write_mbox(dir: &Path) -> std::path::PathBuf {
    let mut mbox = String::new();
    for i in 0..30 {
        let subject = if i == 7 {
            "Quarterly zanzibar report".to_string()
        } else {
            format!("Note {i}")
        };
        mbox.push_str(&format!(
            "From alice@example.org Tue Mar  5 10:00:00 2024\nFrom: Alice <alice@example.org>\nTo: bob@example.com\nSubject: {subject}\nMessage-ID: <m{i}@example.org>\nDate: Tue, 05 Mar 2024 10:{i:02}:00 +0000\n\nBody of message {i}.\n\n"
        ));
    }
    mbox.push_str(HTML_MAIL);
    mbox.push_str("From x@y Tue Mar  5 10:00:00 2024\nFrom: Spammer <s@spam.example>\nSubject: buy zanzibar now\nMessage-ID: <spam@x>\n\nspam body\n\n");
    let p = dir.join("in.mbox");
    std::fs::write(&p, mbox).unwrap();
    p
}

/// Creates a vault and imports `mbox` (the text of an mbox file) through the
/// library, as `homepost import` does; returns the open library.
pub async fn vault_with_mbox(dir: &Path, mbox: &str) -> homepost_core::library::Library {
    let vault = vault::create(dir);
    let src = tempfile::tempdir().unwrap();
    let path = src.path().join("in.mbox");
    std::fs::write(&path, mbox).unwrap();
    let mut lib = homepost_core::library::Library::open(dir, &vault)
        .await
        .unwrap();
    lib.import(
        homepost_mail::ImportSources::new(vec![path]),
        &["inbox".to_string()],
        1_700_000_000,
        |_| {},
    )
    .await
    .unwrap();
    lib
}

/// Creates a vault and imports the test mbox through the library (as `homepost import` does).
pub async fn vault_with_mail(dir: &Path) {
    let src = tempfile::tempdir().unwrap();
    let mbox = std::fs::read_to_string(write_mbox(src.path())).unwrap();
    let mut lib = vault_with_mbox(dir, &mbox).await;
    let (_, spam) = lib
        .search("subject:buy", &Default::default())
        .await
        .unwrap();
    lib.change_tags(&[spam[0].id], &["spam".into()], &[])
        .await
        .unwrap();
    lib.close().await;
}
