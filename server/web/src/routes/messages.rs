//! One message: its view, sanitised HTML, attachments and raw bytes, and tag
//! changes on many messages at once (`/messages/...`).

use actix_web::http::header;
use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, get, post};
use homepost_core::conversations::TagDelta;
use homepost_core::reading::{self, SetupMessageHint};
use homepost_mail::html::{message_html, sanitize};
use homepost_mail::{Address, AttachmentRisk, attachments, download_name};
use homepost_store::MessageSummary;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{download, library};
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(change_message_tags)
        .service(get_message)
        .service(get_message_raw)
        .service(get_message_html)
        .service(get_attachment);
}

/// Most messages one tag change may name.
const MAX_IDS: usize = 5_000;

/// A message as listed.
#[derive(Serialize, ToSchema)]
pub struct Listed {
    /// The stored fields.
    #[serde(flatten)]
    pub summary: MessageSummary,
    /// The message lacks the `read` tag.
    pub unread: bool,
}

impl From<MessageSummary> for Listed {
    fn from(summary: MessageSummary) -> Self {
        let unread = !summary.tags.iter().any(|t| t == "read");
        Listed { summary, unread }
    }
}

/// A message's body as safe plain text.
#[derive(Serialize, ToSchema)]
pub struct Body {
    /// The text parts (HTML-only mail turned into text), with control characters removed.
    pub text: String,
    /// The message has an HTML part that can be shown sanitised.
    pub has_html: bool,
}

/// An attachment of a message.
#[derive(Serialize, ToSchema)]
pub struct AttachmentView {
    /// Its position, for the download path.
    pub index: usize,
    /// The name the download is saved under: the sender's (untrusted), made safe
    /// and at most 128 characters, or `attachment-N`. Its risk is judged on it.
    pub filename: Option<String>,
    /// Declared `type/subtype`.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// How risky it is to open, with reasons (the sender's reputation included).
    pub risk: AttachmentRisk,
}

/// Everything about one message, with its thread.
#[derive(Serialize, ToSchema)]
pub struct MessageView {
    /// The listing fields.
    #[serde(flatten)]
    pub listed: Listed,
    /// Cc addresses.
    pub cc: Vec<Address>,
    /// Bcc addresses.
    pub bcc: Vec<Address>,
    /// Reply-To addresses.
    pub reply_to: Vec<Address>,
    /// In-Reply-To then References.
    pub references: Vec<String>,
    /// Size of the raw message in bytes.
    pub size: u64,
    /// The message did not parse cleanly.
    pub malformed: bool,
    /// The body.
    pub body: Body,
    /// Attachments, in order.
    pub attachments: Vec<AttachmentView>,
    /// The thread around this message, oldest first (this message included): all of
    /// it, or for a long thread the `THREAD_WINDOW` (50) messages around this one.
    pub thread: Vec<Listed>,
    /// How many messages the whole thread has (`GET /threads/{id}` pages through them).
    pub thread_total: usize,
    /// What its OpenPGP said (null when it had none): encrypted, decrypted,
    /// signature state and signer, key change (docs/pgp.md).
    pub crypto: Option<homepost_core::incoming::CryptoOutcome>,
    /// Set when this is an Autocrypt Setup Message (another app's secret key,
    /// imported with `POST /messages/{id}/setup-message` and its code).
    pub setup_message: Option<SetupMessageHint>,
}

/// One message: headers, safe text body, attachments and thread.
#[utoipa::path(tag = "mail", params(("id" = i64, Path, description = "Message id")), responses(
    (status = 200, body = MessageView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
))]
#[get("/messages/{id}")]
async fn get_message(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<Json<MessageView>, ApiError> {
    let id = id.into_inner();
    let lib = library(&state).await?;
    let reading = reading::read(lib.store(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no message with id {id}")))?;
    let (thread, thread_total) =
        reading::thread_around(lib.store(), &reading.detail.summary).await?;
    drop(lib);
    Ok(Json(MessageView::new(reading, thread, thread_total)))
}

impl MessageView {
    fn new(r: reading::Reading, thread: Vec<MessageSummary>, thread_total: usize) -> Self {
        let d = r.detail;
        MessageView {
            crypto: r.crypto,
            body: Body {
                text: r.text,
                has_html: r.has_html,
            },
            attachments: r
                .attachments
                .into_iter()
                .enumerate()
                .map(|(index, a)| AttachmentView {
                    index,
                    filename: Some(a.filename),
                    content_type: a.content_type,
                    size: a.size,
                    risk: a.risk,
                })
                .collect(),
            setup_message: r.setup_message,
            cc: d.cc,
            bcc: d.bcc,
            reply_to: d.reply_to,
            references: d.references,
            size: d.size,
            malformed: d.malformed,
            listed: d.summary.into(),
            thread: thread.into_iter().map(Listed::from).collect(),
            thread_total,
        }
    }
}

/// The policy of the formatted view: no script, no plugin, no form, nothing
/// loaded from anywhere but `data:` images; framed only by the app; sandboxed (an
/// opaque origin without the app's cookies), links may open in a new tab.
pub const HTML_VIEW_CSP: &str = "default-src 'none'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox";

/// The HTML body, sanitised, for the optional formatted view in a sandboxed iframe.
#[utoipa::path(tag = "mail", params(("id" = i64, Path, description = "Message id")), responses(
    (status = 200, content_type = "text/html", description = "A sanitised, inert HTML document with its own strict CSP"),
    (status = 404, body = ErrorBody, description = "no such message, or it has no HTML body"),
    (status = 401, body = ErrorBody),
))]
#[get("/messages/{id}/html")]
async fn get_message_html(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let raw = readable_message(&state, id).await?;
    let clean = tokio::task::spawn_blocking(move || message_html(&raw).map(|h| sanitize(&h)))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| ApiError::not_found(format!("message {id} has no HTML body")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, HTML_VIEW_CSP))
        .insert_header((header::X_FRAME_OPTIONS, "SAMEORIGIN"))
        .body(clean))
}

