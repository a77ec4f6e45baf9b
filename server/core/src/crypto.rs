//! The OpenPGP step of the import pipeline: Autocrypt peer state (with TOFU),
//! decryption and signature checks. Its outcome is stored beside the message; a
//! decrypted body is indexed (the index is encrypted too) instead of the
//! ciphertext.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use homepost_pgp::autocrypt::{self, GossipUpdate, PeerState, PreferEncrypt, SenderUpdate};
use homepost_pgp::discovery::{self, KeySource, OpenPgpHeader};
use homepost_pgp::verify::SignatureState;
use homepost_pgp::{Certificate, SecretKey, open_message};
use homepost_store::{PeerRow, Store};
use serde::Serialize;

/// What a message's OpenPGP said, as the API and `show --json` give it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CryptoOutcome {
    /// It was encrypted.
    pub encrypted: bool,
    /// It was encrypted and we could decrypt it.
    pub decrypted: bool,
    /// `no_signature`, `good`, `bad`, `unknown_key`, `expired_key`, `revoked_key`.
    pub signature: &'static str,
    /// The same in plain words.
    pub signature_words: &'static str,
    /// Fingerprint of the signer's key, when known.
    pub signer: Option<String>,
    /// Whether the signer's key is the one we know for the sender (a good
    /// signature by someone else's key does not vouch for the From address).
    pub signer_is_sender: bool,
    /// The sender's Autocrypt key differs from the one first seen (TOFU): the
    /// user should confirm the change.
    pub key_changed: bool,
    /// The real subject from protected headers, when the outer one is hidden.
    pub protected_subject: Option<String>,
    /// What went wrong, if something did.
    pub problem: Option<String>,
}

fn state_name(s: SignatureState) -> &'static str {
    match s {
        SignatureState::NoSignature => "no_signature",
        SignatureState::Good => "good",
        SignatureState::Bad => "bad",
        SignatureState::UnknownKey => "unknown_key",
        SignatureState::ExpiredKey => "expired_key",
        SignatureState::RevokedKey => "revoked_key",
    }
}

/// Whether a message may carry OpenPGP or Autocrypt at all (a cheap byte scan,
/// so plain mail skips the whole step).
pub(crate) fn relevant(raw: &[u8]) -> bool {
    const NEEDLES: [&[u8]; 7] = [
        b"utocrypt:",
        b"ultipart/encrypted",
        b"ultipart/signed",
        b"-----BEGIN PGP",
        b"pgp-keys",
        b"penPGP:",
        b"penpgp:",
    ];
    NEEDLES
        .iter()
        .any(|n| memchr::memmem::find(raw, n).is_some())
}

fn to_time(secs: Option<i64>) -> Option<SystemTime> {
    secs.and_then(|s| u64::try_from(s).ok())
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
}

fn to_secs(t: Option<SystemTime>) -> Option<i64> {
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
}

fn cert(bytes: Option<&[u8]>) -> Option<Certificate> {
    bytes.and_then(|b| Certificate::from_bytes(b).ok())
}

fn state_of(row: &PeerRow) -> PeerState {
    let mut s = PeerState::new(&row.address);
    s.last_seen = to_time(row.last_seen);
    s.autocrypt_timestamp = to_time(row.autocrypt_timestamp);
    s.public_key = cert(row.public_key.as_deref());
    s.prefer_encrypt = if row.prefer_encrypt == 1 {
        PreferEncrypt::Mutual
    } else {
        PreferEncrypt::NoPreference
    };
    s.gossip_key = cert(row.gossip_key.as_deref());
    s.gossip_timestamp = to_time(row.gossip_timestamp);
    s
}

/// TOFU: pins `key` when nothing is pinned yet (keeping a copy and its
/// source), refreshes the copy when it is the pinned key, then recomputes the
/// pending change from every slot. Returns whether `key` differs from the pin.
fn pin(row: &mut PeerRow, key: &Certificate, source: &str, now: i64) -> bool {
    let fpr = key.fingerprint().to_hex();
    let differs = match &row.pinned_fingerprint {
        None => {
            row.pinned_fingerprint = Some(fpr);
            row.pinned_key = key.to_bytes().ok();
            row.pinned_source = Some(source.to_owned());
            false
        }
        Some(pinned) if *pinned != fpr => true,
        Some(_) => {
            row.pinned_key = key.to_bytes().ok();
            if row.pinned_source.is_none() {
                row.pinned_source = Some(source.to_owned());
            }
            false
        }
    };
    refresh_pending(row, now);
    differs
}

