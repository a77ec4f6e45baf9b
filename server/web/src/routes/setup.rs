//! The first-run setup: claiming a new box with its setup code (`/claim`), the
//! passphrase strength estimate (`/passphrase/strength`) and the wizard's
//! progress (`/setup`), kept in the store so a reload or another device picks
//! up where it was left.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json};
use actix_web::{HttpRequest, HttpResponse, get, post, put};
use homepost_store::Store;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::library;
use crate::auth::{self, Authed};
use crate::claim::{self, ClaimError};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(claim_box)
        .service(passphrase_strength)
        .service(get_setup)
        .service(put_setup);
}

/// The setting that holds the wizard's progress. Absent: the box was set up
/// before the wizard existed, or from the command line.
const SETUP_KEY: &str = "setup.wizard";

/// The answer to a refused claim or vault creation.
pub(crate) fn claim_refused(e: ClaimError) -> ApiError {
    match e {
        ClaimError::Wrong => ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_setup_token",
            "that is not this box's setup code: it is on the box's screen, or in \
`journalctl -u homepost`",
        ),
        ClaimError::NoCode => ApiError::new(
            StatusCode::FORBIDDEN,
            "setup_token_required",
            "to claim this box, enter the setup code it printed when it started \
(on its screen, or with `journalctl -u homepost`), or open the setup address shown there",
        ),
        ClaimError::Taken => ApiError::new(
            StatusCode::CONFLICT,
            "claimed",
            "this box is already being set up from another device; finish there, or \
restart the box to get a new setup code",
        ),
    }
}

/// The claim cookie's name on this listener.
pub(crate) fn claim_cookie_name(req: &HttpRequest) -> &'static str {
    if auth::is_tls(req) {
        claim::COOKIE_TLS
    } else {
        claim::COOKIE
    }
}

/// The claim cookie the request carries.
pub(crate) fn claim_cookie(req: &HttpRequest) -> Option<zeroize::Zeroizing<String>> {
    auth::cookie_value(req, claim_cookie_name(req))
}

/// A setup code.
#[derive(Deserialize, ToSchema)]
pub struct ClaimBody {
    /// The code the box printed (`XXXXX-XXXXX-XXXXX-XXXXX`; case, spaces and
    /// dashes do not matter).
    setup_token: String,
}

/// Claims a new box for this browser with the setup code: the rest of the
/// setup (the passphrase) is then accepted only from here, for an hour.
#[utoipa::path(tag = "session", request_body = ClaimBody, responses(
    (status = 204, description = "Claimed; the claim cookie is set"),
    (status = 403, body = ErrorBody, description = "wrong_setup_token"),
    (status = 409, body = ErrorBody, description = "claimed (by another device) or vault_exists"),
    (status = 429, body = ErrorBody, description = "throttled; see Retry-After"),
))]
#[post("/claim")]
async fn claim_box(
    state: Data<AppState>,
    req: HttpRequest,
    body: Json<ClaimBody>,
) -> Result<HttpResponse, ApiError> {
    if state.has_vault() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "vault_exists",
            "this box is already set up: unlock it instead",
        ));
    }
    let client = auth::client(&req);
    let now = Instant::now();
    state
        .throttle()
        .check(client, true, now)
        .map_err(ApiError::throttled)?;
    let typed = zeroize::Zeroizing::new(body.into_inner().setup_token);
    let cookie = claim_cookie(&req);
    match state
        .claim()
        .claim(&typed, cookie.as_deref().map(String::as_str), now)
    {
        Ok(id) => {
            let mut res = HttpResponse::NoContent();
            auth::add_cookie(
                &mut res,
                &auth::cookie_header(
                    auth::is_tls(&req),
                    claim_cookie_name(&req),
                    &id,
                    claim::CLAIM_TTL,
                ),
            );
            Ok(res.finish())
        }
        Err(e) => {
            if e == ClaimError::Wrong {
                state.throttle().failed_by_client(client, now);
            }
            Err(claim_refused(e))
        }
    }
}

/// A passphrase to estimate.
#[derive(Deserialize, ToSchema)]
pub struct StrengthBody {
    passphrase: String,
}

/// How hard a passphrase is to guess (zxcvbn), and whether a new vault takes it.
#[derive(Serialize, ToSchema)]
pub struct StrengthView {
    /// 0 (guessed at once) to 4 (very hard).
    score: u8,
    /// log10 of the estimated guesses.
    guesses_log10: f64,
    /// How long an offline attacker would need ("3 hours", "centuries").
    crack_time: String,
    /// What makes it weak.
    warning: Option<String>,
    /// How to make it stronger.
    suggestions: Vec<String>,
    /// Whether `POST /vault` accepts it.
    acceptable: bool,
}

/// Estimates a passphrase's strength, for the meter beside the field. Nothing is
/// kept or logged.
#[utoipa::path(tag = "session", request_body = StrengthBody, responses(
    (status = 200, body = StrengthView)))]
#[post("/passphrase/strength")]
async fn passphrase_strength(body: Json<StrengthBody>) -> Json<StrengthView> {
    let passphrase = zeroize::Zeroizing::new(body.into_inner().passphrase);
    let s = homepost_vault::strength::estimate(&passphrase, &["homepost"]);
    Json(StrengthView {
        score: s.score,
        guesses_log10: s.guesses_log10,
        crack_time: s.crack_time,
        warning: s.warning,
        suggestions: s.suggestions,
        acceptable: s.acceptable,
    })
}

/// The wizard's steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// Add a mail account.
    Account,
    /// Choose what to fetch of the mail already there.
    Mail,
    /// Reach the box from outside (onion service, relay).
    Remote,
    /// Finished.
    Done,
}

/// Where the wizard stands.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SetupView {
    /// The step to show.
    step: Step,
    /// The account added at the account step, if any.
    #[serde(default)]
    account: Option<i64>,
}

/// Starts the wizard on a vault just created from the app.
pub(crate) async fn begin(store: &Store) -> Result<(), ApiError> {
    let view = SetupView {
        step: Step::Account,
        account: None,
    };
    save(store, &view).await
}

async fn save(store: &Store, view: &SetupView) -> Result<(), ApiError> {
    let json = serde_json::to_string(view).map_err(|e| ApiError::internal(&e))?;
    store.set_setting(SETUP_KEY, &json).await?;
    Ok(())
}

/// Where the wizard stands (`done` for a box set up without it).
#[utoipa::path(tag = "session", responses((status = 200, body = SetupView)))]
#[get("/setup")]
async fn get_setup(state: Data<AppState>, _auth: Authed) -> Result<Json<SetupView>, ApiError> {
    let saved = library(&state).await?.store().setting(SETUP_KEY).await?;
    let view = saved
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(SetupView {
            step: Step::Done,
            account: None,
        });
    Ok(Json(view))
}

/// Saves the wizard's progress.
#[utoipa::path(tag = "session", request_body = SetupView, responses(
    (status = 200, body = SetupView), (status = 404, body = ErrorBody, description = "no such account")))]
#[put("/setup")]
async fn put_setup(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<SetupView>,
) -> Result<Json<SetupView>, ApiError> {
    let view = body.into_inner();
    let lib = library(&state).await?;
    if let Some(id) = view.account
        && lib.store().account(id).await?.is_none()
    {
        return Err(ApiError::not_found(format!("no account with id {id}")));
    }
    save(lib.store(), &view).await?;
    Ok(Json(view))
}
