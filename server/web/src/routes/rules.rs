//! Filter rules (`/rules`): what arriving mail that matches a query gets,
//! in the order the rules run; running one over stored mail; Sieve in and out.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json, Path, Payload};
use actix_web::{HttpResponse, delete, get, patch, post, put};
use futures_util::StreamExt;
use homepost_core::rules::{
    NotExported, RuleView, RunStatus, SieveImport, export_sieve, import_sieve, run_over_stored,
    run_status,
};
use homepost_store::{RuleActions, RuleChange};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::library;
use super::saved::Order;
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_rules)
        .service(create_rule)
        .service(order_rules)
        .service(run_state)
        .service(sieve_in)
        .service(sieve_out)
        .service(update_rule)
        .service(delete_rule)
        .service(rule_matches)
        .service(run_rule);
}

/// The rules.
#[derive(Serialize, ToSchema)]
pub struct RuleList {
    /// In the order they run.
    pub rules: Vec<RuleView>,
}

/// A rule to add.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    /// Its name (1-100 characters).
    pub name: String,
    /// The query arriving mail must match (at most 1000 characters).
    pub query: String,
    /// What it does to that mail.
    pub actions: RuleActions,
    /// Whether it runs (default: yes).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Changes to a rule.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulePatch {
    /// A new name.
    pub name: Option<String>,
    /// A new query.
    pub query: Option<String>,
    /// New actions (all of them).
    pub actions: Option<RuleActions>,
    /// On or off.
    pub enabled: Option<bool>,
}

/// How many messages.
#[derive(Serialize, ToSchema)]
pub struct Count {
    /// The number.
    pub count: usize,
}

/// A Sieve script to carry over.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SieveIn {
    /// The script (at most 1 MiB).
    pub script: String,
    /// Only show what would be added.
    #[serde(default)]
    pub dry_run: bool,
}

/// The rules as a Sieve script.
#[derive(Serialize, ToSchema)]
pub struct SieveOut {
    /// The script.
    pub script: String,
    /// Rules or parts of rules Sieve cannot say, and why.
    pub not_exported: Vec<NotExported>,
}

/// The rules in the order they run on arriving mail (after the spam filter).
#[utoipa::path(tag = "rules", responses((status = 200, body = RuleList), (status = 401, body = ErrorBody)))]
#[get("/rules")]
async fn list_rules(state: Data<AppState>, _auth: Authed) -> Result<Json<RuleList>, ApiError> {
    let rules = library(&state).await?.rules().await?;
    Ok(Json(RuleList { rules }))
}

/// Adds a rule, last in the list.
#[utoipa::path(tag = "rules", request_body = NewRule, responses(
    (status = 201, body = RuleView),
    (status = 400, body = ErrorBody, description = "bad_query, bad_name, no_actions or invalid_tag"),
    (status = 409, body = ErrorBody, description = "too_many"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/rules")]
async fn create_rule(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<NewRule>,
) -> Result<HttpResponse, ApiError> {
    let rule = library(&state)
        .await?
        .add_rule(&body.name, &body.query, &body.actions, body.enabled)
        .await?;
    Ok(HttpResponse::Created().json(rule))
}

/// Changes a rule.
#[utoipa::path(tag = "rules", params(("id" = i64, Path)), request_body = RulePatch, responses(
    (status = 200, body = RuleView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[patch("/rules/{id}")]
async fn update_rule(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
    body: Json<RulePatch>,
) -> Result<Json<RuleView>, ApiError> {
    let body = body.into_inner();
    let change = RuleChange {
        name: body.name,
        query: body.query,
        actions: body.actions,
        enabled: body.enabled,
    };
    Ok(Json(library(&state).await?.update_rule(*id, change).await?))
}

/// Deletes a rule.
#[utoipa::path(tag = "rules", params(("id" = i64, Path)), responses(
    (status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[delete("/rules/{id}")]
async fn delete_rule(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<HttpResponse, ApiError> {
    library(&state).await?.store().delete_rule(*id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Puts the rules in a new order.
#[utoipa::path(tag = "rules", request_body = Order, responses(
    (status = 204), (status = 400, body = ErrorBody, description = "not every id exactly once"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[put("/rules/order")]
async fn order_rules(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<Order>,
) -> Result<HttpResponse, ApiError> {
    library(&state)
        .await?
        .store()
        .reorder_rules(&body.ids)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// How many stored messages the rule matches now: what running it over
/// stored mail would change at most.
#[utoipa::path(tag = "rules", params(("id" = i64, Path)), responses(
    (status = 200, body = Count), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
))]
#[get("/rules/{id}/matches")]
async fn rule_matches(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<Json<Count>, ApiError> {
    let count = library(&state).await?.rule_matches(*id).await?;
    Ok(Json(Count { count }))
}

/// Starts running the rule over stored mail in the background; progress at
/// `GET /rules/run`. The spam filter learns nothing from it.
#[utoipa::path(tag = "rules", params(("id" = i64, Path)), responses(
    (status = 202, body = Count), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "busy: a rule is running"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/rules/{id}/run")]
async fn run_rule(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (count, run) = run_over_stored(state.library.clone(), *id).await?;
    let app = state.clone();
    state.spawn_task(async move {
        if let Err(e) = run.await {
            tracing::warn!(error = %e, "a rule run over stored mail stopped");
        }
        // Read and flagged states go back to the mail servers.
        if let Some(t) = app.transport() {
            t.local_change();
        }
    });
    Ok(HttpResponse::Accepted().json(Count { count }))
}

/// The rule running over stored mail, and how the last run ended.
#[utoipa::path(tag = "rules", responses((status = 200, body = RunStatus), (status = 401, body = ErrorBody)))]
#[get("/rules/run")]
async fn run_state(_auth: Authed) -> Json<RunStatus> {
    Json(run_status())
}

/// Carries a Sieve script's rules over: the rules it gives (added last, unless
/// `dry_run`) and the lines that could not be, with why.
#[utoipa::path(tag = "rules", request_body = SieveIn, responses(
    (status = 200, body = SieveImport), (status = 400, body = ErrorBody, description = "bad_sieve"),
    (status = 409, body = ErrorBody, description = "too_many"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
))]
#[post("/rules/sieve")]
async fn sieve_in(
    state: Data<AppState>,
    _auth: Authed,
    mut payload: Payload,
) -> Result<Json<SieveImport>, ApiError> {
    // Read here rather than by the API's JSON limit (256 KiB): a script may
    // be 1 MiB, and escaping in JSON can double it.
    let mut bytes = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request("bad_request", format!("the upload was cut off ({e})"))
        })?;
        if bytes.len() + chunk.len() > SIEVE_BODY_LIMIT {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the script is too long: scripts up to 1 MiB are read",
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    let body: SieveIn = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("bad_request", format!("not a script request: {e}")))?;
    let lib = library(&state).await?;
    Ok(Json(import_sieve(&lib, &body.script, body.dry_run).await?))
}

/// Largest `POST /rules/sieve` body: a 1 MiB script, escaped.
const SIEVE_BODY_LIMIT: usize = 3 << 20;

/// The rules as a Sieve script, for a mail server's filters.
#[utoipa::path(tag = "rules", responses((status = 200, body = SieveOut), (status = 401, body = ErrorBody)))]
#[get("/rules/sieve")]
async fn sieve_out(state: Data<AppState>, _auth: Authed) -> Result<Json<SieveOut>, ApiError> {
    let lib = library(&state).await?;
    let (script, not_exported) = export_sieve(&lib).await?;
    Ok(Json(SieveOut {
        script,
        not_exported,
    }))
}
