//! The Homepost side of `bench/spam/run`: trains a [`MemoryModel`] on one
//! labelled corpus (or half of one) and classifies another, or tunes the
//! constants by cross-validation inside a training corpus only.
//!
//! ```text
//! spam_bench test <dir> <labels> <verdicts out> [--option value]...
//! spam_bench cross <train dir> <train labels> <test dir> <test labels> <verdicts out> [--option value]...
//! spam_bench overlap <train dir> <train labels> <test dir> <test labels>
//! spam_bench tune <dir> <labels> [<dir> <labels>]... [--whole false,true] [--folds K] [--seeds N] [--group recipient] [--option v1,v2,...]...
//! spam_bench explain <dir> <labels> <name> [--option value]...
//! spam_bench why <train dir> <train labels> <message file> [--option value]...
//! ```
//!
//! A corpus is a directory of messages and a label file in CSDMC2010's format
//! (`1 name` is ham, `0 name` spam). `test` uses the split of the CSDMC2010
//! README's bogofilter baseline: the odd-numbered files in 1-based order
//! (`TRAIN_00000`, `TRAIN_00002`, ...) train, the even-numbered ones
//! (`TRAIN_00001`, `TRAIN_00003`, ...) test; `tune` and `explain` read only that
//! training half, or with `--whole true` the whole corpus (for a cross-corpus
//! test, where the other corpus is the test). `cross` trains on all of one
//! corpus and classifies all of the other; `overlap` names the test messages
//! that are also in the training corpus. Options set [`Config`] fields:
//! `--strength`, `--unknown-prob`, `--min-distance`, `--max-clues`,
//! `--max-html-clues`, `--ham-cutoff`, `--spam-cutoff`, `--min-training`; for
//! `tune` each may list values, and every combination is tried.
//! `--drop-prefixes to:,cc:` leaves out the tokens that start so, in any mode.

use std::collections::{BTreeSet, HashSet};
use std::error::Error;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Instant;
use std::{env, fs};

use homepost_spam::{Class, Config, MemoryModel, SpamFilter, Verdict, tokens, train_delta};
use mail_parser::MessageParser;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// One labelled corpus file.
struct Sample {
    path: PathBuf,
    name: String,
    class: Class,
    /// The last number in its name: TRAIN_00042.eml is 42.
    number: u64,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("spam_bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    let usage = "usage: spam_bench test <dir> <labels> <verdicts out> [--option value]...\n\
        \x20      spam_bench cross <train dir> <train labels> <test dir> <test labels> <verdicts out> [--option value]...\n\
        \x20      spam_bench overlap <train dir> <train labels> <test dir> <test labels>\n\
        \x20      spam_bench tune <dir> <labels> [<dir> <labels>]... [--whole true,...] [--folds K] [--seeds N] [--group recipient] [--option v1,v2...]...\n\
        \x20      spam_bench explain <dir> <labels> <name> [--whole true] [--option value]...\n\
        \x20      spam_bench why <train dir> <train labels> <message file> [--option value]...";
    let (mode, rest) = args.split_first().ok_or(usage)?;
    // Positional arguments, then `--option value` pairs.
    let split = rest
        .iter()
        .position(|a| a.starts_with("--"))
        .unwrap_or(rest.len());
    let (positional, options) = rest.split_at(split);
    let options = parse_options(options)?;
    let single = || -> Result<Config> {
        match options.grid.as_slice() {
            [config] => Ok(config.clone()),
            _ => Err("only tune takes lists of values".into()),
        }
    };
    let tokenizer = &options.tokenizer;
    match (mode.as_str(), positional) {
        ("test", [dir, labels, out]) => test(
            Path::new(dir),
            Path::new(labels),
            Path::new(out),
            single()?,
            tokenizer,
        ),
        ("cross", [train_dir, train_labels, test_dir, test_labels, out]) => {
            let train = samples(Path::new(train_dir), Path::new(train_labels))?;
            let test = samples(Path::new(test_dir), Path::new(test_labels))?;
            cross(&train, &test, Path::new(out), single()?, tokenizer)
        }
        ("overlap", [train_dir, train_labels, test_dir, test_labels]) => {
            let train = samples(Path::new(train_dir), Path::new(train_labels))?;
            let test = samples(Path::new(test_dir), Path::new(test_labels))?;
            overlap(&train, &test)
        }
        ("why", [train_dir, train_labels, file]) => {
            let train = samples(Path::new(train_dir), Path::new(train_labels))?;
            why(&train, Path::new(file), single()?, tokenizer)
        }
        ("tune", corpora) if !corpora.is_empty() && corpora.len() % 2 == 0 => {
            let corpora: Vec<(PathBuf, PathBuf)> = corpora
                .chunks(2)
                .map(|pair| (PathBuf::from(&pair[0]), PathBuf::from(&pair[1])))
                .collect();
            tune(&corpora, &options.grid, &options.tune, tokenizer)
        }
        ("explain", [dir, labels, name]) => explain(
            Path::new(dir),
            Path::new(labels),
            name,
            single()?,
            options.tune.whole.first().copied().unwrap_or(false),
            tokenizer,
        ),
        _ => Err(usage.into()),
    }
}

/// The library's tokenizer, less the tokens that start with any of `drop`
/// (`--drop-prefixes to:,cc:`): to measure what a family of tokens is worth
/// before changing the tokenizer itself.
struct Tokenizer {
    drop: Vec<String>,
}

impl Tokenizer {
    fn tokens(&self, raw: &[u8]) -> BTreeSet<String> {
        let mut toks = tokens(raw);
        if !self.drop.is_empty() {
            toks.retain(|t| !self.drop.iter().any(|p| t.starts_with(p.as_str())));
        }
        toks
    }

