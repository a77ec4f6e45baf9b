//! Accounts, contacts, drafts, sending and the outbox (docs/api-mail-accounts.md).

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json, Path, Payload, Query};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, delete, get, post, put};
use base64::Engine;
use futures_util::StreamExt;
use homepost_mail::compose::{self, ReplyMode};
use homepost_mail::parse;
use homepost_store::{
    Account, AccountConfig, Draft, DraftContent, Endpoint, Forward, ForwardMode, Incoming,
    OutboxItem, Outgoing, Secrets, Side, Store,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::api::{library, unix_now};
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
        .service(trust_certificate)
        .service(list_contacts)
        .service(list_drafts)
        .service(create_draft)
        .service(get_draft)
        .service(update_draft)
        .service(delete_draft)
        .service(add_attachment)
        .service(remove_attachment)
        .service(draft_crypto)
        .service(send_draft)
        .service(list_outbox)
        .service(retry_outbox)
        .service(cancel_outbox);
}

use homepost_core::outgoing::MAX_ATTACHMENT;
/// Sent messages stay in the outbox list this long.
const SENT_SHOWN_SECS: i64 = 7 * 86_400;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_account", message)
}

fn invalid_state(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "invalid_state", message)
}

// ---------------------------------------------------------------- accounts

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

/// Checks a written account and keeps pins only where the server did not change.
fn check_account(
    body: AccountBody,
    old: Option<&AccountConfig>,
) -> Result<(AccountConfig, Secrets), ApiError> {
    let mut secrets = Secrets::default();
    let incoming = body.incoming.map(|mut i| {
        secrets.incoming = i.password.take().filter(|p| !p.is_empty());
        // A pin is only ever set by POST /trust; kept while the server stays the same.
        let old_in = old.and_then(|o| o.incoming.as_ref());
        i.settings.endpoint.pinned_sha256 =
            kept_pin(old_in.map(|o| &o.endpoint), &i.settings.endpoint);
        i.settings
    });
    let outgoing = body.outgoing.map(|mut o| {
        secrets.outgoing = o.password.take().filter(|p| !p.is_empty());
        let old_out = old.and_then(|c| c.outgoing.as_ref());
        o.settings.endpoint.pinned_sha256 =
            kept_pin(old_out.map(|o| &o.endpoint), &o.settings.endpoint);
        o.settings
    });
    let mut config = AccountConfig {
        name: body.name,
        email: body.email,
        display_name: body.display_name.unwrap_or_default(),
        incoming,
        outgoing,
    };
    config.check().map_err(invalid)?;
    Ok((config, secrets))
}

fn kept_pin(old: Option<&Endpoint>, new: &Endpoint) -> Option<String> {
    old.filter(|o| o.host == new.host && o.port == new.port)
        .and_then(|o| o.pinned_sha256.clone())
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
    let (config, secrets) = check_account(body.into_inner(), None)?;
    let id = library(&state)
        .await?
        .store()
        .add_account(&config, &secrets, unix_now())
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
    {
        let lib = library(&state).await?;
        let old = lib
            .store()
            .account(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no account with id {id}")))?;
        let (config, secrets) = check_account(body.into_inner(), Some(&old.config))?;
        lib.store().update_account(id, &config, &secrets).await?;
    }
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
    if !library(&state).await?.store().delete_account(id).await? {
        return Err(ApiError::not_found(format!("no account with id {id}")));
    }
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
    let wanted = homepost_transport::tls::normalize_fingerprint(&fingerprint)
        .ok_or_else(|| ApiError::bad_request("bad_request", "that is not a SHA-256 fingerprint"))?;
    let status = state.transport().map(|t| t.status(id));
    let presented = status
        .and_then(|s| match side {
            Side::Incoming => s.incoming,
            Side::Outgoing => s.outgoing,
        })
        .and_then(|s| s.error)
        .and_then(|e| e.fingerprint);
    if presented.as_deref() != Some(wanted.as_str()) {
        return Err(invalid_state(
            "that is not the certificate the server last presented: sync the account and compare again",
        ));
    }
    if !library(&state)
        .await?
        .store()
        .pin_certificate(id, side, &wanted)
        .await?
    {
        return Err(ApiError::not_found(format!(
            "no such server on account {id}"
        )));
    }
    tracing::info!(account = id, ?side, fingerprint = %wanted, "certificate pinned by the user");
    if let Some(t) = state.transport() {
        t.reload(id).await;
    }
    Ok(Json(account_view(&state, id).await?))
}

// ---------------------------------------------------------------- contacts

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

// ---------------------------------------------------------------- drafts

/// How to start a reply or forward.
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    /// To the sender.
    Reply,
    /// To everyone.
    All,
    /// Quoted inline, attachments carried along.
    ForwardInline,
    /// The whole message attached.
    ForwardAttached,
}

