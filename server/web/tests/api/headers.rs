//! What every answer carries (the security headers), and the OpenAPI document
//! against the routes.

use actix_web::http::{Method, StatusCode, header};
use actix_web::test;
use serde_json::json;

use crate::common::*;

#[actix_web::test]
async fn every_response_has_the_security_headers() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = unlocked(&app).await;
    let uris = [
        "/",
        "/index.html",
        "/api/v1/status",
        "/api/v1/search",
        "/api/v1/tags",
        "/api/v1/messages/1/raw",
        "/nope",
        "/api/v1/nope",
        "/api/v1/openapi.json",
    ];
    for uri in uris {
        let res = test::call_service(&app, b.get(uri).to_request()).await;
        let h = res.headers();
        let get = |n: &str| {
            h.get(n)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let csp = get("content-security-policy");
        assert!(
            csp.contains("default-src 'self'") || csp.contains("default-src 'none'"),
            "{uri}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{uri}: {csp}"
        );
        assert_eq!(get("x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(get("referrer-policy"), "no-referrer", "{uri}");
        assert!(get("permissions-policy").contains("camera=()"), "{uri}");
        assert!(h.get(header::SERVER).is_none(), "{uri}");
        if uri.starts_with("/api/") {
            assert_eq!(get("cache-control"), "no-store", "{uri}");
        }
    }
    // Errors outside the API are JSON without internals.
    let (s, _, e) = call(&app, b.get("/api/v1/nope")).await;
    assert_error(s, &e, StatusCode::NOT_FOUND, "not_found");
    let (s, _, e) = call(
        &app,
        b.req(Method::POST, "/api/v1/session")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload("{not json"),
    )
    .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "bad_request");
}

#[actix_web::test]
async fn openapi_document_matches_the_routes() {
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = Browser::new();
    let (s, _, doc) = call(&app, b.get("/api/v1/openapi.json")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        assert!(path.starts_with("/api/v1/"), "{path}");
        for (method, op) in item.as_object().unwrap() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            // Fill path parameters with a plausible value.
            let uri = path
                .replace("{id}", "1")
                .replace("{name}", "inbox")
                .replace("{index}", "0")
                .replace("{index}", "0");
            let (status, _, body) = call(&app, b.json(m.clone(), &uri, json!({}))).await;
            // Every documented operation is routed: without a session it is refused
            // by the API (401/403/400/409...), never "no such endpoint".
            assert!(
                !(status == StatusCode::NOT_FOUND
                    && body["error"]["message"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("no API endpoint"))
                    && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not routed ({status})"
            );
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            operations += 1;
        }
    }
    // And every route is documented: the routed operations of docs/api.md.
    let expected = [
        ("get", "/api/v1/status"),
        ("post", "/api/v1/vault"),
        ("post", "/api/v1/session"),
        ("get", "/api/v1/session"),
        ("delete", "/api/v1/session"),
        ("post", "/api/v1/lock"),
        // docs/api.md, the first run
        ("post", "/api/v1/claim"),
        ("post", "/api/v1/passphrase/strength"),
        ("get", "/api/v1/setup"),
        ("put", "/api/v1/setup"),
        ("get", "/api/v1/search"),
        ("get", "/api/v1/messages/{id}"),
        ("get", "/api/v1/messages/{id}/raw"),
        ("get", "/api/v1/threads/{id}"),
        ("post", "/api/v1/messages/tags"),
        ("get", "/api/v1/tags"),
        ("post", "/api/v1/tags"),
        ("patch", "/api/v1/tags/{name}"),
        ("delete", "/api/v1/tags/{name}"),
        ("get", "/api/v1/messages/{id}/html"),
        ("get", "/api/v1/messages/{id}/attachments/{index}"),
        // docs/api-mail-accounts.md
        ("get", "/api/v1/accounts"),
        ("post", "/api/v1/accounts"),
        ("put", "/api/v1/accounts/{id}"),
        ("delete", "/api/v1/accounts/{id}"),
        ("post", "/api/v1/accounts/{id}/sync"),
        ("post", "/api/v1/accounts/{id}/trust"),
        ("post", "/api/v1/accounts/discover"),
        ("post", "/api/v1/accounts/test"),
        // docs/api-mail-accounts.md, identities
        ("get", "/api/v1/identities"),
        ("post", "/api/v1/identities"),
        ("put", "/api/v1/identities/{id}"),
        ("delete", "/api/v1/identities/{id}"),
        ("post", "/api/v1/identities/{id}/default"),
        ("get", "/api/v1/contacts"),
        // docs/api-mail-accounts.md, the address book
        ("get", "/api/v1/contacts/list"),
        ("post", "/api/v1/contacts"),
        ("get", "/api/v1/contacts/{id}"),
        ("put", "/api/v1/contacts/{id}"),
        ("delete", "/api/v1/contacts/{id}"),
        ("post", "/api/v1/contacts/{id}/merge"),
        ("get", "/api/v1/contacts/export.vcf"),
        ("post", "/api/v1/contacts/import"),
        ("get", "/api/v1/drafts"),
        ("post", "/api/v1/drafts"),
        ("get", "/api/v1/drafts/{id}"),
        ("put", "/api/v1/drafts/{id}"),
        ("delete", "/api/v1/drafts/{id}"),
        ("post", "/api/v1/drafts/{id}/attachments"),
        ("delete", "/api/v1/drafts/{id}/attachments/{index}"),
        ("post", "/api/v1/drafts/{id}/send"),
        ("get", "/api/v1/drafts/{id}/crypto"),
        ("get", "/api/v1/outbox"),
        ("post", "/api/v1/outbox/{id}/retry"),
        ("post", "/api/v1/outbox/{id}/cancel"),
        // docs/api-mail-accounts.md, keys and correspondents
        ("get", "/api/v1/keys"),
        ("get", "/api/v1/keys/{fingerprint}/public"),
        ("post", "/api/v1/keys/lookup"),
        ("post", "/api/v1/keys/setup-message"),
        ("post", "/api/v1/messages/{id}/crypto/lookup"),
        ("post", "/api/v1/messages/{id}/setup-message"),
        ("get", "/api/v1/peers/{address}"),
        ("post", "/api/v1/peers/{address}/accept"),
        // docs/api.md, conversations and importing
        ("get", "/api/v1/conversations"),
        ("post", "/api/v1/imports/uploads"),
        ("delete", "/api/v1/imports/uploads/{id}"),
        ("post", "/api/v1/imports"),
        ("get", "/api/v1/imports"),
        ("get", "/api/v1/imports/{id}"),
        // docs/remote.md
        ("get", "/api/v1/remote"),
        ("put", "/api/v1/remote/pagekite"),
        ("delete", "/api/v1/remote/pagekite"),
        ("put", "/api/v1/remote/onion"),
        ("delete", "/api/v1/remote/onion"),
        ("post", "/api/v1/remote/onion/clients"),
        ("delete", "/api/v1/remote/onion/clients/{id}"),
        // docs/backup.md
        ("get", "/api/v1/backup"),
        ("put", "/api/v1/backup"),
        ("post", "/api/v1/backup/run"),
        ("get", "/api/v1/backup/recovery-key"),
        ("post", "/api/v1/backup/recovery-key/shown"),
        ("post", "/api/v1/restore"),
        ("get", "/api/v1/restore"),
        // docs/integrity.md
        ("get", "/api/v1/integrity"),
        ("post", "/api/v1/integrity/check"),
        ("post", "/api/v1/integrity/repair"),
        ("put", "/api/v1/trash"),
        ("post", "/api/v1/trash/empty"),
        ("delete", "/api/v1/messages/{id}"),
        // docs/rules.md
        ("get", "/api/v1/saved-searches"),
        ("post", "/api/v1/saved-searches"),
        ("patch", "/api/v1/saved-searches/{id}"),
        ("delete", "/api/v1/saved-searches/{id}"),
        ("put", "/api/v1/saved-searches/order"),
        ("get", "/api/v1/rules"),
        ("post", "/api/v1/rules"),
        ("patch", "/api/v1/rules/{id}"),
        ("delete", "/api/v1/rules/{id}"),
        ("put", "/api/v1/rules/order"),
        ("get", "/api/v1/rules/{id}/matches"),
        ("post", "/api/v1/rules/{id}/run"),
        ("get", "/api/v1/rules/run"),
        ("post", "/api/v1/rules/sieve"),
        ("get", "/api/v1/rules/sieve"),
    ];
    for (m, p) in expected {
        assert!(
            paths.get(p).and_then(|i| i.get(m)).is_some(),
            "{m} {p} is not documented"
        );
    }
    assert_eq!(
        operations,
        expected.len(),
        "documented operations: {:?}",
        paths.keys().collect::<Vec<_>>()
    );
    assert!(doc["components"]["schemas"]["MessageView"].is_object());
    for schema in ["PeerSummary", "DraftCrypto", "LookupView", "SetupSent"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} has no schema"
        );
    }
}

