//! The OpenPGP step of the import pipeline: Autocrypt peer state (with TOFU),
//! decryption and signature checks. Its outcome is stored beside the message; a
//! decrypted body is indexed (the index is encrypted too) instead of the
//! ciphertext.

use std::time::SystemTime;

use homepost_pgp::autocrypt::{self, GossipUpdate, SenderUpdate};
use homepost_pgp::discovery::{self, KeySource, OpenPgpHeader};
use homepost_pgp::verify::SignatureState;
use homepost_pgp::{Certificate, SecretKey, open_message};
use homepost_store::{CryptoSteps, PeerRow, Store};
use serde::{Deserialize, Serialize};

use crate::peers::{
    judge_signer, key_change_pending, merge_state, own_fingerprints, peer_certs, secret_keys,
    state_of, take_discovered, to_time,
};

/// What a message's OpenPGP said, as stored beside it and as the API and
/// `show --json` give it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct CryptoOutcome {
    /// It was encrypted.
    pub encrypted: bool,
    /// It was encrypted and we could decrypt it.
    pub decrypted: bool,
    /// `no_signature`, `good`, `bad`, `unknown_key`, `expired_key`, `revoked_key`.
    pub signature: String,
    /// The same in plain words.
    pub signature_words: String,
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

/// Our secret keys and a transaction for a batch's OpenPGP steps
/// ([`process`]), with the states of `senders` (canonical addresses) read;
/// commit it when the batch is done.
pub(crate) async fn open_steps(
    store: &Store,
    senders: &[String],
) -> Result<(Vec<SecretKey>, CryptoSteps), homepost_store::Error> {
    let keys = secret_keys(store).await?;
    let mut steps = store.crypto_steps().await?;
    steps.load_peers(senders).await?;
    Ok((keys, steps))
}

/// Tags to add and tags to remove.
pub(crate) type TagChange = (Vec<String>, Vec<String>);

/// The tags to add and remove once a message's decrypted content is known
/// (the filter rules run again over it), or `None` for no change.
pub(crate) type Retag<'a> = &'a (dyn Fn(&[u8]) -> Option<TagChange> + Sync);

/// Runs the OpenPGP step for a stored message. Returns the decrypted content to
/// index, if it was decrypted, with the tag change `retag` made. Spam is not used to update Autocrypt state, and
/// neither is our own mail (sent copies). `retag` says what the decrypted
/// content changes in the message's tags: applied in the transaction that
/// ends the step.
///
/// The step runs in `steps`, the batch's transaction, with `keys` (our secret
/// keys, read once for the batch): what it wrote is kept if it ends, and undone
/// if it fails, leaving the message pending.
pub(crate) async fn process(
    steps: &mut CryptoSteps,
    keys: &[SecretKey],
    message: i64,
    raw: &[u8],
    is_spam: bool,
    now: i64,
    retag: Retag<'_>,
) -> Result<Option<(Vec<u8>, Option<TagChange>)>, homepost_store::Error> {
    steps.begin_step();
    let done = step(steps, keys, message, raw, is_spam, now, retag).await;
    if done.is_err() {
        steps.abandon_step();
    }
    done
}

async fn step(
    steps: &mut CryptoSteps,
    keys: &[SecretKey],
    message: i64,
    raw: &[u8],
    is_spam: bool,
    now: i64,
    retag: Retag<'_>,
) -> Result<Option<(Vec<u8>, Option<TagChange>)>, homepost_store::Error> {
    let clock = to_time(Some(now)).unwrap_or_else(SystemTime::now);
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
        let row = load_peer_in(steps, &update.addr).await?;
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
    let mut opened = open_message(raw, keys, &certs, clock);
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
            opened = open_message(raw, keys, &certs, clock);
        }
    }
    let state = opened.signature_state();
    let signer = opened.signer().map(homepost_pgp::Fingerprint::to_hex);
    let own = own_fingerprints(keys, from_addr.as_deref());
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
        steps.save_peer(row);
    }
    // Gossip about the other recipients, from inside encrypted mail.
    if !is_spam {
        for g in &opened.gossip {
            apply_gossip(steps, g, now).await?;
        }
    }
    if opened.protection == homepost_pgp::Protection::None
        && sender.as_ref().is_none_or(|s| s.header.is_none())
    {
        steps.end_step(message, None).await?;
        return Ok(None);
    }
    let outcome = CryptoOutcome {
        encrypted: opened.encrypted,
        decrypted: opened.decrypted,
        signature: state_name(state).to_owned(),
        signature_words: state.describe().to_owned(),
        signer,
        signer_is_sender,
        key_changed,
        protected_subject: opened
            .protected_headers
            .as_ref()
            .and_then(|h| h.subject.clone()),
        problem: opened.problem.clone(),
    };
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
    let tags = decrypted.as_deref().and_then(retag);
    steps
        .end_step(
            message,
            Some((&outcome_json(&outcome), decrypted.as_deref(), tags.as_ref())),
        )
        .await?;
    Ok(decrypted.map(|d| (d, tags)))
}

