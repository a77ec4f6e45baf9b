//! The PWA, embedded in the binary from `pwa/` (read from disk in debug builds).

use actix_web::http::header::{self, EntityTag, IfNoneMatch};
use actix_web::http::{Method, StatusCode};
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
    let tag = EntityTag::new_strong(hex::encode(file.metadata.sha256_hash()));
    if let Some(IfNoneMatch::Items(items)) = req.get_header::<IfNoneMatch>()
        && items.iter().any(|t| t.weak_eq(&tag))
    {
        return HttpResponse::NotModified()
            .insert_header(header::ETag(tag))
            .finish();
    }
    HttpResponse::Ok()
        .content_type(file.metadata.mimetype())
        .insert_header(header::ETag(tag))
        // Revalidated on every load: an update of the box reaches the app at once.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(file.data.into_owned())
}

/// Whether the PWA has this file (for tests).
pub fn has(path: &str) -> bool {
    Pwa::get(path).is_some()
}
