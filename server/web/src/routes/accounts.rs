//! Mail accounts: their servers, live status, syncing and certificate pins
//! (`/accounts`, docs/api-mail-accounts.md).

use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, delete, get, post, put};
use homepost_core::accounts::{self, AccountError, TrustCheck};
use homepost_store::{Account, AccountConfig, Incoming, Outgoing, Secrets, Side};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{invalid_state, library, unix_now};
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_accounts)
        .service(create_account)
        .service(update_account)
        .service(delete_account)
        .service(sync_account)
        .service(trust_certificate);
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_account", message)
}

/// An incoming server as shown: its settings and whether a password is stored.
#[derive(Serialize, ToSchema)]
pub struct IncomingView {
    #[serde(flatten)]
    settings: Incoming,
    has_password: bool,
}

/// An outgoing server as shown.
#[derive(Serialize, ToSchema)]
pub struct OutgoingView {
    #[serde(flatten)]
    settings: Outgoing,
    has_password: bool,
}

/// An account with its live status.
#[derive(Serialize, ToSchema)]
pub struct AccountView {
    id: i64,
    name: String,
    email: String,
    display_name: String,
    incoming: Option<IncomingView>,
    outgoing: Option<OutgoingView>,
    /// `{"incoming": SyncStatus | null, "outgoing": SyncStatus | null}` (docs/api-mail-accounts.md).
    #[schema(value_type = Object)]
    status: serde_json::Value,
}

/// Every account and the mail sequence number.
#[derive(Serialize, ToSchema)]
pub struct AccountList {
    accounts: Vec<AccountView>,
    /// Grows whenever fetched mail arrives or the outbox changes.
    mail_seq: u64,
}

fn view(state: &AppState, a: Account) -> AccountView {
    let status = state
        .transport()
        .map(|t| t.status(a.id))
        .and_then(|s| serde_json::to_value(s).ok())
        .unwrap_or_else(|| serde_json::json!({"incoming": null, "outgoing": null}));
    AccountView {
        id: a.id,
        name: a.config.name,
        email: a.config.email,
        display_name: a.config.display_name,
        incoming: a.config.incoming.map(|settings| IncomingView {
            settings,
            has_password: a.has_incoming_password,
        }),
        outgoing: a.config.outgoing.map(|settings| OutgoingView {
            settings,
            has_password: a.has_outgoing_password,
        }),
        status,
    }
}

/// The accounts and their status.
#[utoipa::path(tag = "accounts", responses((status = 200, body = AccountList)))]
#[get("/accounts")]
async fn list_accounts(
    state: Data<AppState>,
    _auth: Authed,
) -> Result<Json<AccountList>, ApiError> {
    let accounts = library(&state).await?.store().accounts().await?;
    let mail_seq = state.transport().map_or(0, |t| t.mail_seq());
    Ok(Json(AccountList {
        accounts: accounts.into_iter().map(|a| view(&state, a)).collect(),
        mail_seq,
    }))
}

/// An incoming server as written, with an optional new password.
#[derive(Deserialize, ToSchema)]
pub struct IncomingBody {
    #[serde(flatten)]
    settings: Incoming,
    /// Leave out to keep the stored one.
    password: Option<String>,
}

/// An outgoing server as written.
#[derive(Deserialize, ToSchema)]
pub struct OutgoingBody {
    #[serde(flatten)]
    settings: Outgoing,
    /// Leave out to keep the stored one.
    password: Option<String>,
}

/// An account as written.
#[derive(Deserialize, ToSchema)]
pub struct AccountBody {
    name: String,
    email: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    incoming: Option<IncomingBody>,
    #[serde(default)]
    outgoing: Option<OutgoingBody>,
}

