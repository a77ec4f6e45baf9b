//! Homepost's Bayesian spam filter, as a pure core: no SQL, no network, no clock.
//!
//! The pieces follow SpamBayes and bogofilter:
//!
//! - [`tokenize::tokens`] turns a raw RFC 5322 message into a set of tokens
//!   (header fields prefixed by their name, body words, URL domains, attachment
//!   types);
//! - [`model`] says what training changes ([`Training`], a delta the store applies
//!   in one transaction) and how counts are read back ([`TokenCounts`]);
//! - [`SpamFilter::classify`] weighs the tokens with Robinson's f(w) and combines
//!   the most telling ones with Fisher's chi-square method into a [`Score`].
//!
//! ```
//! use homepost_spam::{Class, MemoryModel, SpamFilter, Verdict, tokens, train_delta};
//!
//! let mut model = MemoryModel::new();
//! let filter = SpamFilter::default();
//! let message = b"From: a@example.com\r\nSubject: hello\r\n\r\nHello there\r\n";
//! let toks = tokens(message);
//! // Nothing learnt yet: the filter does not guess.
//! assert_eq!(filter.classify(&model, &toks).verdict, Verdict::Unsure);
//! model.apply(&train_delta(&toks, Class::Ham));
//! ```

pub mod classify;
mod error;
mod filter;
pub mod model;
pub mod tokenize;

pub use classify::{Clue, Config, Score, Verdict};
pub use error::Error;
pub use filter::SpamFilter;
pub use model::{
    Class, MemoryModel, TokenCounts, Training, retrain_delta, train_delta, untrain_delta,
};
pub use tokenize::{tokens, tokens_of, with_token_fields};