async fn apply_gossip(
    steps: &mut CryptoSteps,
    g: &GossipUpdate,
    now: i64,
) -> Result<(), homepost_store::Error> {
    let row = load_peer_in(steps, g.addr()).await?;
    let next = autocrypt::peer::update_from_gossip(Some(&state_of(&row)), g);
    let (row, _) = merge_state(row, &next, now);
    steps.save_peer(&row);
    Ok(())
}

/// A correspondent's state in the batch's transaction, or a new one.
async fn load_peer_in(
    steps: &mut CryptoSteps,
    addr: &str,
) -> Result<PeerRow, homepost_store::Error> {
    Ok(steps.peer(addr).await?.unwrap_or_else(|| PeerRow {
        address: addr.to_owned(),
        ..Default::default()
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
) -> Result<Option<CryptoOutcome>, homepost_store::Error> {
    let Some((mut outcome, decrypted)) = stored(store, message).await? else {
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
    let signer = opened.signer().map(homepost_pgp::Fingerprint::to_hex);
    let own = own_fingerprints(&keys, from.as_deref());
    let (signer_is_sender, by_changed_key) = judge_signer(signer.as_deref(), row.as_ref(), &own);
    let still_pending = row.as_ref().is_some_and(key_change_pending);
    outcome.key_changed = by_changed_key || (outcome.key_changed && still_pending);
    outcome.signature = state_name(state).to_owned();
    outcome.signature_words = state.describe().to_owned();
    outcome.signer_is_sender = signer_is_sender;
    outcome.signer = signer;
    save(store, message, &outcome, decrypted.as_deref(), None).await?;
    Ok(Some(outcome))
}

/// Stores a message's outcome (and decrypted content), ending its pending step.
async fn save(
    store: &Store,
    message: i64,
    outcome: &CryptoOutcome,
    decrypted: Option<&[u8]>,
    tags: Option<&TagChange>,
) -> Result<(), homepost_store::Error> {
    store
        .set_message_crypto(message, &outcome_json(outcome), decrypted, tags)
        .await
}

fn outcome_json(outcome: &CryptoOutcome) -> String {
    // Serialising this struct cannot fail (no maps with non-string keys).
    serde_json::to_string(outcome).unwrap_or_else(|_| "{}".to_owned())
}

/// A stored message's outcome and decrypted content, if it had OpenPGP. An
/// outcome that does not parse (written by a future version?) reads as none.
async fn stored(
    store: &Store,
    message: i64,
) -> Result<Option<(CryptoOutcome, Option<Vec<u8>>)>, homepost_store::Error> {
    Ok(store
        .message_crypto(message)
        .await?
        .and_then(|(json, decrypted)| Some((serde_json::from_str(&json).ok()?, decrypted))))
}

/// A stored message's outcome as it reads now, with its decrypted content: a
/// key change flagged on arrival is over once the user has decided, and a
/// signature by the key the user has since accepted is the sender's.
/// `sender` is the message's From address.
pub async fn as_read_now(
    store: &Store,
    message: i64,
    sender: Option<&str>,
) -> Result<Option<(CryptoOutcome, Option<Vec<u8>>)>, homepost_store::Error> {
    let Some((mut outcome, decrypted)) = stored(store, message).await? else {
        return Ok(None);
    };
    if outcome.key_changed {
        let peer = match sender {
            Some(a) => store.peer(&autocrypt::canonical_address(a)).await?,
            None => None,
        };
        let pending = peer.as_ref().is_some_and(key_change_pending);
        outcome.key_changed = pending;
        if !pending
            && let Some(pinned) = peer.and_then(|p| p.pinned_fingerprint)
            && outcome.signer.as_deref() == Some(pinned.as_str())
        {
            outcome.signer_is_sender = true;
        }
    }
    Ok(Some((outcome, decrypted)))
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
) -> Result<Option<CryptoOutcome>, homepost_store::Error> {
    Ok(stored(store, message).await?.map(|(o, _)| o))
}
