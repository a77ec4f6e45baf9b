//! Correspondents' keys: looking one up (WKD, keys.openpgp.org), what is known
//! of a correspondent, and accepting a changed key (`/peers`, docs/pgp.md).

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, get, post};
use homepost_core::{incoming, keys};
use homepost_pgp::autocrypt::canonical_address;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{bad, library, time, unix_now};
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(lookup_key)
        .service(get_peer)
        .service(accept_peer_key)
        .service(lookup_sender_key);
}

/// An address to look a key up for.
#[derive(Deserialize, ToSchema)]
pub struct LookupBody {
    /// The e-mail address.
    pub address: String,
    /// `false`: do not ask keys.openpgp.org this time (a third party), only
    /// the address's own domain. The box's setting (`serve --key-lookup`)
    /// cannot be widened here.
    pub keyserver: Option<bool>,
}

/// One source asked during a lookup.
#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    /// `announced`, `wkd-advanced`, `wkd-direct` or `keys.openpgp.org`.
    pub source: String,
    /// The URL asked.
    pub url: String,
    /// What happened.
    pub outcome: String,
}

/// What a lookup found.
#[derive(Serialize, ToSchema)]
pub struct LookupView {
    /// The address looked up.
    pub address: String,
    /// Whether a key was found.
    pub found: bool,
    /// Its fingerprint.
    pub fingerprint: Option<String>,
    /// Where it was found.
    pub source: Option<String>,
    /// It differs from the key already trusted for them: it waits for the
    /// user's decision, and nothing is encrypted to them until then.
    pub key_changed: bool,
    /// Every source asked, in order.
    pub attempts: Vec<AttemptView>,
    /// The correspondent afterwards (`GET /peers/{address}`).
    pub peer: Option<keys::PeerSummary>,
    /// For `POST /messages/{id}/crypto/lookup`: the message's OpenPGP outcome
    /// after checking it again.
    pub crypto: Option<homepost_core::incoming::CryptoOutcome>,
}

/// Looks a key up over the network (without holding the library: locking is
/// never kept waiting for a slow server), then keeps what was found.
async fn lookup_and_remember(
    state: &AppState,
    address: &str,
    keyserver: Option<bool>,
) -> Result<LookupView, ApiError> {
    let address = canonical_address(address);
    if !homepost_mail::compose::is_address(&address) {
        return Err(bad(
            "bad_address",
            format!("{address:?} is not an e-mail address"),
        ));
    }
    let announced = {
        let lib = library(state).await?;
        keys::announced(lib.store(), &address).await?
    };
    let (client, mut options) = state.key_lookup();
    if keyserver == Some(false) {
        options.keys_openpgp_org = false;
        options.announced = false;
    }
    if !options.wkd && !options.keys_openpgp_org {
        return Err(bad(
            "lookups_off",
            "key lookups are turned off on this box (homepost serve --key-lookup)",
        ));
    }
    let found = homepost_net::lookup(
        &client,
        &address,
        announced.as_ref(),
        options,
        time(unix_now()),
    )
    .await
    .map_err(|e| bad("bad_address", e.to_string()))?;
    let lib = library(state).await?;
    let store = lib.store();
    let remembered = match &found.found {
        Some((cert, source)) => {
            Some(keys::remember_key(store, &address, cert, *source, unix_now()).await?)
        }
        None => None,
    };
    Ok(LookupView {
        found: remembered.is_some(),
        fingerprint: remembered.as_ref().map(|r| r.fingerprint.clone()),
        source: remembered.as_ref().map(|r| r.source.to_owned()),
        key_changed: remembered.as_ref().is_some_and(|r| r.key_changed),
        attempts: found
            .attempts
            .into_iter()
            .map(|a| AttemptView {
                source: a.source.as_str().to_owned(),
                url: a.url,
                outcome: a.outcome.to_string(),
            })
            .collect(),
        peer: keys::peer_summary(store, &address, unix_now()).await?,
        crypto: None,
        address,
    })
}

/// Looks up the key of an address (its domain's Web Key Directory, then
/// keys.openpgp.org) and keeps it for encryption. The servers asked learn
/// which address was looked up; nothing happens unless the user asks.
#[utoipa::path(tag = "keys", request_body = LookupBody, responses(
    (status = 200, body = LookupView), (status = 400, body = ErrorBody)))]