    fn read(&self, path: &Path) -> Result<BTreeSet<String>> {
        Ok(self.tokens(&fs::read(path)?))
    }
}

/// Prints the clues of one training-half message (or with `whole`, one
/// message of the corpus), scored by a model trained on the rest of it.
fn explain(
    dir: &Path,
    labels: &Path,
    name: &str,
    config: Config,
    whole: bool,
    tokenizer: &Tokenizer,
) -> Result<()> {
    let filter = SpamFilter::new(config)?;
    let mut model = MemoryModel::new();
    let mut target = None;
    for sample in samples(dir, labels)?
        .iter()
        .filter(|s| whole || is_training(s))
    {
        let toks = tokenizer.read(&sample.path)?;
        if sample.name == name {
            target = Some(toks);
        } else {
            model.apply(&train_delta(toks, sample.class));
        }
    }
    let toks = target.ok_or("no such message in the training set")?;
    print_clues(&filter, &model, &toks);
    Ok(())
}

/// Prints the clues of any message file, scored by a model trained on the
/// whole of a corpus: why a cross-corpus test message was judged as it was.
fn why(train: &[Sample], file: &Path, config: Config, tokenizer: &Tokenizer) -> Result<()> {
    let filter = SpamFilter::new(config)?;
    let mut model = MemoryModel::new();
    for sample in train {
        model.apply(&train_delta(tokenizer.read(&sample.path)?, sample.class));
    }
    print_clues(&filter, &model, &tokenizer.read(file)?);
    Ok(())
}

fn print_clues(filter: &SpamFilter, model: &MemoryModel, toks: &BTreeSet<String>) {
    println!(
        "{:?} from {} tokens",
        filter.classify(model, toks),
        toks.len()
    );
    for clue in filter.clues(model, toks) {
        println!(
            "  {:.4} {:>5} {:>5} {}",
            clue.probability, clue.spam, clue.ham, clue.token
        );
    }
}

/// What the options say.
struct Options {
    /// Every combination of the values given for [`Config`] fields
    /// (`--strength 0.1,0.2 --max-clues 30,150` is four configs), the first
    /// values first; one config unless a list is given.
    grid: Vec<Config>,
    tune: TuneOptions,
    tokenizer: Tokenizer,
}

/// Sets the [`Config`] field an option names; false if it names none.
fn set_field(config: &mut Config, key: &str, value: &str) -> Result<bool> {
    match key {
        "--strength" => config.strength = value.parse()?,
        "--unknown-prob" => config.unknown_prob = value.parse()?,
        "--min-distance" => config.min_distance = value.parse()?,
        "--max-clues" => config.max_clues = value.parse()?,
        "--max-html-clues" => config.max_html_clues = value.parse()?,
        "--ham-cutoff" => config.ham_cutoff = value.parse()?,
        "--spam-cutoff" => config.spam_cutoff = value.parse()?,
        "--min-training" => config.min_training = value.parse()?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Reads `--option value` pairs.
fn parse_options(options: &[String]) -> Result<Options> {
    let mut grid = vec![Config::default()];
    let mut tune = TuneOptions {
        folds: 5,
        seeds: 3,
        whole: vec![false],
        group: Grouping::Message,
    };
    let mut tokenizer = Tokenizer { drop: Vec::new() };
    for pair in options.chunks(2) {
        let [key, value] = pair else {
            return Err(format!("option {} needs a value", pair[0]).into());
        };
        let list = || value.split(',').map(str::trim);
        match key.as_str() {
            "--folds" => tune.folds = value.parse::<usize>()?.max(2),
            "--seeds" => tune.seeds = value.parse::<u64>()?.max(1),
            "--whole" => {
                tune.whole = list()
                    .map(str::parse)
                    .collect::<std::result::Result<_, _>>()?;
            }
            "--group" => {
                tune.group = match value.as_str() {
                    "message" => Grouping::Message,
                    "recipient" => Grouping::Recipient,
                    _ => return Err(format!("--group {value}: message or recipient").into()),
                }
            }
            "--drop-prefixes" => tokenizer.drop = list().map(str::to_owned).collect(),
            _ => {
                let mut next = Vec::new();
                for config in &grid {
                    for v in list() {
                        let mut config = config.clone();
                        if !set_field(&mut config, key, v)? {
                            return Err(format!("unknown option {key}").into());
                        }
                        next.push(config);
                    }
                }
                grid = next;
            }
        }
    }
    for config in &grid {
        config.validate()?;
    }
    Ok(Options {
        grid,
        tune,
        tokenizer,
    })
}

/// The labelled files, in label-file order.
fn samples(dir: &Path, labels: &Path) -> Result<Vec<Sample>> {
    let mut samples = Vec::new();
    for line in fs::read_to_string(labels)?.lines() {
        let Some((label, name)) = line.trim().split_once(' ') else {
            continue;
        };
        let class = match label {
            "0" => Class::Spam,
            "1" => Class::Ham,
            _ => return Err(format!("bad label line: {line}").into()),
        };
        // The last run of digits: TRAIN_00042.eml and spam-2.00042.eml are 42.
        let digits: String = name
            .chars()
            .rev()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        let number = digits.chars().rev().collect::<String>().parse()?;
        samples.push(Sample {
            path: dir.join(name),
            name: name.to_owned(),
            class,
            number,
        });
    }
    Ok(samples)
}

/// Training half: the 1st, 3rd, 5th... file, i.e. even numbers from 0.
fn is_training(sample: &Sample) -> bool {
    sample.number.is_multiple_of(2)
}

fn test(
    dir: &Path,
    labels: &Path,
    out: &Path,
    config: Config,
    tokenizer: &Tokenizer,
) -> Result<()> {
    let filter = SpamFilter::new(config)?;
    let all = samples(dir, labels)?;
    let (train, test): (Vec<&Sample>, Vec<&Sample>) = all.iter().partition(|s| is_training(s));

    let start = Instant::now();
    let mut model = MemoryModel::new();
    for sample in &train {
        let raw = fs::read(&sample.path)?;
        model.apply(&train_delta(tokenizer.tokens(&raw), sample.class));
    }
    let train_seconds = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut lines = String::new();
    for sample in &test {
        let raw = fs::read(&sample.path)?;
        let score = filter.classify(&model, &tokenizer.tokens(&raw));
        lines.push_str(&format!(
            "{} {} {} {:.6}\n",
            sample.name,
            label(sample.class),
            verdict_letter(score.verdict),
            score.spamicity
        ));
    }
    let classify_seconds = start.elapsed().as_secs_f64();
    fs::write(out, lines)?;
    println!(
        "train_messages={} train_seconds={train_seconds:.4} classify_messages={} classify_seconds={classify_seconds:.4} tokens_known={}",
        train.len(),
        test.len(),
        model.len()
    );
    Ok(())
}

/// Trains on all of `train`, classifies all of `test`, and writes one line per
/// test message: name, label, verdict letter, spamicity.
fn cross(
    train: &[Sample],
    test: &[Sample],
    out: &Path,
    config: Config,
    tokenizer: &Tokenizer,
) -> Result<()> {
    let filter = SpamFilter::new(config)?;
    let start = Instant::now();
    let mut model = MemoryModel::new();
    for sample in train {
        model.apply(&train_delta(tokenizer.read(&sample.path)?, sample.class));
    }
    let train_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut lines = String::new();
    for sample in test {
        let score = filter.classify(&model, &tokenizer.read(&sample.path)?);
        lines.push_str(&format!(
            "{} {} {} {:.6}\n",
            sample.name,
            label(sample.class),
            verdict_letter(score.verdict),
            score.spamicity
        ));
    }
    let classify_seconds = start.elapsed().as_secs_f64();
    fs::write(out, lines)?;
    println!(
        "train_messages={} train_seconds={train_seconds:.4} classify_messages={} classify_seconds={classify_seconds:.4} tokens_known={}",
        train.len(),
        test.len(),
        model.len()
    );
    Ok(())
}

/// What makes two corpus files the same message: its Message-ID, and (apart)
/// a hash of its body with line ends normalised. Corpora copy messages from one
/// another with header fields added (CSDMC2010 holds over 2,000 of the
/// SpamAssassin corpus's), so the whole file cannot be compared.
fn identity(raw: &[u8]) -> (Option<String>, u64) {
    let message_id = MessageParser::default()
        .parse_headers(raw)
        .and_then(|m| m.message_id().map(|id| id.trim().to_lowercase()))
        .filter(|id| !id.is_empty());
    let text: Vec<u8> = raw.iter().copied().filter(|&b| b != b'\r').collect();
    let body = text
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(&text[..0], |at| &text[at + 2..]);
    let mut hasher = DefaultHasher::new();
    body.trim_ascii().hash(&mut hasher);
    (message_id, hasher.finish())
}

/// Prints the name of every `test` message that is also in `train`: the same
/// Message-ID, or the same body.
fn overlap(train: &[Sample], test: &[Sample]) -> Result<()> {
    let (mut ids, mut bodies) = (HashSet::new(), HashSet::new());
    for sample in train {
        let (id, body) = identity(&fs::read(&sample.path)?);
        ids.extend(id);
        bodies.insert(body);
    }
    for sample in test {
        let (id, body) = identity(&fs::read(&sample.path)?);
        if id.is_some_and(|id| ids.contains(&id)) || bodies.contains(&body) {
            println!("{}", sample.name);
        }
    }
    Ok(())
}

fn label(class: Class) -> &'static str {
    match class {
        Class::Spam => "spam",
        Class::Ham => "ham",
    }
}

/// bogofilter's letters: S, H, U.
fn verdict_letter(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Spam => "S",
        Verdict::Ham => "H",
        Verdict::Unsure => "U",
    }
}

/// Options of `tune` besides the grid of configs.
struct TuneOptions {
    folds: usize,
    seeds: u64,
    /// Per corpus (the last value repeats): use the whole corpus, not its
    /// odd-numbered training half.
    whole: Vec<bool>,
    /// How messages are put in folds.
    group: Grouping,
}

/// How cross-validation puts messages in folds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grouping {
    /// Each message at random.
    Message,
    /// All messages to one recipient domain (the registrable part of the
    /// first `To` address) in the same fold: the held-out mail was received
    /// by someone the model never saw, as when one corpus is tested on a
    /// model trained on another collector's mail.
    Recipient,
}