/// The settings and passwords as written (checked by the core).
fn written(body: AccountBody) -> (AccountConfig, Secrets) {
    let mut secrets = Secrets::default();
    let incoming = body.incoming.map(|i| {
        secrets.incoming = i.password.filter(|p| !p.is_empty());
        i.settings
    });
    let outgoing = body.outgoing.map(|o| {
        secrets.outgoing = o.password.filter(|p| !p.is_empty());
        o.settings
    });
    let config = AccountConfig {
        name: body.name,
        email: body.email,
        display_name: body.display_name.unwrap_or_default(),
        incoming,
        outgoing,
    };
    (config, secrets)
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(m) => invalid(m),
            AccountError::NoSuchAccount(id) => {
                ApiError::not_found(format!("no account with id {id}"))
            }
            AccountError::NoSuchServer(id) => {
                ApiError::not_found(format!("no such server on account {id}"))
            }
            AccountError::BadFingerprint => {
                ApiError::bad_request("bad_request", "that is not a SHA-256 fingerprint")
            }
            AccountError::NotPresented => invalid_state(e.to_string()),
            AccountError::Store(s) => s.into(),
            AccountError::Key(_) => ApiError::internal(&e),
        }
    }
}

async fn account_view(state: &AppState, id: i64) -> Result<AccountView, ApiError> {
    let account = library(state)
        .await?
        .store()
        .account(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no account with id {id}")))?;
    Ok(view(state, account))
}

/// Adds an account and starts fetching from it.
#[utoipa::path(tag = "accounts", request_body = AccountBody, responses(
    (status = 201, body = AccountView), (status = 400, body = ErrorBody, description = "invalid_account")))]
#[post("/accounts")]
async fn create_account(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<AccountBody>,
) -> Result<HttpResponse, ApiError> {
    let (config, secrets) = written(body.into_inner());
    // A pin is kept only if a connection test just logged in with it.
    let tested = |host: &str, port: u16, fp: &str| state.tested_pins().tested(host, port, fp);
    let (id, _) = accounts::add(
        library(&state).await?.store(),
        config,
        &secrets,
        unix_now(),
        &tested,
    )
    .await?;
    if let Some(t) = state.transport() {
        t.reload(id).await;
    }
    Ok(HttpResponse::Created().json(account_view(&state, id).await?))
}

/// Changes an account's settings; a missing password keeps the stored one.
#[utoipa::path(tag = "accounts", request_body = AccountBody, responses(
    (status = 200, body = AccountView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[put("/accounts/{id}")]
async fn update_account(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
    body: Json<AccountBody>,
) -> Result<Json<AccountView>, ApiError> {
    let id = id.into_inner();
    let (config, secrets) = written(body.into_inner());
    accounts::update(library(&state).await?.store(), id, config, &secrets).await?;
    if let Some(t) = state.transport() {
        t.reload(id).await;
    }
    Ok(Json(account_view(&state, id).await?))
}

/// Deletes an account; its mail stays.
#[utoipa::path(tag = "accounts", responses((status = 204), (status = 404, body = ErrorBody)))]
#[delete("/accounts/{id}")]
async fn delete_account(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    accounts::remove(library(&state).await?.store(), id).await?;
    if let Some(t) = state.transport() {
        t.reload(id).await;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Fetches now and flushes the outbox.
#[utoipa::path(tag = "accounts", responses((status = 202), (status = 404, body = ErrorBody)))]
#[post("/accounts/{id}/sync")]
async fn sync_account(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    account_view(&state, id).await?;
    if let Some(t) = state.transport() {
        t.sync_now(id).await;
    }
    Ok(HttpResponse::Accepted().finish())
}

/// A certificate the user confirmed.
#[derive(Deserialize, ToSchema)]
pub struct TrustBody {
    side: Side,
    fingerprint: String,
}

/// Pins the certificate a server last presented, after the user compared it.
#[utoipa::path(tag = "accounts", request_body = TrustBody, responses(
    (status = 200, body = AccountView), (status = 409, body = ErrorBody, description = "invalid_state")))]
#[post("/accounts/{id}/trust")]
async fn trust_certificate(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
    body: Json<TrustBody>,
) -> Result<Json<AccountView>, ApiError> {
    let id = id.into_inner();
    let TrustBody { side, fingerprint } = body.into_inner();
    // The certificate the server presented at the transport's last attempt.
    let presented = state
        .transport()
        .and_then(|t| t.status(id).side(side).and_then(|s| s.error))
        .and_then(|e| e.fingerprint);
    let check = TrustCheck::LastPresented(presented.as_deref());
    accounts::trust(
        library(&state).await?.store(),
        id,
        side,
        &fingerprint,
        check,
    )
    .await?;
    if let Some(t) = state.transport() {
        t.reload(id).await;
    }
    Ok(Json(account_view(&state, id).await?))
}