/// A change is pending while a slot that would be used (the Autocrypt key, or
/// gossip when there is none; a discovered key) holds a key other than the
/// pinned one: the pinned key showing up again elsewhere does not make a
/// stranger's key in another slot go away. Gossip beside an Autocrypt key is
/// never used, so a group member cannot raise a change with it.
fn refresh_pending(row: &mut PeerRow, now: i64) {
    let other = [
        row.public_key.as_deref().or(row.gossip_key.as_deref()),
        row.discovered_key.as_deref(),
    ]
    .into_iter()
    .filter_map(cert)
    .map(|c| c.fingerprint().to_hex())
    .find(|f| row.pinned_fingerprint.as_deref() != Some(f.as_str()));
    if other != row.changed_fingerprint {
        row.changed_at = other.as_ref().map(|_| now);
        row.changed_fingerprint = other;
    }
}

/// Writes an Autocrypt state back into a row, keeping the row's TOFU pin and
/// counts; a key that differs from the pinned one is recorded as a change.
fn merge_state(mut row: PeerRow, s: &PeerState, now: i64) -> (PeerRow, bool) {
    row.last_seen = to_secs(s.last_seen);
    row.autocrypt_timestamp = to_secs(s.autocrypt_timestamp);
    row.public_key = s.public_key.as_ref().and_then(|c| c.to_bytes().ok());
    row.prefer_encrypt = i64::from(s.prefer_encrypt == PreferEncrypt::Mutual);
    row.gossip_key = s.gossip_key.as_ref().and_then(|c| c.to_bytes().ok());
    row.gossip_timestamp = to_secs(s.gossip_timestamp);
    let changed = match (&s.public_key, &s.gossip_key) {
        (Some(key), _) => pin(&mut row, key, "autocrypt", now),
        (None, Some(key)) => pin(&mut row, key, "gossip", now),
        (None, None) => false,
    };
    (row, changed)
}

/// Fingerprints of our own keys for `addr` (our sent mail is signed by them).
fn own_fingerprints(keys: &[SecretKey], addr: Option<&str>) -> Vec<String> {
    let Some(addr) = addr else { return Vec::new() };
    keys.iter()
        .filter(|k| {
            k.addresses()
                .iter()
                .any(|a| autocrypt::canonical_address(a) == addr)
        })
        .map(|k| k.fingerprint().to_hex())
        .collect()
}

/// Judges a signer against what is trusted for the sender: their pinned key
/// (TOFU, or the one the user accepted), or ours for our own mail. Returns
/// (the signer is the sender, the signer is a changed key still waiting for
/// the user's decision). A signature by a waiting key does not vouch for the
/// sender.
fn judge_signer(signer: Option<&str>, row: Option<&PeerRow>, own: &[String]) -> (bool, bool) {
    let Some(signer) = signer else {
        return (false, false);
    };
    if own.iter().any(|o| o == signer) {
        return (true, false);
    }
    match row {
        Some(r) if key_change_pending(r) && r.changed_fingerprint.as_deref() == Some(signer) => {
            (false, true)
        }
        Some(r) => (r.pinned_fingerprint.as_deref() == Some(signer), false),
        None => (false, false),
    }
}

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

/// Puts a discovered key into a row (merged with an earlier copy of the same
/// key) and pins it by TOFU. Returns whether it differs from the pinned key.
fn take_discovered(row: &mut PeerRow, key: &Certificate, source: KeySource, now: i64) -> bool {
    // Copies from strangers could each add user ids and signatures: a merged
    // copy is kept only while it stays small, else the one just seen.
    const MAX_STORED: usize = 64 << 10;
    let merged = match cert(row.discovered_key.as_deref()) {
        Some(old) if old.fingerprint() == key.fingerprint() => old
            .merge(key)
            .ok()
            .filter(|m| m.to_bytes().is_ok_and(|b| b.len() <= MAX_STORED))
            .unwrap_or_else(|| key.clone()),
        _ => key.clone(),
    };
    row.discovered_key = merged.to_bytes().ok();
    row.discovered_source = Some(source.as_str().to_owned());
    row.discovered_at = Some(now);
    pin(row, &merged, source.as_str(), now)
}

