//! The JSON API under `/api/v1` (docs/api.md). Every handler is annotated for the
//! OpenAPI document, which is collected from the same registrations that route.
//!
//! One module per resource; each registers its own handlers, and [`routes`]
//! registers them all in a fixed order. What several of them share (the unlocked
//! library, downloads, paging, a few errors) is here.

pub mod account_setup;
pub mod accounts;
pub mod backup;
pub mod contacts;
pub mod conversations;
pub mod drafts;
pub mod identities;
pub mod imports;
pub mod integrity;
pub mod keys;
pub mod messages;
pub mod outbox;
pub mod peers;
pub mod remote;
pub mod restore;
pub mod rules;
pub mod saved;
pub mod search;
pub mod session;
pub mod setup;
pub mod tags;
pub mod threads;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use homepost_core::library::Library;
use homepost_store::{OutboxItem, Store};
use tokio::sync::RwLockReadGuard;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::DOWNLOAD_CSP;
use crate::error::ApiError;
use crate::state::AppState;

/// Registers every API route (under the `/api/v1` scope).
pub fn routes(cfg: &mut ServiceConfig) {
    session::routes(cfg);
    setup::routes(cfg);
    search::routes(cfg);
    conversations::routes(cfg);
    messages::routes(cfg);
    threads::routes(cfg);
    tags::routes(cfg);
    saved::routes(cfg);
    rules::routes(cfg);
    account_setup::routes(cfg);
    accounts::routes(cfg);
    identities::routes(cfg);
    contacts::routes(cfg);
    drafts::routes(cfg);
    imports::routes(cfg);
    outbox::routes(cfg);
    keys::routes(cfg);
    peers::routes(cfg);
    remote::routes(cfg);
    backup::routes(cfg);
    restore::routes(cfg);
    integrity::routes(cfg);
}

/// Now, in Unix seconds.
pub(crate) use homepost_core::unix_now;

/// Deepest page a cursor may reach (the index collects offset + limit hits).
const MAX_OFFSET: usize = 100_000;

/// The library while unlocked.
pub(crate) type Lib<'a> = tokio::sync::RwLockReadGuard<'a, Library>;

pub(crate) async fn library(state: &AppState) -> Result<Lib<'_>, ApiError> {
    RwLockReadGuard::try_map(state.library.read().await, Option::as_ref)
        .map_err(|_| ApiError::locked())
}

/// The page size asked for, or `default`; 1 to `max`.
fn page_limit(given: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    let limit = given.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::bad_request(
            "bad_request",
            format!("limit must be between 1 and {max}"),
        ));
    }
    Ok(limit)
}

/// The offset a cursor stands for.
fn parse_cursor(cursor: Option<&str>) -> Result<usize, ApiError> {
    match cursor {
        None | Some("") => Ok(0),
        Some(c) => c
            .parse::<usize>()
            .ok()
            .filter(|&o| o <= MAX_OFFSET)
            .ok_or_else(|| {
                ApiError::bad_request("bad_request", "invalid cursor: pass next_cursor back")
            }),
    }
}

/// A download: bytes that the browser must save, never render.
pub(crate) fn download(content_type: &str, filename: String, bytes: Vec<u8>) -> HttpResponse {
    let ascii: String = filename
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    let mut parameters = vec![DispositionParam::Filename(ascii)];
    if !filename.is_ascii() {
        parameters.push(DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: filename.into_bytes(),
        }));
    }
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters,
        })
        .insert_header((header::CONTENT_SECURITY_POLICY, DOWNLOAD_CSP))
        .body(bytes)
}

fn invalid_state(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "invalid_state", message)
}

async fn outbox_or_404(store: &Store, id: i64) -> Result<OutboxItem, ApiError> {
    store
        .outbox_item(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no outbox message with id {id}")))
}

fn bad(code: &'static str, m: impl Into<String>) -> ApiError {
    ApiError::bad_request(code, m)
}

fn time(secs: i64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64)
}
