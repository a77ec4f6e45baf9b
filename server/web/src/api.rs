//! The JSON API under `/api/v1` (docs/api.md). Every handler is annotated for the
//! OpenAPI document, which is collected from the same registrations that route.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::web::{Data, Json, Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use homepost_core::library::{Library, LibraryError};
use homepost_mail::html::{message_html, sanitize};
use homepost_mail::{
    Address, AttachmentInfo, AttachmentRisk, Reputation, RiskLevel, RiskReason, assess_download,
    attachments, download_name, parse, text::terminal_safe, with_reputation,
};
use homepost_search::{SearchOptions, Sort};
use homepost_store::{MessageSummary, TagCount};
use homepost_vault::Passphrase;
use serde::{Deserialize, Serialize};
use tokio::sync::RwLockReadGuard;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{self, Authed, DOWNLOAD_CSP};
use crate::error::{ApiError, ErrorBody};
use crate::state::{AppState, NewSession};

/// Registers every API route (under the `/api/v1` scope).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_status)
        .service(create_vault)
        .service(create_session)
        .service(get_session)
        .service(delete_session)
        .service(lock_now)
        .service(search_messages)
        .service(change_message_tags)
        .service(get_message)
        .service(get_message_raw)
        .service(get_message_html)
        .service(get_attachment)
        .service(get_thread)
        .service(list_tags)
        .service(create_tag)
        .service(rename_tag)
        .service(delete_tag);
}

/// Now, in Unix seconds.
pub(crate) use homepost_core::unix_now;

/// Default and largest page size of a search.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;
/// Deepest page a cursor may reach (the index collects offset + limit hits).
const MAX_OFFSET: usize = 100_000;
/// Most messages one tag change may name.
const MAX_IDS: usize = 5_000;

// ---------------------------------------------------------------- status, sessions

/// Whether a vault exists and whether it is unlocked for this client.
#[derive(Serialize, ToSchema)]
pub struct Status {
    /// `no_vault`, `locked` or `unlocked`. Without a session it is never
    /// `unlocked`: whether someone else is logged in right now is not said.
    #[schema(example = "locked")]
    pub state: &'static str,
    /// With `no_vault`: creating the vault from here needs the setup code that
    /// the box printed when it started (every client but the box itself).
    pub setup_token_required: bool,
    /// Whether this request carries a live session.
    pub session: bool,
    /// The server's version.
    pub version: &'static str,
    /// Which sources key lookups may ask (`all`, `wkd`, `off`); only with a
    /// session.
    pub key_lookup: Option<&'static str>,
}

/// Where the server stands; needs no session and does not extend one.
#[utoipa::path(tag = "session", responses((status = 200, body = Status)))]
#[get("/status")]
async fn get_status(state: Data<AppState>, req: HttpRequest) -> Json<Status> {
    let session = auth::presented_session(&req, &state)
        .is_some_and(|id| state.sessions().peek(&id, Instant::now()));
    let has_vault = state.has_vault();
    // Only a session learns that the box is unlocked (its session implies it).
    let state_name = match (has_vault, session) {
        (false, _) => "no_vault",
        (true, true) if state.is_unlocked().await => "unlocked",
        (true, _) => "locked",
    };
    let key_lookup = session.then(|| {
        let (_, o) = state.key_lookup();
        match (o.wkd, o.keys_openpgp_org) {
            (true, true) => "all",
            (true, false) => "wkd",
            (false, true) => "keys.openpgp.org",
            (false, false) => "off",
        }
    });
    Json(Status {
        state: state_name,
        setup_token_required: !has_vault && state.setup_token_required(auth::is_local(&req)),
        session,
        version: env!("CARGO_PKG_VERSION"),
        key_lookup,
    })
}

/// A passphrase, to create or unlock the vault.
#[derive(Deserialize, ToSchema)]
pub struct PassphraseBody {
    /// The passphrase.
    pub passphrase: String,
}