#[post("/keys/lookup")]
async fn lookup_key(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<LookupBody>,
) -> Result<Json<LookupView>, ApiError> {
    Ok(Json(
        lookup_and_remember(&state, &body.address, body.keyserver).await?,
    ))
}

/// Options of a sender lookup (the body may be left out).
#[derive(Deserialize, ToSchema, Default)]
pub struct SenderLookupBody {
    /// `false`: do not ask keys.openpgp.org this time.
    pub keyserver: Option<bool>,
}

/// Looks up the key of a message's sender and checks its signature again
/// (for a signature by an unknown key).
#[utoipa::path(tag = "keys", params(("id" = i64, Path, description = "Message id")), request_body(content = SenderLookupBody, description = "Optional"), responses(
    (status = 200, body = LookupView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/messages/{id}/crypto/lookup")]
async fn lookup_sender_key(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
    body: Option<Json<SenderLookupBody>>,
) -> Result<Json<LookupView>, ApiError> {
    let keyserver = body.and_then(|b| b.keyserver);
    let id = id.into_inner();
    let sender = {
        let lib = library(&state).await?;
        let detail = lib
            .store()
            .message(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no message with id {id}")))?;
        detail
            .summary
            .from
            .iter()
            .find_map(|a| a.address.clone())
            .ok_or_else(|| bad("no_sender", format!("message {id} has no sender address")))?
    };
    let mut view = lookup_and_remember(&state, &sender, keyserver).await?;
    let lib = library(&state).await?;
    let store = lib.store();
    if let Some(raw) = store.raw(id).await? {
        view.crypto = incoming::recheck(store, id, &raw, unix_now()).await?;
    }
    Ok(Json(view))
}

/// A correspondent's key, where it came from, the key trusted on first use, a
/// change waiting for a decision, and their history (signed, encrypted,
/// Autocrypt counts).
#[utoipa::path(tag = "keys", params(("address" = String, Path, description = "E-mail address")), responses(
    (status = 200, body = keys::PeerSummary), (status = 404, body = ErrorBody)))]
#[get("/peers/{address}")]
async fn get_peer(
    state: Data<AppState>,
    _auth: Authed,
    address: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let address = address.into_inner();
    let lib = library(&state).await?;
    let peer = keys::peer_summary(lib.store(), &address, unix_now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("nothing is known of {address}")))?;
    Ok(HttpResponse::Ok().json(peer))
}

/// The key change the user accepts: the fingerprint they compared.
#[derive(Deserialize, ToSchema)]
pub struct AcceptBody {
    /// The new key's fingerprint, as shown to the user (spaces allowed).
    pub fingerprint: String,
}

/// Accepts a correspondent's changed key after the user compared it with them.
/// The fingerprint must be the one waiting: a key that changed again since
/// the user looked is not accepted (409).
#[utoipa::path(tag = "keys", params(("address" = String, Path, description = "E-mail address")), request_body = AcceptBody, responses(
    (status = 200, body = keys::PeerSummary, description = "The correspondent afterwards"),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/peers/{address}/accept")]
async fn accept_peer_key(
    state: Data<AppState>,
    _auth: Authed,
    address: Path<String>,
    body: Json<AcceptBody>,
) -> Result<HttpResponse, ApiError> {
    let address = address.into_inner();
    let wanted = body.fingerprint.replace(' ', "").to_ascii_uppercase();
    let lib = library(&state).await?;
    let store = lib.store();
    if store.peer(&canonical_address(&address)).await?.is_none() {
        return Err(ApiError::not_found(format!(
            "nothing is known of {address}"
        )));
    }
    // Compared and set in one step: a key that changed again since the user
    // looked is not accepted.
    match keys::accept_key_change(store, &address, Some(&wanted)).await? {
        keys::Accepted::Pinned(_) => {}
        keys::Accepted::NothingPending => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "no_key_change",
                format!("no key change is waiting for {address}"),
            ));
        }
        keys::Accepted::OtherKey(f) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "other_key",
                format!("the key waiting for {address} is {f}, not {wanted}: compare it again"),
            ));
        }
    }
    tracing::info!("a changed correspondent key was accepted");
    let peer = keys::peer_summary(store, &address, unix_now()).await?;
    Ok(HttpResponse::Ok().json(peer))
}
