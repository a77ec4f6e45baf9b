//! The spam filter's model in the store: per-token counts, the number of
//! messages trained in each class, and what each message was trained as.
//!
//! The classifier and the tokenizer are the pure `homepost-spam` crate, which
//! the core puts together with this one; this module only keeps the counts. Tokens come from the mail, so they are kept in the
//! encrypted store like the mail. Every read and write is batched: the counts of
//! any number of tokens are read with one `json_each` query, and a batch of
//! trainings is summed in memory and applied with a handful of statements.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;

use crate::{Result, Store, to_json};

/// The class a message is trained as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpamClass {
    /// Unwanted mail.
    Spam,
    /// Wanted mail.
    Ham,
}

/// A message to learn from: the SHA-256 of its bytes (what the training record
/// is keyed by), its tokens (from `homepost_spam::tokens`) and the class it
/// belongs to, or none to forget it.
#[derive(Clone)]
pub struct SpamExample {
    sha256: [u8; 32],
    class: Option<SpamClass>,
    tokens: BTreeSet<String>,
}

impl SpamExample {
    /// Learns the raw message with these tokens as `class`.
    pub fn new(raw: &[u8], tokens: BTreeSet<String>, class: SpamClass) -> SpamExample {
        SpamExample {
            sha256: Sha256::digest(raw).into(),
            class: Some(class),
            tokens,
        }
    }

    /// Undoes whatever the raw message with these tokens was learnt as
    /// (sa-learn's `--forget`).
    pub fn forget(raw: &[u8], tokens: BTreeSet<String>) -> SpamExample {
        SpamExample {
            sha256: Sha256::digest(raw).into(),
            class: None,
            tokens,
        }
    }

    /// The class this example teaches; `None` to forget the message.
    pub fn class(&self) -> Option<SpamClass> {
        self.class
    }
}

impl std::fmt::Debug for SpamExample {
    // Tokens are words of private mail: keep them out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpamExample")
            .field("class", &self.class)
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

/// Trained counts of a set of tokens, read from the store in one go, for the
/// classifier. Tokens that were not asked for count as unknown.
#[derive(Debug, Clone, Default)]
pub struct SpamCounts {
    totals: (u64, u64),
    counts: HashMap<String, (u64, u64)>,
}

impl SpamCounts {
    /// True once both classes have at least one trained message: before that
    /// every score is 0.5 and a verdict says nothing.
    pub fn is_trained(&self) -> bool {
        self.totals.0 > 0 && self.totals.1 > 0
    }
}

impl SpamCounts {
    /// (spam, ham) messages trained.
    pub fn totals(&self) -> (u64, u64) {
        self.totals
    }

    /// A token's (spam, ham) counts; (0, 0) when unknown or not asked for.
    pub fn get(&self, token: &str) -> (u64, u64) {
        self.counts.get(token).copied().unwrap_or((0, 0))
    }
}

/// What a training did to the messages it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TrainingOutcome {
    /// Messages learnt for the first time.
    pub learned: u64,
    /// Messages learnt earlier as the other class: untrained, then learnt anew.
    pub relearned: u64,
    /// Messages already learnt as this class, or forgotten but never learnt:
    /// nothing changed.
    pub unchanged: u64,
    /// Messages whose earlier training was undone.
    pub forgotten: u64,
}

/// The size of the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SpamStats {
    /// Messages trained as spam.
    pub spam: u64,
    /// Messages trained as ham.
    pub ham: u64,
    /// Distinct tokens with a non-zero count.
    pub tokens: u64,
}

fn class_name(class: SpamClass) -> &'static str {
    match class {
        SpamClass::Spam => "spam",
        SpamClass::Ham => "ham",
    }
}

