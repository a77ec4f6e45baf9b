use std::collections::BTreeMap;

use homepost_mail::parse;
use homepost_spam::{Class, MemoryModel, SpamFilter, TokenCounts, Verdict, tokens, train_delta};
use proptest::prelude::*;

use super::*;
use crate::tests::open_store;
use crate::{Inserted, NewMessage};

/// A message to learn as `class`, tokenized as the core does.
fn learn(raw: &[u8], class: Class) -> SpamExample {
    let class = match class {
        Class::Spam => SpamClass::Spam,
        Class::Ham => SpamClass::Ham,
    };
    SpamExample::new(raw, tokens(raw), class)
}

/// A message to forget, tokenized as the core does.
fn forget(raw: &[u8]) -> SpamExample {
    SpamExample::forget(raw, tokens(raw))
}

/// Stored counts as the classifier reads them (the core has its own view).
struct Counts<'a>(&'a SpamCounts);

impl TokenCounts for Counts<'_> {
    fn totals(&self) -> (u64, u64) {
        self.0.totals()
    }

    fn counts(&self, tokens: &[&str]) -> Vec<(u64, u64)> {
        tokens.iter().map(|t| self.0.get(t)).collect()
    }
}

fn mail(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: someone@example.org\r\nTo: bob@example.com\r\nSubject: {subject}\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Everything the model holds: totals, token counts and training records.
#[derive(Debug, PartialEq, Eq)]
struct Dump {
    totals: (u64, u64),
    tokens: BTreeMap<String, (i64, i64)>,
    trained: BTreeMap<Vec<u8>, String>,
}

async fn dump(store: &Store) -> Dump {
    let mut conn = store.pool.acquire().await.unwrap();
    let totals = totals(&mut conn).await.unwrap();
    let tokens =
        sqlx::query_as::<_, (String, i64, i64)>("SELECT token, spam, ham FROM spam_tokens")
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .into_iter()
            .map(|(t, s, h)| (t, (s, h)))
            .collect();
    let trained = sqlx::query_as::<_, (Vec<u8>, String)>("SELECT sha256, class FROM spam_trained")
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .into_iter()
        .collect();
    Dump {
        totals,
        tokens,
        trained,
    }
}

/// The dump's token counts as the memory model would give them.
fn same_counts(store: &Dump, model: &MemoryModel) {
    assert_eq!(store.totals, model.totals());
    assert_eq!(store.tokens.len(), model.len());
    for (token, &(s, h)) in &store.tokens {
        assert_eq!(model.token(token), Some((s as u64, h as u64)), "{token}");
    }
}

#[tokio::test]
async fn training_is_stored_idempotent_and_corrections_retrain() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let spam = mail("cheap pills", "buy cheap pills at http://pills.example/now");
    let ham = mail("lunch tomorrow", "shall we have lunch tomorrow at noon?");
    assert_eq!(store.spam_stats().await.unwrap(), SpamStats::default());

    let first = store
        .train_spam(&[learn(&spam, Class::Spam), learn(&ham, Class::Ham)])
        .await
        .unwrap();
    assert_eq!(first.learned, 2);
    let mut model = MemoryModel::new();
    model.apply(&train_delta(tokens(&spam), Class::Spam));
    model.apply(&train_delta(tokens(&ham), Class::Ham));
    let after_first = dump(&store).await;
    same_counts(&after_first, &model);
    assert_eq!(after_first.trained.len(), 2);
    assert_eq!(
        store.spam_trained_as(&spam).await.unwrap(),
        Some(SpamClass::Spam)
    );

    // Learning the same message as the same class again: nothing changes.
    let again = store
        .train_spam(&[learn(&spam, Class::Spam)])
        .await
        .unwrap();
    assert_eq!((again.learned, again.unchanged), (0, 1));
    assert_eq!(dump(&store).await, after_first);

    // A correction: the spam was ham after all. Counts become what training it
    // as ham from the start would have given.
    let fixed = store.train_spam(&[learn(&spam, Class::Ham)]).await.unwrap();
    assert_eq!(fixed.relearned, 1);
    let mut expected = MemoryModel::new();
    expected.apply(&train_delta(tokens(&spam), Class::Ham));
    expected.apply(&train_delta(tokens(&ham), Class::Ham));
    same_counts(&dump(&store).await, &expected);
    assert_eq!(
        store.spam_trained_as(&spam).await.unwrap(),
        Some(SpamClass::Ham)
    );
    let stats = store.spam_stats().await.unwrap();
    assert_eq!((stats.spam, stats.ham), (0, 2));
    assert_eq!(stats.tokens as usize, expected.len());

    // Forgetting both leaves nothing behind.
    let gone = store
        .train_spam(&[forget(&spam), forget(&ham)])
        .await
        .unwrap();
    assert_eq!(gone.forgotten, 2);
    let empty = dump(&store).await;
    assert_eq!(empty.totals, (0, 0));
    assert!(empty.tokens.is_empty() && empty.trained.is_empty());
    store.close().await;
}

#[tokio::test]
async fn one_batch_may_hold_the_same_message_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let m = mail("hello", "hello there");
    let outcome = store
        .train_spam(&[
            learn(&m, Class::Spam),
            learn(&m, Class::Spam),
            learn(&m, Class::Ham),
        ])
        .await
        .unwrap();
    assert_eq!(
        (outcome.learned, outcome.unchanged, outcome.relearned),
        (1, 1, 1)
    );
    let mut model = MemoryModel::new();
    model.apply(&train_delta(tokens(&m), Class::Ham));
    let d = dump(&store).await;
    same_counts(&d, &model);
    assert_eq!(d.trained.len(), 1);
    store.close().await;
}

