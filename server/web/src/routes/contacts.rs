//! Correspondents for address completion (`/contacts`).

use actix_web::get;
use actix_web::web::{Data, Json, Query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::library;
use crate::auth::Authed;
use crate::error::ApiError;
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_contacts);
}

/// A completion query.
#[derive(Deserialize, IntoParams)]
pub struct ContactQuery {
    /// The start of a name or address.
    q: String,
    /// At most this many (1-50, default 10).
    limit: Option<i64>,
}

/// A correspondent.
#[derive(Serialize, ToSchema)]
pub struct Contact {
    name: Option<String>,
    address: String,
    count: i64,
}

/// Completion candidates.
#[derive(Serialize, ToSchema)]
pub struct ContactList {
    contacts: Vec<Contact>,
}

/// Correspondents for address completion, most frequent first.
#[utoipa::path(tag = "compose", params(ContactQuery), responses((status = 200, body = ContactList)))]
#[get("/contacts")]
async fn list_contacts(
    state: Data<AppState>,
    _auth: Authed,
    q: Query<ContactQuery>,
) -> Result<Json<ContactList>, ApiError> {
    let limit = q.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::bad_request(
            "bad_request",
            "limit must be between 1 and 50",
        ));
    }
    let prefix = q.q.trim();
    if prefix.is_empty() {
        return Ok(Json(ContactList {
            contacts: Vec::new(),
        }));
    }
    let rows = library(&state)
        .await?
        .store()
        .contacts(prefix, limit)
        .await?;
    Ok(Json(ContactList {
        contacts: rows
            .into_iter()
            .map(|(name, address, count)| Contact {
                name,
                address,
                count,
            })
            .collect(),
    }))
}
