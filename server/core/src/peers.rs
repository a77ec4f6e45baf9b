//! A correspondent's stored state: their keys in slots (Autocrypt, gossip,
//! discovered), the key pinned on first use (TOFU) and a change waiting for the
//! user, and our own secret keys. Shared by [`crate::incoming`], [`crate::keys`]
//! and [`crate::outgoing`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use homepost_pgp::autocrypt::{self, PeerState, PreferEncrypt, tofu};
use homepost_pgp::discovery::KeySource;
use homepost_pgp::{Certificate, SecretKey};
use homepost_store::{PeerRow, Store};

pub(crate) fn to_time(secs: Option<i64>) -> Option<SystemTime> {
    secs.and_then(|s| u64::try_from(s).ok())
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
}

pub(crate) fn to_secs(t: Option<SystemTime>) -> Option<i64> {
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
}

pub(crate) fn cert(bytes: Option<&[u8]>) -> Option<Certificate> {
    bytes.and_then(|b| Certificate::from_bytes(b).ok())
}

pub(crate) fn state_of(row: &PeerRow) -> PeerState {
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
pub(crate) fn pin(row: &mut PeerRow, key: &Certificate, source: &str, now: i64) -> bool {
    let fpr = key.fingerprint().to_hex();
    let decision = tofu::pin(row.pinned_fingerprint.as_deref(), &fpr);
    if decision != tofu::Pin::Differs {
        row.pinned_key = key.to_bytes().ok();
        if decision == tofu::Pin::First || row.pinned_source.is_none() {
            row.pinned_source = Some(source.to_owned());
        }
        row.pinned_fingerprint = Some(fpr);
    }
    refresh_pending(row, now);
    decision == tofu::Pin::Differs
}

/// Records the change waiting for the user ([`tofu::pending_change`] over the
/// slots that would be used: the Autocrypt key, or gossip when there is none;
/// a discovered key). Gossip beside an Autocrypt key is never used, so a group
/// member cannot raise a change with it.
pub(crate) fn refresh_pending(row: &mut PeerRow, now: i64) {
    let used: Vec<String> = [
        row.public_key.as_deref().or(row.gossip_key.as_deref()),
        row.discovered_key.as_deref(),
    ]
    .into_iter()
    .filter_map(cert)
    .map(|c| c.fingerprint().to_hex())
    .collect();
    let other = tofu::pending_change(
        row.pinned_fingerprint.as_deref(),
        used.iter().map(String::as_str),
    );
    if other != row.changed_fingerprint {
        row.changed_at = other.as_ref().map(|_| now);
        row.changed_fingerprint = other;
    }
}

/// Writes an Autocrypt state back into a row, keeping the row's TOFU pin and
/// counts; a key that differs from the pinned one is recorded as a change.
pub(crate) fn merge_state(mut row: PeerRow, s: &PeerState, now: i64) -> (PeerRow, bool) {
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
pub(crate) fn own_fingerprints(keys: &[SecretKey], addr: Option<&str>) -> Vec<String> {
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

/// Judges a signer against what is trusted for the sender (see
/// [`tofu::judge_signer`]). Returns (the signer is the sender, the signer is a
/// changed key still waiting for the user's decision).
pub(crate) fn judge_signer(
    signer: Option<&str>,
    row: Option<&PeerRow>,
    own: &[String],
) -> (bool, bool) {
    let j = tofu::judge_signer(
        signer,
        row.and_then(|r| r.pinned_fingerprint.as_deref()),
        row.and_then(|r| r.changed_fingerprint.as_deref()),
        own,
    );
    (j.is_sender, j.by_changed_key)
}

/// Puts a discovered key into a row (merged with an earlier copy of the same
/// key) and pins it by TOFU. Returns whether it differs from the pinned key.
pub(crate) fn take_discovered(
    row: &mut PeerRow,
    key: &Certificate,
    source: KeySource,
    now: i64,
) -> bool {
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
    tofu::change_pending(
        row.pinned_fingerprint.as_deref(),
        row.changed_fingerprint.as_deref(),
    )
}

/// Every secret key of ours (to decrypt mail sent to any of them).
pub(crate) async fn secret_keys(store: &Store) -> Result<Vec<SecretKey>, homepost_store::Error> {
    Ok(store
        .identity_keys()
        .await?
        .iter()
        .filter_map(|k| SecretKey::from_bytes(&k.secret).ok())
        .collect())
}

/// Every key stored for a correspondent, to check their signatures with.
pub(crate) fn peer_certs(row: &PeerRow) -> Vec<Certificate> {
    slot_keys(row)
        .into_iter()
        .map(|(c, _)| c)
        .chain(cert(row.pinned_key.as_deref()))
        .collect()
}

/// The keys in a correspondent's slots, in the order they are used
/// (Autocrypt, gossip, discovered), each with where it came from.
pub(crate) fn slot_keys(row: &PeerRow) -> Vec<(Certificate, Option<String>)> {
    [
        (row.public_key.as_deref(), Some("autocrypt".to_owned())),
        (row.gossip_key.as_deref(), Some("gossip".to_owned())),
        (row.discovered_key.as_deref(), row.discovered_source.clone()),
    ]
    .into_iter()
    .filter_map(|(b, src)| Some((cert(b)?, src)))
    .collect()
}

pub(crate) async fn load_peer(store: &Store, addr: &str) -> Result<PeerRow, homepost_store::Error> {
    Ok(store.peer(addr).await?.unwrap_or_else(|| PeerRow {
        address: addr.to_owned(),
        ..Default::default()
    }))
}
