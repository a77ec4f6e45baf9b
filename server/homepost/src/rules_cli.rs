//! `homepost saved` and `homepost rules`: saved searches, and filter rules
//! with Sieve in and out (docs/rules.md).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use homepost_core::library::Library;
use homepost_core::rules::{export_sieve, import_sieve};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// `homepost saved`.
#[derive(Debug, Subcommand)]
pub enum SavedCommand {
    /// List the saved searches with their unread and total counts (the default).
    List,
    /// Delete a saved search by name.
    Delete {
        /// Its name.
        name: String,
    },
}

/// `homepost rules`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules in the order they run (the default).
    List,
    /// Carry a Sieve script's rules over (added after the others), saying
    /// which lines could not be and why.
    Import {
        /// Only show what would be added.
        #[arg(long)]
        dry_run: bool,
        /// The Sieve script.
        file: PathBuf,
    },
    /// Print the rules as a Sieve script.
    Export,
    /// Run a rule over the mail already stored.
    Run {
        /// Change the mail without asking (the count is still printed).
        #[arg(long)]
        yes: bool,
        /// The rule's id (from `rules list`).
        id: i64,
    },
    /// Delete a rule.
    Delete {
        /// The rule's id.
        id: i64,
    },
}

impl RulesCommand {
    /// The file argument, to resolve against the client's working directory.
    pub fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        match self {
            RulesCommand::Import { file, .. } => vec![file],
            _ => Vec::new(),
        }
    }
}

/// `homepost search --save NAME QUERY`.
pub async fn save(lib: &Library, name: &str, query: &str) -> Result<()> {
    let saved = lib.save_search(name, query).await?;
    eprintln!(
        "saved the search {:?} ({} messages)",
        saved.name, saved.total
    );
    Ok(())
}

pub async fn saved(command: Option<&SavedCommand>, lib: &Library) -> Result<()> {
    match command.unwrap_or(&SavedCommand::List) {
        SavedCommand::List => {
            for s in lib.saved_searches().await? {
                outln!("{}\t{}/{}\t{}", s.name, s.unread, s.total, s.query);
                for w in &s.warnings {
                    outln!("\t! {w}");
                }
            }
        }
        SavedCommand::Delete { name } => {
            let Some(s) = lib
                .store()
                .saved_searches()
                .await?
                .into_iter()
                .find(|s| s.name.eq_ignore_ascii_case(name))
            else {
                bail!("there is no saved search named {name:?} (see `homepost saved`)");
            };
            lib.store().delete_saved_search(s.id).await?;
            outln!("deleted the saved search {:?}", s.name);
        }
    }
    Ok(())
}

pub async fn rules(command: Option<&RulesCommand>, lib: &mut Library) -> Result<()> {
    match command.unwrap_or(&RulesCommand::List) {
        RulesCommand::List => {
            for r in lib.rules().await? {
                let state = if r.enabled { "" } else { " (off)" };
                outln!(
                    "{}\t{}{state}\t{}\t{}",
                    r.id,
                    r.name,
                    r.query,
                    serde_json::to_string(&r.actions)?
                );
                for w in &r.warnings {
                    outln!("\t! {w}");
                }
            }
        }
        RulesCommand::Import { dry_run, file } => {
            let script = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let done = import_sieve(lib, &script, *dry_run).await?;
            let verb = if *dry_run { "would add" } else { "added" };
            outln!("{verb} {} rules", done.rules.len());
            for r in &done.rules {
                outln!("  {}\t{}", r.name, r.query);
            }
            for s in &done.skipped {
                outln!(
                    "line {}: not carried over: {} ({})",
                    s.line,
                    s.text,
                    s.reason
                );
            }
        }
        RulesCommand::Export => {
            let (script, not_exported) = export_sieve(lib).await?;
            outln!("{script}");
            for n in not_exported {
                eprintln!("not exported: {}: {}", n.rule, n.reason);
            }
        }
        RulesCommand::Run { yes, id } => {
            let count = lib.rule_matches(*id).await?;
            let name = lib.rule(*id).await?.name;
            if !yes {
                bail!(
                    "the rule {name:?} matches {count} stored messages: run it again with --yes to change them"
                );
            }
            let bar = if crate::console::stderr_is_terminal() {
                ProgressBar::new(count as u64)
            } else {
                ProgressBar::with_draw_target(Some(count as u64), ProgressDrawTarget::hidden())
            };
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} messages")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let changed = lib
                .run_rule(*id, |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                })
                .await?;
            bar.finish_and_clear();
            outln!("the rule {name:?} changed {changed} messages");
        }
        RulesCommand::Delete { id } => {
            lib.store().delete_rule(*id).await?;
            outln!("deleted rule {id}");
        }
    }
    Ok(())
}
