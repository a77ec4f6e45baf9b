//! Remote access (`/remote`): the PageKite relay and the onion service, their
//! settings and status, and the devices paired with the onion service.

use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, delete, get, post, put};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use zeroize::Zeroizing;

use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::remote::{
    self, OnionBody, OnionClientBody, PagekiteBody, PagekiteSettings, RemoteBody, RemoteError,
};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_remote)
        .service(put_pagekite)
        .service(delete_pagekite)
        .service(put_onion)
        .service(delete_onion)
        .service(pair_device)
        .service(unpair_device);
}

/// How the box is reached from outside the home network, and whether each
/// way works now.
#[utoipa::path(tag = "remote", responses(
    (status = 200, body = RemoteBody), (status = 401, body = ErrorBody),
))]
#[get("/remote")]
async fn get_remote(state: Data<AppState>, _auth: Authed) -> Json<RemoteBody> {
    Json(state.remote().body().await)
}

/// A PageKite relay to set up.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PagekiteRequest {
    /// The relay (PageKite frontend), `host:port`.
    pub frontend: String,
    /// The kite name visitors use, e.g. `mybox.pagekite.me`.
    pub kite: String,
    /// The kite's secret; leave out to keep the saved one.
    #[serde(default)]
    pub secret: Option<String>,
}

/// Sets up the relay (or changes it) and starts it. The box answers to the
/// kite name with TLS of its own: a self-signed certificate whose fingerprint
/// the answer shows, to compare on the phone. The relay sees only the name.
#[utoipa::path(tag = "remote", request_body = PagekiteRequest, responses(
    (status = 200, body = PagekiteBody),
    (status = 400, body = ErrorBody, description = "a setting is wrong"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[put("/remote/pagekite")]
async fn put_pagekite(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<PagekiteRequest>,
) -> Result<Json<PagekiteBody>, ApiError> {
    let PagekiteRequest {
        frontend,
        kite,
        secret,
    } = body.into_inner();
    let settings = PagekiteSettings {
        frontend,
        kite,
        secret: Zeroizing::new(secret.unwrap_or_default()),
        cert: None,
        key: None,
    };
    let started = remote::set_pagekite(&state.into_inner(), settings)
        .await
        .map_err(remote_error)?;
    Ok(Json(started))
}

/// Stops the relay and forgets its settings.
#[utoipa::path(tag = "remote", responses(
    (status = 204), (status = 404, body = ErrorBody),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[delete("/remote/pagekite")]
async fn delete_pagekite(state: Data<AppState>, _auth: Authed) -> Result<HttpResponse, ApiError> {
    if remote::remove_pagekite(&state.into_inner())
        .await
        .map_err(remote_error)?
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("no relay is set up"))
    }
}

/// The onion service's settings.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnionRequest {
    /// Only paired devices can find the service (restricted discovery).
    #[serde(default)]
    pub restricted: bool,
}

/// Turns the onion service on, or changes whether only paired devices can
/// find it. The address stays the same across restarts: it is the box's.
#[utoipa::path(tag = "remote", request_body = OnionRequest, responses(
    (status = 200, body = OnionBody),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[put("/remote/onion")]
async fn put_onion(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<OnionRequest>,
) -> Result<Json<OnionBody>, ApiError> {
    let on = remote::enable_onion(&state.into_inner(), body.restricted)
        .await
        .map_err(remote_error)?;
    Ok(Json(on))
}

/// Turns the onion service off; its address is kept for next time.
#[utoipa::path(tag = "remote", responses(
    (status = 204), (status = 404, body = ErrorBody),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[delete("/remote/onion")]
async fn delete_onion(state: Data<AppState>, _auth: Authed) -> Result<HttpResponse, ApiError> {
    if remote::disable_onion(&state.into_inner())
        .await
        .map_err(remote_error)?
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("the onion service is off"))
    }
}

/// A device to pair.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairRequest {
    /// What to call it (1 to 64 characters).
    pub name: String,
}

/// Pairs a device with the onion service: the answer holds the device's
/// secret key, shown this once and never stored on the box.
#[utoipa::path(tag = "remote", request_body = PairRequest, responses(
    (status = 201, body = OnionClientBody),
    (status = 400, body = ErrorBody, description = "a bad name, or too many devices"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/remote/onion/clients")]
async fn pair_device(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<PairRequest>,
) -> Result<HttpResponse, ApiError> {
    let paired = remote::pair_client(&state.into_inner(), &body.name)
        .await
        .map_err(remote_error)?;
    Ok(HttpResponse::Created().json(paired))
}

/// Unpairs a device: its key no longer finds the onion service.
#[utoipa::path(tag = "remote", responses(
    (status = 204), (status = 404, body = ErrorBody),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[delete("/remote/onion/clients/{id}")]
async fn unpair_device(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    remote::unpair_client(&state.into_inner(), &id)
        .await
        .map_err(remote_error)?;
    Ok(HttpResponse::NoContent().finish())
}

fn remote_error(e: RemoteError) -> ApiError {
    match e {
        RemoteError::Settings(message) => ApiError::bad_request("bad_settings", message),
        RemoteError::NotFound(message) => ApiError::not_found(message),
        RemoteError::Tls(e) => ApiError::bad_request("bad_certificate", e.to_string()),
        e => ApiError::internal(&e),
    }
}