/// One attachment's bytes, as a download (never shown inline).
#[utoipa::path(tag = "mail", params(
    ("id" = i64, Path, description = "Message id"),
    ("index" = usize, Path, description = "Attachment index from the message view"),
), responses(
    (status = 200, content_type = "application/octet-stream", description = "The attachment (Content-Disposition: attachment)"),
    (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
))]
#[get("/messages/{id}/attachments/{index}")]
async fn get_attachment(
    state: Data<AppState>,
    _auth: Authed,
    path: Path<(i64, usize)>,
) -> Result<HttpResponse, ApiError> {
    let (id, index) = path.into_inner();
    let raw = readable_message(&state, id).await?;
    let found = tokio::task::spawn_blocking(move || attachments(&raw).into_iter().nth(index))
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let (info, bytes) = found
        .ok_or_else(|| ApiError::not_found(format!("message {id} has no attachment {index}")))?;
    let name = download_name(info.filename.as_deref(), index);
    Ok(download("application/octet-stream", name, bytes))
}

/// The raw bytes of message `id`, or 404.
async fn raw_message(state: &AppState, id: i64) -> Result<Vec<u8>, ApiError> {
    library(state)
        .await?
        .store()
        .raw(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no message with id {id}")))
}

/// Message `id` as the user reads it (decrypted when it was encrypted), or 404.
async fn readable_message(state: &AppState, id: i64) -> Result<Vec<u8>, ApiError> {
    let lib = library(state).await?;
    homepost_core::incoming::readable(lib.store(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no message with id {id}")))
}

/// The message exactly as received, as a download.
#[utoipa::path(tag = "mail", params(("id" = i64, Path, description = "Message id")), responses(
    (status = 200, content_type = "message/rfc822", description = "The raw message (Content-Disposition: attachment)"),
    (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
))]
#[get("/messages/{id}/raw")]
async fn get_message_raw(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let raw = raw_message(&state, id).await?;
    Ok(download("message/rfc822", format!("message-{id}.eml"), raw))
}

/// Tags to add to and remove from messages.
#[derive(Deserialize, ToSchema)]
pub struct TagChange {
    /// Message ids.
    #[serde(default)]
    pub ids: Vec<i64>,
    /// Thread ids: every message of each thread (a whole conversation).
    #[serde(default)]
    pub threads: Vec<i64>,
    /// Tags to add (`read` marks read).
    #[serde(default)]
    pub add: Vec<String>,
    /// Tags to remove (`read` marks unread, `inbox` archives).
    #[serde(default)]
    pub remove: Vec<String>,
}

/// What a tag change did.
#[derive(Serialize, ToSchema)]
pub struct Updated {
    /// Messages the change applied to.
    pub updated: usize,
    /// Per tag, the messages that gained it and those that lost it: applying
    /// the opposite undoes exactly this change.
    pub changes: Vec<TagDelta>,
}

/// Adds and removes tags (and read state) on many messages, or whole
/// conversations, at once.
#[utoipa::path(tag = "mail", request_body = TagChange, responses(
    (status = 200, body = Updated),
    (status = 400, body = ErrorBody, description = "invalid_tag or bad_request"),
    (status = 404, body = ErrorBody, description = "a message does not exist; nothing changed"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/messages/tags")]
async fn change_message_tags(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<TagChange>,
) -> Result<Json<Updated>, ApiError> {
    let TagChange {
        ids,
        threads,
        add,
        remove,
    } = body.into_inner();
    if ids.len() + threads.len() == 0 || ids.len() > MAX_IDS || threads.len() > MAX_IDS {
        return Err(ApiError::bad_request(
            "bad_request",
            format!("name between 1 and {MAX_IDS} message ids or thread ids"),
        ));
    }
    if add.is_empty() && remove.is_empty() {
        return Err(ApiError::bad_request(
            "bad_request",
            "nothing to add or remove",
        ));
    }
    for t in add.iter().chain(&remove) {
        homepost_store::normalize_tag(t)?;
    }
    let mut guard = state.library.write().await;
    let lib = guard.as_mut().ok_or_else(ApiError::locked)?;
    let ids = lib.expand_threads(&ids, &threads).await?;
    if ids.is_empty() {
        return Err(ApiError::not_found("none of these threads has messages"));
    }
    let changes = lib.change_tags_reporting(&ids, &add, &remove).await?;
    drop(guard);
    // Read and flagged states go back to the mail servers.
    if let Some(t) = state.transport() {
        t.local_change();
    }
    Ok(Json(Updated {
        updated: ids.len(),
        changes,
    }))
}
