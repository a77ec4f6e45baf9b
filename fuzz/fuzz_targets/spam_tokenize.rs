//! Fuzzes the spam filter's tokenizer over arbitrary bytes, then scores the
//! tokens against a model trained on them: no panic, bounded output, a finite
//! spamicity in [0, 1]. Run with `cargo fuzz run spam_tokenize` (nightly).

#![no_main]

use homepost_spam::tokenize::MAX_TOKENS;
use homepost_spam::{Class, MemoryModel, SpamFilter, tokens, train_delta, untrain_delta};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let toks = tokens(data);
    assert!(toks.len() <= MAX_TOKENS);
    assert!(toks.iter().all(|t| !t.is_empty()));

    let mut model = MemoryModel::new();
    model.apply(&train_delta(&toks, Class::Spam));
    model.apply(&train_delta(["ham-only"], Class::Ham));
    let score = SpamFilter::default().classify(&model, &toks);
    assert!(score.spamicity.is_finite() && (0.0..=1.0).contains(&score.spamicity));

    model.apply(&untrain_delta(&toks, Class::Spam));
    assert_eq!(model.len(), 1);
});