/// A reply or forward to start from.
#[derive(Deserialize, ToSchema)]
pub struct ReplyRequest {
    id: i64,
    mode: ReplyKind,
}

/// A new draft: fields, and optionally the message it answers or forwards.
#[derive(Deserialize, ToSchema)]
pub struct NewDraft {
    #[serde(flatten)]
    content: DraftContent,
    #[serde(default)]
    reply: Option<ReplyRequest>,
}

/// Every draft.
#[derive(Serialize, ToSchema)]
pub struct DraftList {
    drafts: Vec<Draft>,
}

/// Largest JSON body of a draft: a 4 MiB text, JSON-escaped, with room to spare
/// (the API's other JSON bodies stop at 256 KiB).
const DRAFT_JSON_LIMIT: usize = 3 * compose::MAX_BODY_BYTES;

/// Reads and parses a JSON request body of up to `limit` bytes, for the bodies
/// that the JSON extractor's limit does not suit (drafts, attachments).
async fn json_body<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    mut payload: Payload,
    limit: usize,
    too_large: &'static str,
) -> Result<T, ApiError> {
    if req.content_type() != "application/json" {
        return Err(ApiError::bad_request(
            "bad_request",
            "send the body as JSON (Content-Type: application/json)",
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("bad_request", e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                too_large,
            ));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "bad_request",
            format!("the request body does not parse: {e}"),
        )
    })
}

const DRAFT_TOO_LARGE: &str =
    "a draft has at most 500 recipients, a subject of 1000 bytes and a body of 4 MiB";

fn check_content(c: &DraftContent) -> Result<(), ApiError> {
    let n = c.to.len() + c.cc.len() + c.bcc.len();
    if n > compose::MAX_RECIPIENTS
        || c.subject.len() > compose::MAX_SUBJECT_BYTES
        || c.body.len() > compose::MAX_BODY_BYTES
    {
        return Err(ApiError::bad_request("bad_request", DRAFT_TOO_LARGE));
    }
    if c.subject.chars().any(|ch| ch.is_control() && ch != '\t') {
        return Err(ApiError::bad_request(
            "bad_request",
            "the subject contains control characters",
        ));
    }
    Ok(())
}

