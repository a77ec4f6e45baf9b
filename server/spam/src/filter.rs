//! [`SpamFilter`]: the classifier with a checked configuration.

use std::collections::BTreeSet;

use crate::classify::{self, Clue, Config, Score};
use crate::error::Error;
use crate::model::TokenCounts;

/// A Bayesian spam filter with a validated [`Config`]. It holds no counts: the
/// caller passes them in through [`TokenCounts`], from a store or a
/// [`MemoryModel`](crate::MemoryModel).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpamFilter {
    config: Config,
}

impl SpamFilter {
    /// A filter with these constants, if they are in range.
    pub fn new(config: Config) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self { config })
    }

    /// The constants in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Scores a message's tokens (from [`tokens`](crate::tokens)) against trained
    /// counts. Never fails and never gives NaN: with nothing trained the score
    /// is 0.5, unsure.
    pub fn classify(&self, counts: &impl TokenCounts, tokens: &BTreeSet<String>) -> Score {
        let clues = classify::clues(&self.config, counts, tokens);
        classify::score(&self.config, &clues, counts.totals())
    }

    /// The tokens that decided [`classify`](Self::classify)'s score, most
    /// extreme first: what to show a person who asks "why is this spam?".
    pub fn clues(&self, counts: &impl TokenCounts, tokens: &BTreeSet<String>) -> Vec<Clue> {
        classify::clues(&self.config, counts, tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Class, MemoryModel, train_delta};
    use crate::{Verdict, tokens};
    use proptest::prelude::*;

    fn set(words: &[&str]) -> BTreeSet<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    /// Counts from a fixed table, whatever the totals say.
    struct FixedCounts {
        totals: (u64, u64),
        counts: Vec<(u64, u64)>,
    }

    impl TokenCounts for FixedCounts {
        fn totals(&self) -> (u64, u64) {
            self.totals
        }
        fn counts(&self, tokens: &[&str]) -> Vec<(u64, u64)> {
            self.counts.iter().copied().take(tokens.len()).collect()
        }
    }

    #[test]
    fn first_message_is_unsure() {
        let filter = SpamFilter::default();
        let model = MemoryModel::new();
        let raw = b"From: Mallory <m@spam.example>\r\nSubject: WIN $$$ NOW\r\n\r\nClick http://spam.example/win\r\n";
        let score = filter.classify(&model, &tokens(raw));
        assert_eq!(score.spamicity, 0.5);
        assert_eq!(score.verdict, Verdict::Unsure);
    }

    #[test]
    fn one_class_trained_is_still_unsure() {
        let filter = SpamFilter::default();
        let mut model = MemoryModel::new();
        let spam = set(&["cheap", "pills", "url:pills.example"]);
        for _ in 0..100 {
            model.apply(&train_delta(&spam, Class::Spam));
        }
        let score = filter.classify(&model, &spam);
        assert_eq!(score.spamicity, 0.5);
        assert_eq!(score.verdict, Verdict::Unsure);
    }

    #[test]
    fn few_examples_stay_near_the_middle() {
        let filter = SpamFilter::default();
        let mut model = MemoryModel::new();
        let spam = set(&["cheap", "pills", "url:pills.example"]);
        let ham = set(&["lunch", "tomorrow", "from:alice@example.org"]);
        model.apply(&train_delta(&spam, Class::Spam));
        model.apply(&train_delta(&ham, Class::Ham));
        let score = filter.classify(&model, &spam);
        assert!((score.spamicity - 0.5).abs() <= 0.05, "{score:?}");
        assert_eq!(score.verdict, Verdict::Unsure);
    }

    #[test]
    fn learns_to_tell_spam_from_ham() {
        let filter = SpamFilter::default();
        let mut model = MemoryModel::new();
        for i in 0..20 {
            let n = format!("n{i}");
            model.apply(&train_delta(
                set(&["cheap", "pills", "url:pills.example", &n]),
                Class::Spam,
            ));
            model.apply(&train_delta(
                set(&["lunch", "tomorrow", "from:alice@example.org", &n]),
                Class::Ham,
            ));
        }
        let spam = filter.classify(
            &model,
            &set(&["cheap", "pills", "url:pills.example", "new"]),
        );
        let ham = filter.classify(&model, &set(&["lunch", "tomorrow", "new"]));
        assert_eq!(spam.verdict, Verdict::Spam, "{spam:?}");
        // Two spam words alone (0.99995) are not enough for the cautious
        // spam cutoff: legitimate bulk mail scored that high (bench/spam).
        let two = filter.classify(&model, &set(&["cheap", "pills", "new"]));
        assert_eq!(two.verdict, Verdict::Unsure, "{two:?}");
        assert_eq!(ham.verdict, Verdict::Ham, "{ham:?}");
        let why = filter.clues(&model, &set(&["cheap", "new"]));
        assert_eq!(why.len(), 1);
        assert_eq!(why[0].token, "cheap");
    }

    #[test]
    fn no_nan_for_any_counts() {
        let filter = SpamFilter::default();
        let extremes = [0, 1, 2, u64::MAX / 2, u64::MAX - 1, u64::MAX];
        let tokens = set(&["a", "b", "c"]);
        for &ts in &extremes {
            for &th in &extremes {
                for &cs in &extremes {
                    for &ch in &extremes {
                        let counts = FixedCounts {
                            totals: (ts, th),
                            counts: vec![(cs, ch); 3],
                        };
                        let s = filter.classify(&counts, &tokens);
                        assert!(
                            s.spamicity.is_finite() && (0.0..=1.0).contains(&s.spamicity),
                            "{ts} {th} {cs} {ch}: {s:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_short_counts_answer_is_tolerated() {
        let counts = FixedCounts {
            totals: (100, 100),
            counts: vec![(50, 0)],
        };
        let s = SpamFilter::default().classify(&counts, &set(&["a", "b", "c"]));
        assert!(s.spamicity.is_finite());
    }

    #[test]
    fn new_refuses_a_bad_config() {
        let config = Config {
            spam_cutoff: 2.0,
            ..Config::default()
        };
        assert!(SpamFilter::new(config).is_err());
    }

    proptest! {
        #[test]
        fn spamicity_is_finite_and_in_range(
            totals in (any::<u64>(), any::<u64>()),
            counts in proptest::collection::vec((any::<u64>(), any::<u64>()), 0..300),
            strength in 0.001f64..100.0,
            unknown_prob in 0.01f64..0.99,
        ) {
            let config = Config { strength, unknown_prob, ..Config::default() };
            let filter = SpamFilter::new(config).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let tokens: BTreeSet<String> = (0..counts.len()).map(|i| format!("t{i}")).collect();
            let fixed = FixedCounts { totals, counts };
            let s = filter.classify(&fixed, &tokens);
            prop_assert!(s.spamicity.is_finite());
            prop_assert!((0.0..=1.0).contains(&s.spamicity));
        }
    }
}
