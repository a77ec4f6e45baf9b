//! Backups (`/backup`, docs/backup.md): where they go, their status and
//! progress, a run now, and the recovery key shown once.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json};
use actix_web::{HttpResponse, get, post, put};
use homepost_core::backups::{self, BackupError, BackupSettings, BackupStatus};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::library;
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_backup)
        .service(put_backup)
        .service(run_backup)
        .service(recovery_key)
        .service(recovery_key_shown);
}

/// Where backups go and how they are doing.
#[derive(Serialize, ToSchema)]
pub struct BackupView {
    /// The settings.
    pub settings: BackupSettings,
    /// The last runs, the next one, the one going on.
    pub status: BackupStatus,
}

/// The recovery key, while the user has not confirmed writing it down.
#[derive(Serialize, ToSchema)]
pub struct RecoveryKeyView {
    /// `XXXX-XXXX-…`: eight groups of four characters.
    pub recovery_key: String,
}

impl From<BackupError> for ApiError {
    fn from(e: BackupError) -> Self {
        match e {
            BackupError::Invalid(m) => ApiError::bad_request("invalid_backup_settings", m),
            BackupError::NoTarget => {
                ApiError::new(StatusCode::CONFLICT, "no_backup_target", e.to_string())
            }
            BackupError::Store(s) => s.into(),
            other => ApiError::new(StatusCode::CONFLICT, "backup_failed", other.to_string()),
        }
    }
}

async fn view(state: &AppState) -> Result<BackupView, ApiError> {
    let lib = library(state).await?;
    Ok(BackupView {
        settings: backups::settings(lib.store()).await?,
        status: backups::status(lib.store()).await?,
    })
}

/// The backup settings and status (poll it for a running backup's progress).
#[utoipa::path(tag = "backup", responses((status = 200, body = BackupView), (status = 401, body = ErrorBody)))]
#[get("/backup")]
async fn get_backup(state: Data<AppState>, _auth: Authed) -> Result<Json<BackupView>, ApiError> {
    Ok(Json(view(&state).await?))
}

/// Sets where backups go, how often they run and what they keep.
#[utoipa::path(tag = "backup", request_body = BackupSettings, responses(
    (status = 200, body = BackupView), (status = 400, body = ErrorBody, description = "invalid_backup_settings"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[put("/backup")]
async fn put_backup(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<BackupSettings>,
) -> Result<Json<BackupView>, ApiError> {
    if let Some(backups::Target::Directory { .. } | backups::Target::Imap { .. }) = &body.target {
        // A path on the box, or an account the box does not fetch from (whose
        // password would have to come along), is chosen on the box itself.
        return Err(ApiError::bad_request(
            "invalid_backup_settings",
            "this target is chosen on the box: `homepost backup setup --dir PATH` or `--imap HOST:PORT`",
        ));
    }
    {
        let lib = library(&state).await?;
        backups::set_settings(lib.store(), &body).await?;
    }
    Ok(Json(view(&state).await?))
}

/// Starts a backup now, in the background; its progress shows in `GET /backup`.
#[utoipa::path(tag = "backup", responses(
    (status = 202, body = BackupView), (status = 409, body = ErrorBody, description = "no_backup_target or backup_running"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/backup/run")]
async fn run_backup(state: Data<AppState>, _auth: Authed) -> Result<HttpResponse, ApiError> {
    let (store, access) = {
        let lib = library(&state).await?;
        if backups::settings(lib.store()).await?.target.is_none() {
            return Err(BackupError::NoTarget.into());
        }
        (lib.store().clone(), lib.backup_access().clone())
    };
    if backups::is_running() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "backup_running",
            "a backup is running already",
        ));
    }
    state.spawn_task(async move {
        if let Err(e) = backups::run(&store, &access, &mut |_| {}).await {
            tracing::warn!(error = %e, "backup failed");
        }
    });
    // Let the run mark itself running before the answer is made.
    tokio::task::yield_now().await;
    Ok(HttpResponse::Accepted().json(view(&state).await?))
}

/// The recovery key made by the first backup, until the user confirms having
/// written it down.
#[utoipa::path(tag = "backup", responses(
    (status = 200, body = RecoveryKeyView), (status = 404, body = ErrorBody, description = "already shown"),
    (status = 401, body = ErrorBody),
))]
#[get("/backup/recovery-key")]
async fn recovery_key(state: Data<AppState>, _auth: Authed) -> Result<HttpResponse, ApiError> {
    let lib = library(&state).await?;
    let key = homepost_backup::pending_recovery_key(lib.store())
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| ApiError::not_found("the recovery key was shown already"))?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(RecoveryKeyView {
            recovery_key: key.display().to_string(),
        }))
}

/// The user has the recovery key: it is not kept any longer.
#[utoipa::path(tag = "backup", responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[post("/backup/recovery-key/shown")]
async fn recovery_key_shown(
    state: Data<AppState>,
    _auth: Authed,
) -> Result<HttpResponse, ApiError> {
    let lib = library(&state).await?;
    homepost_backup::recovery_key_shown(lib.store())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::NoContent().finish())
}
