//! The outbox: what waits to be sent, what failed, retrying and cancelling
//! (`/outbox`).

use actix_web::web::{Data, Json, Path};
use actix_web::{get, post};
use homepost_store::OutboxItem;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{invalid_state, library, outbox_or_404, unix_now};
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_outbox)
        .service(retry_outbox)
        .service(cancel_outbox);
}

/// Sent messages stay in the outbox list this long.
const SENT_SHOWN_SECS: i64 = 7 * 86_400;

/// The outbox.
#[derive(Serialize, ToSchema)]
pub struct OutboxList {
    items: Vec<OutboxItem>,
}

/// What waits to be sent, what failed, and what was sent in the last 7 days.
#[utoipa::path(tag = "outbox", responses((status = 200, body = OutboxList)))]
#[get("/outbox")]
async fn list_outbox(state: Data<AppState>, _auth: Authed) -> Result<Json<OutboxList>, ApiError> {
    let items = library(&state)
        .await?
        .store()
        .outbox(unix_now() - SENT_SHOWN_SECS)
        .await?;
    Ok(Json(OutboxList { items }))
}

/// Tries a deferred, failed or cancelled message again now.
#[utoipa::path(tag = "outbox", responses((status = 200, body = OutboxItem), (status = 409, body = ErrorBody)))]
#[post("/outbox/{id}/retry")]
async fn retry_outbox(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<Json<OutboxItem>, ApiError> {
    let id = id.into_inner();
    let lifetime = state
        .transport()
        .map_or(4 * 86_400, |t| t.outbox_lifetime_secs());
    let lib = library(&state).await?;
    let item = outbox_or_404(lib.store(), id).await?;
    if !lib.store().retry_outgoing(id, unix_now(), lifetime).await? {
        return Err(invalid_state(
            format!("a {:?} message cannot be retried", item.state).to_lowercase(),
        ));
    }
    drop(lib);
    if let Some(t) = state.transport() {
        t.outbox_changed();
    }
    Ok(Json(
        outbox_or_404(library(&state).await?.store(), id).await?,
    ))
}

/// Cancels a message that is not being sent and was not sent.
#[utoipa::path(tag = "outbox", responses((status = 200, body = OutboxItem), (status = 409, body = ErrorBody)))]
#[post("/outbox/{id}/cancel")]
async fn cancel_outbox(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<Json<OutboxItem>, ApiError> {
    let id = id.into_inner();
    let lib = library(&state).await?;
    let item = outbox_or_404(lib.store(), id).await?;
    if !lib.store().cancel_outgoing(id).await? {
        return Err(invalid_state(
            format!("a {:?} message cannot be cancelled", item.state).to_lowercase(),
        ));
    }
    drop(lib);
    if let Some(t) = state.transport() {
        t.outbox_changed();
    }
    Ok(Json(
        outbox_or_404(library(&state).await?.store(), id).await?,
    ))
}
