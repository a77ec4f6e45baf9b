//! One message: its view, sanitised HTML, attachments and raw bytes, and tag
//! changes on many messages at once (`/messages/...`).

use actix_web::http::header;
use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, get, post};
use homepost_mail::html::{message_html, sanitize};
use homepost_mail::{
    Address, AttachmentInfo, AttachmentRisk, Reputation, RiskLevel, RiskReason, assess_download,
    attachments, download_name, parse, text::terminal_safe, with_reputation,
};
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
    /// it, or for a long thread the [`THREAD_WINDOW`] messages around this one.
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

/// What a Setup Message says about its code, and whether it may be imported.
#[derive(Serialize, ToSchema)]
pub struct SetupMessageHint {
    /// The code's first two digits, to tell which code belongs to it.
    pub passphrase_begin: Option<String>,
    /// Only a Setup Message sent from one of the box's own addresses to one of
    /// them is offered for import: anyone else's could hold a key of theirs.
    pub importable: bool,
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
    let store = lib.store();
    let detail = store
        .message(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no message with id {id}")))?;
    let raw = store
        .raw(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no message with id {id}")))?;
    let thread_ids = store.thread_ids(detail.summary.thread_id).await?;
    let thread_total = thread_ids.len();
    let at = thread_ids.iter().position(|&t| t == id).unwrap_or(0);
    let start = at
        .saturating_sub(THREAD_WINDOW / 2)
        .min(thread_total.saturating_sub(THREAD_WINDOW));
    let window = &thread_ids[start..(start + THREAD_WINDOW).min(thread_total)];
    let thread = store.summaries(window).await?;
    let reputation = reputation(store, &detail.summary.from, id).await?;
    let sender = detail
        .summary
        .from
        .iter()
        .find_map(|a| a.address.as_deref());
    let (crypto, decrypted) = match homepost_core::incoming::as_read_now(store, id, sender).await? {
        Some((outcome, decrypted)) => (Some(outcome), decrypted),
        None => (None, None),
    };
    let own = homepost_core::keys::setup_message::own_addresses(store).await?;
    drop(lib);
    let stored_attachments = detail.attachments;
    let (parsed, has_html, listed_attachments, setup_message) =
        tokio::task::spawn_blocking(move || {
            // A decrypted message shows its own text and attachments, not the
            // ciphertext.
            let shown = decrypted.as_deref().unwrap_or(&raw);
            let found = attachments(shown);
            // Shown, judged and saved under one name: the download's, taken from
            // the same walk over the message as the download itself.
            let saved: Vec<String> = found
                .iter()
                .enumerate()
                .map(|(index, (info, _))| download_name(info.filename.as_deref(), index))
                .collect();
            let risks = found.iter().zip(&saved).map(|((info, bytes), saved_as)| {
                with_reputation(
                    assess_download(
                        info.filename.as_deref(),
                        saved_as,
                        &info.content_type,
                        bytes,
                    ),
                    reputation,
                )
            });
            let listed: Vec<(AttachmentInfo, AttachmentRisk)> = if decrypted.is_some() {
                found.iter().map(|(i, _)| i.clone()).zip(risks).collect()
            } else {
                // The stored list and the walk over the raw bytes agree (one walker in
                // homepost-mail); should they not, an unchecked file is treated as risky.
                let mut risks = risks;
                stored_attachments
                    .into_iter()
                    .enumerate()
                    .map(|(index, mut a)| {
                        if let Some(name) = saved.get(index) {
                            a.filename = Some(name.clone());
                        }
                        (a, risks.next().unwrap_or_else(unchecked))
                    })
                    .collect()
            };
            let setup_message = homepost_pgp::setup::inspect_setup_message(&raw)
                .ok()
                .map(|i| SetupMessageHint {
                    passphrase_begin: i.passphrase_begin,
                    importable: homepost_core::keys::setup_message::importable(&raw, &own),
                });
            (
                parse(shown),
                message_html(shown).is_some(),
                listed,
                setup_message,
            )
        })
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let mut listed: Listed = detail.summary.into();
    if let Some(subject) = crypto
        .as_ref()
        .and_then(|c| c.protected_subject.as_deref())
        .filter(|s| !s.is_empty())
    {
        listed.summary.subject = subject.to_owned();
    }
    Ok(Json(MessageView {
        crypto,
        body: Body {
            text: terminal_safe(&parsed.body_text),
            has_html,
        },
        attachments: listed_attachments
            .into_iter()
            .enumerate()
            .map(|(index, (a, risk))| AttachmentView {
                index,
                // What the user is shown is the name the file is saved under.
                filename: Some(download_name(a.filename.as_deref(), index)),
                content_type: a.content_type,
                size: a.size,
                risk,
            })
            .collect(),
        setup_message,
        cc: detail.cc,
        bcc: detail.bcc,
        reply_to: detail.reply_to,
        references: detail.references,
        size: detail.size,
        malformed: detail.malformed,
        listed,
        thread: thread.into_iter().map(Listed::from).collect(),
        thread_total,
    }))
}

/// Most thread members shown with a message.
pub const THREAD_WINDOW: usize = 50;

/// The sender's standing: a first contact makes risky attachments riskier.
async fn reputation(
    store: &homepost_store::Store,
    from: &[Address],
    id: i64,
) -> Result<Reputation, ApiError> {
    for address in from.iter().filter_map(|a| a.address.as_deref()) {
        if store.is_known_correspondent(address, id).await? {
            return Ok(Reputation::KnownCorrespondent);
        }
    }
    Ok(Reputation::FirstContact)
}

fn unchecked() -> AttachmentRisk {
    AttachmentRisk {
        level: RiskLevel::Medium,
        reasons: vec![RiskReason {
            code: "archive_unchecked",
            message: "this attachment could not be checked".into(),
        }],
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
    pub ids: Vec<i64>,
    /// Tags to add (`read` marks read).
    #[serde(default)]
    pub add: Vec<String>,
    /// Tags to remove (`read` marks unread, `inbox` archives).
    #[serde(default)]
    pub remove: Vec<String>,
}

/// How many messages changed.
#[derive(Serialize, ToSchema)]
pub struct Updated {
    /// Messages updated.
    pub updated: usize,
}

/// Adds and removes tags (and read state) on many messages at once.
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
        mut ids,
        add,
        remove,
    } = body.into_inner();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(ApiError::bad_request(
            "bad_request",
            format!("name between 1 and {MAX_IDS} message ids"),
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
    lib.change_tags(&ids, &add, &remove).await?;
    drop(guard);
    // Read and flagged states go back to the mail servers.
    if let Some(t) = state.transport() {
        t.local_change();
    }
    Ok(Json(Updated { updated: ids.len() }))
}
