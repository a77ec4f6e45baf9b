//! `homepost backup …` and `homepost restore` (docs/backup.md).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use homepost_backup::{
    AnyRemote, DirRemote, ImapRemote, Progress as RunProgress, Retention, Secret,
};
use homepost_core::backups::{self, BackupSettings, Target};
use homepost_core::library::Library;
use homepost_store::Endpoint;
use homepost_vault::{Passphrase, Vault};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use zeroize::Zeroizing;

use crate::cli::SecurityArg;
use crate::mail_cli::{host_port, password as password_of, security};

/// The environment variable with the backup server's password for `restore`.
pub const PASSWORD_ENV: &str = "HOMEPOST_BACKUP_PASSWORD";
/// The environment variable with a recovery key for `restore --recovery-key`.
pub const RECOVERY_ENV: &str = "HOMEPOST_RECOVERY_KEY";

/// What `homepost backup` does.
#[derive(clap::Subcommand, Debug)]
pub enum BackupCommand {
    /// Back up now (what changed since the last backup), then drop the
    /// snapshots the retention no longer keeps.
    Run,
    /// Choose where backups go and how often they run.
    Setup(SetupArgs),
    /// When the last backup ran, what it sent, when the next is due.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The snapshots in the backup, oldest first.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Download every pack and check every object (exits non-zero on damage).
    Verify {
        /// Check only this many packs, chosen at random (every snapshot's
        /// pieces are still checked).
        #[arg(long, value_name = "N")]
        sample: Option<usize>,
    },
    /// Drop the snapshots the retention no longer keeps, and what only they needed.
    Prune,
}

/// `homepost backup setup`.
#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    /// Keep backups in a folder of this account (`homepost account list`).
    #[arg(
        long,
        value_name = "ID",
        required_unless_present_any = ["dir", "imap"],
        conflicts_with_all = ["dir", "imap"]
    )]
    pub account: Option<i64>,
    /// Keep backups in an IMAP account used for nothing else, HOST:PORT (its
    /// password from HOMEPOST_BACKUP_PASSWORD or the terminal).
    #[arg(
        long,
        value_name = "HOST:PORT",
        conflicts_with = "dir",
        requires = "user"
    )]
    pub imap: Option<String>,
    /// That account's login.
    #[arg(long)]
    pub user: Option<String>,
    /// Protection of that connection.
    #[arg(long, value_enum, default_value = "tls")]
    pub security: SecurityArg,
    /// The folder for backups.
    #[arg(long, default_value = backups::DEFAULT_FOLDER)]
    pub folder: String,
    /// Keep backups in this directory (a disk attached to the box).
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// The largest message the server takes, in MiB.
    #[arg(long, default_value_t = 10)]
    pub message_limit_mib: u64,
    /// Hours between backups.
    #[arg(long, default_value_t = 24)]
    pub every_hours: u32,
    /// Daily snapshots kept.
    #[arg(long, default_value_t = 7)]
    pub keep_daily: u32,
    /// Weekly snapshots kept.
    #[arg(long, default_value_t = 4)]
    pub keep_weekly: u32,
    /// Monthly snapshots kept.
    #[arg(long, default_value_t = 12)]
    pub keep_monthly: u32,
}

/// `homepost restore`: a new box from a backup.
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The IMAP server holding the backup, HOST:PORT.
    #[arg(
        long,
        value_name = "HOST:PORT",
        required_unless_present = "from_dir",
        conflicts_with = "from_dir"
    )]
    pub imap: Option<String>,
    /// Protection of the IMAP connection.
    #[arg(long, value_enum, default_value = "tls")]
    pub security: SecurityArg,
    /// The IMAP user name (the password comes from HOMEPOST_BACKUP_PASSWORD or the terminal).
    #[arg(long, required_unless_present = "from_dir")]
    pub user: Option<String>,
    /// Trust the server's certificate with this SHA-256 fingerprint although it does not validate.
    #[arg(long, value_name = "SHA256")]
    pub pin_sha256: Option<String>,
    /// The folder holding the backup.
    #[arg(long, default_value = backups::DEFAULT_FOLDER)]
    pub folder: String,
    /// Restore from a directory instead.
    #[arg(long, value_name = "PATH")]
    pub from_dir: Option<PathBuf>,
    /// The snapshot to restore (`homepost backup list`) [default: the newest].
    #[arg(long)]
    pub snapshot: Option<String>,
    /// Open the backup with the recovery key (from HOMEPOST_RECOVERY_KEY or the
    /// terminal) instead of the passphrase; the box gets a new passphrase.
    #[arg(long)]
    pub recovery_key: bool,
}

