//! The box's health and the trash (`/integrity`, `/trash`, docs/integrity.md):
//! the last check and repair, a check or repair now (with progress), the
//! trash's retention, emptying it, and deleting one message for good.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, delete, get, post, put};
use homepost_core::integrity::{self, IntegrityError, IntegrityStatus};
use homepost_core::library::{TRASH_DAYS, TRASH_DAYS_SETTING};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::library;
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_integrity)
        .service(run_check)
        .service(run_repair)
        .service(put_trash)
        .service(empty_trash)
        .service(delete_message);
}

/// The box's health and the trash's retention.
#[derive(Serialize, ToSchema)]
pub struct IntegrityView {
    /// The last check and repair, the next check, what runs now.
    pub status: IntegrityStatus,
    /// Days mail stays in the trash before it is deleted for good (0: until
    /// the trash is emptied).
    pub trash_days: i64,
}

/// New trash settings.
#[derive(Deserialize, ToSchema)]
pub struct TrashSettings {
    /// Days mail stays in the trash (0: until it is emptied; at most 3650).
    pub days: i64,
}

/// What emptying the trash did.
#[derive(Serialize, ToSchema)]
pub struct Emptied {
    /// Messages deleted for good.
    pub deleted: usize,
}

impl From<IntegrityError> for ApiError {
    fn from(e: IntegrityError) -> Self {
        match e {
            IntegrityError::Busy => {
                ApiError::new(StatusCode::CONFLICT, "check_running", e.to_string())
            }
            IntegrityError::Locked => ApiError::locked(),
            IntegrityError::Library(l) => l.into(),
        }
    }
}

async fn view(state: &AppState) -> Result<IntegrityView, ApiError> {
    // While a repair holds the library for writing, answer from the status
    // last read rather than wait for it; a short change is waited for.
    let Ok(guard) =
        tokio::time::timeout(std::time::Duration::from_millis(500), state.library.read()).await
    else {
        let (status, trash_days) = integrity::cached();
        return Ok(IntegrityView {
            status: IntegrityStatus {
                running: integrity::running(),
                ..status
            },
            trash_days,
        });
    };
    let lib = tokio::sync::RwLockReadGuard::try_map(guard, Option::as_ref)
        .map_err(|_| ApiError::locked())?;
    let trash_days = trash_days(&lib).await?;
    let status = integrity::status(&lib).await?;
    integrity::remember(&status, trash_days);
    Ok(IntegrityView { status, trash_days })
}

async fn trash_days(lib: &super::Lib<'_>) -> Result<i64, ApiError> {
    Ok(lib
        .store()
        .setting(TRASH_DAYS_SETTING)
        .await?
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(TRASH_DAYS))
}

/// The box's health: the last check and repair, the next check, and the
/// progress of one running now (poll it).
#[utoipa::path(tag = "integrity", responses((status = 200, body = IntegrityView), (status = 401, body = ErrorBody)))]
#[get("/integrity")]
async fn get_integrity(
    state: Data<AppState>,
    _auth: Authed,
) -> Result<Json<IntegrityView>, ApiError> {
    Ok(Json(view(&state).await?))
}

/// Starts a check now, in the background; mail stays readable meanwhile.
#[utoipa::path(tag = "integrity", responses(
    (status = 202, body = IntegrityView), (status = 409, body = ErrorBody, description = "check_running"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/integrity/check")]
async fn run_check(state: Data<AppState>, _auth: Authed) -> Result<HttpResponse, ApiError> {
    drop(library(&state).await?);
    busy()?;
    let shared = state.library.clone();
    state.spawn_task(async move {
        if let Err(e) = integrity::check(&shared).await {
            tracing::warn!(error = %e, "the check failed");
        }
    });
    tokio::task::yield_now().await;
    Ok(HttpResponse::Accepted().json(view(&state).await?))
}

/// Starts a repair of what a check finds, in the background: the index
/// rebuilt, damaged messages fetched again or read from the backup, the rest
/// kept in quarantine. Mail cannot be read until it ends.
#[utoipa::path(tag = "integrity", responses(
    (status = 202, body = IntegrityView), (status = 409, body = ErrorBody, description = "check_running"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/integrity/repair")]
async fn run_repair(state: Data<AppState>, _auth: Authed) -> Result<HttpResponse, ApiError> {
    drop(library(&state).await?);
    busy()?;
    let shared = state.library.clone();
    let timeouts = state.transport_timeouts();
    state.spawn_task(async move {
        if let Err(e) = integrity::repair(&shared, timeouts).await {
            tracing::warn!(error = %e, "the repair failed");
        }
    });
    tokio::task::yield_now().await;
    Ok(HttpResponse::Accepted().json(view(&state).await?))
}

fn busy() -> Result<(), ApiError> {
    match integrity::running() {
        Some(_) => Err(IntegrityError::Busy.into()),
        None => Ok(()),
    }
}

/// Sets how long mail stays in the trash.
#[utoipa::path(tag = "integrity", request_body = TrashSettings, responses(
    (status = 200, body = IntegrityView), (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[put("/trash")]
async fn put_trash(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<TrashSettings>,
) -> Result<Json<IntegrityView>, ApiError> {
    if !(0..=3650).contains(&body.days) {
        return Err(ApiError::bad_request(
            "bad_request",
            "keep mail in the trash for 0 (until it is emptied) to 3650 days",
        ));
    }
    library(&state)
        .await?
        .store()
        .set_setting(TRASH_DAYS_SETTING, &body.days.to_string())
        .await?;
    Ok(Json(view(&state).await?))
}

/// Deletes for good everything in the trash.
#[utoipa::path(tag = "integrity", responses(
    (status = 200, body = Emptied), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/trash/empty")]
async fn empty_trash(state: Data<AppState>, _auth: Authed) -> Result<Json<Emptied>, ApiError> {
    let mut guard = state.library.write().await;
    let lib = guard.as_mut().ok_or_else(ApiError::locked)?;
    let deleted = lib.empty_trash_before(i64::MAX).await?;
    Ok(Json(Emptied { deleted }))
}

/// Deletes one message for good. Only mail in the trash or in spam can be:
/// anything else goes to the trash first, so that a slip cannot lose mail.
#[utoipa::path(tag = "integrity", params(("id" = i64, Path, description = "Message id")), responses(
    (status = 204), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "not_in_trash"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[delete("/messages/{id}")]
async fn delete_message(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let mut guard = state.library.write().await;
    let lib = guard.as_mut().ok_or_else(ApiError::locked)?;
    let tags = lib.store().tags_of(id).await?;
    if lib.store().message_digest(id).await?.is_none() {
        return Err(ApiError::not_found(format!("no message with id {id}")));
    }
    if !tags.iter().any(|t| t == "trash" || t == "spam") {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_in_trash",
            "only mail in the trash or in spam is deleted for good: move it to the trash first",
        ));
    }
    lib.delete_for_good(&[id]).await?;
    Ok(HttpResponse::NoContent().finish())
}
