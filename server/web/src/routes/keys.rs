//! The user's own OpenPGP keys and the Autocrypt Setup Message that moves one to
//! another app or brings one in from it (`/keys`, docs/pgp.md).

use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, get, post};
use homepost_core::keys::setup_message::{self, SetupImportError};
use homepost_pgp::SecretKey;
use homepost_pgp::setup::SetupCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{bad, download, library, unix_now};
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_keys)
        .service(public_key)
        .service(send_setup_message)
        .service(import_setup);
}

/// One of the user's own keys.
#[derive(Serialize, ToSchema)]
pub struct OwnKey {
    /// Fingerprint (hex).
    pub fingerprint: String,
    /// The address it is for.
    pub address: String,
    /// Used for new mail from that address (older ones only decrypt).
    pub active: bool,
    /// When it was made or imported (Unix seconds).
    pub created_at: i64,
}

/// The user's keys.
#[derive(Serialize, ToSchema)]
pub struct OwnKeys {
    keys: Vec<OwnKey>,
}

/// The user's own OpenPGP keys (public facts only; secrets never leave the box
/// through the API except inside a Setup Message).
#[utoipa::path(tag = "keys", responses((status = 200, body = OwnKeys)))]
#[get("/keys")]
async fn list_keys(state: Data<AppState>, _auth: Authed) -> Result<Json<OwnKeys>, ApiError> {
    let lib = library(&state).await?;
    let keys = lib
        .store()
        .identity_keys()
        .await?
        .into_iter()
        .map(|k| OwnKey {
            fingerprint: k.fingerprint.clone(),
            address: k.address.clone(),
            active: k.active,
            created_at: k.created_at,
        })
        .collect();
    Ok(Json(OwnKeys { keys }))
}

/// One of the user's public keys, armored, as a download (to hand to people
/// who do not use Autocrypt).
#[utoipa::path(tag = "keys", params(("fingerprint" = String, Path, description = "Fingerprint")), responses(
    (status = 200, content_type = "application/pgp-keys", description = "The armored public key"),
    (status = 404, body = ErrorBody)))]
#[get("/keys/{fingerprint}/public")]
async fn public_key(
    state: Data<AppState>,
    _auth: Authed,
    fingerprint: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let wanted = fingerprint
        .into_inner()
        .replace(' ', "")
        .to_ascii_uppercase();
    let lib = library(&state).await?;
    let key = lib
        .store()
        .identity_keys()
        .await?
        .into_iter()
        .find(|k| k.fingerprint == wanted)
        .ok_or_else(|| ApiError::not_found(format!("no key {wanted}")))?;
    let armored = SecretKey::from_bytes(&key.secret)
        .and_then(|k| k.certificate().to_armored())
        .map_err(|e| ApiError::internal(&e))?;
    Ok(download(
        "application/pgp-keys",
        format!(
            "{}-{}.asc",
            key.address,
            &wanted[wanted.len().saturating_sub(8)..]
        ),
        armored.into_bytes(),
    ))
}

/// Which account's key to move.
#[derive(Deserialize, ToSchema)]
pub struct SetupBody {
    /// The account (default: the first one).
    pub account_id: Option<i64>,
}

/// The code of a Setup Message just queued.
#[derive(Serialize, ToSchema)]
pub struct SetupSent {
    /// The 36-digit setup code, in nine groups of four: shown once, never
    /// stored. The other app asks for it.
    #[schema(value_type = String)]
    pub code: zeroize::Zeroizing<String>,
    /// The outbox entry of the message (sent to the account's own address).
    pub outbox_id: i64,
    /// The fingerprint of the key inside.
    pub fingerprint: String,
}

/// Sends an Autocrypt Setup Message to the account's own address: the secret
/// key, encrypted with a new setup code that only this answer shows. Another
/// Autocrypt app that reads the mailbox imports it with the code.
#[utoipa::path(tag = "keys", request_body = SetupBody, responses(
    (status = 202, body = SetupSent), (status = 400, body = ErrorBody)))]
#[post("/keys/setup-message")]
async fn send_setup_message(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<SetupBody>,
) -> Result<HttpResponse, ApiError> {
    let lifetime = state
        .transport()
        .map_or(4 * 86_400, |t| t.outbox_lifetime_secs());
    let lib = library(&state).await?;
    let (made, outbox_id) =
        setup_message::send(lib.store(), body.account_id, lifetime, unix_now()).await?;
    drop(lib);
    if let Some(t) = state.transport() {
        t.outbox_changed();
    }
    Ok(HttpResponse::Accepted().json(SetupSent {
        code: zeroize::Zeroizing::new(made.code.as_str().to_owned()),
        outbox_id,
        fingerprint: made.fingerprint,
    }))
}

impl From<setup_message::SetupSendError> for ApiError {
    fn from(e: setup_message::SetupSendError) -> Self {
        use setup_message::SetupSendError;
        match e {
            SetupSendError::NoAccount => bad("no_account", "add an account first"),
            SetupSendError::NoSmtp(_) => bad("no_smtp", e.to_string()),
            SetupSendError::Store(s) => s.into(),
            SetupSendError::Pgp(p) => ApiError::internal(&p),
        }
    }
}

/// The setup code the user typed.
#[derive(Deserialize, ToSchema)]
pub struct SetupCodeBody {
    /// 36 digits; spaces and dashes are ignored.
    pub code: String,
}

/// A key imported from a Setup Message.
#[derive(Serialize, ToSchema)]
pub struct ImportedKey {
    /// Its fingerprint.
    pub fingerprint: String,
    /// The addresses it is now used for.
    pub addresses: Vec<String>,
}

/// Imports the secret key in a received Autocrypt Setup Message (made by
/// another Autocrypt app) with the setup code that app showed. It becomes the
/// key for its addresses; older keys stay to decrypt older mail.
#[utoipa::path(tag = "keys", params(("id" = i64, Path, description = "Message id")), request_body = SetupCodeBody, responses(
    (status = 200, body = ImportedKey), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/messages/{id}/setup-message")]
async fn import_setup(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
    body: Json<SetupCodeBody>,
) -> Result<Json<ImportedKey>, ApiError> {
    let id = id.into_inner();
    let typed = zeroize::Zeroizing::new(body.into_inner().code);
    let code =
        SetupCode::parse(&typed).map_err(|_| bad("bad_setup_code", "a setup code is 36 digits"))?;
    drop(typed);
    let lib = library(&state).await?;
    let store = lib.store();
    let raw = store
        .raw(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no message with id {id}")))?;
    let imported = setup_message::import(store, raw, code, unix_now())
        .await
        .map_err(|e| match e {
            SetupImportError::NotFromOurselves => bad("not_from_ourselves", e.to_string()),
            SetupImportError::WrongCode => bad(
                "wrong_setup_code",
                "that setup code does not open this message",
            ),
            SetupImportError::NotASetupMessage(_) => bad("not_a_setup_message", e.to_string()),
            SetupImportError::NotOurAddress { .. } => bad("not_our_address", e.to_string()),
            SetupImportError::Store(e) => e.into(),
            SetupImportError::Key(e) => ApiError::internal(&e),
        })?;
    Ok(Json(ImportedKey {
        fingerprint: imported.fingerprint,
        addresses: imported.addresses,
    }))
}