fn bar(template: &str) -> ProgressBar {
    let bar = if crate::console::stderr_is_terminal() {
        ProgressBar::new(0)
    } else {
        ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden())
    };
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Runs `homepost backup …` on an open library's store.
pub async fn backup_command(
    command: Option<&BackupCommand>,
    store: &homepost_store::Store,
    access: &homepost_backup::VaultAccess,
) -> Result<()> {
    match command.unwrap_or(&BackupCommand::Run) {
        BackupCommand::Run => {
            if backups::settings(store).await?.target.is_none() {
                bail!(
                    "no place for backups yet: `homepost backup setup --account ID` (a folder \
of an IMAP account) or `--dir PATH` (a disk on the box)"
                );
            }
            let bar = bar("{bar:30} {pos}/{len} rows {msg} ({eta})");
            let summary = backups::run(store, access, &mut |p: RunProgress| {
                bar.set_length(p.total);
                bar.set_position(p.rows);
                bar.set_message(format!("{} KiB sent", p.sent / 1024));
            })
            .await?;
            bar.finish_and_clear();
            outln!(
                "backed up {} messages ({} MiB of store) as snapshot {}: {} new objects, {} KiB sent",
                summary.messages,
                summary.bytes >> 20,
                summary.snapshot,
                summary.new_objects,
                summary.sent / 1024
            );
            if let Some(key) = &summary.recovery_key {
                outln!("");
                outln!("Your recovery key (write it down, keep it away from the box):");
                outln!("");
                outln!("    {}", key.display().as_str());
                outln!("");
                if crate::console::stdout_is_terminal() {
                    outln!(
                        "With it and the backup account's login, a new box gets all your mail back \
even if the passphrase is forgotten. It is shown once."
                    );
                    homepost_backup::recovery_key_shown(store).await?;
                } else {
                    outln!(
                        "With it and the backup account's login, a new box gets all your mail back \
even if the passphrase is forgotten. Shown again (here or in the app) until it has been seen on a terminal."
                    );
                }
            }
        }
        BackupCommand::Setup(a) => {
            let mut password = None;
            let target = match (&a.account, &a.dir, &a.imap) {
                (Some(id), _, _) => Target::Account {
                    account: *id,
                    folder: a.folder.clone(),
                },
                (None, Some(dir), _) => Target::Directory {
                    path: std::path::absolute(dir)
                        .with_context(|| format!("cannot resolve {}", dir.display()))?,
                },
                (None, None, Some(server)) => {
                    let (host, port) = host_port(server, "IMAP")?;
                    password = Some(Zeroizing::new(password_of(PASSWORD_ENV, "backup account")?));
                    Target::Imap {
                        server: Endpoint {
                            host,
                            port,
                            security: security(a.security),
                            username: a.user.clone().context("name the backup account's --user")?,
                            pinned_sha256: None,
                        },
                        folder: a.folder.clone(),
                    }
                }
                (None, None, None) => bail!("name --account ID, --imap HOST:PORT or --dir PATH"),
            };
            let settings = BackupSettings {
                target: Some(target),
                message_limit: a.message_limit_mib.saturating_mul(1 << 20),
                every_hours: a.every_hours,
                keep: Retention {
                    daily: a.keep_daily,
                    weekly: a.keep_weekly,
                    monthly: a.keep_monthly,
                },
            };
            backups::set_settings_with_password(
                store,
                &settings,
                password.as_deref().map(String::as_str),
            )
            .await?;
            outln!(
                "Backups are set up; `homepost backup` runs one now, and the server runs them every {} hours.",
                a.every_hours
            );
        }
        BackupCommand::Status { json } => {
            let status = backups::status(store).await?;
            if *json {
                crate::output::print_json(&serde_json::to_value(&status)?)?;
                return Ok(());
            }
            match status.last_success {
                Some(t) => outln!(
                    "last backup: {} ({} messages, {} MiB; {} KiB sent), snapshot {}",
                    crate::output::short_date(t),
                    status.messages,
                    status.bytes >> 20,
                    status.sent / 1024,
                    status.snapshot.as_deref().unwrap_or("?")
                ),
                None => outln!("no backup yet"),
            }
            if let Some(e) = &status.last_error {
                outln!("the last attempt failed: {e}");
            }
            match status.next_run {
                Some(t) if t > 0 => outln!("next: {}", crate::output::short_date(t)),
                Some(_) => outln!("next: as soon as the server runs"),
                None => outln!("not set up: `homepost backup setup --account ID` or `--dir PATH`"),
            }
        }
        BackupCommand::List { json } => {
            let keys = own_keys(store).await?;
            let mut remote = configured_remote(store).await?;
            let snaps = homepost_backup::list(&mut remote, &keys).await;
            remote.close().await;
            let snaps = snaps?;
            if *json {
                let v: Vec<_> = snaps
                    .iter()
                    .map(|s| serde_json::json!({"name": s.name, "time": s.time, "messages": s.messages, "bytes": s.bytes}))
                    .collect();
                crate::output::print_json(&serde_json::Value::Array(v))?;
            } else {
                for s in &snaps {
                    outln!(
                        "{}  {}  {} messages  {} MiB",
                        s.name,
                        crate::output::short_date(s.time),
                        s.messages,
                        s.bytes >> 20
                    );
                }
            }
        }
        BackupCommand::Verify { sample } => {
            let keys = own_keys(store).await?;
            let mut remote = configured_remote(store).await?;
            let bar = bar("{bar:30} {pos}/{len} packs checked ({eta})");
            let report = homepost_backup::verify(&mut remote, &keys, *sample, &mut |done, all| {
                bar.set_length(all);
                bar.set_position(done);
            })
            .await;
            bar.finish_and_clear();
            remote.close().await;
            let report = report?;
            for p in &report.problems {
                outln!("damaged: {p}");
            }
            outln!(
                "checked {} packs, {} objects, {} complete snapshots",
                report.packs,
                report.objects,
                report.snapshots
            );
            if !report.problems.is_empty() {
                bail!(
                    "the backup is damaged (above): the next `homepost backup` sends again what it can"
                );
            }
        }
        BackupCommand::Prune => {
            let done = backups::prune(store).await?;
            outln!(
                "kept {} snapshots, dropped {}; {} packs deleted, {} rewritten, {} KiB freed",
                done.snapshots_kept,
                done.snapshots_deleted,
                done.packs_deleted,
                done.packs_rewritten,
                done.bytes_freed / 1024
            );
        }
    }
    Ok(())
}

