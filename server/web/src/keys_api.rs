//! OpenPGP keys and correspondents: the user's keys, key lookups (WKD,
//! keys.openpgp.org), each correspondent's key and history, accepting a changed
//! key, and the Autocrypt Setup Message (docs/pgp.md).

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json, Path};
use actix_web::{HttpResponse, get, post};
use homepost_core::keys::setup_message::{self, SetupImportError};
use homepost_core::{incoming, keys};
use homepost_pgp::SecretKey;
use homepost_pgp::autocrypt::{PreferEncrypt, canonical_address};
use homepost_pgp::setup::{SetupCode, create_setup_message};
use homepost_store::{NewOutgoing, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::api::{download, library, unix_now};
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_keys)
        .service(public_key)
        .service(lookup_key)
        .service(get_peer)
        .service(accept_peer_key)
        .service(send_setup_message)
        .service(import_setup)
        .service(lookup_sender_key);
}

fn bad(code: &'static str, m: impl Into<String>) -> ApiError {
    ApiError::bad_request(code, m)
}

fn time(secs: i64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64)
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

/// An address to look a key up for.
#[derive(Deserialize, ToSchema)]
pub struct LookupBody {
    /// The e-mail address.
    pub address: String,
    /// `false`: do not ask keys.openpgp.org this time (a third party), only
    /// the address's own domain. The box's setting (`serve --key-lookup`)
    /// cannot be widened here.
    pub keyserver: Option<bool>,
}

/// One source asked during a lookup.
#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    /// `announced`, `wkd-advanced`, `wkd-direct` or `keys.openpgp.org`.
    pub source: String,
    /// The URL asked.
    pub url: String,
    /// What happened.
    pub outcome: String,
}

/// What a lookup found.
#[derive(Serialize, ToSchema)]
pub struct LookupView {
    /// The address looked up.
    pub address: String,
    /// Whether a key was found.
    pub found: bool,
    /// Its fingerprint.
    pub fingerprint: Option<String>,
    /// Where it was found.
    pub source: Option<String>,
    /// It differs from the key already trusted for them: it waits for the
    /// user's decision, and nothing is encrypted to them until then.
    pub key_changed: bool,
    /// Every source asked, in order.
    pub attempts: Vec<AttemptView>,
    /// The correspondent afterwards (`GET /peers/{address}`).
    pub peer: Option<keys::PeerSummary>,
    /// For `POST /messages/{id}/crypto/lookup`: the message's OpenPGP outcome
    /// after checking it again.
    #[schema(value_type = Option<Object>)]
    pub crypto: Option<serde_json::Value>,
}

/// Looks a key up over the network (without holding the library: locking is
/// never kept waiting for a slow server), then keeps what was found.
async fn lookup_and_remember(
    state: &AppState,
    address: &str,
    keyserver: Option<bool>,
) -> Result<LookupView, ApiError> {
    let address = canonical_address(address);
    if !homepost_mail::compose::is_address(&address) {
        return Err(bad(
            "bad_address",
            format!("{address:?} is not an e-mail address"),
        ));
    }
    let announced = {
        let lib = library(state).await?;
        keys::announced(lib.store(), &address).await?
    };
    let (client, mut options) = state.key_lookup();
    if keyserver == Some(false) {
        options.keys_openpgp_org = false;
        options.announced = false;
    }
    if !options.wkd && !options.keys_openpgp_org {
        return Err(bad(
            "lookups_off",
            "key lookups are turned off on this box (homepost serve --key-lookup)",
        ));
    }
    let found = homepost_net::lookup(
        &client,
        &address,
        announced.as_ref(),
        options,
        time(unix_now()),
    )
    .await
    .map_err(|e| bad("bad_address", e.to_string()))?;
    let lib = library(state).await?;
    let store = lib.store();
    let remembered = match &found.found {
        Some((cert, source)) => {
            Some(keys::remember_key(store, &address, cert, *source, unix_now()).await?)
        }
        None => None,
    };
    Ok(LookupView {
        found: remembered.is_some(),
        fingerprint: remembered.as_ref().map(|r| r.fingerprint.clone()),
        source: remembered.as_ref().map(|r| r.source.to_owned()),
        key_changed: remembered.as_ref().is_some_and(|r| r.key_changed),
        attempts: found
            .attempts
            .into_iter()
            .map(|a| AttemptView {
                source: a.source.as_str().to_owned(),
                url: a.url,
                outcome: a.outcome,
            })
            .collect(),
        peer: keys::peer_summary(store, &address, unix_now()).await?,
        crypto: None,
        address,
    })
}

/// Looks up the key of an address (its domain's Web Key Directory, then
/// keys.openpgp.org) and keeps it for encryption. The servers asked learn
/// which address was looked up; nothing happens unless the user asks.
#[utoipa::path(tag = "keys", request_body = LookupBody, responses(
    (status = 200, body = LookupView), (status = 400, body = ErrorBody)))]
#[post("/keys/lookup")]
async fn lookup_key(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<LookupBody>,
) -> Result<Json<LookupView>, ApiError> {
    Ok(Json(
        lookup_and_remember(&state, &body.address, body.keyserver).await?,
    ))
}

/// Options of a sender lookup (the body may be left out).
#[derive(Deserialize, ToSchema, Default)]
pub struct SenderLookupBody {
    /// `false`: do not ask keys.openpgp.org this time.
    pub keyserver: Option<bool>,
}

