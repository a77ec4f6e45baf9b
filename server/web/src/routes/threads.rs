//! A thread's messages, a page at a time (`/threads/{id}`).

use actix_web::get;
use actix_web::web::{Data, Json, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::messages::Listed;
use super::{library, page_limit, parse_cursor};
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_thread);
}

/// Default and largest page of `GET /threads/{id}`.
const THREAD_PAGE: usize = 200;
const MAX_THREAD_PAGE: usize = 1000;

/// A page of a thread.
#[derive(Serialize, ToSchema)]
pub struct ThreadView {
    /// The thread id.
    pub thread_id: i64,
    /// How many messages the thread has.
    pub total: usize,
    /// This page, oldest first.
    pub messages: Vec<Listed>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Paging of a thread.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Messages per page, 1-1000 (default 200).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The messages of a thread, oldest first, a page at a time.
#[utoipa::path(tag = "mail", params(("id" = i64, Path, description = "Thread id"), PageParams), responses(
    (status = 200, body = ThreadView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
))]
#[get("/threads/{id}")]
async fn get_thread(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
    params: Query<PageParams>,
) -> Result<Json<ThreadView>, ApiError> {
    let thread_id = id.into_inner();
    let limit = page_limit(params.limit, THREAD_PAGE, MAX_THREAD_PAGE)?;
    let offset = parse_cursor(params.cursor.as_deref())?;
    let lib = library(&state).await?;
    let ids = lib.store().thread_ids(thread_id).await?;
    if ids.is_empty() {
        return Err(ApiError::not_found(format!(
            "no thread with id {thread_id}"
        )));
    }
    let page = ids
        .iter()
        .skip(offset)
        .take(limit)
        .copied()
        .collect::<Vec<_>>();
    let messages = lib.store().summaries(&page).await?;
    let next = offset + page.len();
    Ok(Json(ThreadView {
        thread_id,
        total: ids.len(),
        next_cursor: (next < ids.len() && !page.is_empty()).then(|| next.to_string()),
        messages: messages.into_iter().map(Listed::from).collect(),
    }))
}
