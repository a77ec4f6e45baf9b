//! The PWA, embedded in the binary from `pwa/` (read from disk in debug builds).

use actix_web::http::header::{self, EntityTag, IfNoneMatch};
use actix_web::http::{Method, StatusCode};
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::error::ApiError;

#[derive(rust_embed::Embed)]
#[folder = "../../pwa/"]
struct Pwa;

/// Answers a request outside the API with a file of the PWA (`/` is `index.html`).
pub async fn serve(req: HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
        return ApiError::not_found(format!("no API endpoint {}", req.path())).error_response();
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "bad_request",
            "only GET here",
        )
        .error_response();
    }
    let path = match req.path().trim_start_matches('/') {
        "" => "index.html",
        p => p,
    };
    let Some(file) = Pwa::get(path) else {
        return ApiError::not_found(format!("no file {}", req.path())).error_response();
    };
    let hash = file.metadata.sha256_hash();
    let gz = if compressible(path) && accepts_gzip(&req) {
        gzipped(hash, &file.data)
    } else {
        None
    };
    // Each representation has its own strong tag.
    let tag = EntityTag::new_strong(format!(
        "{}{}",
        hex::encode(hash),
        if gz.is_some() { "-gz" } else { "" }
    ));
    if let Some(IfNoneMatch::Items(items)) = req.get_header::<IfNoneMatch>()
        && items.iter().any(|t| t.weak_eq(&tag))
    {
        return HttpResponse::NotModified()
            .insert_header(header::ETag(tag))
            .insert_header((header::VARY, "Accept-Encoding"))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .finish();
    }
    let mut res = HttpResponse::Ok();
    res.content_type(file.metadata.mimetype())
        .insert_header(header::ETag(tag))
        .insert_header((header::VARY, "Accept-Encoding"))
        // Revalidated on every load: an update of the box reaches the app at once.
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    match gz {
        Some(gz) => res
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(gz),
        None => res.body(file.data.into_owned()),
    }
}

/// Text files, which gzip shrinks to a third (the JS of the shell: 630 KB to
/// 200 KB, which matters over Tor or a relay); images are compressed already.
fn compressible(path: &str) -> bool {
    [
        ".js",
        ".css",
        ".html",
        ".json",
        ".webmanifest",
        ".svg",
        ".txt",
    ]
    .iter()
    .any(|ext| path.ends_with(ext))
}

/// Whether the client takes gzip: named without `q=0`, or covered by `*`
/// when gzip itself is not named.
fn accepts_gzip(req: &HttpRequest) -> bool {
    let mut gzip = None;
    let mut any = None;
    for item in req
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or("");
        let taken = !parts.any(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            name.trim().eq_ignore_ascii_case("q")
                && value.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
        });
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(taken);
        } else if coding == "*" {
            any = Some(taken);
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// The gzip form of a file, made once per version of its content (keyed by
/// its SHA-256, so a debug build reading `pwa/` from disk sees edits).
fn gzipped(hash: [u8; 32], data: &[u8]) -> Option<Bytes> {
    use std::collections::HashMap;
    use std::io::Write;
    use std::sync::{LazyLock, Mutex};
    static CACHE: LazyLock<Mutex<HashMap<[u8; 32], Bytes>>> = LazyLock::new(Mutex::default);
    let lock = || {
        CACHE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(done) = lock().get(&hash) {
        return Some(done.clone());
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).ok()?;
    let gz = Bytes::from(encoder.finish().ok()?);
    lock().insert(hash, gz.clone());
    Some(gz)
}

/// Whether the PWA has this file (for tests).
pub fn has(path: &str) -> bool {
    Pwa::get(path).is_some()
}
