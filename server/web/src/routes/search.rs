//! Searching the mail with the query language (`/search`, docs/search.md).

use actix_web::get;
use actix_web::web::{Data, Json, Query};
use homepost_search::{SearchOptions, Sort};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::messages::Listed;
use super::{MAX_OFFSET, page_limit, parse_cursor};
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(search_messages);
}

/// Default and largest page size of a search.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

/// Search parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// A query in the search language (docs/search.md); empty matches everything.
    pub q: Option<String>,
    /// Results per page, 1-200 (default 50).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `newest` (default), `oldest` or `relevance`.
    pub sort: Option<String>,
}

/// One page of search results.
#[derive(Serialize, ToSchema)]
pub struct SearchPage {
    /// Number of matching messages.
    pub total: usize,
    /// This page.
    pub results: Vec<Listed>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Searches with the query language; one page at a time.
#[utoipa::path(tag = "mail", params(SearchParams), responses(
    (status = 200, body = SearchPage),
    (status = 400, body = ErrorBody, description = "invalid_query or bad_request"),
    (status = 401, body = ErrorBody),
))]
#[get("/search")]
async fn search_messages(
    state: Data<AppState>,
    _auth: Authed,
    params: Query<SearchParams>,
) -> Result<Json<SearchPage>, ApiError> {
    let limit = page_limit(params.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let offset = parse_cursor(params.cursor.as_deref())?;
    let sort = match params.sort.as_deref() {
        None | Some("newest") => Sort::Newest,
        Some("oldest") => Sort::Oldest,
        Some("relevance") => Sort::Relevance,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_request",
                format!("unknown sort {other:?}: use newest, oldest or relevance"),
            ));
        }
    };
    let text = params.q.as_deref().unwrap_or("").trim();
    let query = homepost_search::parse(if text.is_empty() { "*" } else { text })
        .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?;
    let query = homepost_search::hide_unless_named(query);
    let opts = SearchOptions {
        sort,
        limit,
        offset,
    };
    let (total, results) = homepost_core::searcher::search_shared(&state.library, &query, &opts)
        .await?
        .ok_or_else(ApiError::locked)?;
    let next = offset + results.len();
    Ok(Json(SearchPage {
        total,
        next_cursor: (next < total && !results.is_empty() && next <= MAX_OFFSET)
            .then(|| next.to_string()),
        results: results.into_iter().map(Listed::from).collect(),
    }))
}
