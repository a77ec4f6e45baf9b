//! What training changes, and how token counts are read back.
//!
//! The store keeps, per token, how many spam and ham messages contained it, and
//! the number of messages trained in each class. Training a message adds one to
//! each of its tokens' counts in its class; undoing a training subtracts it again.
//! Both are expressed as a [`Training`] delta so the store can apply one in a
//! single SQL transaction, clamping every count at zero:
//!
//! ```sql
//! UPDATE spam_tokens SET spam = MAX(0, spam + ?1), ham = MAX(0, ham + ?2) WHERE token = ?3
//! ```

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// Which side of the filter a message belongs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Unwanted mail.
    Spam,
    /// Wanted mail.
    Ham,
}

/// Read access to trained counts: what the classifier needs from a store.
pub trait TokenCounts {
    /// The number of messages trained as (spam, ham).
    fn totals(&self) -> (u64, u64);

    /// For each of `tokens`, in the same order, the number of trained
    /// (spam, ham) messages that contained it; (0, 0) for an unknown token.
    fn counts(&self, tokens: &[&str]) -> Vec<(u64, u64)>;
}

/// What one training step changes: message totals and per-token counts, as
/// signed deltas over (spam, ham). Apply it with counts clamped at zero (see
/// [`apply_delta`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Training {
    /// Change to the number of spam messages trained.
    pub spam: i64,
    /// Change to the number of ham messages trained.
    pub ham: i64,
    /// Change to each token's (spam, ham) counts.
    pub deltas: BTreeMap<String, (i64, i64)>,
}

impl Training {
    /// True if applying this changes nothing.
    pub fn is_empty(&self) -> bool {
        self.spam == 0 && self.ham == 0 && self.deltas.is_empty()
    }
}

/// Adds a signed delta to a count, never going below zero or wrapping.
pub fn apply_delta(count: u64, delta: i64) -> u64 {
    if delta >= 0 {
        count.saturating_add(delta.unsigned_abs())
    } else {
        count.saturating_sub(delta.unsigned_abs())
    }
}

/// The (spam, ham) delta of one message in `class`, with sign `sign` (+1 or -1).
fn class_delta(class: Class, sign: i64) -> (i64, i64) {
    match class {
        Class::Spam => (sign, 0),
        Class::Ham => (0, sign),
    }
}

/// Builds a training with one delta for every distinct token.
fn training<I, S>(tokens: I, delta: (i64, i64)) -> Training
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Training {
        spam: delta.0,
        ham: delta.1,
        deltas: tokens.into_iter().map(|t| (t.into(), delta)).collect(),
    }
}

/// Learning a message with these tokens as `class`. Duplicate tokens count once.
pub fn train_delta<I, S>(tokens: I, class: Class) -> Training
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    training(tokens, class_delta(class, 1))
}

/// Undoing an earlier [`train_delta`] of the same tokens as `class`.
pub fn untrain_delta<I, S>(tokens: I, class: Class) -> Training
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    training(tokens, class_delta(class, -1))
}

/// Correcting a message trained as `from` to `to`: undo the one, learn the other.
/// Empty when `from == to`.
pub fn retrain_delta<I, S>(tokens: I, from: Class, to: Class) -> Training
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    if from == to {
        return Training::default();
    }
    let (a, b) = (class_delta(from, -1), class_delta(to, 1));
    training(tokens, (a.0 + b.0, a.1 + b.1))
}

/// Token counts held in memory, for tests, the benchmark and small tools.
/// Tokens whose counts both fall to zero are forgotten, so training then
/// untraining leaves the model exactly as it was.
///
/// A hash map, not a B-tree: lookups are the hot path and nothing here ever
/// iterates over it, so its order cannot leak into any output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryModel {
    spam: u64,
    ham: u64,
    tokens: HashMap<String, (u64, u64)>,
}

impl MemoryModel {
    /// An empty model: nothing trained.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a training delta, clamping every count at zero.
    pub fn apply(&mut self, training: &Training) {
        self.spam = apply_delta(self.spam, training.spam);
        self.ham = apply_delta(self.ham, training.ham);
        for (token, &(ds, dh)) in &training.deltas {
            if let Some(counts) = self.tokens.get_mut(token.as_str()) {
                *counts = (apply_delta(counts.0, ds), apply_delta(counts.1, dh));
                if *counts == (0, 0) {
                    self.tokens.remove(token.as_str());
                }
            } else {
                let counts = (apply_delta(0, ds), apply_delta(0, dh));
                if counts != (0, 0) {
                    self.tokens.insert(token.clone(), counts);
                }
            }
        }
    }