/// Whether a peer's current key differs from the pinned one and the user has
/// not accepted it yet.
pub fn key_change_pending(row: &PeerRow) -> bool {
    row.changed_fingerprint.is_some() && row.changed_fingerprint != row.pinned_fingerprint
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

/// Every secret key of ours (to decrypt mail sent to any of them).
async fn secret_keys(store: &Store) -> Result<Vec<SecretKey>, homepost_store::Error> {
    Ok(store
        .identity_keys()
        .await?
        .iter()
        .filter_map(|k| SecretKey::from_bytes(&k.secret).ok())
        .collect())
}

/// Every key stored for a correspondent, to check their signatures with.
fn peer_certs(row: &PeerRow) -> Vec<Certificate> {
    slot_keys(row)
        .into_iter()
        .map(|(c, _)| c)
        .chain(cert(row.pinned_key.as_deref()))
        .collect()
}

/// The keys in a correspondent's slots, in the order they are used
/// (Autocrypt, gossip, discovered), each with where it came from.
fn slot_keys(row: &PeerRow) -> Vec<(Certificate, Option<String>)> {
    [
        (row.public_key.as_deref(), Some("autocrypt".to_owned())),
        (row.gossip_key.as_deref(), Some("gossip".to_owned())),
        (row.discovered_key.as_deref(), row.discovered_source.clone()),
    ]
    .into_iter()
    .filter_map(|(b, src)| Some((cert(b)?, src)))
    .collect()
}

async fn load_peer(store: &Store, addr: &str) -> Result<PeerRow, homepost_store::Error> {
    Ok(store.peer(addr).await?.unwrap_or_else(|| PeerRow {
        address: addr.to_owned(),
        ..Default::default()
    }))
}

/// Runs the OpenPGP step for a stored message. Returns the decrypted content to
/// index, if it was decrypted. Spam is not used to update Autocrypt state, and
/// neither is our own mail (sent copies).
pub(crate) async fn process(
    store: &Store,
    message: i64,
    raw: &[u8],
    is_spam: bool,
    now: i64,
) -> Result<Option<Vec<u8>>, homepost_store::Error> {
    let clock = to_time(Some(now)).unwrap_or_else(SystemTime::now);
    let keys = secret_keys(store).await?;
    let from = SenderUpdate::from_message(raw, clock);
    let from_addr = from.as_ref().map(|u| u.addr.clone());
    let ours = |addr: &str| {
        keys.iter().any(|k| {
            k.addresses()
                .iter()
                .any(|a| autocrypt::canonical_address(a) == addr)
        })
    };
    let sender = from.filter(|u| !is_spam && !ours(&u.addr));
    let mut key_changed = false;
    let mut sender_row = None;
    if let Some(update) = &sender {
        let row = load_peer(store, &update.addr).await?;
        let next = autocrypt::peer::update(Some(&state_of(&row)), update);
        let (mut row, changed) = merge_state(row, &next, now);
        key_changed = changed && update.header.is_some();
        if update.header.is_some() {
            row.autocrypt_count += 1;
        } else {
            // Without an Autocrypt header, keys announced or attached count:
            // an Autocrypt client's header names the key it wants used.
            if let Some(h) = OpenPgpHeader::from_message(raw) {
                row.announced_url = h.url.map(|u| u.to_string());
                row.announced_id = h.id;
            }
            if let Some(key) = discovery::attached_key(raw, &update.addr, clock) {
                key_changed |= take_discovered(&mut row, &key, KeySource::Attachment, now);
            }
        }
        sender_row = Some(row);
    }
    let mut certs: Vec<Certificate> = keys.iter().map(SecretKey::certificate).collect();
    let mut sender_certs = sender_row.as_ref().map(peer_certs).unwrap_or_default();
    certs.extend(sender_certs.iter().cloned());
    let mut opened = open_message(raw, &keys, &certs, clock);
    // A key attached inside encrypted mail, signing that same mail.
    if let (Some(row), Some(content)) = (sender_row.as_mut(), opened.content.as_deref())
        && sender.as_ref().is_some_and(|u| u.header.is_none())
        && let Some(key) = discovery::attached_key(content, &row.address, clock)
        && !sender_certs
            .iter()
            .any(|c| c.fingerprint() == key.fingerprint())
    {
        key_changed |= take_discovered(row, &key, KeySource::Attachment, now);
        sender_certs.push(key.clone());
        certs.push(key.clone());
        if opened.signature_state() == SignatureState::UnknownKey {
            opened = open_message(raw, &keys, &certs, clock);
        }
    }
    let state = opened.signature_state();
    let signer = opened.signer().map(|f| f.to_hex());
    let own = own_fingerprints(&keys, from_addr.as_deref());
    let (signer_is_sender, by_changed_key) =
        judge_signer(signer.as_deref(), sender_row.as_ref(), &own);
    key_changed |= by_changed_key;
    if let Some(row) = sender_row.as_mut() {
        if state != SignatureState::NoSignature {
            row.signed_count += 1;
        }
        if opened.encrypted {
            row.encrypted_count += 1;
        }
        store.save_peer(row).await?;
    }
    // Gossip about the other recipients, from inside encrypted mail.
    if !is_spam {
        for g in &opened.gossip {
            apply_gossip(store, g, now).await?;
        }
    }
    if opened.protection == homepost_pgp::Protection::None
        && sender.as_ref().is_none_or(|s| s.header.is_none())
    {
        return Ok(None);
    }
    let outcome = CryptoOutcome {
        encrypted: opened.encrypted,
        decrypted: opened.decrypted,
        signature: state_name(state),
        signature_words: state.describe(),
        signer,
        signer_is_sender,
        key_changed,
        protected_subject: opened
            .protected_headers
            .as_ref()
            .and_then(|h| h.subject.clone()),
        problem: opened.problem.clone(),
    };
    // Serialising this struct cannot fail (no maps with non-string keys).
    let json = serde_json::to_string(&outcome).unwrap_or_else(|_| "{}".to_owned());
    // What is shown, indexed and quoted: without the legacy display block
    // (the real header fields are shown from the protected headers).
    let decrypted = if opened.decrypted {
        opened
            .content
            .as_deref()
            .map(homepost_pgp::protected::without_legacy_display)
    } else {
        None
    };
    store
        .set_message_crypto(message, &json, decrypted.as_deref())
        .await?;
    Ok(decrypted)
}

async fn apply_gossip(
    store: &Store,
    g: &GossipUpdate,
    now: i64,
) -> Result<(), homepost_store::Error> {
    let row = load_peer(store, g.addr()).await?;
    let next = autocrypt::peer::update_from_gossip(Some(&state_of(&row)), g);
    let (row, _) = merge_state(row, &next, now);
    store.save_peer(&row).await
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

/// Checks a stored message's signature again with the keys known now (after
/// a key was looked up or imported) and stores the new outcome. Peer state
/// and counts are left alone: the message was counted when it arrived.
/// Returns the new outcome, or `None` if the message had no OpenPGP.
pub async fn recheck(
    store: &Store,
    message: i64,
    raw: &[u8],
    now: i64,
) -> Result<Option<serde_json::Value>, homepost_store::Error> {
    let Some((json, decrypted)) = store.message_crypto(message).await? else {
        return Ok(None);
    };
    let Ok(mut old) = serde_json::from_str::<serde_json::Value>(&json) else {
        return Ok(None);
    };
    let clock = to_time(Some(now)).unwrap_or_else(SystemTime::now);
    let keys = secret_keys(store).await?;
    let mut certs: Vec<Certificate> = keys.iter().map(SecretKey::certificate).collect();
    let from = SenderUpdate::from_message(raw, clock).map(|u| u.addr);
    let row = match &from {
        Some(addr) => store.peer(addr).await?,
        None => None,
    };
    certs.extend(row.as_ref().map(peer_certs).unwrap_or_default());
    let opened = open_message(raw, &keys, &certs, clock);
    let state = opened.signature_state();
    let signer = opened.signer().map(|f| f.to_hex());
    let own = own_fingerprints(&keys, from.as_deref());
    let (signer_is_sender, by_changed_key) = judge_signer(signer.as_deref(), row.as_ref(), &own);
    let still_pending = row.as_ref().is_some_and(key_change_pending);
    old["key_changed"] = (by_changed_key || (old["key_changed"] == true && still_pending)).into();
    old["signature"] = state_name(state).into();
    old["signature_words"] = state.describe().into();
    old["signer_is_sender"] = signer_is_sender.into();
    old["signer"] = signer.into();
    let json = old.to_string();
    store
        .set_message_crypto(message, &json, decrypted.as_deref())
        .await?;
    Ok(Some(old))
}

/// The message as the user reads it: the decrypted content when it was
/// encrypted and decrypted, else the message as received.
pub async fn readable(
    store: &Store,
    message: i64,
) -> Result<Option<Vec<u8>>, homepost_store::Error> {
    if let Some((_, Some(decrypted))) = store.message_crypto(message).await? {
        return Ok(Some(decrypted));
    }
    store.raw(message).await
}

/// A stored message's OpenPGP outcome, if it had any.
pub async fn outcome(
    store: &Store,
    message: i64,
) -> Result<Option<serde_json::Value>, homepost_store::Error> {
    Ok(store
        .message_crypto(message)
        .await?
        .and_then(|(json, _)| serde_json::from_str(&json).ok()))
}

/// Why outgoing OpenPGP could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum OutgoingError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] homepost_store::Error),
    /// OpenPGP failed.
    #[error(transparent)]
    Pgp(#[from] homepost_pgp::Error),
    /// Encryption was asked for, but some recipients have no usable key.
    #[error("cannot encrypt: no usable key for {0}; send it unencrypted or remove them")]
    NoKey(String),
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

/// One recipient's part of the encryption recommendation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RecipientCrypto {
    /// Canonical address.
    pub address: String,
    /// `disable`, `discourage`, `available` or `encrypt`.
    pub recommendation: &'static str,
    /// Fingerprint of the key mail to them would be encrypted to.
    pub key: Option<String>,
    /// Their key changed and the change waits for the user's decision
    /// (nothing is encrypted to them until then).
    pub key_changed: bool,
}

/// What a draft's OpenPGP will be: the Level 1 recommendation and the decision.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DraftCrypto {
    /// The recommendation for the whole message.
    pub recommendation: &'static str,
    /// Whether sending now would encrypt.
    pub will_encrypt: bool,
    /// Per recipient.
    pub recipients: Vec<RecipientCrypto>,
    /// A warning to show before sending (decrypted content going out in clear).
    pub warning: Option<String>,
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

/// Computes the recommendation for `recipients` and decides: `encrypt` is the
/// user's choice (`None`: follow the recommendation); `answers_encrypted` says
/// the draft replies to or forwards an encrypted message.
pub async fn draft_crypto(
    store: &Store,
    recipients: &[String],
    encrypt: Option<bool>,
    answers_encrypted: bool,
    now: i64,
) -> Result<(DraftCrypto, Vec<Certificate>), homepost_store::Error> {
    use autocrypt::Recommendation as R;
    let clock = to_time(Some(now)).unwrap_or_else(SystemTime::now);
    let mut per = std::collections::BTreeMap::new();
    let mut changed = Vec::new();
    let mut own = Vec::new();
    for r in recipients {
        let addr = autocrypt::canonical_address(r);
        // Our own addresses (a copy to ourselves): we hold the key. They follow
        // the others and never hold encryption back.
        if let Some(k) = store.active_identity_key(&addr).await?
            && let Ok(key) = SecretKey::from_bytes(&k.secret)
        {
            own.push(addr.clone());
            per.insert(
                addr,
                autocrypt::RecipientRecommendation {
                    ui: R::Encrypt,
                    target_key: Some(key.certificate()),
                },
            );
            continue;
        }
        let row = store.peer(&addr).await?;
        let peer = row.as_ref().map(state_of);
        let mut rec = autocrypt::recommend::recommend(
            peer.as_ref(),
            PreferEncrypt::NoPreference,
            answers_encrypted,
            clock,
        );
        // No Autocrypt key: a key found elsewhere (attached, WKD, key server,
        // imported) makes encryption available, never automatic by itself.
        if rec.ui == R::Disable
            && let Some(key) = row
                .as_ref()
                .and_then(|r| cert(r.discovered_key.as_deref()))
                .filter(|k| k.status(clock) == homepost_pgp::KeyStatus::Usable)
        {
            rec = autocrypt::RecipientRecommendation {
                ui: R::Available,
                target_key: Some(key),
            };
        }
        // History: someone who already writes to us encrypted reads encrypted
        // mail; "available" becomes "encrypt" for them.
        if rec.ui == R::Available && row.as_ref().is_some_and(|r| r.encrypted_count > 0) {
            rec.ui = R::Encrypt;
        }
        // TOFU: mail is only ever encrypted to the pinned key.
        if let Some(r) = &row
            && let Some(pinned) = &r.pinned_fingerprint
            && rec
                .target_key
                .as_ref()
                .is_some_and(|k| k.fingerprint().to_hex() != *pinned)
        {
            let copy = cert(r.pinned_key.as_deref())
                .filter(|k| k.status(clock) == homepost_pgp::KeyStatus::Usable);
            rec = match copy {
                Some(k) => autocrypt::RecipientRecommendation {
                    ui: rec.ui,
                    target_key: Some(k),
                },
                None => autocrypt::RecipientRecommendation {
                    ui: R::Disable,
                    target_key: None,
                },
            };
        }
        // While a key change waits for the user, nothing is encrypted to them
        // (the new key may be an impostor's).
        if row.as_ref().is_some_and(key_change_pending) {
            rec = autocrypt::RecipientRecommendation {
                ui: R::Disable,
                target_key: None,
            };
            changed.push(addr.clone());
        }
        per.insert(addr, rec);
    }
    // Only ourselves: encryption is possible, but not chosen for the user (our
    // other mail apps may not have the key).
    if !own.is_empty() && own.len() == per.len() {
        for rec in per.values_mut() {
            rec.ui = R::Available;
        }
    }
    let group = autocrypt::recommend::recommend_group(&per);
    let name = |r: R| match r {
        R::Disable => "disable",
        R::Discourage => "discourage",
        R::Available => "available",
        R::Encrypt => "encrypt",
    };
    let possible = group.ui != R::Disable;
    let will_encrypt = possible && encrypt.unwrap_or(group.ui == R::Encrypt);
    let warning = if !changed.is_empty() {
        Some(format!(
            "The encryption key of {} changed since it was first seen: nothing is encrypted to them \
             until you have compared the new key with them and accepted it.",
            changed.join(", ")
        ))
    } else if answers_encrypted && !will_encrypt {
        Some(
            "You are answering or forwarding an encrypted message, and this one would go unencrypted: \
             its quoted text would be readable on the way."
                .to_owned(),
        )
    } else {
        None
    };
    let view = DraftCrypto {
        recommendation: name(group.ui),
        will_encrypt,
        recipients: per
            .iter()
            .map(|(a, r)| RecipientCrypto {
                address: a.clone(),
                recommendation: name(r.ui),
                key: r.target_key.as_ref().map(|k| k.fingerprint().to_hex()),
                key_changed: changed.contains(a),
            })
            .collect(),
        warning,
    };
    let keys = if will_encrypt {
        group.target_keys.into_values().collect()
    } else {
        Vec::new()
    };
    Ok((view, keys))
}

/// Protects an outgoing message: an Autocrypt header always, then encrypted
/// (with gossip for groups and protected headers) when `crypto` decided so,
/// else signed. `from` is the sending address.
pub async fn protect_outgoing(
    store: &Store,
    raw: &[u8],
    from: &str,
    recipients: &[String],
    encrypt: Option<bool>,
    answers_encrypted: bool,
    now: i64,
) -> Result<Vec<u8>, OutgoingError> {
    let clock = to_time(Some(now)).unwrap_or_else(SystemTime::now);
    ensure_identity_key(store, None, from, now).await?;
    let stored = store
        .active_identity_key(from)
        .await?
        .ok_or_else(|| OutgoingError::NoKey(from.to_owned()))?;
    let key = SecretKey::from_bytes(&stored.secret)?;
    let header = autocrypt::AutocryptHeader::new(
        from,
        &key.certificate(),
        PreferEncrypt::NoPreference,
        clock,
    )?;
    let mut with_header = Vec::with_capacity(raw.len() + 1024);
    with_header.extend_from_slice(header.to_field()?.as_bytes());
    with_header.extend_from_slice(b"\r\n");
    with_header.extend_from_slice(raw);
    let (decision, keys) = draft_crypto(store, recipients, encrypt, answers_encrypted, now).await?;
    if encrypt == Some(true) && !decision.will_encrypt {
        let missing: Vec<String> = decision
            .recipients
            .iter()
            .filter(|r| r.key.is_none())
            .map(|r| r.address.clone())
            .collect();
        return Err(OutgoingError::NoKey(missing.join(", ")));
    }
    if decision.will_encrypt {
        let refs: Vec<&Certificate> = keys.iter().collect();
        // Gossip only to groups: a single recipient knows their own key.
        let gossip = if recipients.len() > 1 {
            decision
                .recipients
                .iter()
                .zip(&keys)
                .filter_map(|(r, k)| autocrypt::AutocryptHeader::gossip(&r.address, k, clock).ok())
                .collect()
        } else {
            Vec::new()
        };
        Ok(homepost_pgp::encrypt_message(
            &with_header,
            &key,
            &refs,
            &gossip,
            clock,
        )?)
    } else {
        Ok(homepost_pgp::sign_message(&with_header, &key, clock)?)
    }
}
