//! Keys: our own (generated per identity), correspondents' keys found outside
//! Autocrypt, accepting a changed key, and what is known of a correspondent.

pub mod setup_message;

use std::time::SystemTime;

use homepost_pgp::autocrypt::{self, PeerState};
use homepost_pgp::discovery::{self, KeySource, OpenPgpHeader};
use homepost_pgp::{Certificate, SecretKey};
use homepost_store::Store;
use serde::Serialize;

use crate::outgoing::{OutgoingError, draft_crypto};
pub use crate::peers::key_change_pending;
use crate::peers::{cert, load_peer, slot_keys, state_of, take_discovered, to_time};

/// The result of [`remember_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Remembered {
    /// Canonical address.
    pub address: String,
    /// The key's fingerprint.
    pub fingerprint: String,
    /// Where it came from.
    pub source: &'static str,
    /// It differs from the key pinned for them: it waits for the user's
    /// decision and nothing is encrypted to them until then.
    pub key_changed: bool,
}

/// Keeps a key found for `address` outside Autocrypt (attached, announced,
/// WKD, keys.openpgp.org, imported): it is used when no Autocrypt key is
/// known, and pinned under the same TOFU rule as every other key.
pub async fn remember_key(
    store: &Store,
    address: &str,
    key: &Certificate,
    source: KeySource,
    now: i64,
) -> Result<Remembered, homepost_store::Error> {
    let address = autocrypt::canonical_address(address);
    let mut row = load_peer(store, &address).await?;
    let key_changed = take_discovered(&mut row, key, source, now);
    store.save_peer(&row).await?;
    Ok(Remembered {
        address,
        fingerprint: key.fingerprint().to_hex(),
        source: source.as_str(),
        key_changed,
    })
}

/// What [`accept_key_change`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// The key with this fingerprint is now the pinned one.
    Pinned(String),
    /// No change was waiting.
    NothingPending,
    /// Another key than the one the user compared is waiting (it changed
    /// again): this one.
    OtherKey(String),
}

/// Accepts a changed key for `address`: it becomes the pinned one, and slots
/// holding other keys are emptied (they would be a change again). With
/// `expected`, only that fingerprint is accepted.
pub async fn accept_key_change(
    store: &Store,
    address: &str,
    expected: Option<&str>,
) -> Result<Accepted, homepost_store::Error> {
    let Some(mut row) = store.peer(&autocrypt::canonical_address(address)).await? else {
        return Ok(Accepted::NothingPending);
    };
    if !key_change_pending(&row) {
        return Ok(Accepted::NothingPending);
    }
    if let Some(want) = expected
        && row.changed_fingerprint.as_deref() != Some(want)
    {
        return Ok(Accepted::OtherKey(
            row.changed_fingerprint.clone().unwrap_or_default(),
        ));
    }
    let accepted = row.changed_fingerprint.take();
    let found = slot_keys(&row)
        .into_iter()
        .find(|(c, _)| Some(c.fingerprint().to_hex()) == accepted);
    row.pinned_key = found.as_ref().and_then(|(c, _)| c.to_bytes().ok());
    row.pinned_source = found.and_then(|(_, s)| s);
    let holds_other = |b: &Option<Vec<u8>>| {
        cert(b.as_deref()).is_some_and(|c| Some(c.fingerprint().to_hex()) != accepted)
    };
    if holds_other(&row.public_key) {
        row.public_key = None;
    }
    if holds_other(&row.gossip_key) {
        row.gossip_key = None;
    }
    if holds_other(&row.discovered_key) {
        row.discovered_key = None;
        row.discovered_source = None;
    }
    row.pinned_fingerprint = accepted.clone();
    row.changed_at = None;
    store.save_peer(&row).await?;
    Ok(accepted.map_or(Accepted::NothingPending, Accepted::Pinned))
}

/// A correspondent's keys and history, as the app and CLI show them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PeerSummary {
    /// Canonical address.
    pub address: String,
    /// Their key: the one mail to them is encrypted to, or while a change
    /// waits, the one trusted first.
    pub key: Option<String>,
    /// Where that key came from: `autocrypt`, `gossip`, or a discovery source
    /// (`attachment`, `announced`, `wkd-advanced`, `wkd-direct`,
    /// `keys.openpgp.org`, `imported`); `None` if its copy was replaced.
    pub key_source: Option<String>,
    /// Whether that key can be encrypted to now: `usable`, `expired`,
    /// `revoked`, `no_encryption_key` or `invalid`.
    pub key_status: Option<&'static str>,
    /// Where the changed key waiting for a decision came from.
    pub changed_source: Option<String>,
    /// The key trusted on first use (or accepted since).
    pub pinned: Option<String>,
    /// A different key waiting for the user's decision.
    pub changed: Option<String>,
    /// When that key arrived (Unix seconds).
    pub changed_at: Option<i64>,
    /// They asked for encryption (`prefer-encrypt=mutual`).
    pub prefer_encrypt: bool,
    /// Newest mail from them (Unix seconds).
    pub last_seen: Option<i64>,
    /// Signed messages from them.
    pub signed_count: i64,
    /// Encrypted messages from them.
    pub encrypted_count: i64,
    /// Messages from them with an Autocrypt header.
    pub autocrypt_count: i64,
    /// The recommendation for a message to them alone.
    pub recommendation: &'static str,
    /// Where their mail announced their key (an `OpenPGP:` header URL).
    pub announced_url: Option<String>,
}