/// A session's CSRF token and timeouts. The session id itself is only in the
/// HttpOnly cookie.
#[derive(Serialize, ToSchema)]
pub struct SessionBody {
    /// Send it as `X-CSRF-Token` on every state-changing request.
    pub csrf_token: String,
    /// Seconds without a request after which the session ends.
    pub idle_timeout: u64,
    /// Unix seconds at which the session ends at the latest.
    pub expires_at: i64,
}

fn session_body(state: &AppState, info: &crate::session::SessionInfo) -> SessionBody {
    let left = info.expires.saturating_duration_since(Instant::now());
    let expires_at = SystemTime::now()
        .checked_add(left)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    SessionBody {
        csrf_token: info.csrf.to_string(),
        idle_timeout: state.sessions().idle().as_secs(),
        expires_at,
    }
}

/// A new session's answer: its cookie, and the "known device" cookie that lets
/// this browser past the global login wait from now on.
fn started(state: &AppState, new: NewSession, status: StatusCode) -> HttpResponse {
    let left = new.info.expires.saturating_duration_since(Instant::now());
    let mut res = HttpResponse::build(status);
    auth::add_cookie(&mut res, &auth::session_cookie(state, &new.id, left));
    if let Some(device) = state.devices().issue(SystemTime::now()) {
        auth::add_cookie(&mut res, &auth::device_cookie(state, &device));
    }
    res.json(session_body(state, &new.info))
}

/// The passphrase of a new vault, and the setup code that claims the box.
#[derive(Deserialize, ToSchema)]
pub struct NewVaultBody {
    /// The passphrase (at least 10 characters).
    pub passphrase: String,
    /// The setup code the box printed when it started (`XXXXX-XXXXX-XXXXX-XXXXX`;
    /// case, spaces and dashes do not matter). Needed unless the request comes
    /// from the box itself; see `setup_token_required` in `GET /status`.
    pub setup_token: Option<String>,
}

/// Creates the vault (only when there is none), unlocks it and starts a session.
#[utoipa::path(tag = "session", request_body = NewVaultBody, responses(
    (status = 201, body = SessionBody, description = "Created; the session cookie is set"),
    (status = 400, body = ErrorBody, description = "weak_passphrase"),
    (status = 403, body = ErrorBody, description = "setup_token_required or wrong_setup_token"),
    (status = 409, body = ErrorBody, description = "vault_exists"),
    (status = 429, body = ErrorBody, description = "throttled; see Retry-After"),
))]
#[post("/vault")]
async fn create_vault(
    state: Data<AppState>,
    req: HttpRequest,
    body: Json<NewVaultBody>,
) -> Result<HttpResponse, ApiError> {
    let NewVaultBody {
        passphrase,
        setup_token,
    } = body.into_inner();
    let setup_token = setup_token.map(zeroize::Zeroizing::new);
    let client = req.peer_addr().map(|a| a.ip());
    let new = state
        .create_vault(
            client,
            auth::is_local(&req),
            setup_token.as_deref().map(String::as_str),
            Passphrase::new(passphrase),
        )
        .await?;
    Ok(started(&state, new, StatusCode::CREATED))
}

/// Unlocks with the passphrase and starts a session.
#[utoipa::path(tag = "session", request_body = PassphraseBody, responses(
    (status = 200, body = SessionBody, description = "Unlocked; the session cookie is set"),
    (status = 401, body = ErrorBody, description = "wrong_passphrase"),
    (status = 409, body = ErrorBody, description = "no_vault"),
    (status = 429, body = ErrorBody, description = "throttled; see Retry-After"),
))]
#[post("/session")]
async fn create_session(
    state: Data<AppState>,
    req: HttpRequest,
    body: Json<PassphraseBody>,
) -> Result<HttpResponse, ApiError> {
    let client = req.peer_addr().map(|a| a.ip());
    let known = auth::is_local(&req) || auth::known_device(&req, &state);
    let passphrase = Passphrase::new(body.into_inner().passphrase);
    let new = state.unlock(client, known, passphrase).await?;
    // Unlocking again replaces this browser's old session instead of leaving it live.
    if let Some(old) = auth::presented_session(&req, &state) {
        state.sessions().remove(&old);
    }
    Ok(started(&state, new, StatusCode::OK))
}