fn class_named(name: &str) -> SpamClass {
    if name == "spam" {
        SpamClass::Spam
    } else {
        SpamClass::Ham
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Store {
    /// The counts of `tokens` and the class totals, with two queries whatever
    /// the number of tokens. Reads only: classifying never trains.
    pub async fn spam_counts<'a>(
        &self,
        tokens: impl IntoIterator<Item = &'a str>,
    ) -> Result<SpamCounts> {
        // One read transaction, so the totals and the counts agree.
        let mut tx = self.pool.begin().await?;
        let totals = totals(&mut tx).await?;
        let mut counts = HashMap::new();
        // With a class untrained every score is 0.5: the counts are not needed.
        if totals.0 > 0 && totals.1 > 0 {
            let wanted: BTreeSet<&str> = tokens.into_iter().collect();
            if !wanted.is_empty() {
                // Driven from the distinct tokens asked for, one primary-key
                // lookup each: `IN (SELECT ...)` would sort them all first.
                let rows: Vec<(String, i64, i64)> = sqlx::query_as(
                    "SELECT t.token, t.spam, t.ham FROM json_each(?) AS j
                     JOIN spam_tokens AS t ON t.token = j.value",
                )
                .bind(to_json(&wanted)?)
                .fetch_all(&mut *tx)
                .await?;
                counts = rows
                    .into_iter()
                    .map(|(t, s, h)| (t, (count(s), count(h))))
                    .collect();
            }
        }
        tx.commit().await?;
        Ok(SpamCounts { totals, counts })
    }

    /// Learns (or forgets) `examples` in one transaction. A message learnt
    /// before as the other class is untrained first; one learnt as the same
    /// class is left alone, so running the same training twice changes nothing.
    pub async fn train_spam(&self, examples: &[SpamExample]) -> Result<TrainingOutcome> {
        if examples.is_empty() {
            return Ok(TrainingOutcome::default());
        }
        let mut tx = self.begin_write().await?;
        let outcome = train(&mut tx, examples).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// How many messages were trained in each class and how many tokens are known.
    pub async fn spam_stats(&self) -> Result<SpamStats> {
        let mut tx = self.pool.begin().await?;
        let (spam, ham) = totals(&mut tx).await?;
        let tokens: i64 = sqlx::query_scalar("SELECT count(*) FROM spam_tokens")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(SpamStats {
            spam,
            ham,
            tokens: count(tokens),
        })
    }

    /// The class a message with these bytes was trained as, if any.
    pub async fn spam_trained_as(&self, raw: &[u8]) -> Result<Option<SpamClass>> {
        let sha: [u8; 32] = Sha256::digest(raw).into();
        let class: Option<String> =
            sqlx::query_scalar("SELECT class FROM spam_trained WHERE sha256 = ?")
                .bind(sha.as_slice())
                .fetch_optional(&self.pool)
                .await?;
        Ok(class.as_deref().map(class_named))
    }
}

/// (trained spam, trained ham) messages.
async fn totals(conn: &mut SqliteConnection) -> Result<(u64, u64)> {
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT class, messages FROM spam_totals")
        .fetch_all(conn)
        .await?;
    let of = |class: &str| {
        rows.iter()
            .find(|(c, _)| c == class)
            .map_or(0, |&(_, n)| count(n))
    };
    Ok((of("spam"), of("ham")))
}

/// Learns `examples` inside the caller's transaction: reads their training
/// records, sums what changes in memory and applies it with one statement per
/// table.
pub(crate) async fn train(
    conn: &mut SqliteConnection,
    examples: &[SpamExample],
) -> Result<TrainingOutcome> {
    let mut outcome = TrainingOutcome::default();
    if examples.is_empty() {
        return Ok(outcome);
    }
    let shas: Vec<String> = examples.iter().map(|e| hex::encode(e.sha256)).collect();
    let mut trained: HashMap<String, SpamClass> = sqlx::query_as::<_, (String, String)>(
        "SELECT lower(hex(sha256)), class FROM spam_trained
         WHERE sha256 IN (SELECT unhex(value) FROM json_each(?))",
    )
    .bind(to_json(&shas)?)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(sha, class)| (sha, class_named(&class)))
    .collect();

    // Examples in order: the same message twice in one batch is learnt once, and
    // a later example of it overrides an earlier one as a correction would.
    let mut total = Delta::default();
    let mut changed = false;
    for (example, sha) in examples.iter().zip(&shas) {
        let was = trained.get(sha).copied();
        match (was, example.class) {
            (None, None) => {
                outcome.unchanged += 1;
                continue;
            }
            (Some(was), Some(to)) if was == to => {
                outcome.unchanged += 1;
                continue;
            }
            (Some(_), Some(_)) => outcome.relearned += 1,
            (None, Some(_)) => outcome.learned += 1,
            (Some(_), None) => outcome.forgotten += 1,
        }
        changed = true;
        // What was learnt is undone and the new class learnt: every distinct
        // token moves by one, as does each class's message count.
        total.step(&example.tokens, was, -1);
        total.step(&example.tokens, example.class, 1);
        match example.class {
            Some(class) => trained.insert(sha.clone(), class),
            None => trained.remove(sha),
        };
    }
    if !changed {
        return Ok(outcome);
    }
    // Changes may cancel out in the counts (two messages with the same words
    // corrected in opposite ways) while their records still change.
    if !total.is_empty() {
        apply(conn, &total).await?;
    }
    // The records as they stand after the batch: one row per distinct message.
    let (learnt, forgotten): (Vec<&String>, Vec<&String>) = shas
        .iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .partition(|sha| trained.contains_key(*sha));
    let learnt: Vec<(&String, &str)> = learnt
        .into_iter()
        .filter_map(|sha| Some((sha, class_name(*trained.get(sha)?))))
        .collect();
    if !learnt.is_empty() {
        sqlx::query(
            "INSERT INTO spam_trained (sha256, class)
             SELECT unhex(value ->> 0), value ->> 1 FROM json_each(?) WHERE true
             ON CONFLICT (sha256) DO UPDATE SET class = excluded.class",
        )
        .bind(to_json(&learnt)?)
        .execute(&mut *conn)
        .await?;
    }
    if !forgotten.is_empty() {
        sqlx::query(
            "DELETE FROM spam_trained WHERE sha256 IN (SELECT unhex(value) FROM json_each(?))",
        )
        .bind(to_json(&forgotten)?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(outcome)
}

/// What a batch of trainings changes: the (spam, ham) message counts and each
/// token's (spam, ham) counts.
#[derive(Default)]
struct Delta {
    spam: i64,
    ham: i64,
    deltas: BTreeMap<String, (i64, i64)>,
}

impl Delta {
    /// Moves a message of `class` (none: nothing) with these tokens by `sign`.
    fn step(&mut self, tokens: &BTreeSet<String>, class: Option<SpamClass>, sign: i64) {
        let by = match class {
            Some(SpamClass::Spam) => (sign, 0),
            Some(SpamClass::Ham) => (0, sign),
            None => return,
        };
        self.spam += by.0;
        self.ham += by.1;
        for token in tokens {
            let entry = self.deltas.entry(token.clone()).or_default();
            entry.0 += by.0;
            entry.1 += by.1;
        }
    }

    fn is_empty(&self) -> bool {
        self.spam == 0 && self.ham == 0 && self.deltas.values().all(|d| *d == (0, 0))
    }
}

/// Applies a training delta, clamping every count at zero and forgetting tokens
/// whose counts both reach zero (as `homepost_spam::MemoryModel` does).
async fn apply(conn: &mut SqliteConnection, training: &Delta) -> Result<()> {
    for (class, delta) in [("spam", training.spam), ("ham", training.ham)] {
        if delta != 0 {
            sqlx::query("UPDATE spam_totals SET messages = max(0, messages + ?) WHERE class = ?")
                .bind(delta)
                .bind(class)
                .execute(&mut *conn)
                .await?;
        }
    }
    let deltas: Vec<(&str, i64, i64)> = training
        .deltas
        .iter()
        .filter(|(_, d)| **d != (0, 0))
        .map(|(t, &(s, h))| (t.as_str(), s, h))
        .collect();
    if deltas.is_empty() {
        return Ok(());
    }
    let deltas = to_json(&deltas)?;
    // New tokens first (only those the delta raises), then every count moves.
    sqlx::query(
        "INSERT OR IGNORE INTO spam_tokens (token, spam, ham)
         SELECT value ->> 0, 0, 0 FROM json_each(?1)
         WHERE value ->> 1 > 0 OR value ->> 2 > 0",
    )
    .bind(&deltas)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE spam_tokens SET spam = max(0, spam + d.ds), ham = max(0, ham + d.dh)
         FROM (SELECT value ->> 0 AS token, value ->> 1 AS ds, value ->> 2 AS dh
               FROM json_each(?1)) AS d
         WHERE spam_tokens.token = d.token",
    )
    .bind(&deltas)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM spam_tokens WHERE spam = 0 AND ham = 0
         AND token IN (SELECT value ->> 0 FROM json_each(?1))",
    )
    .bind(&deltas)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