    /// The (spam, ham) counts of one token, if it was ever seen.
    pub fn token(&self, token: &str) -> Option<(u64, u64)> {
        self.tokens.get(token).copied()
    }

    /// The number of distinct tokens with a non-zero count.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True if no token has a non-zero count.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

impl TokenCounts for MemoryModel {
    fn totals(&self) -> (u64, u64) {
        (self.spam, self.ham)
    }

    fn counts(&self, tokens: &[&str]) -> Vec<(u64, u64)> {
        tokens
            .iter()
            .map(|t| self.tokens.get(*t).copied().unwrap_or((0, 0)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn toks(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn train_counts_each_token_once() {
        let t = train_delta(["a", "b", "a"], Class::Spam);
        assert_eq!((t.spam, t.ham), (1, 0));
        assert_eq!(t.deltas.len(), 2);
        assert_eq!(t.deltas["a"], (1, 0));
    }

    #[test]
    fn retrain_moves_a_message_from_spam_to_ham_and_restores_counts_exactly() {
        let message = toks(&["subject:cheap", "viagra", "url:example.com"]);
        let other = toks(&["subject:lunch", "url:example.com"]);

        // What the model should end up as: `message` learnt as ham from the start.
        let mut expected = MemoryModel::new();
        expected.apply(&train_delta(&other, Class::Ham));
        expected.apply(&train_delta(&message, Class::Ham));

        let mut model = MemoryModel::new();
        model.apply(&train_delta(&other, Class::Ham));
        model.apply(&train_delta(&message, Class::Spam));
        assert_eq!(model.totals(), (1, 1));
        assert_eq!(model.token("viagra"), Some((1, 0)));

        model.apply(&retrain_delta(&message, Class::Spam, Class::Ham));
        assert_eq!(model, expected);
        assert_eq!(model.totals(), (0, 2));
        assert_eq!(model.token("viagra"), Some((0, 1)));
        assert_eq!(model.token("url:example.com"), Some((0, 2)));
    }

    #[test]
    fn retrain_to_the_same_class_changes_nothing() {
        assert!(retrain_delta(["a"], Class::Ham, Class::Ham).is_empty());
    }

    #[test]
    fn counts_never_go_below_zero() {
        let mut model = MemoryModel::new();
        model.apply(&untrain_delta(["never-seen"], Class::Spam));
        assert_eq!(model.totals(), (0, 0));
        assert!(model.is_empty());
        assert_eq!(apply_delta(0, i64::MIN), 0);
        assert_eq!(apply_delta(u64::MAX, i64::MAX), u64::MAX);
    }

    #[test]
    fn unknown_tokens_count_zero() {
        let model = MemoryModel::new();
        assert_eq!(model.counts(&["x", "y"]), vec![(0, 0), (0, 0)]);
    }

    fn class() -> impl Strategy<Value = Class> {
        prop_oneof![Just(Class::Spam), Just(Class::Ham)]
    }

    proptest! {
        #[test]
        fn train_then_untrain_is_identity(
            history in proptest::collection::vec(
                (proptest::collection::btree_set("[a-e]{1,3}", 0..20), class()), 0..10),
            message in proptest::collection::btree_set("[a-e]{1,3}", 0..20),
            class in class(),
        ) {
            let mut model = MemoryModel::new();
            for (tokens, c) in &history {
                model.apply(&train_delta(tokens, *c));
            }
            let before = model.clone();
            model.apply(&train_delta(&message, class));
            model.apply(&untrain_delta(&message, class));
            prop_assert_eq!(model, before);
        }

        #[test]
        fn retrain_equals_untrain_then_train(
            message in proptest::collection::btree_set("[a-e]{1,3}", 0..20),
            from in class(),
            to in class(),
        ) {
            let mut a = MemoryModel::new();
            a.apply(&train_delta(&message, from));
            let mut b = a.clone();
            a.apply(&retrain_delta(&message, from, to));
            b.apply(&untrain_delta(&message, from));
            b.apply(&train_delta(&message, to));
            prop_assert_eq!(a, b);
        }
    }
}