/// The current session (to recover the CSRF token after a reload).
#[utoipa::path(tag = "session", responses(
    (status = 200, body = SessionBody), (status = 401, body = ErrorBody),
))]
#[get("/session")]
async fn get_session(state: Data<AppState>, auth: Authed) -> Json<SessionBody> {
    Json(session_body(&state, &auth.info))
}

/// Ends this session; the server locks when no session is left.
#[utoipa::path(tag = "session", responses(
    (status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[delete("/session")]
async fn delete_session(state: Data<AppState>, auth: Authed) -> HttpResponse {
    state.logout(&auth.id).await;
    let mut res = HttpResponse::NoContent().finish();
    let _ = res.add_removal_cookie(&auth::removal_cookie(&state));
    res
}

/// Ends every session and drops all keys from memory.
///
/// The browser keeps its (now dead) session cookie: the only way left to tell
/// its other tabs "the box was locked" rather than "your session has ended"
/// without telling that to anyone who asks.
#[utoipa::path(tag = "session", responses(
    (status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/lock")]
async fn lock_now(state: Data<AppState>, _auth: Authed) -> HttpResponse {
    state.lock().await;
    HttpResponse::NoContent().finish()
}

// ---------------------------------------------------------------- mail

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

/// Search parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// A query in the search language (docs/search.md); empty matches everything.
    pub q: Option<String>,
    /// Results per page, 1-200 (default 50).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `newest` (default), `oldest` or `relevance`.
    pub sort: Option<String>,
}

/// One page of search results.
#[derive(Serialize, ToSchema)]
pub struct SearchPage {
    /// Number of matching messages.
    pub total: usize,
    /// This page.
    pub results: Vec<Listed>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The library while unlocked.
pub(crate) type Lib<'a> = tokio::sync::RwLockReadGuard<'a, Library>;

pub(crate) async fn library(state: &AppState) -> Result<Lib<'_>, ApiError> {
    RwLockReadGuard::try_map(state.library.read().await, Option::as_ref)
        .map_err(|_| ApiError::locked())
}

/// The page size asked for, or `default`; 1 to `max`.
fn page_limit(given: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    let limit = given.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::bad_request(
            "bad_request",
            format!("limit must be between 1 and {max}"),
        ));
    }
    Ok(limit)
}

/// The offset a cursor stands for.
fn parse_cursor(cursor: Option<&str>) -> Result<usize, ApiError> {
    match cursor {
        None | Some("") => Ok(0),
        Some(c) => c
            .parse::<usize>()
            .ok()
            .filter(|&o| o <= MAX_OFFSET)
            .ok_or_else(|| {
                ApiError::bad_request("bad_request", "invalid cursor: pass next_cursor back")
            }),
    }
}