async fn draft_or_404(store: &Store, id: i64) -> Result<Draft, ApiError> {
    store
        .draft(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no draft with id {id}")))
}

/// Drafts, newest first.
#[utoipa::path(tag = "compose", responses((status = 200, body = DraftList)))]
#[get("/drafts")]
async fn list_drafts(state: Data<AppState>, _auth: Authed) -> Result<Json<DraftList>, ApiError> {
    let drafts = library(&state).await?.store().drafts().await?;
    Ok(Json(DraftList { drafts }))
}

/// Starts a draft, prefilled when it answers or forwards a message.
#[utoipa::path(tag = "compose", request_body = NewDraft, responses((status = 201, body = Draft), (status = 404, body = ErrorBody)))]
#[post("/drafts")]
async fn create_draft(
    state: Data<AppState>,
    _auth: Authed,
    req: HttpRequest,
    body: Payload,
) -> Result<HttpResponse, ApiError> {
    let NewDraft { mut content, reply } =
        json_body(&req, body, DRAFT_JSON_LIMIT, DRAFT_TOO_LARGE).await?;
    check_content(&content)?;
    let lib = library(&state).await?;
    let store = lib.store();
    let accounts = store.accounts().await?;
    if let Some(r) = reply {
        let raw = store
            .raw(r.id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no message with id {}", r.id)))?;
        let own: Vec<String> = accounts.iter().map(|a| a.config.email.clone()).collect();
        let mode = match r.mode {
            ReplyKind::Reply => ReplyMode::Reply,
            ReplyKind::All => ReplyMode::All,
            ReplyKind::ForwardInline => ReplyMode::ForwardInline,
            ReplyKind::ForwardAttached => ReplyMode::ForwardAttached,
        };
        // Addresses come from the message as received; the text (and the real
        // subject, for protected headers) from its decrypted form.
        let readable = homepost_core::incoming::readable(store, r.id).await?;
        let protected_subject = homepost_core::incoming::outcome(store, r.id)
            .await?
            .and_then(|o| o["protected_subject"].as_str().map(str::to_owned));
        let (original, body_text) = tokio::task::spawn_blocking(move || {
            let mut original = parse(&raw);
            let body_text = match readable.filter(|r| *r != raw) {
                Some(inner) => parse(&inner).body_text,
                None => original.body_text.clone(),
            };
            if protected_subject.is_some() {
                original.subject = protected_subject;
            }
            (original, body_text)
        })
        .await
        .map_err(|e| ApiError::internal(&e))?;
        let pre = compose::prefill(&original, &body_text, mode, &own);
        content.to = pre.to;
        content.cc = pre.cc;
        content.subject = pre.subject;
        content.body = pre.body;
        match mode {
            ReplyMode::Reply | ReplyMode::All => content.in_reply_to = Some(r.id),
            ReplyMode::ForwardInline | ReplyMode::ForwardAttached => {
                content.forward = Some(Forward {
                    id: r.id,
                    mode: if mode == ReplyMode::ForwardInline {
                        ForwardMode::Inline
                    } else {
                        ForwardMode::Attached
                    },
                });
            }
        }
        // Answer from the identity the message was sent to.
        if content.account_id.is_none() {
            let to_us = original
                .to
                .iter()
                .chain(&original.cc)
                .filter_map(|a| a.address.as_deref());
            let mut chosen = None;
            for addr in to_us {
                chosen = chosen.or_else(|| {
                    accounts
                        .iter()
                        .find(|a| a.config.email.eq_ignore_ascii_case(addr))
                        .map(|a| a.id)
                });
            }
            content.account_id = chosen;
        }
    }
    if content.account_id.is_none() {
        content.account_id = accounts
            .iter()
            .find(|a| a.config.outgoing.is_some())
            .or(accounts.first())
            .map(|a| a.id);
    }
    let id = store.create_draft(&content, unix_now()).await?;
    Ok(HttpResponse::Created().json(draft_or_404(store, id).await?))
}

/// One draft.
#[utoipa::path(tag = "compose", responses((status = 200, body = Draft), (status = 404, body = ErrorBody)))]
#[get("/drafts/{id}")]
async fn get_draft(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<Json<Draft>, ApiError> {
    Ok(Json(
        draft_or_404(library(&state).await?.store(), id.into_inner()).await?,
    ))
}

/// Saves a draft's fields (autosave).
#[utoipa::path(tag = "compose", request_body = DraftContent, responses((status = 200, body = Draft), (status = 404, body = ErrorBody)))]
#[put("/drafts/{id}")]
async fn update_draft(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
    req: HttpRequest,
    body: Payload,
) -> Result<Json<Draft>, ApiError> {
    let id = id.into_inner();
    let content: DraftContent = json_body(&req, body, DRAFT_JSON_LIMIT, DRAFT_TOO_LARGE).await?;
    check_content(&content)?;
    let lib = library(&state).await?;
    let store = lib.store();
    // The message answered or forwarded is fixed at creation.
    let old = draft_or_404(store, id).await?;
    let content = DraftContent {
        in_reply_to: old.content.in_reply_to,
        forward: old.content.forward,
        ..content
    };
    store.update_draft(id, &content, unix_now()).await?;
    Ok(Json(draft_or_404(store, id).await?))
}

/// Discards a draft.
#[utoipa::path(tag = "compose", responses((status = 204), (status = 404, body = ErrorBody)))]
#[delete("/drafts/{id}")]
async fn delete_draft(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    if !library(&state).await?.store().delete_draft(id).await? {
        return Err(ApiError::not_found(format!("no draft with id {id}")));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// A file to attach, base64-encoded.
#[derive(Deserialize, ToSchema)]
pub struct NewAttachment {
    name: String,
    content_type: String,
    /// Standard base64.
    data: String,
}

/// Attaches a file (up to 25 MiB) to a draft.
#[utoipa::path(tag = "compose", request_body = NewAttachment, responses(
    (status = 201, body = Draft), (status = 413, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/drafts/{id}/attachments")]
async fn add_attachment(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
    req: HttpRequest,
    payload: Payload,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let max_body = MAX_ATTACHMENT / 3 * 4 + 64 * 1024;
    let a: NewAttachment =
        json_body(&req, payload, max_body, "attachments are limited to 25 MiB").await?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(a.data.as_bytes())
        .map_err(|_| ApiError::bad_request("bad_request", "the attachment's data is not base64"))?;
    let lib = library(&state).await?;
    homepost_core::outgoing::add_attachment(
        lib.store(),
        id,
        &a.name,
        &a.content_type,
        &data,
        unix_now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(draft_or_404(lib.store(), id).await?))
}

/// Removes an attachment from a draft.
#[utoipa::path(tag = "compose", responses((status = 200, body = Draft), (status = 404, body = ErrorBody)))]
#[delete("/drafts/{id}/attachments/{index}")]
async fn remove_attachment(
    state: Data<AppState>,
    _auth: Authed,
    path: Path<(i64, i64)>,
) -> Result<Json<Draft>, ApiError> {
    let (id, index) = path.into_inner();
    let lib = library(&state).await?;
    if !lib.store().remove_draft_attachment(id, index).await? {
        return Err(ApiError::not_found(format!(
            "draft {id} has no attachment {index}"
        )));
    }
    Ok(Json(draft_or_404(lib.store(), id).await?))
}

/// Builds the draft's message, queues it and removes the draft (one transaction).
#[utoipa::path(tag = "compose", responses(
    (status = 202, body = OutboxItem), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/drafts/{id}/send")]
async fn send_draft(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let lifetime = state
        .transport()
        .map_or(4 * 86_400, |t| t.outbox_lifetime_secs());
    let outbox_id = {
        let mut guard = state.library.write().await;
        let lib = guard.as_mut().ok_or_else(ApiError::locked)?;
        homepost_core::outgoing::send_draft(lib, id.into_inner(), lifetime, unix_now()).await?
    };
    if let Some(t) = state.transport() {
        t.outbox_changed();
    }
    let item = outbox_or_404(library(&state).await?.store(), outbox_id).await?;
    Ok(HttpResponse::Accepted().json(item))
}

/// The Autocrypt recommendation for a draft and whether sending would encrypt.
#[utoipa::path(tag = "compose", responses(
    (status = 200, body = homepost_core::outgoing::DraftCrypto), (status = 404, body = ErrorBody)))]
#[get("/drafts/{id}/crypto")]
async fn draft_crypto(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let lib = library(&state).await?;
    let store = lib.store();
    let draft = draft_or_404(store, id.into_inner()).await?;
    let c = &draft.content;
    // Recipients as far as they parse: a half-typed one is simply not counted.
    let recipients: Vec<String> =
        c.to.iter()
            .chain(&c.cc)
            .chain(&c.bcc)
            .filter_map(|r| compose::parse_recipients(std::slice::from_ref(r)).ok())
            .flatten()
            .map(|m| m.address)
            .collect();
    let answers = homepost_core::outgoing::answers_encrypted(
        store,
        c.in_reply_to.or(c.forward.map(|f| f.id)),
    )
    .await?;
    let (view, _) =
        homepost_core::outgoing::draft_crypto(store, &recipients, c.encrypt, answers, unix_now())
            .await?;
    Ok(HttpResponse::Ok().json(view))
}

// ---------------------------------------------------------------- outbox

/// The outbox.
#[derive(Serialize, ToSchema)]
pub struct OutboxList {
    items: Vec<OutboxItem>,
}

async fn outbox_or_404(store: &Store, id: i64) -> Result<OutboxItem, ApiError> {
    store
        .outbox_item(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no outbox message with id {id}")))
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
