//! The Level 1 encryption recommendation (section 2.4): for one recipient
//! from their peer state, and for a message to several.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::header::PreferEncrypt;
use super::peer::PeerState;
use crate::{Certificate, KeyStatus};

/// What the compose screen should offer (`ui-recommendation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Recommendation {
    /// Encryption is not possible: hide or disable the choice.
    Disable,
    /// Encryption is possible but may leave the recipient unable to read:
    /// offer it, off by default, with a warning when chosen.
    Discourage,
    /// Encryption is possible: offer it, off by default.
    Available,
    /// Encrypt by default; the user may still choose to send in clear.
    Encrypt,
}

impl Recommendation {
    /// The spec's name: `disable`, `discourage`, `available` or `encrypt`.
    pub fn as_str(self) -> &'static str {
        match self {
            Recommendation::Disable => "disable",
            Recommendation::Discourage => "discourage",
            Recommendation::Available => "available",
            Recommendation::Encrypt => "encrypt",
        }
    }
}

/// The recommendation for one recipient and the key to encrypt to.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipientRecommendation {
    /// The recommendation.
    pub ui: Recommendation,
    /// The key to use (`target-keys[to-addr]`), unless `ui` is `Disable`.
    pub target_key: Option<Certificate>,
}

/// Section 2.4.1: the recommendation for one recipient.
///
/// `peer` is `peers[to-addr]` (`None` if there is none); `own` is our
/// account's prefer-encrypt; `reply_to_encrypted` whether the draft replies
/// to an encrypted message. A key that is revoked, expired or cannot
/// encrypt at `now` counts as no key.
pub fn recommend(
    peer: Option<&PeerState>,
    own: PreferEncrypt,
    reply_to_encrypted: bool,
    now: SystemTime,
) -> RecipientRecommendation {
    let disable = RecipientRecommendation {
        ui: Recommendation::Disable,
        target_key: None,
    };
    let Some(peer) = peer else {
        return disable;
    };
    let usable = |k: &Option<Certificate>| {
        k.as_ref()
            .filter(|k| k.status(now) == KeyStatus::Usable)
            .cloned()
    };
    let public_key = usable(&peer.public_key);
    let gossip_key = usable(&peer.gossip_key);
    let (preliminary, target) = match (public_key, gossip_key) {
        (None, None) => return disable,
        (None, Some(gossip)) => (Recommendation::Discourage, gossip),
        (Some(public), _) if peer.is_stale() => (Recommendation::Discourage, public),
        (Some(public), _) => (Recommendation::Available, public),
    };
    let ui = if reply_to_encrypted
        || (preliminary == Recommendation::Available
            && peer.prefer_encrypt == PreferEncrypt::Mutual
            && own == PreferEncrypt::Mutual)
    {
        Recommendation::Encrypt
    } else {
        preliminary
    };
    RecipientRecommendation {
        ui,
        target_key: Some(target),
    }
}

/// The recommendation for a message to several recipients and the keys to
/// encrypt to.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecommendation {
    /// The message's recommendation.
    pub ui: Recommendation,
    /// Each recipient's key, by canonical address (`target-keys`).
    pub target_keys: BTreeMap<String, Certificate>,
}

/// Section 2.4.2: combines per-recipient recommendations, keyed by
/// recipient address. No recipient at all is `Disable`.
pub fn recommend_group(
    recipients: &BTreeMap<String, RecipientRecommendation>,
) -> GroupRecommendation {
    let uis: Vec<Recommendation> = recipients.values().map(|r| r.ui).collect();
    let ui = if uis.is_empty() || uis.contains(&Recommendation::Disable) {
        Recommendation::Disable
    } else if uis.iter().all(|u| *u == Recommendation::Encrypt) {
        Recommendation::Encrypt
    } else if uis.contains(&Recommendation::Discourage) {
        Recommendation::Discourage
    } else {
        Recommendation::Available
    };
    let target_keys = recipients
        .iter()
        .filter_map(|(addr, r)| r.target_key.clone().map(|k| (addr.clone(), k)))
        .collect();
    GroupRecommendation { ui, target_keys }
}
