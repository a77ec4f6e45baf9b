//! `homepost check`, `repair`, and `trash`: what is damaged (by message id,
//! never by subject) and what repair does about it, and deleting for good.

use anyhow::{Result, bail};
use homepost_core::library::{CheckReport, Library, RepairReport, TRASH_DAYS, TRASH_DAYS_SETTING};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use clap::Subcommand;

/// `homepost trash`.
#[derive(Debug, Subcommand)]
pub enum TrashCommand {
    /// Delete for good what is in the trash (all of it, or what has been there
    /// longer than some days).
    Empty {
        /// Only what was put in the trash more than this many days ago.
        #[arg(long, value_name = "DAYS")]
        older_than: Option<u32>,
    },
    /// Show, or set, the days mail stays in the trash before it is deleted for
    /// good by itself (0: never).
    Days {
        /// The new number of days.
        days: Option<u32>,
    },
}

/// Lines of one kind printed at most; the rest are counted.
const SHOWN: usize = 20;

pub async fn check(lib: &mut Library, json: bool) -> Result<()> {
    let bar = if crate::console::stderr_is_terminal() {
        ProgressBar::new(0)
    } else {
        ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden())
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} messages checked ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = lib
        .check(|done, all| {
            bar.set_length(all);
            bar.set_position(done);
        })
        .await?;
    bar.finish_and_clear();
    if json {
        crate::output::print_json(&serde_json::to_value(&report)?)?;
    } else {
        print(&report)?;
        if !report.is_clean() {
            print_plan(&report)?;
        }
    }
    if !report.is_clean() {
        bail!("the check found damage (above)");
    }
    Ok(())
}

pub async fn repair(lib: &mut Library, json: bool) -> Result<()> {
    let bar = if crate::console::stderr_is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
    };
    let timeouts = homepost_transport::Timeouts::default();
    let report = lib
        .repair(timeouts, |step| bar.set_message(step.to_owned()))
        .await?;
    bar.finish_and_clear();
    if json {
        crate::output::print_json(&serde_json::to_value(&report)?)?;
    } else {
        print_repair(&report)?;
    }
    if !report.after.is_clean() {
        bail!("some damage is left (above)");
    }
    Ok(())
}

pub async fn trash(command: &TrashCommand, lib: &mut Library) -> Result<()> {
    match command {
        TrashCommand::Empty { older_than } => {
            let before = match older_than {
                Some(days) => homepost_core::unix_now() - i64::from(*days) * 86_400,
                None => i64::MAX,
            };
            let n = lib.empty_trash_before(before).await?;
            outln!("deleted {n} messages for good");
        }
        TrashCommand::Days { days: Some(days) } => {
            lib.store()
                .set_setting(TRASH_DAYS_SETTING, &days.to_string())
                .await?;
            match days {
                0 => outln!("mail stays in the trash until it is emptied"),
                d => outln!("mail in the trash is deleted for good after {d} days"),
            }
        }
        TrashCommand::Days { days: None } => {
            let days = lib
                .store()
                .setting(TRASH_DAYS_SETTING)
                .await?
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(TRASH_DAYS);
            outln!("{days}");
        }
    }
    Ok(())
}

fn print(r: &CheckReport) -> Result<()> {
    let s = &r.store;
    list("page authentication failed", &s.pages)?;
    list("structure", &s.structure)?;
    list("reference to nothing", &s.references)?;
    let damaged: Vec<String> = s
        .damaged_messages
        .iter()
        .map(|id| format!("message {id}: its stored bytes are damaged"))
        .collect();
    list("damaged", &damaged)?;
    let unreadable: Vec<String> = s
        .unreadable_messages
        .iter()
        .map(|id| format!("message {id}: on a page that cannot be read"))
        .collect();
    list("lost", &unreadable)?;
    let i = &r.index;
    list("index file", &i.files)?;
    if let Some(e) = &i.update_failed {
        outln!("index: it could not be brought up to date: {e}");
    }
    if i.missing_count > 0 {
        outln!("index: {} messages are not in it", i.missing_count);
    }
    if i.ghost_count > 0 {
        outln!(
            "index: it holds {} entries for messages the store does not have",
            i.ghost_count
        );
    }
    if !i.duplicates.is_empty() {
        outln!("index: {} messages are in it twice", i.duplicates.len());
    }
    if let Some(v) = &r.vault {
        outln!("vault: {v}");
    }
    if !r.quarantined.is_empty() {
        outln!(
            "quarantine: {} messages whose bytes could not be recovered (`homepost repair` \
tries again)",
            r.quarantined.len()
        );
    }
    if r.is_clean() {
        outln!(
            "checked {} messages: every page authenticated, the structure and references sound, \
every message's bytes as stored, {} index files authenticated and the index complete, vault.json sound",
            r.messages,
            i.files_checked
        );
    }
    Ok(())
}

/// What `homepost repair` would do about each finding.
fn print_plan(r: &CheckReport) -> Result<()> {
    outln!("`homepost repair` would:");
    if r.vault.is_some() {
        outln!("- write vault.json again from the copy this box was unlocked with");
    }
    if !r.index.is_clean() {
        outln!("- mend the index, or rebuild it from the store");
    }
    if !r.store.damaged_messages.is_empty() {
        outln!(
            "- fetch the {} damaged messages again from their account, or read them from the \
backup; keep those it cannot recover in quarantine",
            r.store.damaged_messages.len()
        );
    }
    if !r.store.pages.is_empty() || !r.store.structure.is_empty() {
        outln!(
            "- nothing for the damaged pages of the store: stop the box, copy the data directory, \
and restore it from the backup (`homepost restore`); mail fetched since is fetched again"
        );
    }
    Ok(())
}

fn print_repair(r: &RepairReport) -> Result<()> {
    if r.vault_rewritten {
        outln!("vault.json: written again from the sound copy");
    }
    if r.index_rebuilt {
        outln!("index: rebuilt from the store");
    } else if r.ghosts_removed > 0 || r.reindexed > 0 {
        outln!(
            "index: {} entries of deleted messages removed, {} messages indexed",
            r.ghosts_removed,
            r.reindexed
        );
    }
    for id in &r.refetched {
        outln!("message {id}: fetched again from its account");
    }
    for id in &r.from_backup {
        outln!("message {id}: read back from the backup");
    }
    for q in r.quarantined.iter().take(SHOWN) {
        outln!("message {}: in quarantine: {}", q.message, q.reason);
    }
    if r.quarantined.len() > SHOWN {
        outln!(
            "{} more messages in quarantine",
            r.quarantined.len() - SHOWN
        );
    }
    if !r.unreadable.is_empty() {
        outln!(
            "{} messages are on pages of the store that cannot be read: restore the box from \
its backup (`homepost restore`) to get them back",
            r.unreadable.len()
        );
    }
    print(&r.after)
}

fn list(what: &str, items: &[String]) -> Result<()> {
    for item in items.iter().take(SHOWN) {
        outln!("{what}: {item}");
    }
    if items.len() > SHOWN {
        outln!("{what}: {} more", items.len() - SHOWN);
    }
    Ok(())
}
