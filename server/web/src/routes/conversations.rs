//! Mail grouped by thread (`/conversations`): the list a phone shows by default.

use actix_web::get;
use actix_web::web::{Data, Json, Query};
use homepost_store::ThreadOverview;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::messages::Listed;
use super::{page_limit, parse_cursor};
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_conversations);
}

/// Default and largest page of conversations.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 100;

/// Which conversations.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationParams {
    /// A query in the search language (docs/search.md); a conversation is listed
    /// when any of its messages matches. Empty matches everything.
    pub q: Option<String>,
    /// Conversations per page, 1-100 (default 50).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One conversation.
#[derive(Serialize, ToSchema)]
pub struct ConversationView {
    /// Its newest message that matches the query (subject, snippet, date).
    pub latest: Listed,
    /// The whole thread at a glance.
    pub thread: ThreadOverview,
}

/// One page of conversations.
#[derive(Serialize, ToSchema)]
pub struct ConversationPage {
    /// How many messages match the query.
    pub total_messages: usize,
    /// This page, the most recent conversation first.
    pub results: Vec<ConversationView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The conversations (threads) with messages matching a query, the one with
/// the newest matching message first; each with that message and the whole
/// thread's message and unread counts, senders and tags. Spam and trash are
/// left out unless the query names them. Each conversation is on one page only.
#[utoipa::path(tag = "mail", params(ConversationParams), responses(
    (status = 200, body = ConversationPage),
    (status = 400, body = ErrorBody, description = "invalid_query or bad_request"),
    (status = 401, body = ErrorBody),
))]
#[get("/conversations")]
async fn list_conversations(
    state: Data<AppState>,
    _auth: Authed,
    params: Query<ConversationParams>,
) -> Result<Json<ConversationPage>, ApiError> {
    let limit = page_limit(params.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let offset = parse_cursor(params.cursor.as_deref())?;
    if offset > homepost_core::conversations::MAX_OFFSET {
        return Err(ApiError::bad_request(
            "bad_request",
            "the cursor is too deep",
        ));
    }
    let text = params.q.as_deref().unwrap_or("").trim();
    let query = homepost_search::parse(if text.is_empty() { "*" } else { text })
        .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?;
    let query = homepost_search::hide_unless_named(query);
    let page = homepost_core::searcher::with_searcher(&state.library, async |s| {
        s.conversations(&query, limit, offset).await
    })
    .await?
    .ok_or_else(ApiError::locked)?;
    Ok(Json(ConversationPage {
        total_messages: page.total_messages,
        next_cursor: page.next.map(|n| n.to_string()),
        results: page
            .conversations
            .into_iter()
            .map(|c| ConversationView {
                latest: Listed::from(c.latest),
                thread: c.thread,
            })
            .collect(),
    }))
}