/// What is known of `address`, or `None` if nothing is.
pub async fn peer_summary(
    store: &Store,
    address: &str,
    now: i64,
) -> Result<Option<PeerSummary>, homepost_store::Error> {
    let address = autocrypt::canonical_address(address);
    let Some(row) = store.peer(&address).await? else {
        return Ok(None);
    };
    // The stored keys, in the order they are used, and where each came from.
    let mut stored = slot_keys(&row);
    // The trusted key's own copy, when the slots moved on to a change.
    stored.extend(cert(row.pinned_key.as_deref()).map(|c| (c, row.pinned_source.clone())));
    let find = |fpr: Option<&str>| {
        stored
            .iter()
            .find(|(c, _)| Some(c.fingerprint().to_hex().as_str()) == fpr)
    };
    let pending = key_change_pending(&row);
    // While a change waits, the key shown is the one trusted first.
    let (key, shown) = if pending {
        (
            row.pinned_fingerprint.clone(),
            find(row.pinned_fingerprint.as_deref()),
        )
    } else {
        let first = stored.first();
        (first.map(|(c, _)| c.fingerprint().to_hex()), first)
    };
    let key_source = shown.and_then(|(_, s)| s.clone());
    let clock = to_time(Some(now)).unwrap_or_else(SystemTime::now);
    let key_status = shown.map(|(c, _)| match c.status(clock) {
        homepost_pgp::KeyStatus::Usable => "usable",
        homepost_pgp::KeyStatus::Expired => "expired",
        homepost_pgp::KeyStatus::Revoked => "revoked",
        homepost_pgp::KeyStatus::NoEncryptionKey => "no_encryption_key",
        homepost_pgp::KeyStatus::Invalid => "invalid",
    });
    let changed_source = if pending {
        find(row.changed_fingerprint.as_deref()).and_then(|(_, s)| s.clone())
    } else {
        None
    };
    let (plan, _) = draft_crypto(store, std::slice::from_ref(&address), None, false, now).await?;
    Ok(Some(PeerSummary {
        address,
        key,
        key_source,
        key_status,
        changed_source,
        pinned: row.pinned_fingerprint.clone(),
        changed: row
            .changed_fingerprint
            .clone()
            .filter(|_| key_change_pending(&row)),
        changed_at: row.changed_at.filter(|_| key_change_pending(&row)),
        prefer_encrypt: row.prefer_encrypt == 1,
        last_seen: row.last_seen,
        signed_count: row.signed_count,
        encrypted_count: row.encrypted_count,
        autocrypt_count: row.autocrypt_count,
        recommendation: plan.recommendation,
        announced_url: row.announced_url.clone(),
    }))
}

/// What a correspondent's mail announced about where their key is.
pub async fn announced(
    store: &Store,
    address: &str,
) -> Result<Option<OpenPgpHeader>, homepost_store::Error> {
    let row = store.peer(&autocrypt::canonical_address(address)).await?;
    Ok(row.and_then(|r| {
        let url = r
            .announced_url
            .as_deref()
            .and_then(|u| discovery::HttpsUrl::parse(u).ok())?;
        Some(OpenPgpHeader {
            id: r.announced_id,
            url: Some(url),
        })
    }))
}

/// Makes sure `address` has an active secret key, generating one (Ed25519 with a
/// Cv25519 encryption subkey) if not. Returns its fingerprint.
pub async fn ensure_identity_key(
    store: &Store,
    name: Option<&str>,
    address: &str,
    now: i64,
) -> Result<String, OutgoingError> {
    if let Some(k) = store.active_identity_key(address).await? {
        return Ok(k.fingerprint);
    }
    let clock = to_time(Some(now)).unwrap_or_else(SystemTime::now);
    let key = SecretKey::generate(name.filter(|n| !n.is_empty()), address, clock)?;
    let fpr = key.fingerprint().to_hex();
    store
        .add_identity_key(
            &fpr,
            &autocrypt::canonical_address(address),
            &key.to_bytes()?,
            now,
        )
        .await?;
    tracing::info!(fingerprint = %fpr, "generated an OpenPGP key for a new identity");
    Ok(fpr)
}

/// The Autocrypt state of a stored correspondent, for the recommendation.
pub async fn peer_state(
    store: &Store,
    address: &str,
) -> Result<Option<PeerState>, homepost_store::Error> {
    Ok(store
        .peer(&autocrypt::canonical_address(address))
        .await?
        .map(|r| state_of(&r)))
}
