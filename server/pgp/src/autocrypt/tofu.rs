//! Trust on first use: the first key seen for a correspondent is pinned; a
//! different key later is a change that waits for the user's decision, and
//! until then nothing is encrypted to them and their signatures by it do not
//! vouch for them. Pure rules over fingerprints (uppercase hex); the caller
//! stores the state.

/// What seeing a key does to the pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    /// Nothing was pinned: this key is now.
    First,
    /// It is the pinned key (its stored copy may be refreshed).
    Same,
    /// It differs from the pinned key: a change.
    Differs,
}

/// Compares a key seen for a correspondent with their pin.
pub fn pin(pinned: Option<&str>, seen: &str) -> Pin {
    match pinned {
        None => Pin::First,
        Some(p) if p == seen => Pin::Same,
        Some(_) => Pin::Differs,
    }
}

/// The change waiting for the user: the first key among `used` (the keys that
/// would be used, in order: the Autocrypt key, or gossip when there is none;
/// a discovered key) that is not the pinned one. The pinned key showing up
/// again elsewhere does not make a stranger's key in another slot go away.
pub fn pending_change<'a>(
    pinned: Option<&str>,
    used: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    used.into_iter()
        .find(|f| pinned != Some(*f))
        .map(str::to_owned)
}

/// Whether a recorded change still waits for the user (it is not the pin).
pub fn change_pending(pinned: Option<&str>, changed: Option<&str>) -> bool {
    changed.is_some() && changed != pinned
}

/// How a signature's key stands to the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Signer {
    /// The key is the sender's: their pinned key (TOFU, or the one the user
    /// accepted), or ours for our own mail.
    pub is_sender: bool,
    /// The key is a changed one still waiting for the user's decision: it does
    /// not vouch for the sender.
    pub by_changed_key: bool,
}

/// Judges the key that made a signature (`signer`) against the sender's pin
/// and waiting change, and our own keys for the sender's address (`own`).
pub fn judge_signer(
    signer: Option<&str>,
    pinned: Option<&str>,
    changed: Option<&str>,
    own: &[String],
) -> Signer {
    let Some(signer) = signer else {
        return Signer::default();
    };
    if own.iter().any(|o| o == signer) {
        return Signer {
            is_sender: true,
            by_changed_key: false,
        };
    }
    if change_pending(pinned, changed) && changed == Some(signer) {
        return Signer {
            is_sender: false,
            by_changed_key: true,
        };
    }
    Signer {
        is_sender: pinned == Some(signer),
        by_changed_key: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinning() {
        let table = [
            (None, "A", Pin::First),
            (Some("A"), "A", Pin::Same),
            (Some("A"), "B", Pin::Differs),
        ];
        for (pinned, seen, want) in table {
            assert_eq!(pin(pinned, seen), want, "{pinned:?} then {seen}");
        }
    }

    #[test]
    fn the_first_used_key_other_than_the_pin_is_the_change() {
        let table: &[(Option<&str>, &[&str], Option<&str>)] = &[
            (Some("A"), &[], None),
            (Some("A"), &["A"], None),
            (Some("A"), &["B"], Some("B")),
            // The pinned key elsewhere does not hide a stranger's key.
            (Some("A"), &["A", "B"], Some("B")),
            (Some("A"), &["B", "A"], Some("B")),
            (Some("A"), &["B", "C"], Some("B")),
            // Nothing pinned: any key is a change (callers pin first).
            (None, &["B"], Some("B")),
        ];
        for &(pinned, used, want) in table {
            assert_eq!(
                pending_change(pinned, used.iter().copied()).as_deref(),
                want,
                "{pinned:?} {used:?}"
            );
        }
    }

    #[test]
    fn a_change_waits_until_it_is_the_pin() {
        let table = [
            (Some("A"), None, false),
            (Some("A"), Some("B"), true),
            (Some("B"), Some("B"), false),
            (None, Some("B"), true),
        ];
        for (pinned, changed, want) in table {
            assert_eq!(
                change_pending(pinned, changed),
                want,
                "{pinned:?} {changed:?}"
            );
        }
    }

    #[test]
    fn signers_are_judged_against_pin_change_and_our_keys() {
        let own = vec!["OWN".to_owned()];
        let s = |is_sender, by_changed_key| Signer {
            is_sender,
            by_changed_key,
        };
        let table = [
            // (signer, pinned, changed, want)
            (None, Some("A"), None, s(false, false)),
            (Some("A"), Some("A"), None, s(true, false)),
            (Some("B"), Some("A"), None, s(false, false)),
            // A waiting key does not vouch, and says so.
            (Some("B"), Some("A"), Some("B"), s(false, true)),
            // The pinned key still vouches while another change waits.
            (Some("A"), Some("A"), Some("B"), s(true, false)),
            // Our own key for our own mail.
            (Some("OWN"), None, None, s(true, false)),
            (Some("OWN"), Some("A"), Some("B"), s(true, false)),
            // Nothing known of the sender.
            (Some("A"), None, None, s(false, false)),
        ];
        for (signer, pinned, changed, want) in table {
            assert_eq!(
                judge_signer(signer, pinned, changed, &own),
                want,
                "{signer:?} pinned {pinned:?} changed {changed:?}"
            );
        }
    }
}
