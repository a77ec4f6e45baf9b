//! The Homepost side of `bench/spam/run`: trains a [`MemoryModel`] on one
//! labelled corpus (or half of one) and classifies another, or tunes the
//! constants by cross-validation inside a training corpus only.
//!
//! ```text
//! spam_bench test <dir> <labels> <verdicts out> [--option value]...
//! spam_bench cross <train dir> <train labels> <test dir> <test labels> <verdicts out> [--option value]...
//! spam_bench overlap <train dir> <train labels> <test dir> <test labels>
//! spam_bench tune <dir> <labels> [--whole true] [--folds K] [--seeds N] [--only-base true] [--option value]...
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
//! `--max-html-clues`, `--ham-cutoff`, `--spam-cutoff`, `--min-training`.

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
        \x20      spam_bench tune <dir> <labels> [--whole true] [--folds K] [--seeds N] [--only-base true] [--option value]...\n\
        \x20      spam_bench explain <dir> <labels> <name> [--whole true] [--option value]...\n\
        \x20      spam_bench why <train dir> <train labels> <message file> [--option value]...";
    let (mode, rest) = args.split_first().ok_or(usage)?;
    match mode.as_str() {
        "test" => {
            let [dir, labels, out, options @ ..] = rest else {
                return Err(usage.into());
            };
            let (config, _) = parse_options(options)?;
            test(Path::new(dir), Path::new(labels), Path::new(out), config)
        }
        "cross" => {
            let [
                train_dir,
                train_labels,
                test_dir,
                test_labels,
                out,
                options @ ..,
            ] = rest
            else {
                return Err(usage.into());
            };
            let (config, _) = parse_options(options)?;
            let train = samples(Path::new(train_dir), Path::new(train_labels))?;
            let test = samples(Path::new(test_dir), Path::new(test_labels))?;
            cross(&train, &test, Path::new(out), config)
        }
        "overlap" => {
            let [train_dir, train_labels, test_dir, test_labels] = rest else {
                return Err(usage.into());
            };
            let train = samples(Path::new(train_dir), Path::new(train_labels))?;
            let test = samples(Path::new(test_dir), Path::new(test_labels))?;
            overlap(&train, &test)
        }
        "why" => {
            let [train_dir, train_labels, file, options @ ..] = rest else {
                return Err(usage.into());
            };
            let (config, _) = parse_options(options)?;
            let train = samples(Path::new(train_dir), Path::new(train_labels))?;
            why(&train, Path::new(file), config)
        }
        "tune" => {
            let [dir, labels, options @ ..] = rest else {
                return Err(usage.into());
            };
            let (config, options) = parse_options(options)?;
            tune(Path::new(dir), Path::new(labels), config, options)
        }
        "explain" => {
            let [dir, labels, name, options @ ..] = rest else {
                return Err(usage.into());
            };
            let (config, options) = parse_options(options)?;
            explain(
                Path::new(dir),
                Path::new(labels),
                name,
                config,
                options.whole,
            )
        }
        _ => Err(usage.into()),
    }
}