#[tokio::test]
async fn counts_feed_the_classifier_and_reading_them_trains_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let filter = SpamFilter::default();
    let probe = tokens(&mail("cheap pills 99", "cheap pills for you"));
    let untrained = store
        .spam_counts(probe.iter().map(String::as_str))
        .await
        .unwrap();
    assert!(!untrained.is_trained());
    assert_eq!(
        filter.classify(&Counts(&untrained), &probe).verdict,
        Verdict::Unsure
    );

    let mut examples = Vec::new();
    for i in 0..20 {
        examples.push(learn(
            &mail(&format!("cheap pills {i}"), "buy cheap pills now"),
            Class::Spam,
        ));
        examples.push(learn(
            &mail(
                &format!("meeting notes {i}"),
                "notes from our project meeting",
            ),
            Class::Ham,
        ));
    }
    store.train_spam(&examples).await.unwrap();
    let before = dump(&store).await;
    let counts = store
        .spam_counts(probe.iter().map(String::as_str))
        .await
        .unwrap();
    assert!(counts.is_trained());
    assert_eq!(counts.totals(), (20, 20));
    assert_eq!(
        filter.classify(&Counts(&counts), &probe).verdict,
        Verdict::Spam
    );
    let ham = tokens(&mail("meeting notes", "notes from the meeting"));
    let counts = store
        .spam_counts(ham.iter().map(String::as_str))
        .await
        .unwrap();
    assert_eq!(
        filter.classify(&Counts(&counts), &ham).verdict,
        Verdict::Ham
    );
    assert_eq!(dump(&store).await, before);
    store.close().await;
}

#[tokio::test]
async fn tag_change_and_training_share_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let raw = mail("win", "you have won");
    let parsed = parse(&raw);
    let Inserted::New(id) = store
        .insert_batch(
            &[NewMessage {
                raw: &raw,
                parsed: &parsed,
                tags: &[],
                origin: "test",
                crypto_pending: false,
                packed: None,
                date: parsed.date.unwrap_or(0),
            }],
            0,
        )
        .await
        .unwrap()[0]
    else {
        panic!("not new");
    };
    let outcome = store
        .change_tags_and_train(&[id], &["spam".into()], &[], &[learn(&raw, Class::Spam)])
        .await
        .unwrap();
    assert_eq!(outcome.learned, 1);
    assert_eq!(store.tags_of(id).await.unwrap(), ["spam"]);
    assert_eq!(store.spam_stats().await.unwrap().spam, 1);

    // A bad tag fails the whole change: the training is rolled back too.
    let failed = store
        .change_tags_and_train(&[id], &["bad tag".into()], &[], &[learn(&raw, Class::Ham)])
        .await;
    assert!(failed.is_err());
    assert_eq!(
        store.spam_trained_as(&raw).await.unwrap(),
        Some(SpamClass::Spam)
    );
    assert_eq!(store.spam_stats().await.unwrap().ham, 0);
    store.close().await;
}

fn class() -> impl Strategy<Value = Class> {
    prop_oneof![Just(Class::Spam), Just(Class::Ham)]
}

fn words() -> impl Strategy<Value = String> {
    proptest::collection::vec("[a-f]{3,5}", 0..12).prop_map(|w| w.join(" "))
}

proptest! {
    // Each case opens a real SQLCipher store: few cases, still many shapes.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn train_then_untrain_restores_the_stored_model(
        history in proptest::collection::vec((words(), class()), 0..6),
        message in words(),
        first in class(),
        second in class(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = open_store(dir.path()).await;
            let history: Vec<SpamExample> = history
                .iter()
                .enumerate()
                .map(|(i, (body, class))| learn(&mail(&format!("h{i}"), body), *class))
                .collect();
            store.train_spam(&history).await.unwrap();
            let before = dump(&store).await;
            let raw = mail("the message", &message);
            // Learnt, perhaps corrected, then forgotten: as if never learnt.
            store.train_spam(&[learn(&raw, first)]).await.unwrap();
            store.train_spam(&[learn(&raw, second)]).await.unwrap();
            store.train_spam(&[forget(&raw)]).await.unwrap();
            let after = dump(&store).await;
            store.close().await;
            prop_assert_eq!(after, before);
            Ok(())
        })?;
    }
}

/// Two messages with the same words, corrected in opposite ways in one batch:
/// the counts cancel out, the records of both still change.
#[tokio::test]
async fn corrections_that_cancel_in_the_counts_still_update_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let a = mail("same words", "the very same words");
    let b = format!("X-Other: 1\r\n{}", String::from_utf8(a.clone()).unwrap()).into_bytes();
    // The same tokens, different bytes (so different training records).
    let tokens_a = tokens(&a);
    let b_example = SpamExample::new(&b, tokens_a.clone(), SpamClass::Ham);
    store
        .train_spam(&[
            SpamExample::new(&a, tokens_a.clone(), SpamClass::Spam),
            b_example,
        ])
        .await
        .unwrap();
    let before = dump(&store).await;
    let outcome = store
        .train_spam(&[
            SpamExample::new(&a, tokens_a.clone(), SpamClass::Ham),
            SpamExample::new(&b, tokens_a, SpamClass::Spam),
        ])
        .await
        .unwrap();
    assert_eq!(outcome.relearned, 2);
    let after = dump(&store).await;
    assert_eq!(after.tokens, before.tokens, "the counts cancel out");
    assert_eq!(
        store.spam_trained_as(&a).await.unwrap(),
        Some(SpamClass::Ham)
    );
    assert_eq!(
        store.spam_trained_as(&b).await.unwrap(),
        Some(SpamClass::Spam)
    );
    store.close().await;
}
