//! Mail made ready to store while the batch before it is stored:
//! parsed, hashed and compressed, and classified, on threads off the runtime.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use homepost_mail::{ParsedMessage, RawMessage, parse, parse_with};
use homepost_spam::Verdict;
use homepost_store::{Packed, Packer};

use super::{LibraryError, Result};
use crate::spam::BatchClassifier;

/// Most threads parsing one fetched batch.
const PARSE_THREADS: usize = 4;

/// Mail parsed, packed and classified: the part of storing it that needs no
/// lock on the library, done while the batch before it is stored (by the
/// import's reader thread, or by a fetch for its next batch, see
/// [`super::Library::store_prepared`]).
pub(crate) struct ReadyBatch {
    pub(super) messages: Vec<(RawMessage, ParsedMessage)>,
    pub(super) packed: Vec<Option<Packed>>,
    /// The spam filter's verdict on each message; empty while it is untrained.
    pub(super) verdicts: Result<Vec<Verdict>, homepost_store::Error>,
}

impl Default for ReadyBatch {
    fn default() -> Self {
        ReadyBatch {
            messages: Vec::new(),
            packed: Vec::new(),
            verdicts: Ok(Vec::new()),
        }
    }
}

impl ReadyBatch {
    /// Prepares fetched `messages` with `classifier`, on threads off the async
    /// runtime, and gives the classifier back with the counts it read.
    pub(crate) async fn prepare(
        messages: Vec<RawMessage>,
        mut classifier: BatchClassifier,
    ) -> Result<(ReadyBatch, BatchClassifier)> {
        // The filter may have learnt since an untrained classifier was made.
        if !classifier.is_trained() {
            classifier.refresh().await?;
        }
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let tokenize = classifier.is_trained();
            let (mut batch, tokens) = parse_all(messages, tokenize);
            let parsed = started.elapsed();
            if tokenize {
                batch.verdicts = classifier.verdicts(&tokens);
            }
            tracing::debug!(
                messages = batch.messages.len(),
                parse_ms = parsed.as_millis() as u64,
                classify_ms = started.elapsed().saturating_sub(parsed).as_millis() as u64,
                "fetched batch parsed and classified"
            );
            (batch, classifier)
        })
        .await
        .map_err(|e| LibraryError::Worker(e.to_string()))
    }
}

/// Parses and packs `messages` ([`Packer`]), and tokenizes them for the spam
/// filter if `tokenize`, on as many threads as there are cores (at most
/// [`PARSE_THREADS`]), each taking a contiguous share; the order is kept.
/// Returns the batch, without verdicts yet, and each message's tokens. Blocks.
fn parse_all(messages: Vec<RawMessage>, tokenize: bool) -> (ReadyBatch, Vec<BTreeSet<String>>) {
    type Parsed = (ParsedMessage, Option<Packed>, Option<BTreeSet<String>>);
    let work = move |share: &[RawMessage]| -> Vec<Parsed> {
        let mut packer = None;
        share
            .iter()
            .map(|m| {
                let (parsed, tokens) = parse_one(&m.raw, tokenize);
                (parsed, pack(&mut packer, &m.raw), tokens)
            })
            .collect()
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, PARSE_THREADS);
    let per = messages.len().div_ceil(threads).max(1);
    let parsed: Vec<Parsed> = std::thread::scope(|scope| {
        let mut shares = messages.chunks(per);
        let first = shares.next().unwrap_or(&[]);
        let others: Vec<_> = shares
            .map(|share| scope.spawn(move || work(share)))
            .collect();
        let mut parsed = work(first);
        for other in others {
            // A panic in a parser goes on as this thread's, as it would have here.
            parsed.extend(
                other
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            );
        }
        parsed
    });
    let mut tokens = Vec::with_capacity(if tokenize { parsed.len() } else { 0 });
    let mut packs = Vec::with_capacity(parsed.len());
    let messages = messages
        .into_iter()
        .zip(parsed)
        .map(|(m, (p, packed, t))| {
            tokens.extend(t);
            packs.push(packed);
            (m, p)
        })
        .collect();
    let batch = ReadyBatch {
        messages,
        packed: packs,
        verdicts: Ok(Vec::new()),
    };
    (batch, tokens)
}

/// The parser of [`parse`] that also decodes the fields the spam tokenizer
/// reads: one parse for both.
static TOKENIZING_PARSER: LazyLock<mail_parser::MessageParser> =
    LazyLock::new(|| homepost_spam::with_token_fields(homepost_mail::parser()));

/// `raw` parsed, and its spam tokens if `tokenize`, from one parse.
pub(super) fn parse_one(raw: &[u8], tokenize: bool) -> (ParsedMessage, Option<BTreeSet<String>>) {
    if !tokenize {
        return (parse(raw), None);
    }
    let (parsed, tokens) = parse_with(&TOKENIZING_PARSER, raw, |message| {
        homepost_spam::tokens_of(raw, message)
    });
    (parsed, Some(tokens))
}

/// `raw` hashed and compressed for the store with `packer` (made on first
/// use), or `None` if that failed: the store then tries again and reports why.
pub(super) fn pack(packer: &mut Option<Packer>, raw: &[u8]) -> Option<Packed> {
    Packer::pack_with(packer, raw).ok()
}

#[cfg(test)]
mod tests {
    use homepost_testing::{corpus, disk};

    use super::*;

    /// One parse for the stored fields and the spam tokens gives what two
    /// separate ones give, on real and on malformed mail.
    #[test]
    fn one_parse_gives_the_fields_and_tokens_of_two() {
        let mut files = disk::files(&corpus::path("mail"));
        let csdmc = corpus::path("spam/csdmc2010/TRAINING");
        files.extend(disk::files(&csdmc).into_iter().take(300));
        // Its Date, decoded, runs into the From below it.
        files.push(csdmc.join("TRAIN_01024.eml"));
        files.retain(|path| path.extension().is_some_and(|e| e == "eml"));
        assert!(files.len() > 300, "only {} messages found", files.len());
        let mut raws: Vec<Vec<u8>> = files
            .iter()
            .map(|path| std::fs::read(path).expect("readable message"))
            .collect();
        raws.extend([b"".to_vec(), b"\xff\xfe not mail at all".to_vec()]);
        for raw in &raws {
            let (parsed, tokens) = parse_one(raw, true);
            assert_eq!(parsed, parse(raw));
            assert_eq!(tokens, Some(homepost_spam::tokens(raw)));
            assert_eq!(parse_one(raw, false), (parse(raw), None));
        }
    }
}
