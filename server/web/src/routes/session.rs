//! Where the server stands, the vault, sessions and locking (`/status`, `/vault`,
//! `/session`, `/lock`).

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json};
use actix_web::{HttpRequest, HttpResponse, delete, get, post};
use homepost_vault::Passphrase;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{self, Authed};
use crate::error::{ApiError, ErrorBody};
use crate::state::{AppState, NewSession};

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_status)
        .service(create_vault)
        .service(create_session)
        .service(get_session)
        .service(delete_session)
        .service(lock_now);
}

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
    /// With `no_vault`: this browser holds the claim on the box (`POST /claim`),
    /// so creating the vault needs no setup code from here for now.
    pub claimed: bool,
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
    let session =
        auth::presented_session(&req).is_some_and(|id| state.sessions().peek(&id, Instant::now()));
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
    let claimed = !has_vault
        && state.claim().held_by(
            super::setup::claim_cookie(&req)
                .as_deref()
                .map(String::as_str),
            Instant::now(),
        );
    Json(Status {
        state: state_name,
        setup_token_required: !has_vault
            && !claimed
            && state.setup_token_required(auth::is_local(&req)),
        claimed,
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
fn started(
    state: &AppState,
    req: &HttpRequest,
    new: NewSession,
    status: StatusCode,
) -> HttpResponse {
    let tls = auth::is_tls(req);
    let left = new.info.expires.saturating_duration_since(Instant::now());
    let mut res = HttpResponse::build(status);
    auth::add_cookie(&mut res, &auth::session_cookie(tls, &new.id, left));
    if let Some(device) = state.devices().issue(SystemTime::now()) {
        auth::add_cookie(&mut res, &auth::device_cookie(tls, &device));
    }
    res.json(session_body(state, &new.info))
}

/// The passphrase of a new vault, and the setup code that claims the box.
#[derive(Deserialize, ToSchema)]
pub struct NewVaultBody {
    /// The passphrase: at least 10 characters, and hard enough to guess (see
    /// `POST /passphrase/strength`).
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
    (status = 409, body = ErrorBody, description = "vault_exists, or claimed by another device"),
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
    let claim = super::setup::claim_cookie(&req);
    let client = auth::client(&req);
    let new = state
        .create_vault(
            client,
            auth::is_local(&req),
            setup_token.as_deref().map(String::as_str),
            claim.as_deref().map(String::as_str),
            Passphrase::new(passphrase),
        )
        .await?;
    // The wizard takes over from here (a reload resumes it). The vault and the
    // session exist already: if the progress cannot be saved, the app opens the
    // mail instead of the wizard, which beats answering with an error.
    if let Ok(lib) = super::library(&state).await
        && let Err(e) = super::setup::begin(lib.store()).await
    {
        tracing::warn!(error = %e, "the setup wizard's progress was not saved");
    }
    let mut res = started(&state, &req, new, StatusCode::CREATED);
    if claim.is_some() {
        let gone = auth::cookie_header(
            auth::is_tls(&req),
            super::setup::claim_cookie_name(&req),
            "",
            std::time::Duration::ZERO,
        );
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&gone) {
            res.headers_mut()
                .append(actix_web::http::header::SET_COOKIE, v);
        }
    }
    Ok(res)
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
    let client = auth::client(&req);
    let known = auth::is_local(&req) || auth::known_device(&req, &state);
    let passphrase = Passphrase::new(body.into_inner().passphrase);
    let new = state.unlock(client, known, passphrase).await?;
    // Unlocking again replaces this browser's old session instead of leaving it live.
    if let Some(old) = auth::presented_session(&req) {
        state.sessions().remove(&old);
    }
    Ok(started(&state, &req, new, StatusCode::OK))
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
async fn delete_session(state: Data<AppState>, req: HttpRequest, auth: Authed) -> HttpResponse {
    state.logout(&auth.id).await;
    let mut res = HttpResponse::NoContent().finish();
    let _ = res.add_removal_cookie(&auth::removal_cookie(auth::is_tls(&req)));
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
