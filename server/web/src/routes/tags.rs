//! The tags: listing with counts, creating, renaming and deleting (`/tags`).

use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, delete, get, patch, post};
use homepost_core::library::Library;
use homepost_store::TagCount;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::library;
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_tags)
        .service(create_tag)
        .service(rename_tag)
        .service(delete_tag);
}

/// All tags.
#[derive(Serialize, ToSchema)]
pub struct TagList {
    /// Sorted by name.
    pub tags: Vec<TagCount>,
}

/// A tag name.
#[derive(Deserialize, ToSchema)]
pub struct TagName {
    /// The name (normalised: trimmed, lowercase).
    pub name: String,
}

/// Tags that stand for the servers' flags (`\Seen`, `\Flagged`): not renamed
/// or deleted through the tag API.
const RESERVED_TAGS: &[&str] = &["read", "flagged"];

fn not_reserved(name: &str) -> Result<(), ApiError> {
    let name = homepost_store::normalize_tag(name)?;
    if RESERVED_TAGS.contains(&name.as_str()) {
        return Err(ApiError::bad_request(
            "reserved_tag",
            format!(
                "the tag {name:?} holds the {} state, kept in step with your mail servers, and cannot be renamed or deleted",
                if name == "read" { "read" } else { "flagged" }
            ),
        ));
    }
    Ok(())
}

async fn tag_count(lib: &Library, name: &str) -> Result<TagCount, ApiError> {
    lib.store()
        .tag_counts()
        .await?
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| ApiError::not_found(format!("there is no tag {name:?}")))
}

/// Every tag with its message and unread counts.
#[utoipa::path(tag = "tags", responses((status = 200, body = TagList), (status = 401, body = ErrorBody)))]
#[get("/tags")]
async fn list_tags(state: Data<AppState>, _auth: Authed) -> Result<Json<TagList>, ApiError> {
    let tags = library(&state).await?.store().tag_counts().await?;
    Ok(Json(TagList { tags }))
}

/// Creates an empty tag.
#[utoipa::path(tag = "tags", request_body = TagName, responses(
    (status = 201, body = TagCount), (status = 400, body = ErrorBody, description = "invalid_tag"),
    (status = 409, body = ErrorBody, description = "conflict"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/tags")]
async fn create_tag(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<TagName>,
) -> Result<HttpResponse, ApiError> {
    let name = library(&state)
        .await?
        .store()
        .create_tag(&body.name)
        .await?;
    Ok(HttpResponse::Created().json(TagCount {
        name,
        total: 0,
        unread: 0,
    }))
}

/// Renames a tag on every message.
#[utoipa::path(tag = "tags", params(("name" = String, Path, description = "Current name")), request_body = TagName, responses(
    (status = 200, body = TagCount), (status = 400, body = ErrorBody, description = "invalid_tag or reserved_tag"),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "conflict"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[patch("/tags/{name}")]
async fn rename_tag(
    state: Data<AppState>,
    _auth: Authed,
    name: Path<String>,
    body: Json<TagName>,
) -> Result<Json<TagCount>, ApiError> {
    not_reserved(&name)?;
    not_reserved(&body.name)?;
    let mut guard = state.library.write().await;
    let lib = guard.as_mut().ok_or_else(ApiError::locked)?;
    let new = lib.rename_tag(&name, &body.name).await?;
    Ok(Json(tag_count(lib, &new).await?))
}

/// Removes a tag from every message and deletes it.
#[utoipa::path(tag = "tags", params(("name" = String, Path, description = "Tag name")), responses(
    (status = 204), (status = 400, body = ErrorBody, description = "reserved_tag"), (status = 404, body = ErrorBody),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[delete("/tags/{name}")]
async fn delete_tag(
    state: Data<AppState>,
    _auth: Authed,
    name: Path<String>,
) -> Result<HttpResponse, ApiError> {
    not_reserved(&name)?;
    let mut guard = state.library.write().await;
    let lib = guard.as_mut().ok_or_else(ApiError::locked)?;
    lib.delete_tag(&name).await?;
    Ok(HttpResponse::NoContent().finish())
}
