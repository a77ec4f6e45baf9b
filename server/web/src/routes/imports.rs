//! Importing mail uploaded from the app (`/imports`): upload each file, then
//! start an import of the uploads and poll it for progress and its report.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json, Path, Payload, Query};
use actix_web::{HttpResponse, delete, get, post};
use futures_util::StreamExt;
use homepost_core::imports::{ImportError, ImportJob, ImportOptions, UploadInfo};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(upload)
        .service(remove_upload)
        .service(start_import)
        .service(list_imports)
        .service(get_import);
}

/// The uploaded file.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The file's name on the device (shown in the report; its contents decide
    /// how it is read).
    pub name: String,
}

/// Receives one file to import, streamed to an encrypted spool file on the
/// box as it arrives: an mbox (also gzipped), one message (.eml), or a
/// Maildir or folder of mail as .zip, .tar or .tar.gz. The body is the file
/// itself. Uploads no import claims are dropped after an hour, and on lock.
#[utoipa::path(tag = "import", params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 201, body = UploadInfo),
        (status = 400, body = ErrorBody, description = "empty, or cut off before its end"),
        (status = 409, body = ErrorBody, description = "too many uploads are waiting"),
        (status = 507, body = ErrorBody, description = "the box's disk is full"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/imports/uploads")]
async fn upload(
    state: Data<AppState>,
    _auth: Authed,
    params: Query<UploadParams>,
    mut payload: Payload,
) -> Result<HttpResponse, ApiError> {
    // No wait for the mailbox here: an import may hold it for a long time, and
    // the session (Authed) already says the box is unlocked.
    let imports = state.imports();
    let mut writer = imports.begin_upload().map_err(import_error)?;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                "bad_request",
                format!("the upload was cut off ({e}): upload the file again"),
            )
        })?;
        // Sealing and writing to an SD card can take a while: not on the
        // async worker, which other requests share.
        writer = actix_web::web::block(move || writer.write(&chunk).map(|()| writer))
            .await
            .map_err(|e| ApiError::internal(&e))?
            .map_err(spool_error)?;
    }
    if writer.is_empty() {
        return Err(ApiError::bad_request(
            "bad_request",
            format!("{} is empty: choose the mail file itself", params.name),
        ));
    }
    let info = imports
        .add_upload(&params.name, writer)
        .map_err(import_error)?;
    Ok(HttpResponse::Created().json(info))
}

/// Drops an upload that is no longer wanted.
#[utoipa::path(tag = "import", params(("id" = String, Path, description = "Upload id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
#[delete("/imports/uploads/{id}")]
async fn remove_upload(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    if state.imports().remove_upload(&id) {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found(format!("no upload {id}")))
    }
}

/// Uploads to import, and what to do with their mail.
#[derive(Deserialize, ToSchema)]
pub struct StartImport {
    /// Upload ids, from `POST /imports/uploads`.
    pub uploads: Vec<String>,
    /// Tags and read state for the imported mail.
    #[serde(flatten)]
    pub options: ImportOptions,
}

/// Starts importing uploads in the background; poll `GET /imports/{id}` for
/// progress and, at the end, the report (imported, duplicates and malformed
/// with where they came from, unreadable parts with the reason).
#[utoipa::path(tag = "import", request_body = StartImport, responses(
    (status = 202, body = ImportJob),
    (status = 400, body = ErrorBody, description = "no uploads, or a bad tag"),
    (status = 404, body = ErrorBody, description = "an upload is unknown or expired"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 507, body = ErrorBody, description = "the box's disk is full"),
    (status = 500, body = ErrorBody),
))]
#[post("/imports")]
async fn start_import(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<StartImport>,
) -> Result<HttpResponse, ApiError> {
    let StartImport { uploads, options } = body.into_inner();
    for t in &options.tags {
        homepost_store::normalize_tag(t)?;
    }
    let job = state
        .imports()
        .start(state.library.clone(), &uploads, &options)
        .map_err(import_error)?;
    Ok(HttpResponse::Accepted().json(job))
}

/// The import jobs since the box was unlocked (the last 20), oldest first.
#[utoipa::path(tag = "import", responses((status = 200, body = Vec<ImportJob>), (status = 401, body = ErrorBody)))]
#[get("/imports")]
async fn list_imports(state: Data<AppState>, _auth: Authed) -> Json<Vec<ImportJob>> {
    Json(state.imports().jobs())
}

/// One import job: its state, progress and, once done, its report.
#[utoipa::path(tag = "import", params(("id" = u64, Path, description = "Job id")),
    responses((status = 200, body = ImportJob), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[get("/imports/{id}")]
async fn get_import(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<u64>,
) -> Result<Json<ImportJob>, ApiError> {
    state
        .imports()
        .job(*id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no import {id}")))
}

fn import_error(e: ImportError) -> ApiError {
    match e {
        ImportError::NoUpload(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
        }
        ImportError::TooMany => {
            ApiError::new(StatusCode::CONFLICT, "too_many_uploads", e.to_string())
        }
        ImportError::Nothing => ApiError::bad_request("bad_request", e.to_string()),
        ImportError::Locked => ApiError::locked(),
        ImportError::Spool(io) => spool_error(io),
    }
}

fn spool_error(e: std::io::Error) -> ApiError {
    if e.kind() == std::io::ErrorKind::StorageFull {
        ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "disk_full",
            "the box's disk is full: free some space (or import a smaller file) and try again",
        )
    } else {
        ApiError::internal(&format!("upload spool: {e}"))
    }
}