/// Looks up the key of a message's sender and checks its signature again
/// (for a signature by an unknown key).
#[utoipa::path(tag = "keys", params(("id" = i64, Path, description = "Message id")), request_body(content = SenderLookupBody, description = "Optional"), responses(
    (status = 200, body = LookupView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[post("/messages/{id}/crypto/lookup")]
async fn lookup_sender_key(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
    body: Option<Json<SenderLookupBody>>,
) -> Result<Json<LookupView>, ApiError> {
    let keyserver = body.and_then(|b| b.keyserver);
    let id = id.into_inner();
    let sender = {
        let lib = library(&state).await?;
        let detail = lib
            .store()
            .message(id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no message with id {id}")))?;
        detail
            .summary
            .from
            .iter()
            .find_map(|a| a.address.clone())
            .ok_or_else(|| bad("no_sender", format!("message {id} has no sender address")))?
    };
    let mut view = lookup_and_remember(&state, &sender, keyserver).await?;
    let lib = library(&state).await?;
    let store = lib.store();
    if let Some(raw) = store.raw(id).await? {
        view.crypto = incoming::recheck(store, id, &raw, unix_now()).await?;
    }
    Ok(Json(view))
}

/// A correspondent's key, where it came from, the key trusted on first use, a
/// change waiting for a decision, and their history (signed, encrypted,
/// Autocrypt counts).
#[utoipa::path(tag = "keys", params(("address" = String, Path, description = "E-mail address")), responses(
    (status = 200, body = keys::PeerSummary), (status = 404, body = ErrorBody)))]
#[get("/peers/{address}")]
async fn get_peer(
    state: Data<AppState>,
    _auth: Authed,
    address: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let address = address.into_inner();
    let lib = library(&state).await?;
    let peer = keys::peer_summary(lib.store(), &address, unix_now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("nothing is known of {address}")))?;
    Ok(HttpResponse::Ok().json(peer))
}

/// The key change the user accepts: the fingerprint they compared.
#[derive(Deserialize, ToSchema)]
pub struct AcceptBody {
    /// The new key's fingerprint, as shown to the user (spaces allowed).
    pub fingerprint: String,
}

/// Accepts a correspondent's changed key after the user compared it with them.
/// The fingerprint must be the one waiting: a key that changed again since
/// the user looked is not accepted (409).
#[utoipa::path(tag = "keys", params(("address" = String, Path, description = "E-mail address")), request_body = AcceptBody, responses(
    (status = 200, body = keys::PeerSummary, description = "The correspondent afterwards"),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/peers/{address}/accept")]
async fn accept_peer_key(
    state: Data<AppState>,
    _auth: Authed,
    address: Path<String>,
    body: Json<AcceptBody>,
) -> Result<HttpResponse, ApiError> {
    let address = address.into_inner();
    let wanted = body.fingerprint.replace(' ', "").to_ascii_uppercase();
    let lib = library(&state).await?;
    let store = lib.store();
    if store.peer(&canonical_address(&address)).await?.is_none() {
        return Err(ApiError::not_found(format!(
            "nothing is known of {address}"
        )));
    }
    // Compared and set in one step: a key that changed again since the user
    // looked is not accepted.
    match keys::accept_key_change(store, &address, Some(&wanted)).await? {
        keys::Accepted::Pinned(_) => {}
        keys::Accepted::NothingPending => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "no_key_change",
                format!("no key change is waiting for {address}"),
            ));
        }
        keys::Accepted::OtherKey(f) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "other_key",
                format!("the key waiting for {address} is {f}, not {wanted}: compare it again"),
            ));
        }
    }
    tracing::info!("a changed correspondent key was accepted");
    let peer = keys::peer_summary(store, &address, unix_now()).await?;
    Ok(HttpResponse::Ok().json(peer))
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
    let (code, outbox_id, fingerprint) = {
        let lib = library(&state).await?;
        let store = lib.store();
        let accounts = store.accounts().await?;
        let account = match body.account_id {
            Some(id) => accounts.into_iter().find(|a| a.id == id),
            None => accounts.into_iter().next(),
        }
        .ok_or_else(|| bad("no_account", "add an account first"))?;
        if account.config.outgoing.is_none() {
            return Err(bad(
                "no_smtp",
                format!(
                    "the account {:?} has no outgoing (SMTP) server",
                    account.config.name
                ),
            ));
        }
        let address = canonical_address(&account.config.email);
        let key = own_key(store, &address).await?;
        let code = SetupCode::generate().map_err(|e| ApiError::internal(&e))?;
        let message = create_setup_message(
            &key,
            &address,
            PreferEncrypt::NoPreference,
            &code,
            time(unix_now()),
        )
        .map_err(|e| ApiError::internal(&e))?;
        let sent_folder = account.config.imap_sent_folder();
        let outbox_id = store
            .queue_outgoing(
                &NewOutgoing {
                    account: account.id,
                    raw: &message,
                    mail_from: &address,
                    rcpt_to: std::slice::from_ref(&address),
                    subject: "Autocrypt Setup Message",
                    sent_folder,
                },
                unix_now(),
                lifetime,
                None,
            )
            .await?;
        (
            zeroize::Zeroizing::new(code.as_str().to_owned()),
            outbox_id,
            key.fingerprint().to_hex(),
        )
    };
    if let Some(t) = state.transport() {
        t.outbox_changed();
    }
    tracing::info!(
        outbox_id,
        "queued an Autocrypt Setup Message to the account itself"
    );
    Ok(HttpResponse::Accepted().json(SetupSent {
        code,
        outbox_id,
        fingerprint,
    }))
}

async fn own_key(store: &Store, address: &str) -> Result<SecretKey, ApiError> {
    keys::ensure_identity_key(store, None, address, unix_now())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let stored = store
        .active_identity_key(address)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no key for {address}")))?;
    SecretKey::from_bytes(&stored.secret).map_err(|e| ApiError::internal(&e))
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
