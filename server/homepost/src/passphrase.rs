//! Where passphrases come from: a file, the environment, or the terminal.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, Result, bail};
use homepost_vault::Passphrase;

use crate::cli::Cli;

fn from_file(path: &Path) -> Result<Passphrase> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the passphrase file {}", path.display()))?,
    );
    let first = text.lines().next().unwrap_or_default();
    Ok(Passphrase::new(first.to_string()))
}

fn from_env(var: &str) -> Option<Passphrase> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Passphrase::new)
}

fn prompt(label: &str) -> Result<Passphrase> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "no passphrase: set HOMEPOST_PASSPHRASE, pass --passphrase-file, or run on a terminal"
        );
    }
    let p =
        rpassword::prompt_password(format!("{label}: ")).context("cannot read the passphrase")?;
    Ok(Passphrase::new(p))
}

/// The passphrase of an existing vault.
pub fn current(cli: &Cli) -> Result<Passphrase> {
    if let Some(f) = &cli.passphrase_file {
        return from_file(f);
    }
    if let Some(p) = from_env("HOMEPOST_PASSPHRASE") {
        return Ok(p);
    }
    prompt("Passphrase")
}

/// A new passphrase: from `--new-passphrase-file` or `HOMEPOST_NEW_PASSPHRASE`;
/// for `init` also the current-passphrase sources; else asked twice on the terminal.
pub fn new_passphrase(cli: &Cli, label: &str) -> Result<Passphrase> {
    if let Some(f) = &cli.new_passphrase_file {
        return from_file(f);
    }
    if let Some(p) = from_env("HOMEPOST_NEW_PASSPHRASE") {
        return Ok(p);
    }
    if matches!(cli.command, crate::cli::Command::Init { .. }) {
        if let Some(f) = &cli.passphrase_file {
            return from_file(f);
        }
        if let Some(p) = from_env("HOMEPOST_PASSPHRASE") {
            return Ok(p);
        }
    }
    let first = prompt(label)?;
    if let Some(why) = homepost_vault::strength::refusal(first.expose(), &["homepost"]) {
        // On a terminal only: scripts and benchmarks choose their own.
        eprintln!("warning: {why}");
    }
    let again = prompt("Repeat it")?;
    if first != again {
        bail!("the two passphrases differ; nothing was changed");
    }
    Ok(first)
}
