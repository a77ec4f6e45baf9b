//! Restoring a new box from its backup (`/restore`, docs/backup.md): the setup
//! wizard's other way in. Like creating the vault, it needs the claim (or the
//! setup code, or a request from the box itself); it runs in the background and
//! `GET /restore` tells how far it is.

use actix_web::web::{Data, Json};
use actix_web::{HttpRequest, HttpResponse, get, post};
use homepost_backup::{ImapRemote, RecoveryKey, Secret};
use homepost_store::{Endpoint, Security};
use homepost_vault::Passphrase;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use zeroize::Zeroizing;

use crate::auth;
use crate::error::{ApiError, ErrorBody};
use crate::state::{AppState, RestoreView};

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(start_restore).service(restore_status);
}

/// The IMAP account the backup is in.
#[derive(Deserialize, ToSchema)]
pub struct BackupSource {
    /// Host name or address.
    pub host: String,
    /// Port (993 for TLS).
    pub port: u16,
    /// How the connection is protected.
    pub security: Security,
    /// The login name.
    pub username: String,
    /// The password (kept in memory only while the restore runs).
    pub password: String,
    /// The folder [default: "Homepost Backup"].
    pub folder: Option<String>,
    /// SHA-256 of a certificate to trust although it does not validate.
    pub pinned_sha256: Option<String>,
}

/// What opens the backup, and where it is.
#[derive(Deserialize, ToSchema)]
pub struct RestoreBody {
    /// The account holding the backup.
    pub source: BackupSource,
    /// The old box's passphrase; or else
    pub passphrase: Option<String>,
    /// the recovery key shown at the first backup, with
    pub recovery_key: Option<String>,
    /// the passphrase the restored box gets.
    pub new_passphrase: Option<String>,
    /// The setup code the box printed when it started (as for `POST /vault`).
    pub setup_token: Option<String>,
}

/// Starts restoring this new box from its backup; poll `GET /restore`.
#[utoipa::path(tag = "setup", request_body = RestoreBody, responses(
    (status = 202, body = RestoreView),
    (status = 400, body = ErrorBody, description = "bad_request, weak_passphrase or bad_recovery_key"),
    (status = 403, body = ErrorBody, description = "setup code missing or wrong"),
    (status = 409, body = ErrorBody, description = "vault_exists, restore_running or claimed"),
    (status = 429, body = ErrorBody),
))]
#[post("/restore")]
async fn start_restore(
    state: Data<AppState>,
    req: HttpRequest,
    body: Json<RestoreBody>,
) -> Result<HttpResponse, ApiError> {
    let RestoreBody {
        source,
        passphrase,
        recovery_key,
        new_passphrase,
        setup_token,
    } = body.into_inner();
    let setup_token = setup_token.map(Zeroizing::new);
    let claim = super::setup::claim_cookie(&req);
    state.check_claim(
        auth::client(&req),
        auth::is_local(&req),
        setup_token.as_deref().map(String::as_str),
        claim.as_deref().map(String::as_str),
    )?;
    let (secret, unlock) = match (passphrase, recovery_key, new_passphrase) {
        (Some(p), None, None) => {
            let p = Passphrase::new(p);
            (Secret::Passphrase(p.clone()), p)
        }
        (None, Some(key), Some(new)) => {
            let key = RecoveryKey::parse(&Zeroizing::new(key))
                .map_err(|e| ApiError::bad_request("bad_recovery_key", e.to_string()))?;
            if let Some(why) = homepost_vault::strength::refusal(&new, &["homepost"]) {
                return Err(ApiError::bad_request("weak_passphrase", why));
            }
            let new = Passphrase::new(new);
            (
                Secret::Recovery {
                    key,
                    new_passphrase: new.clone(),
                },
                new,
            )
        }
        _ => {
            return Err(ApiError::bad_request(
                "bad_request",
                "give the old passphrase, or the recovery key with a new passphrase",
            ));
        }
    };
    if source.host.trim().is_empty() || source.username.trim().is_empty() {
        return Err(ApiError::bad_request(
            "bad_request",
            "name the mail server and the login the backup is in",
        ));
    }
    if source.security == Security::Plain && !homepost_store::is_loopback(source.host.trim()) {
        return Err(ApiError::bad_request(
            "bad_request",
            "a password goes to a mail server on another machine only over TLS",
        ));
    }
    let endpoint = Endpoint {
        host: source.host.trim().to_owned(),
        port: source.port,
        security: source.security,
        username: source.username,
        pinned_sha256: source.pinned_sha256,
    };
    let folder = source
        .folder
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| homepost_core::backups::DEFAULT_FOLDER.to_owned());
    let remote = ImapRemote::new(endpoint, Zeroizing::new(source.password), folder);
    state
        .clone()
        .into_inner()
        .start_restore(remote, secret, unlock)?;
    Ok(HttpResponse::Accepted().json(state.restore.view()))
}

/// How far the restore is, and how it ended.
#[utoipa::path(tag = "setup", responses(
    (status = 200, body = RestoreView), (status = 403, body = ErrorBody, description = "setup code missing"),
))]
#[get("/restore")]
async fn restore_status(
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<Json<RestoreView>, ApiError> {
    // Who may start it may watch it (once the box exists, anyone who reaches it).
    let claim = super::setup::claim_cookie(&req);
    if state.setup_token_required(auth::is_local(&req))
        && !state.claim().held_by(
            claim.as_deref().map(String::as_str),
            std::time::Instant::now(),
        )
    {
        return Err(super::setup::claim_refused(
            crate::claim::ClaimError::NoCode,
        ));
    }
    Ok(Json(state.restore.view()))
}