/// Searches with the query language; one page at a time.
#[utoipa::path(tag = "mail", params(SearchParams), responses(
    (status = 200, body = SearchPage),
    (status = 400, body = ErrorBody, description = "invalid_query or bad_request"),
    (status = 401, body = ErrorBody),
))]
#[get("/search")]
async fn search_messages(
    state: Data<AppState>,
    _auth: Authed,
    params: Query<SearchParams>,
) -> Result<Json<SearchPage>, ApiError> {
    let limit = page_limit(params.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let offset = parse_cursor(params.cursor.as_deref())?;
    let sort = match params.sort.as_deref() {
        None | Some("newest") => Sort::Newest,
        Some("oldest") => Sort::Oldest,
        Some("relevance") => Sort::Relevance,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_request",
                format!("unknown sort {other:?}: use newest, oldest or relevance"),
            ));
        }
    };
    let text = params.q.as_deref().unwrap_or("").trim();
    let query = homepost_search::parse(if text.is_empty() { "*" } else { text })
        .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?;
    let query = homepost_search::hide_unless_named(query);
    let opts = SearchOptions {
        sort,
        limit,
        offset,
    };
    // The library's lock is let go before searching: Lock and unlock (and the idle
    // reaper) never wait behind searches.
    let searcher = library(&state).await?.searcher();
    let found = searcher.search(&query, &opts).await;
    drop(searcher);
    if found.is_err() && !state.is_unlocked().await {
        return Err(ApiError::locked());
    }
    let (total, results) = match found {
        Err(LibraryError::Index(homepost_search::Error::Corrupt(reason))) => {
            tracing::warn!(%reason, "search index damaged; rebuilding it from the store");
            let mut guard = state.library.write().await;
            let lib = guard.as_mut().ok_or_else(ApiError::locked)?;
            lib.reindex().await?;
            lib.search_parsed(&query, &opts).await?
        }
        other => other?,
    };
    let next = offset + results.len();
    Ok(Json(SearchPage {
        total,
        next_cursor: (next < total && !results.is_empty() && next <= MAX_OFFSET)
            .then(|| next.to_string()),
        results: results.into_iter().map(Listed::from).collect(),
    }))
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
    #[schema(value_type = Option<Object>)]
    pub crypto: Option<serde_json::Value>,
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
    let (mut crypto, decrypted) = match store.message_crypto(id).await? {
        Some((json, decrypted)) => (
            serde_json::from_str::<serde_json::Value>(&json).ok(),
            decrypted,
        ),
        None => (None, None),
    };
    // A key change flagged on arrival is over once the user has decided.
    if let Some(c) = crypto.as_mut().filter(|c| c["key_changed"] == true) {
        let sender = detail
            .summary
            .from
            .iter()
            .find_map(|a| a.address.as_deref());
        let peer = match sender {
            Some(a) => {
                store
                    .peer(&homepost_pgp::autocrypt::canonical_address(a))
                    .await?
            }
            None => None,
        };
        let pending = peer
            .as_ref()
            .is_some_and(homepost_core::keys::key_change_pending);
        c["key_changed"] = pending.into();
        // Signed by the key the user has since accepted: it is the sender's.
        if !pending
            && let Some(pinned) = peer.and_then(|p| p.pinned_fingerprint)
            && c["signer"].as_str() == Some(pinned.as_str())
        {
            c["signer_is_sender"] = true.into();
        }
    }
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
        .and_then(|c| c["protected_subject"].as_str())
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
/// Default and largest page of `GET /threads/{id}`.
const THREAD_PAGE: usize = 200;
const MAX_THREAD_PAGE: usize = 1000;

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

/// A download: bytes that the browser must save, never render.
pub(crate) fn download(content_type: &str, filename: String, bytes: Vec<u8>) -> HttpResponse {
    let ascii: String = filename
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    let mut parameters = vec![DispositionParam::Filename(ascii)];
    if !filename.is_ascii() {
        parameters.push(DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: filename.into_bytes(),
        }));
    }
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters,
        })
        .insert_header((header::CONTENT_SECURITY_POLICY, DOWNLOAD_CSP))
        .body(bytes)
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