/// The fold of training message (or group) `i` under `seed`: a fixed
/// pseudo-random assignment, so repeated cross-validation sees different
/// partitions.
fn fold_of(i: usize, seed: u64, folds: usize) -> usize {
    let h = (i as u64 + 1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(seed.wrapping_mul(0xD1B5_4A32_D192_ED03));
    ((h >> 29) % folds as u64) as usize
}

/// The registrable part (last two labels) of the domain of a message's first
/// `To` address; empty when there is none.
fn recipient_domain(raw: &[u8]) -> String {
    let domain = MessageParser::default()
        .parse_headers(raw)
        .and_then(|m| {
            m.to()
                .and_then(|to| to.first())
                .and_then(|a| a.address())
                .and_then(|a| a.rsplit_once('@'))
                .map(|(_, d)| d.trim_end_matches('>').to_lowercase())
        })
        .unwrap_or_default();
    let labels: Vec<&str> = domain.split('.').collect();
    labels[labels.len().saturating_sub(2)..].join(".")
}

/// A cross-validated message: its class, spamicity and index.
type Scored = (Class, f64, usize);

/// How a set of scores fares against a pair of cutoffs. Ordered as the
/// cutoffs are chosen: fewest false positives, then false negatives, then
/// unsure verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
struct Outcome {
    false_positives: usize,
    false_negatives: usize,
    unsure: usize,
    ham_unsure: usize,
}

fn outcome(scored: &[Scored], ham_cutoff: f64, spam_cutoff: f64) -> Outcome {
    let mut o = Outcome::default();
    for &(class, s, _) in scored {
        match class {
            Class::Ham if s >= spam_cutoff => o.false_positives += 1,
            Class::Spam if s < ham_cutoff => o.false_negatives += 1,
            _ if s >= ham_cutoff && s < spam_cutoff => {
                o.unsure += 1;
                o.ham_unsure += usize::from(class == Class::Ham);
            }
            _ => {}
        }
    }
    o
}

/// Spam cutoffs the rule picks from: 0.9, 0.95, 0.99, 0.995, ... 0.999999. A
/// ham still called spam at the top rung is beyond any cutoff's help (inside
/// SpamAssassin `hard-ham-1.00203` scores 1.0 to six places); the rule does
/// not chase it.
const SPAM_LADDER: [f64; 11] = [
    0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 0.99995, 0.99999, 0.999995, 0.999999,
];
/// Ham cutoffs the rule picks from.
const HAM_LADDER: [f64; 11] = [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45];
/// Largest share of cross-validated spam the ham cutoff may let through as
/// ham: 0.3%, bogofilter's in the CSDMC2010 README's baseline (2 of 672).
const MAX_MISSED_SPAM: f64 = 0.003;

/// The cutoffs the rule stated in `bench/spam/README.md` takes from one
/// corpus's cross-validated scores. Spam: the smallest rung of
/// [`SPAM_LADDER`] above which raising the cutoff calls no fewer hams spam,
/// then ten times closer to 1 for a margin (0.999 -> 0.9999). Ham: the
/// largest rung of [`HAM_LADDER`] that lets at most [`MAX_MISSED_SPAM`] of
/// the spam through.
fn rule_cutoffs(scored: &[Scored]) -> (f64, f64) {
    let fp = |c: f64| outcome(scored, 0.0, c).false_positives;
    let fewest = SPAM_LADDER.iter().map(|&c| fp(c)).min().unwrap_or(0);
    let first = SPAM_LADDER
        .iter()
        .copied()
        .find(|&c| fp(c) == fewest)
        .unwrap_or(0.99);
    let spam_cutoff = 1.0 - (1.0 - first) / 10.0;
    let spam = scored.iter().filter(|s| s.0 == Class::Spam).count();
    let ham_cutoff = HAM_LADDER
        .iter()
        .copied()
        .rfind(|&h| {
            outcome(scored, h, spam_cutoff).false_negatives as f64 <= MAX_MISSED_SPAM * spam as f64
        })
        .unwrap_or(HAM_LADDER[0]);
    (ham_cutoff, spam_cutoff)
}

/// One corpus read for tuning.
struct TuneCorpus {
    name: String,
    messages: Vec<(Class, BTreeSet<String>)>,
    names: Vec<String>,
    /// The fold key of each message: its index, or its recipient group's.
    keys: Vec<usize>,
}

/// Cross-validates inside one or more training corpora (each whole or its
/// odd-numbered training half; no test half is read): each fold is
/// classified by a model trained on the other folds of the same corpus,
/// repeated over `seeds` partitions, for every config of `grid`. For each
/// config it takes the cutoffs of [`rule_cutoffs`] per corpus and the most
/// cautious of them (highest spam cutoff, lowest ham cutoff), and prints the
/// outcome there per corpus; configs are ranked by false positives, then by
/// the sum over corpora of (missed spam + unsure) / messages. Then the base
/// config's outcome at every ham cutoff, and its mistakes.
fn tune(
    corpora: &[(PathBuf, PathBuf)],
    grid: &[Config],
    options: &TuneOptions,
    tokenizer: &Tokenizer,
) -> Result<()> {
    let TuneOptions {
        folds,
        seeds,
        whole,
        group,
    } = options;
    let mut read = Vec::new();
    for (k, (dir, labels)) in corpora.iter().enumerate() {
        let whole = whole.get(k).or(whole.last()).copied().unwrap_or(false);
        let all = samples(dir, labels)?;
        let chosen: Vec<&Sample> = all.iter().filter(|s| whole || is_training(s)).collect();
        let mut messages = Vec::new();
        let mut keys = Vec::new();
        let mut groups = std::collections::BTreeMap::new();
        for (i, sample) in chosen.iter().enumerate() {
            let raw = fs::read(&sample.path)?;
            messages.push((sample.class, tokenizer.tokens(&raw)));
            keys.push(match group {
                Grouping::Message => i,
                Grouping::Recipient => {
                    let next = groups.len();
                    *groups.entry(recipient_domain(&raw)).or_insert(next)
                }
            });
        }
        read.push(TuneCorpus {
            name: format!(
                "{}{}",
                dir.display(),
                if whole { "" } else { " (training half)" }
            ),
            names: chosen.iter().map(|s| s.name.clone()).collect(),
            messages,
            keys,
        });
    }

    // scores[k][g]: every message of corpus k scored under grid[g], once per seed.
    let mut scores: Vec<Vec<Vec<Scored>>> = Vec::new();
    let filters: Vec<SpamFilter> = grid
        .iter()
        .map(|c| SpamFilter::new(c.clone()))
        .collect::<std::result::Result<_, _>>()?;
    for corpus in &read {
        let mut per_config: Vec<Vec<Scored>> = vec![Vec::new(); grid.len()];
        for seed in 0..*seeds {
            for fold in 0..*folds {
                let held_out = |i: usize| fold_of(corpus.keys[i], seed, *folds) == fold;
                let mut model = MemoryModel::new();
                for (i, (class, toks)) in corpus.messages.iter().enumerate() {
                    if !held_out(i) {
                        model.apply(&train_delta(toks, *class));
                    }
                }
                for (g, filter) in filters.iter().enumerate() {
                    for (i, (class, toks)) in corpus.messages.iter().enumerate() {
                        if held_out(i) {
                            per_config[g].push((
                                *class,
                                filter.classify(&model, toks).spamicity,
                                i,
                            ));
                        }
                    }
                }
            }
        }
        scores.push(per_config);
    }

    println!(
        "{folds}-fold cross-validation ({} folds), {seeds} partitions, counts summed",
        if *group == Grouping::Recipient {
            "recipient-domain"
        } else {
            "random"
        }
    );
    for (k, corpus) in read.iter().enumerate() {
        println!(
            "corpus {k}: {} ({} messages)",
            corpus.name,
            corpus.messages.len()
        );
    }
    let describe = |c: &Config| {
        format!(
            "s {:<5} x {:<4} d {:<5} clues {:<3} html {:<2}",
            c.strength, c.unknown_prob, c.min_distance, c.max_clues, c.max_html_clues
        )
    };
    // (false positives, cost, row) per config.
    let mut rows: Vec<(usize, f64, String)> = Vec::new();
    for (g, config) in grid.iter().enumerate() {
        let picks: Vec<(f64, f64)> = scores.iter().map(|s| rule_cutoffs(&s[g])).collect();
        let ham_cutoff = picks.iter().map(|p| p.0).fold(1.0, f64::min);
        let spam_cutoff = picks.iter().map(|p| p.1).fold(0.0, f64::max);
        let mut row = format!("{} | {ham_cutoff:<4}-{spam_cutoff:<9} |", describe(config));
        let (mut fp, mut cost) = (0, 0.0);
        for (k, s) in scores.iter().enumerate() {
            let o = outcome(&s[g], ham_cutoff, spam_cutoff);
            fp += o.false_positives;
            cost += (o.false_negatives + o.unsure) as f64 / s[g].len() as f64;
            row.push_str(&format!(
                " {k}: fp {:>2} fn {:>3} uns {:>4} (ham {:>3}) own {}-{} |",
                o.false_positives,
                o.false_negatives,
                o.unsure,
                o.ham_unsure,
                picks[k].0,
                picks[k].1
            ));
        }
        rows.push((fp, cost, format!("{row} cost {cost:.4}")));
    }
    println!("config | rule's cutoffs | per corpus at them (own: that corpus's rule) | cost");
    println!("base {}", rows[0].2);
    let mut ranked: Vec<&(usize, f64, String)> = rows.iter().collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    for (_, _, row) in ranked.iter().take(20) {
        println!("     {row}");
    }

    let base = &grid[0];
    for (k, s) in scores.iter().enumerate() {
        let spam_cutoff = rule_cutoffs(&s[0]).1;
        print!("base, corpus {k}, spam cutoff {spam_cutoff}, ham cutoff: fn/unsure");
        for h in HAM_LADDER {
            let o = outcome(&s[0], h, spam_cutoff);
            print!(" | {h}: {}/{}", o.false_negatives, o.unsure);
        }
        println!();
        print!("base, corpus {k}, fp at spam cutoff");
        for c in SPAM_LADDER {
            print!(" | {c}: {}", outcome(&s[0], 0.0, c).false_positives);
        }
        println!();
    }
    println!(
        "hams of the base config at {} or more, and spams below {}:",
        base.ham_cutoff, base.ham_cutoff
    );
    for (k, s) in scores.iter().enumerate() {
        let mut listed: Vec<&Scored> = s[0]
            .iter()
            .filter(|(class, score, _)| (*class == Class::Ham) == (*score >= base.ham_cutoff))
            .collect();
        listed.sort_by(|a, b| a.1.total_cmp(&b.1));
        for (class, score, i) in listed {
            println!("  {k} {} {} {score:.6}", read[k].names[*i], label(*class));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(hams: &[f64], spams: &[f64]) -> Vec<Scored> {
        let ham = hams.iter().map(|&s| (Class::Ham, s, 0));
        let spam = spams.iter().map(|&s| (Class::Spam, s, 0));
        ham.chain(spam).collect()
    }

    #[test]
    fn rule_takes_the_first_rung_that_saves_every_ham_it_can_then_a_nine_more() {
        // Hams at 0.992 and at 1.0 (beyond help): 0.995 is the first rung
        // with the fewest false positives; the margin makes it 0.9995.
        let spams: Vec<f64> = (0..1000)
            .map(|i| if i < 3 { 0.1 } else { 0.9999 })
            .collect();
        let (ham_cutoff, spam_cutoff) = rule_cutoffs(&scored(&[0.2, 0.992, 1.0], &spams));
        assert!((spam_cutoff - 0.9995).abs() < 1e-12, "{spam_cutoff}");
        // Three of 1,000 spams at 0.1 may pass (0.3%); a fourth at 0.1 may not.
        assert_eq!(ham_cutoff, 0.45);
        let mut spams = spams;
        spams[3] = 0.1;
        let (ham_cutoff, _) = rule_cutoffs(&scored(&[0.2, 0.992, 1.0], &spams));
        assert_eq!(ham_cutoff, 0.1);
    }

    #[test]
    fn recipient_domain_is_the_registrable_part() {
        let raw = b"To: Bob <bob@mail.Lists.Example.org>\r\nSubject: x\r\n\r\nhi\r\n";
        assert_eq!(recipient_domain(raw), "example.org");
        assert_eq!(recipient_domain(b"Subject: x\r\n\r\nhi\r\n"), "");
    }
}
