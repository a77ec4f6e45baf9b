//! `homepost check`: reads the whole store and compares the index with it,
//! and says what is damaged (by message id, never by subject) and what to do.

use anyhow::{Result, bail};
use homepost_core::library::{CheckReport, Library};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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
    }
    if !report.is_clean() {
        bail!("the check found damage (above)");
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
    match r.indexed {
        Some(n) if n == r.messages => {}
        Some(n) => outln!(
            "index: it holds {n} entries for {} messages; `homepost reindex` rebuilds it from the store",
            r.messages
        ),
        None => outln!("index: not compared, as the store is damaged"),
    }
    if r.is_clean() {
        outln!(
            "checked {} messages: every page authenticated, the structure and references sound, \
every message's bytes as stored, the index complete",
            r.messages
        );
    } else if !s.pages.is_empty() || !s.structure.is_empty() || !s.damaged_messages.is_empty() {
        outln!(
            "Damaged data on the disk (a failing SD card?): copy the data directory while the \
box is stopped, then restore from a backup or fetch the damaged messages again from their account."
        );
    }
    Ok(())
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