/// Prints the clues of one training-half message (or with `whole`, one
/// message of the corpus), scored by a model trained on the rest of it.
fn explain(dir: &Path, labels: &Path, name: &str, config: Config, whole: bool) -> Result<()> {
    let filter = SpamFilter::new(config)?;
    let mut model = MemoryModel::new();
    let mut target = None;
    for sample in samples(dir, labels)?
        .iter()
        .filter(|s| whole || is_training(s))
    {
        let toks = tokens(&fs::read(&sample.path)?);
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
fn why(train: &[Sample], file: &Path, config: Config) -> Result<()> {
    let filter = SpamFilter::new(config)?;
    let mut model = MemoryModel::new();
    for sample in train {
        model.apply(&train_delta(tokens(&fs::read(&sample.path)?), sample.class));
    }
    print_clues(&filter, &model, &tokens(&fs::read(file)?));
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

/// Reads `--option value` pairs into a config and the options of `tune`.
fn parse_options(options: &[String]) -> Result<(Config, TuneOptions)> {
    let mut config = Config::default();
    let mut tune = TuneOptions {
        folds: 5,
        seeds: 3,
        only_base: false,
        whole: false,
    };
    for pair in options.chunks(2) {
        let [key, value] = pair else {
            return Err(format!("option {} needs a value", pair[0]).into());
        };
        match key.as_str() {
            "--strength" => config.strength = value.parse()?,
            "--unknown-prob" => config.unknown_prob = value.parse()?,
            "--min-distance" => config.min_distance = value.parse()?,
            "--max-clues" => config.max_clues = value.parse()?,
            "--max-html-clues" => config.max_html_clues = value.parse()?,
            "--ham-cutoff" => config.ham_cutoff = value.parse()?,
            "--spam-cutoff" => config.spam_cutoff = value.parse()?,
            "--min-training" => config.min_training = value.parse()?,
            "--folds" => tune.folds = value.parse::<usize>()?.max(2),
            "--seeds" => tune.seeds = value.parse::<u64>()?.max(1),
            "--only-base" => tune.only_base = value.parse()?,
            "--whole" => tune.whole = value.parse()?,
            _ => return Err(format!("unknown option {key}").into()),
        }
    }
    config.validate()?;
    Ok((config, tune))
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

fn test(dir: &Path, labels: &Path, out: &Path, config: Config) -> Result<()> {
    let filter = SpamFilter::new(config)?;
    let all = samples(dir, labels)?;
    let (train, test): (Vec<&Sample>, Vec<&Sample>) = all.iter().partition(|s| is_training(s));

    let start = Instant::now();
    let mut model = MemoryModel::new();
    for sample in &train {
        let raw = fs::read(&sample.path)?;
        model.apply(&train_delta(tokens(&raw), sample.class));
    }
    let train_seconds = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut lines = String::new();
    for sample in &test {
        let raw = fs::read(&sample.path)?;
        let score = filter.classify(&model, &tokens(&raw));
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
fn cross(train: &[Sample], test: &[Sample], out: &Path, config: Config) -> Result<()> {
    let filter = SpamFilter::new(config)?;
    let start = Instant::now();
    let mut model = MemoryModel::new();
    for sample in train {
        model.apply(&train_delta(tokens(&fs::read(&sample.path)?), sample.class));
    }
    let train_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut lines = String::new();
    for sample in test {
        let score = filter.classify(&model, &tokens(&fs::read(&sample.path)?));
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

/// Options of `tune` (and `explain`) besides the base config.
struct TuneOptions {
    folds: usize,
    seeds: u64,
    only_base: bool,
    /// Use the whole corpus, not its odd-numbered training half.
    whole: bool,
}

/// The fold of training message `i` under `seed`: a fixed pseudo-random
/// assignment, so repeated cross-validation sees different partitions.
fn fold_of(i: usize, seed: u64, folds: usize) -> usize {
    let h = (i as u64 + 1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(seed.wrapping_mul(0xD1B5_4A32_D192_ED03));
    ((h >> 29) % folds as u64) as usize
}

/// A cross-validated message: its class, spamicity and index.
type Scored = (Class, f64, usize);

/// How a set of scores fares against a pair of cutoffs. Ordered as the
/// cutoffs are chosen: fewest false positives, then false negatives, then
/// unsure verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Outcome {
    false_positives: usize,
    false_negatives: usize,
    unsure: usize,
}

fn outcome(scored: &[Scored], ham_cutoff: f64, spam_cutoff: f64) -> Outcome {
    let mut o = Outcome {
        false_positives: 0,
        false_negatives: 0,
        unsure: 0,
    };
    for &(class, s, _) in scored {
        match class {
            Class::Ham if s >= spam_cutoff => o.false_positives += 1,
            Class::Spam if s < ham_cutoff => o.false_negatives += 1,
            _ if s >= ham_cutoff && s < spam_cutoff => o.unsure += 1,
            _ => {}
        }
    }
    o
}

/// Cross-validates inside the training half: each fold is classified by a
/// model trained on the others, repeated over `seeds` partitions, for a grid
/// of constants around `base`. Prints, summed over the repetitions, each
/// config's outcome at several cutoff pairs and its errors at 0.5, then each
/// config's best cutoffs within an unsure budget of 8% (bogofilter's rate),
/// then the base config's mistakes and unsures. The test half is never read.
fn tune(dir: &Path, labels: &Path, base: Config, options: TuneOptions) -> Result<()> {
    let TuneOptions {
        folds,
        seeds,
        only_base,
        whole,
    } = options;
    let all = samples(dir, labels)?;
    let training: Vec<&Sample> = all.iter().filter(|s| whole || is_training(s)).collect();
    let train: Vec<(Class, BTreeSet<String>)> = training
        .iter()
        .map(|s| Ok((s.class, tokens(&fs::read(&s.path)?))))
        .collect::<Result<_>>()?;

    // grid[0] is `base` itself.
    let mut grid = vec![base.clone()];
    if !only_base {
        for strength in [0.1, 0.15, 0.2, 0.3] {
            for min_distance in [0.25, 0.3, 0.35, 0.4] {
                for max_clues in [30, 60, 150] {
                    grid.push(Config {
                        strength,
                        min_distance,
                        max_clues,
                        ..base.clone()
                    });
                }
            }
        }
    }
    // scores[g]: every training message scored under grid[g], once per seed.
    let mut scores: Vec<Vec<Scored>> = vec![Vec::new(); grid.len()];
    for seed in 0..seeds {
        for fold in 0..folds {
            let mut model = MemoryModel::new();
            for (i, (class, toks)) in train.iter().enumerate() {
                if fold_of(i, seed, folds) != fold {
                    model.apply(&train_delta(toks, *class));
                }
            }
            for (g, config) in grid.iter().enumerate() {
                let filter = SpamFilter::new(config.clone())?;
                for (i, (class, toks)) in train.iter().enumerate() {
                    if fold_of(i, seed, folds) == fold {
                        scores[g].push((*class, filter.classify(&model, toks).spamicity, i));
                    }
                }
            }
        }
    }
    let describe = |config: &Config| {
        format!(
            "{:>8} {:>8} {:>5}",
            config.strength, config.min_distance, config.max_clues
        )
    };

    let cutoffs = [
        (0.1, 0.9),
        (0.2, 0.9),
        (0.1, 0.95),
        (0.2, 0.95),
        (0.1, 0.99),
        (0.2, 0.99),
    ];
    println!("{folds}-fold cross-validation, {seeds} partitions, counts summed");
    print!("{:>8} {:>8} {:>5} |", "strength", "min_dist", "clues");
    for (h, s) in cutoffs {
        print!(" {h:.2}-{s:.2} fp/fn/uns |");
    }
    println!(" err@0.5");
    for (config, scored) in grid.iter().zip(&scores) {
        print!("{} |", describe(config));
        for (ham_cutoff, spam_cutoff) in cutoffs {
            let o = outcome(scored, ham_cutoff, spam_cutoff);
            print!(
                " {:>3}/{:>3}/{:>4}     |",
                o.false_positives, o.false_negatives, o.unsure
            );
        }
        let errors = scored
            .iter()
            .filter(|(c, s, _)| (*c == Class::Ham) == (*s >= 0.5))
            .count();
        println!(" {errors}");
    }

    let budget = scores[0].len() * 8 / 100;
    println!("best cutoffs with unsure <= {budget} (8%), by (fp, fn, unsure):");
    let mut best_rows: Vec<(Outcome, String)> = Vec::new();
    for (config, scored) in grid.iter().zip(&scores) {
        let mut best: Option<(Outcome, f64, f64)> = None;
        for ham_cutoff in [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4] {
            for spam_cutoff in [0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999] {
                let o = outcome(scored, ham_cutoff, spam_cutoff);
                if o.unsure <= budget && best.is_none_or(|(b, _, _)| o < b) {
                    best = Some((o, ham_cutoff, spam_cutoff));
                }
            }
        }
        if let Some((o, h, s)) = best {
            let row = format!(
                "{} | {h:.3}-{s:.3} fp {} fn {} unsure {}",
                describe(config),
                o.false_positives,
                o.false_negatives,
                o.unsure
            );
            best_rows.push((o, row));
        }
    }
    if let Some((_, row)) = best_rows.first() {
        println!("base: {row}");
    }
    best_rows.sort();
    for (_, row) in best_rows.iter().take(8) {
        println!("      {row}");
    }

    println!(
        "mistakes and unsures of the base config (cutoffs {}-{}):",
        base.ham_cutoff, base.spam_cutoff
    );
    let mut listed: Vec<&Scored> = scores[0]
        .iter()
        .filter(|(class, s, _)| match class {
            Class::Ham => *s >= base.ham_cutoff,
            Class::Spam => *s < base.spam_cutoff,
        })
        .collect();
    listed.sort_by(|a, b| a.1.total_cmp(&b.1));
    for (class, s, i) in listed {
        println!("  {} {} {s:.4}", training[*i].name, label(*class));
    }
    Ok(())
}
