//! The state kept for each peer and its update from incoming mail (Level 1
//! sections 2.1 "Communication Peers", 2.3 "Updating Autocrypt Peer State"
//! and 2.8 "Updating Autocrypt Peer State from Key Gossip").

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::canonical_address;
use super::header::{self, AutocryptHeader, PreferEncrypt};
use crate::Certificate;
use crate::mime::{self, ContentType};

/// What Autocrypt remembers about one peer, `peers[addr]` in the spec.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerState {
    /// The canonical address this state is for.
    pub addr: String,
    /// The most recent effective date of all messages from this peer (`None`
    /// for a peer known only from gossip).
    pub last_seen: Option<SystemTime>,
    /// The effective date of the youngest message with a valid Autocrypt header.
    pub autocrypt_timestamp: Option<SystemTime>,
    /// The key from that header.
    pub public_key: Option<Certificate>,
    /// The preference from that header.
    pub prefer_encrypt: PreferEncrypt,
    /// The key from the most recent valid gossip about this peer.
    pub gossip_key: Option<Certificate>,
    /// The effective date of that gossip.
    pub gossip_timestamp: Option<SystemTime>,
}

impl PeerState {
    /// A peer with nothing known yet.
    pub fn new(addr: &str) -> Self {
        PeerState {
            addr: canonical_address(addr),
            last_seen: None,
            autocrypt_timestamp: None,
            public_key: None,
            prefer_encrypt: PreferEncrypt::NoPreference,
            gossip_key: None,
            gossip_timestamp: None,
        }
    }

    /// Whether the peer's last Autocrypt header is more than 35 days older
    /// than the last message seen from them: they may have moved to a client
    /// without Autocrypt, so encryption is discouraged (Level 1 section
    /// 2.4.2; Level 1.0 called this state `reset`).
    pub fn is_stale(&self) -> bool {
        match (self.last_seen, self.autocrypt_timestamp) {
            (Some(seen), Some(t)) => seen
                .duration_since(t)
                .is_ok_and(|d| d > Duration::from_secs(35 * 86_400)),
            _ => false,
        }
    }
}

/// What one incoming message tells about its sender, for [`PeerState`]'s update.
#[derive(Debug, Clone, PartialEq)]
pub struct SenderUpdate {
    /// The sender's canonical address (the single From address).
    pub addr: String,
    /// The message's effective date: its Date, or `now` when the Date is
    /// missing, unreadable or in the future.
    pub effective_date: SystemTime,
    /// The single valid Autocrypt header for the sender, if any.
    pub header: Option<AutocryptHeader>,
}

impl SenderUpdate {
    /// Reads a raw message's headers. `None` when the message must be
    /// ignored for Autocrypt (section 2.3): a `multipart/report` (delivery
    /// or read reports), no From, or more than one From address. Whether a
    /// message is spam, which also means ignoring it, is the caller's call.
    pub fn from_message(message: &[u8], now: SystemTime) -> Option<Self> {
        let (head, _) = mime::split_head_body(message);
        let fields = mime::header_fields(head);
        if ContentType::of(&fields).mime == "multipart/report" {
            return None;
        }
        let parsed = homepost_mail::parse(head);
        let [from] = parsed.from.as_slice() else {
            return None;
        };
        let addr = canonical_address(from.address.as_deref()?);
        let values: Vec<String> = fields
            .iter()
            .filter(|f| f.is("Autocrypt"))
            .map(super::super::mime::HeaderField::value)
            .collect();
        Some(SenderUpdate {
            header: header::select(&values, &addr),
            effective_date: effective_date(parsed.date, now),
            addr,
        })
    }
}

/// A message's effective date (section 2.3): its Date header, unless missing
/// or later than `now`, when it is `now`.
pub fn effective_date(date: Option<i64>, now: SystemTime) -> SystemTime {
    let date = date
        .and_then(|d| u64::try_from(d).ok())
        .and_then(|secs| UNIX_EPOCH.checked_add(Duration::from_secs(secs)));
    match date {
        Some(date) if date <= now => date,
        _ => now,
    }
}

/// Applies one message from the peer to their state (section 2.3, steps
/// 1 to 6) and returns the new state; `state` is `None` for a peer not seen
/// before. A pure function: the same inputs always give the same state.
pub fn update(state: Option<&PeerState>, update: &SenderUpdate) -> PeerState {
    let date = update.effective_date;
    let mut next = state
        .cloned()
        .unwrap_or_else(|| PeerState::new(&update.addr));
    // 1. Older than the last Autocrypt header: nothing changes.
    if next.autocrypt_timestamp.is_some_and(|t| date < t) {
        return next;
    }
    // 2. A newer message moves last_seen.
    if next.last_seen.is_none_or(|seen| date > seen) {
        next.last_seen = Some(date);
    }
    // 3. Without a header, that is all.
    let Some(header) = &update.header else {
        return next;
    };
    // 4. to 6.
    next.autocrypt_timestamp = Some(date);
    next.public_key = Some(header.key.clone());
    next.prefer_encrypt = header.prefer_encrypt;
    next
}

/// One gossip header that passed section 2.8's first rule, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct GossipUpdate {
    /// The gossiped header (its `addr` is the peer it is about).
    pub header: AutocryptHeader,
    /// The message's effective date.
    pub effective_date: SystemTime,
}

impl GossipUpdate {
    /// The gossip in a decrypted message: `outer` is the message as received
    /// (its To, Cc and Reply-To decide which addresses may be gossiped about),
    /// `inner` the decrypted root part whose header carries the
    /// `Autocrypt-Gossip` fields. Invalid headers and headers about addresses
    /// not among the recipients are dropped (step 1).
    ///
    /// Only call this for messages that were encrypted: gossip outside
    /// encryption is not to be trusted or even sent.
    pub fn from_message(outer: &[u8], inner: &[u8], now: SystemTime) -> Vec<Self> {
        let (outer_head, _) = mime::split_head_body(outer);
        let parsed = homepost_mail::parse(outer_head);
        let recipients: Vec<String> = parsed
            .to
            .iter()
            .chain(&parsed.cc)
            .chain(&parsed.reply_to)
            .filter_map(|a| a.address.as_deref().map(canonical_address))
            .collect();
        let effective_date = effective_date(parsed.date, now);
        let (inner_head, _) = mime::split_head_body(inner);
        mime::header_fields(inner_head)
            .iter()
            .filter(|f| f.is("Autocrypt-Gossip"))
            .filter_map(|f| AutocryptHeader::parse(&f.value()).ok())
            .filter(|h| recipients.contains(&h.addr))
            .map(|header| GossipUpdate {
                header,
                effective_date,
            })
            .collect()
    }

    /// The address this gossip is about.
    pub fn addr(&self) -> &str {
        &self.header.addr
    }
}

/// Applies gossip to the state of the peer it is about (section 2.8, steps
/// 2 to 4); `state` is `None` for a peer not seen before.
pub fn update_from_gossip(state: Option<&PeerState>, gossip: &GossipUpdate) -> PeerState {
    let date = gossip.effective_date;
    let mut next = state
        .cloned()
        .unwrap_or_else(|| PeerState::new(&gossip.header.addr));
    if next.gossip_timestamp.is_some_and(|t| t > date) {
        return next;
    }
    next.gossip_timestamp = Some(date);
    next.gossip_key = Some(gossip.header.key.clone());
    next
}
