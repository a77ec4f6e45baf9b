//! Saved searches (`/saved-searches`): a query kept under a name, with its
//! counts, in the user's order.

use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, delete, get, patch, post, put};
use homepost_core::rules::SavedView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::library;
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_saved)
        .service(create_saved)
        .service(order_saved)
        .service(update_saved)
        .service(delete_saved);
}

/// The saved searches.
#[derive(Serialize, ToSchema)]
pub struct SavedList {
    /// In the user's order.
    pub saved: Vec<SavedView>,
}

/// A search to save.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSaved {
    /// Its name (1-100 characters, unique ignoring case).
    pub name: String,
    /// The query, in the search language (at most 1000 characters).
    pub query: String,
}

/// Changes to a saved search.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedChange {
    /// A new name.
    pub name: Option<String>,
    /// A new query.
    pub query: Option<String>,
}

/// A new order.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// Every id, each once, in the new order.
    pub ids: Vec<i64>,
}

/// The saved searches with their total and unread counts (spam and trash left
/// out unless the query names them), and warnings such as a tag that no
/// longer exists.
#[utoipa::path(tag = "saved searches", responses((status = 200, body = SavedList), (status = 401, body = ErrorBody)))]
#[get("/saved-searches")]
async fn list_saved(state: Data<AppState>, _auth: Authed) -> Result<Json<SavedList>, ApiError> {
    let saved = library(&state).await?.saved_searches().await?;
    Ok(Json(SavedList { saved }))
}

/// Saves a search, last in the list.
#[utoipa::path(tag = "saved searches", request_body = NewSaved, responses(
    (status = 201, body = SavedView),
    (status = 400, body = ErrorBody, description = "bad_query or bad_name"),
    (status = 409, body = ErrorBody, description = "conflict (name taken) or too_many"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/saved-searches")]
async fn create_saved(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<NewSaved>,
) -> Result<HttpResponse, ApiError> {
    let saved = library(&state)
        .await?
        .save_search(&body.name, &body.query)
        .await?;
    Ok(HttpResponse::Created().json(saved))
}

/// Renames a saved search or changes its query.
#[utoipa::path(tag = "saved searches", params(("id" = i64, Path)), request_body = SavedChange, responses(
    (status = 200, body = SavedView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "conflict"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[patch("/saved-searches/{id}")]
async fn update_saved(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
    body: Json<SavedChange>,
) -> Result<Json<SavedView>, ApiError> {
    let saved = library(&state)
        .await?
        .update_saved_search(*id, body.name.as_deref(), body.query.as_deref())
        .await?;
    Ok(Json(saved))
}

/// Deletes a saved search.
#[utoipa::path(tag = "saved searches", params(("id" = i64, Path)), responses(
    (status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[delete("/saved-searches/{id}")]
async fn delete_saved(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<HttpResponse, ApiError> {
    library(&state)
        .await?
        .store()
        .delete_saved_search(*id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Puts the saved searches in a new order.
#[utoipa::path(tag = "saved searches", request_body = Order, responses(
    (status = 204), (status = 400, body = ErrorBody, description = "not every id exactly once"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[put("/saved-searches/order")]
async fn order_saved(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<Order>,
) -> Result<HttpResponse, ApiError> {
    library(&state)
        .await?
        .store()
        .reorder_saved_searches(&body.ids)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