/// The app's text files go gzipped to a client that takes gzip (a third of the
/// bytes, over Tor or a relay), each form with its own tag; images as they are.
#[actix_web::test]
async fn the_app_is_served_gzipped_to_clients_that_take_it() {
    use std::io::Read;
    let (_dir, st) = mail_state().await;
    let app = service(&st).await;
    let b = crate::common::Browser::new();
    let get = |uri: &str, accept: Option<&str>, tag: Option<&str>| {
        let mut req = b.get(uri);
        if let Some(a) = accept {
            req = req.insert_header((header::ACCEPT_ENCODING, a));
        }
        if let Some(t) = tag {
            req = req.insert_header((header::IF_NONE_MATCH, t));
        }
        req.to_request()
    };
    let header_of = |h: &header::HeaderMap, name: header::HeaderName| {
        h.get(name).map(|v| v.to_str().unwrap().to_owned())
    };
    let plain = test::call_service(&app, get("/index.html", None, None)).await;
    assert_eq!(header_of(plain.headers(), header::CONTENT_ENCODING), None);
    let plain_tag = header_of(plain.headers(), header::ETAG).unwrap();
    let plain_body = test::read_body(plain).await;

    let gz = test::call_service(&app, get("/index.html", Some("br, gzip;q=0.8"), None)).await;
    assert_eq!(gz.status(), StatusCode::OK);
    assert_eq!(
        header_of(gz.headers(), header::CONTENT_ENCODING).as_deref(),
        Some("gzip")
    );
    assert_eq!(
        header_of(gz.headers(), header::VARY).as_deref(),
        Some("Accept-Encoding")
    );
    let gz_tag = header_of(gz.headers(), header::ETAG).unwrap();
    assert_ne!(gz_tag, plain_tag);
    let body = test::read_body(gz).await;
    assert!(body.len() < plain_body.len());
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain_body);

    // Revalidation answers 304 for the form asked for, not for the other one.
    let again = test::call_service(&app, get("/index.html", Some("gzip"), Some(&gz_tag))).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let other = test::call_service(&app, get("/index.html", None, Some(&gz_tag))).await;
    assert_eq!(other.status(), StatusCode::OK);
    // Refused gzip, and an image: as they are.
    for refusal in ["gzip;q=0", "gzip; Q=0.0, *", "identity", "br"] {
        let refused = test::call_service(&app, get("/index.html", Some(refusal), None)).await;
        assert_eq!(
            header_of(refused.headers(), header::CONTENT_ENCODING),
            None,
            "{refusal}"
        );
    }
    let any = test::call_service(&app, get("/index.html", Some("*"), None)).await;
    assert_eq!(
        header_of(any.headers(), header::CONTENT_ENCODING).as_deref(),
        Some("gzip")
    );
    let icon = test::call_service(&app, get("/icons/icon-192.png", Some("gzip"), None)).await;
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(header_of(icon.headers(), header::CONTENT_ENCODING), None);
}
