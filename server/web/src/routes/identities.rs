//! Identities: the addresses mail is sent from — each account's own address and
//! its aliases — with their names, signatures and the default (`/identities`,
//! docs/api-mail-accounts.md).

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, delete, get, post, put};
use homepost_core::identities::{self, IdentityError};
use homepost_store::{Identity, IdentityFields};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{library, unix_now};
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_identities)
        .service(create_identity)
        .service(update_identity)
        .service(delete_identity)
        .service(make_default);
}

/// Every identity.
#[derive(Serialize, ToSchema)]
pub struct IdentityList {
    /// By account, each account's own address first.
    identities: Vec<Identity>,
}

/// A new alias of an account.
#[derive(Deserialize, ToSchema)]
pub struct NewIdentity {
    /// The account whose SMTP server sends its mail.
    account_id: i64,
    #[serde(flatten)]
    fields: IdentityFields,
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Invalid(_) => ApiError::bad_request("invalid_identity", e.to_string()),
            IdentityError::NoSuchAccount(_) | IdentityError::NoSuchIdentity(_) => {
                ApiError::not_found(e.to_string())
            }
            IdentityError::AddressTaken(_) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            IdentityError::Primary => {
                ApiError::new(StatusCode::CONFLICT, "primary_identity", e.to_string())
            }
            IdentityError::Store(s) => s.into(),
        }
    }
}

async fn list(state: &AppState) -> Result<IdentityList, ApiError> {
    let identities = library(state).await?.store().identities().await?;
    Ok(IdentityList { identities })
}

/// Every identity: each account's own address and its aliases.
#[utoipa::path(tag = "accounts", responses((status = 200, body = IdentityList), (status = 401, body = ErrorBody)))]
#[get("/identities")]
async fn list_identities(
    state: Data<AppState>,
    _auth: Authed,
) -> Result<Json<IdentityList>, ApiError> {
    Ok(Json(list(&state).await?))
}

/// Adds an alias: another address sent through the account's SMTP server.
#[utoipa::path(tag = "accounts", request_body = NewIdentity, responses(
    (status = 201, body = Identity), (status = 400, body = ErrorBody, description = "invalid_identity"),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "conflict: the account already sends from it"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/identities")]
async fn create_identity(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<NewIdentity>,
) -> Result<HttpResponse, ApiError> {
    let NewIdentity { account_id, fields } = body.into_inner();
    let lib = library(&state).await?;
    let identity = identities::add(lib.store(), account_id, fields, unix_now()).await?;
    Ok(HttpResponse::Created().json(identity))
}

/// Changes an identity's address, name or signature. An account's own address
/// changes in the account's settings; its name changes there too.
#[utoipa::path(tag = "accounts", request_body = IdentityFields, responses(
    (status = 200, body = Identity), (status = 400, body = ErrorBody, description = "invalid_identity"),
    (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "conflict, or primary_identity: the account's own address"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[put("/identities/{id}")]
async fn update_identity(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
    body: Json<IdentityFields>,
) -> Result<Json<Identity>, ApiError> {
    let lib = library(&state).await?;
    let identity = identities::update(lib.store(), id.into_inner(), body.into_inner()).await?;
    Ok(Json(identity))
}

/// Deletes an alias (an account's own address goes only with the account). If it
/// was the default, the first account's own address becomes the default; its
/// drafts are then written from its account's own address.
#[utoipa::path(tag = "accounts", responses(
    (status = 204), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "primary_identity"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[delete("/identities/{id}")]
async fn delete_identity(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let lib = library(&state).await?;
    identities::remove(lib.store(), id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Makes an identity the default: new messages are written from it, and
/// replies to mail sent to none of the identities.
#[utoipa::path(tag = "accounts", responses(
    (status = 200, body = IdentityList), (status = 404, body = ErrorBody),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/identities/{id}/default")]
async fn make_default(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<Json<IdentityList>, ApiError> {
    {
        let lib = library(&state).await?;
        identities::make_default(lib.store(), id.into_inner()).await?;
    }
    Ok(Json(list(&state).await?))
}
