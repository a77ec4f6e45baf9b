//! How hard a passphrase is to guess, estimated with zxcvbn (dictionaries of
//! common passwords, names and words, keyboard patterns, dates, repeats), and
//! the bar a new vault's passphrase must clear.
//!
//! The vault file is the attacker's prize: with it, guesses are offline and
//! limited only by Argon2id's cost. So a new passphrase must score at least
//! [`MIN_SCORE`] (about 10^8 guesses) as well as being 10 characters long.

use serde::Serialize;
use zeroize::Zeroizing;

/// The lowest zxcvbn score (0-4) a new vault's passphrase may have.
pub const MIN_SCORE: u8 = 3;
/// The shortest passphrase a new vault accepts, in characters.
pub const MIN_CHARS: usize = 10;
/// Only this much of a passphrase is estimated (zxcvbn's cost grows with the
/// length; anything longer is strong by length alone).
const ESTIMATED_CHARS: usize = 100;

/// The estimate, in words a person can act on.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Strength {
    /// 0 (guessed at once) to 4 (very hard to guess).
    pub score: u8,
    /// log10 of the estimated guesses needed.
    pub guesses_log10: f64,
    /// How long an offline attacker would need at ten thousand guesses a
    /// second ("3 hours", "centuries").
    pub crack_time: String,
    /// What makes it weak, if something does.
    pub warning: Option<String>,
    /// How to make it stronger.
    pub suggestions: Vec<String>,
    /// Whether a new vault accepts it.
    pub acceptable: bool,
}

/// Estimates `passphrase`'s strength. `context` holds words the attacker
/// knows (the box's name, the user's address) and counts against it.
pub fn estimate(passphrase: &str, context: &[&str]) -> Strength {
    let chars = passphrase.chars().count();
    let head: Zeroizing<String> =
        Zeroizing::new(passphrase.chars().take(ESTIMATED_CHARS).collect());
    let entropy = zxcvbn::zxcvbn(&head, context);
    let score = u8::from(entropy.score());
    let feedback = entropy.feedback();
    let warning = feedback
        .and_then(zxcvbn::feedback::Feedback::warning)
        .map(|w| w.to_string())
        .or_else(|| (chars < MIN_CHARS).then(|| format!("Use at least {MIN_CHARS} characters.")));
    let suggestions = feedback
        .map(|f| f.suggestions().iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    Strength {
        score,
        // zxcvbn gives -inf (0 guesses) for the empty string, which JSON cannot carry.
        guesses_log10: Some(entropy.guesses_log10())
            .filter(|g| g.is_finite())
            .map_or(0.0, |g| g.max(0.0)),
        crack_time: entropy
            .crack_times()
            .offline_slow_hashing_1e4_per_second()
            .to_string(),
        warning,
        suggestions,
        acceptable: chars >= MIN_CHARS && score >= MIN_SCORE,
    }
}

/// Why a new passphrase is refused, in plain words, or `None` if it is good
/// enough.
pub fn refusal(passphrase: &str, context: &[&str]) -> Option<String> {
    if passphrase.chars().count() < MIN_CHARS {
        return Some(format!(
            "choose a passphrase of at least {MIN_CHARS} characters"
        ));
    }
    let s = estimate(passphrase, context);
    if s.acceptable {
        return None;
    }
    let mut why = format!(
        "this passphrase is too easy to guess (it could be found in {})",
        s.crack_time
    );
    if let Some(w) = s.warning {
        why.push_str(": ");
        why.push_str(w.trim_end_matches('.'));
    }
    why.push_str(". Add a few more uncommon words");
    Some(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_and_patterned_passphrases_are_refused() {
        for weak in ["password123", "qwertyuiop", "1234567890", "aaaaaaaaaaaa"] {
            let s = estimate(weak, &[]);
            assert!(!s.acceptable, "{weak}: {s:?}");
            assert!(refusal(weak, &[]).is_some());
        }
        assert!(refusal("short", &[]).is_some_and(|r| r.contains("10 characters")));
        // Empty: a number JSON can carry (zxcvbn says -inf), found by schemathesis.
        let empty = estimate("", &[]);
        assert!(
            empty.guesses_log10.is_finite() && !empty.acceptable,
            "{empty:?}"
        );
    }

    #[test]
    fn several_uncommon_words_pass() {
        for good in ["correct horse battery", "quiet lantern orbit pepper"] {
            let s = estimate(good, &[]);
            assert!(s.acceptable, "{good}: {s:?}");
            assert_eq!(refusal(good, &[]), None);
        }
    }

    #[test]
    fn context_words_count_against_it() {
        let alone = estimate("alice.wonderland.2026", &[]);
        let known = estimate("alice.wonderland.2026", &["alice", "wonderland"]);
        assert!(known.guesses_log10 < alone.guesses_log10);
    }

    #[test]
    fn very_long_input_is_estimated_by_its_head() {
        // Varied text (a repeat would rightly score low), 50,000 characters.
        let mut x: u32 = 7;
        let long: String = (0..50_000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                char::from(b'a' + u8::try_from((x >> 16) % 26).unwrap_or(0))
            })
            .collect();
        assert!(estimate(&long, &[]).acceptable);
        assert_eq!(refusal(&long, &[]), None);
    }
}