async fn own_keys(store: &homepost_store::Store) -> Result<homepost_backup::Keys> {
    homepost_backup::stored_keys(store)
        .await?
        .context("this box has made no backup yet: run `homepost backup`")
}

async fn configured_remote(store: &homepost_store::Store) -> Result<AnyRemote> {
    let settings = backups::settings(store).await?;
    Ok(backups::remote(store, &settings).await?)
}

/// `homepost restore`: the backup into `dir`, which must be empty or absent;
/// then the library is opened once to rebuild the search index.
pub async fn restore(args: &RestoreArgs, cli: &crate::cli::Cli, dir: &Path) -> Result<()> {
    if Vault::exists(dir) {
        bail!(
            "{} already holds a vault: restore into a new data directory",
            dir.display()
        );
    }
    let mut remote = match (&args.from_dir, &args.imap) {
        (Some(path), _) => AnyRemote::Dir(DirRemote::new(path.clone())?),
        (None, Some(server)) => {
            let (host, port) = host_port(server, "IMAP")?;
            let user = args.user.clone().context("name the IMAP --user")?;
            let pass = Zeroizing::new(password_of(PASSWORD_ENV, "backup server")?);
            AnyRemote::Imap(Box::new(ImapRemote::new(
                Endpoint {
                    host,
                    port,
                    security: security(args.security),
                    username: user,
                    pinned_sha256: args.pin_sha256.clone(),
                },
                pass,
                args.folder.clone(),
            )))
        }
        (None, None) => {
            bail!("name the backup's --imap HOST:PORT (with --user) or --from-dir PATH")
        }
    };
    let (secret, passphrase) = if args.recovery_key {
        let text = match crate::console::var(RECOVERY_ENV) {
            Some(t) => Zeroizing::new(t.to_string()),
            None if crate::console::stdin_is_terminal() => Zeroizing::new(
                rpassword::prompt_password("Recovery key: ")
                    .context("cannot read the recovery key")?,
            ),
            None => bail!("no recovery key: set {RECOVERY_ENV} or run on a terminal"),
        };
        let key = homepost_backup::RecoveryKey::parse(&text)?;
        let new = crate::passphrase::new_passphrase(cli, "The box's new passphrase")?;
        let again = Passphrase::new(new.expose().to_owned());
        (
            Secret::Recovery {
                key,
                new_passphrase: new,
            },
            again,
        )
    } else {
        let p = crate::passphrase::current(cli)?;
        let again = Passphrase::new(p.expose().to_owned());
        (Secret::Passphrase(p), again)
    };
    let bar = bar("{bar:30} {pos}/{len} pieces restored ({eta})");
    let done = homepost_backup::restore(
        &mut remote,
        &secret,
        dir,
        args.snapshot.as_deref(),
        &mut |d, all| {
            bar.set_length(all);
            bar.set_position(d);
        },
    )
    .await;
    bar.finish_and_clear();
    remote.close().await;
    let done = done?;
    outln!(
        "restored snapshot {} of {}: {} messages, {} rows",
        done.snapshot,
        crate::output::short_date(done.time),
        done.messages,
        done.rows
    );
    outln!("rebuilding the search index…");
    let vault = Vault::unlock(dir, &passphrase)?;
    let lib = Library::open(dir, &vault).await?;
    lib.close().await;
    outln!("done: start Homepost on {} and unlock it", dir.display());
    Ok(())
}