/// A page of a thread.
#[derive(Serialize, ToSchema)]
pub struct ThreadView {
    /// The thread id.
    pub thread_id: i64,
    /// How many messages the thread has.
    pub total: usize,
    /// This page, oldest first.
    pub messages: Vec<Listed>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Paging of a thread.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Messages per page, 1-1000 (default 200).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The messages of a thread, oldest first, a page at a time.
#[utoipa::path(tag = "mail", params(("id" = i64, Path, description = "Thread id"), PageParams), responses(
    (status = 200, body = ThreadView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
))]
#[get("/threads/{id}")]
async fn get_thread(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
    params: Query<PageParams>,
) -> Result<Json<ThreadView>, ApiError> {
    let thread_id = id.into_inner();
    let limit = page_limit(params.limit, THREAD_PAGE, MAX_THREAD_PAGE)?;
    let offset = parse_cursor(params.cursor.as_deref())?;
    let lib = library(&state).await?;
    let ids = lib.store().thread_ids(thread_id).await?;
    if ids.is_empty() {
        return Err(ApiError::not_found(format!(
            "no thread with id {thread_id}"
        )));
    }
    let page = ids
        .iter()
        .skip(offset)
        .take(limit)
        .copied()
        .collect::<Vec<_>>();
    let messages = lib.store().summaries(&page).await?;
    let next = offset + page.len();
    Ok(Json(ThreadView {
        thread_id,
        total: ids.len(),
        next_cursor: (next < ids.len() && !page.is_empty()).then(|| next.to_string()),
        messages: messages.into_iter().map(Listed::from).collect(),
    }))
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

// ---------------------------------------------------------------- tags

/// All tags.
#[derive(Serialize, ToSchema)]
pub struct TagList {
    /// Sorted by name.
    pub tags: Vec<TagCount>,
}

/// A tag name.
#[derive(Deserialize, ToSchema)]
pub struct TagName {
    /// The name (normalised: trimmed, lowercase).
    pub name: String,
}

/// Tags the read state lives in: not renamed or deleted through the tag API.
const RESERVED_TAGS: &[&str] = &["read"];

fn not_reserved(name: &str) -> Result<(), ApiError> {
    let name = homepost_store::normalize_tag(name)?;
    if RESERVED_TAGS.contains(&name.as_str()) {
        return Err(ApiError::bad_request(
            "reserved_tag",
            format!("the tag {name:?} holds the read state and cannot be renamed or deleted"),
        ));
    }
    Ok(())
}

async fn tag_count(lib: &Library, name: &str) -> Result<TagCount, ApiError> {
    lib.store()
        .tag_counts()
        .await?
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| ApiError::not_found(format!("there is no tag {name:?}")))
}

/// Every tag with its message and unread counts.
#[utoipa::path(tag = "tags", responses((status = 200, body = TagList), (status = 401, body = ErrorBody)))]
#[get("/tags")]
async fn list_tags(state: Data<AppState>, _auth: Authed) -> Result<Json<TagList>, ApiError> {
    let tags = library(&state).await?.store().tag_counts().await?;
    Ok(Json(TagList { tags }))
}

/// Creates an empty tag.
#[utoipa::path(tag = "tags", request_body = TagName, responses(
    (status = 201, body = TagCount), (status = 400, body = ErrorBody, description = "invalid_tag"),
    (status = 409, body = ErrorBody, description = "conflict"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/tags")]
async fn create_tag(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<TagName>,
) -> Result<HttpResponse, ApiError> {
    let name = library(&state)
        .await?
        .store()
        .create_tag(&body.name)
        .await?;
    Ok(HttpResponse::Created().json(TagCount {
        name,
        total: 0,
        unread: 0,
    }))
}

/// Renames a tag on every message.
#[utoipa::path(tag = "tags", params(("name" = String, Path, description = "Current name")), request_body = TagName, responses(
    (status = 200, body = TagCount), (status = 400, body = ErrorBody, description = "invalid_tag or reserved_tag"),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "conflict"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[patch("/tags/{name}")]
async fn rename_tag(
    state: Data<AppState>,
    _auth: Authed,
    name: Path<String>,
    body: Json<TagName>,
) -> Result<Json<TagCount>, ApiError> {
    not_reserved(&name)?;
    not_reserved(&body.name)?;
    let mut guard = state.library.write().await;
    let lib = guard.as_mut().ok_or_else(ApiError::locked)?;
    let new = lib.rename_tag(&name, &body.name).await?;
    Ok(Json(tag_count(lib, &new).await?))
}

/// Removes a tag from every message and deletes it.
#[utoipa::path(tag = "tags", params(("name" = String, Path, description = "Tag name")), responses(
    (status = 204), (status = 400, body = ErrorBody, description = "reserved_tag"), (status = 404, body = ErrorBody),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[delete("/tags/{name}")]
async fn delete_tag(
    state: Data<AppState>,
    _auth: Authed,
    name: Path<String>,
) -> Result<HttpResponse, ApiError> {
    not_reserved(&name)?;
    let mut guard = state.library.write().await;
    let lib = guard.as_mut().ok_or_else(ApiError::locked)?;
    lib.delete_tag(&name).await?;
    Ok(HttpResponse::NoContent().finish())
}
