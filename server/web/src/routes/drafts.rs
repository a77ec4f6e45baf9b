//! Drafts: writing, replying and forwarding, attachments, the Autocrypt
//! recommendation, and sending (`/drafts`, docs/api-mail-accounts.md).

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json, Path, Payload};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, delete, get, post, put};
use base64::Engine;
use futures_util::StreamExt;
use homepost_core::compose::{DraftError, settle_identity, start_draft};
use homepost_core::outgoing::MAX_ATTACHMENT;
use homepost_mail::compose::{self, ReplyMode};
use homepost_store::{Draft, DraftContent, OutboxItem, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{library, outbox_or_404, unix_now};
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_drafts)
        .service(create_draft)
        .service(get_draft)
        .service(update_draft)
        .service(delete_draft)
        .service(add_attachment)
        .service(remove_attachment)
        .service(draft_crypto)
        .service(send_draft);
}

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
    /// Put the identity's signature under the text (default true); false when
    /// the body already holds it (the app shows it in a new message at once).
    #[serde(default = "yes")]
    add_signature: bool,
}

fn yes() -> bool {
    true
}

/// A draft refused for its identity, or the store or message failing.
fn draft_error(e: DraftError) -> ApiError {
    match e {
        DraftError::NoSuchIdentity(_) => ApiError::bad_request("bad_request", e.to_string()),
        DraftError::Read(r) => r.into(),
    }
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

/// Starts a draft, prefilled when it answers or forwards a message, written
/// from the identity it names, else the one the answered message was sent to,
/// else the default; with that identity's signature unless `add_signature` is false.
#[utoipa::path(tag = "compose", request_body = NewDraft, responses((status = 201, body = Draft), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/drafts")]
async fn create_draft(
    state: Data<AppState>,
    _auth: Authed,
    req: HttpRequest,
    body: Payload,
) -> Result<HttpResponse, ApiError> {
    let NewDraft {
        content,
        reply,
        add_signature,
    } = json_body(&req, body, DRAFT_JSON_LIMIT, DRAFT_TOO_LARGE).await?;
    check_content(&content)?;
    let answering = reply.map(|r| (r.id, r.mode.into()));
    let lib = library(&state).await?;
    let started = start_draft(lib.store(), content, answering, add_signature, unix_now());
    let id = started.await.map_err(draft_error)?.ok_or_else(|| {
        let id = answering.map_or(0, |(id, _)| id);
        ApiError::not_found(format!("no message with id {id}"))
    })?;
    Ok(HttpResponse::Created().json(draft_or_404(lib.store(), id).await?))
}

impl From<ReplyKind> for ReplyMode {
    fn from(kind: ReplyKind) -> Self {
        match kind {
            ReplyKind::Reply => ReplyMode::Reply,
            ReplyKind::All => ReplyMode::All,
            ReplyKind::ForwardInline => ReplyMode::ForwardInline,
            ReplyKind::ForwardAttached => ReplyMode::ForwardAttached,
        }
    }
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

/// Saves a draft's fields (autosave). Its account becomes its identity's.
#[utoipa::path(tag = "compose", request_body = DraftContent, responses((status = 200, body = Draft), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
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
    let mut content = DraftContent {
        in_reply_to: old.content.in_reply_to,
        forward: old.content.forward,
        ..content
    };
    settle_identity(store, &mut content)
        .await
        .map_err(draft_error)?;
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
