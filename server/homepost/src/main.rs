//! The `homepost` command: composes the vault, store, index and importers into the
//! CLI. It reads the environment and the command line; nothing below it does.

/// `println!` that returns an error instead of panicking when stdout is closed
/// (`homepost search ... | head`).
/// Goes to the client of a command run over the control socket (see console).
macro_rules! outln {
    ($($t:tt)*) => {{
        $crate::console::out(format_args!($($t)*))?;
    }};
}

/// `eprintln!` that goes to the client of a remote command (see console).
macro_rules! errln {
    ($($t:tt)*) => {{
        $crate::console::err(format_args!($($t)*));
    }};
}

mod backup_cli;
mod check_cli;
mod cli;
mod cli_account;
mod console;
mod control;
mod discover_cli;
mod mail_cli;
mod output;
mod passphrase;
mod remote_cli;
mod rules_cli;
mod send_cli;
mod serve_config;
mod setup_code;
mod spam_cli;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use homepost_core::library::{ImportProgress, Library};
use homepost_mail::ImportSources;
use homepost_search::{SearchOptions, Sort};
use homepost_vault::Vault;
use indicatif::{ProgressBar, ProgressStyle};

use cli::{Cli, Command, KeyLookupArg, SortArg, SpamCommand};

/// Sets glibc's allocator up for a small box, before any thread starts: two
/// arenas rather than eight per core, and blocks of 1 MiB or more always from
/// `mmap`, so that they go back to the system when freed (glibc otherwise raises
/// that threshold as large blocks are freed, and keeps them in arenas that
/// fragment). A 10^5-message import peaked at 135 MB instead of 171 MB, and took
/// no longer. `MALLOC_ARENA_MAX` or `MALLOC_MMAP_THRESHOLD_` in the environment
/// still win.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let unset = |name: &str| std::env::var_os(name).is_none();
        // SAFETY: mallopt only sets the allocator's parameters, and no other
        // thread exists yet to allocate meanwhile.
        #[allow(unsafe_code)]
        unsafe {
            if unset("MALLOC_ARENA_MAX") {
                libc::mallopt(libc::M_ARENA_MAX, 2);
            }
            if unset("MALLOC_MMAP_THRESHOLD_") {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
            }
        }
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    // Homepost's own warnings by default; the libraries' only when they fail
    // (html5ever alone warned once per odd HTML message). `HOMEPOST_LOG` takes
    // any tracing filter, e.g. `homepost=debug` or `debug`.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HOMEPOST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error,homepost=warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("homepost: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`| head`): not a failure.
        Err(e)
            if e.root_cause()
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("homepost: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The data directory: `--data`, else `$HOMEPOST_DATA` (clap reads both), else the
/// XDG data directory.
fn data_dir(cli: &Cli) -> Result<PathBuf> {
    if let Some(d) = &cli.data {
        return Ok(d.clone());
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return Ok(PathBuf::from(x).join("homepost"));
    }
    let home = std::env::var_os("HOME")
        .context("cannot find the data directory: set --data, HOMEPOST_DATA or HOME")?;
    Ok(PathBuf::from(home).join(".local/share/homepost"))
}

async fn open_library(cli: &Cli, dir: &Path) -> Result<Library> {
    if !Vault::exists(dir) {
        bail!("no vault in {}: run `homepost init` first", dir.display());
    }
    let pass = passphrase::current(cli)?;
    let vault = Vault::unlock(dir, &pass)?;
    Library::open(dir, &vault)
        .await
        .with_context(|| format!("cannot open the mail store in {}", dir.display()))
}

async fn run(cli: Cli) -> Result<()> {
    // `serve --config FILE` may name the data directory (flags and
    // HOMEPOST_DATA win); a bad file stops here, before anything starts.
    let file = match &cli.command {
        Command::Serve {
            config: Some(path), ..
        } => serve_config::load(path)?,
        _ => serve_config::FileConfig::default(),
    };
    let dir = match (&cli.data, &file.data_dir) {
        (None, Some(d)) => d.clone(),
        _ => data_dir(&cli)?,
    };
    match &cli.command {
        Command::Init { kdf } => {
            if Vault::exists(&dir) {
                bail!("a vault already exists in {}", dir.display());
            }
            let pass = passphrase::new_passphrase(&cli, "New passphrase")?;
            let params = kdf.params();
            let vault = Vault::create(&dir, &pass, params)?;
            Library::open(&dir, &vault).await?.close().await;
            outln!("Created an encrypted vault in {}", dir.display());
        }
        Command::Passwd { kdf } => {
            if !Vault::exists(&dir) {
                bail!("no vault in {}: run `homepost init` first", dir.display());
            }
            let old = passphrase::current(&cli)?;
            let vault = Vault::unlock(&dir, &old)?;
            let new = passphrase::new_passphrase(&cli, "New passphrase")?;
            let params = kdf.params();
            vault.change_passphrase(&new, params)?;
            outln!("Passphrase changed.");
        }
        Command::Serve { kdf, .. } => {
            let serve_config::ServeSettings {
                listen,
                idle_timeout,
                outbox_lifetime,
                key_lookup,
                allow_hosts: allow_host,
                tls,
            } = serve_config::settings(&file, &cli.command);
            if let Some(bad) = allow_host
                .iter()
                .find(|h| h.is_empty() || h.contains([':', '/', '@', ' ']) || h.starts_with('.'))
            {
                bail!(
                    "--allow-host {bad:?}: give a host name alone, without a scheme or port \
(like mail.home.arpa)"
                );
            }
            let mut config = homepost_web::Config::new(dir.clone());
            config.listen = listen;
            config.allowed_hosts = allow_host;
            let lan_name = (!listen.ip().is_loopback())
                .then(setup_code::hostname)
                .flatten();
            if let Some(name) = &lan_name {
                config.allowed_hosts.push(name.clone());
                config.allowed_hosts.push(format!("{name}.local"));
            }
            config.kdf = kdf.params();
            config.idle_timeout = std::time::Duration::from_secs(idle_timeout * 60);
            config.transport.outbox_lifetime =
                std::time::Duration::from_secs(outbox_lifetime * 3600);
            config.key_lookup = homepost_net::LookupOptions {
                announced: matches!(key_lookup, KeyLookupArg::All),
                wkd: !matches!(key_lookup, KeyLookupArg::Off),
                keys_openpgp_org: matches!(key_lookup, KeyLookupArg::All),
            };
            config.tls = tls;
            let tor = file.tor.clone().unwrap_or_default();
            config.lookups_over_tor = tor.lookups;
            config.tor_network = tor.network;
            let autoconfig = file.autoconfig.clone().unwrap_or_default();
            config.name_server = autoconfig.name_server;
            if let Some(ispdb) = &autoconfig.ispdb {
                config.ispdb = ispdb.url();
            }
            let running = homepost_web::start(config).await?;
            // From now on CLI commands on this data directory go through us.
            control::listen(&dir, running.shared_state()).await?;
            outln!("Homepost is running at {}", running.url);
            if let Some(fp) = &running.fingerprint {
                outln!("TLS certificate SHA-256 fingerprint: {fp}");
                outln!("Check that your browser shows the same before you type your passphrase.");
            }
            if Vault::exists(&dir) {
                outln!("It is locked: open the page and unlock it with your passphrase.");
            } else {
                outln!(
                    "No vault yet in {}: open the page to create one.",
                    dir.display()
                );
            }
            if let Some(token) = &running.setup_token {
                setup_code::print(&running, lan_name.as_deref(), token)?;
            }
            outln!("Stop it with Ctrl-C.");
            // Under systemd (Type=notify): listening, and all of the above is in
            // the journal, so units ordered after homepost.service (the image's
            // console banner) start now. Nothing happens outside systemd.
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
            let stopped = running.wait().await;
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
            control::remove(&dir);
            stopped?;
        }
        // Needs no vault: only the network.
        Command::Discover(args) => discover_cli::run(args).await?,
        // Makes the vault from the backup.
        Command::Restore(args) => backup_cli::restore(args, &cli, &dir).await?,
        _ => {
            // Refuse bad arguments before asking for the passphrase.
            match &cli.command {
                Command::Tag { args } => {
                    cli::split_tag_args(args)?;
                }
                Command::Import { paths, .. } => {
                    if let Some(p) = paths.iter().find(|p| !p.exists()) {
                        bail!("cannot import {}: no such file or directory", p.display());
                    }
                }
                Command::Spam {
                    command: SpamCommand::Learn { spam, ham },
                } => {
                    if let Some(p) = spam.iter().chain(ham).find(|p| !p.exists()) {
                        bail!("cannot learn {}: no such file or directory", p.display());
                    }
                }
                Command::Spam {
                    command: SpamCommand::Check { paths },
                } => {
                    if let Some(p) = paths.iter().find(|p| !p.exists()) {
                        bail!("cannot check {}: no such file or directory", p.display());
                    }
                }
                _ => {}
            }
            // A running server owns the data directory: it runs the command.
            if control::run_remote(&cli, &dir).await?.is_some() {
                return Ok(());
            }
            if let Command::Remote { command } = &cli.command {
                return remote_cli::offline(command, &dir);
            }
            let mut lib = open_library(&cli, &dir).await?;
            if let Command::Fetch { account, timeout } = &cli.command {
                let lib = mail_cli::fetch(lib, *account, std::time::Duration::from_secs(*timeout))
                    .await?;
                lib.close().await;
                return Ok(());
            }
            let result = library_command(&cli, &mut lib).await;
            // Close on every path: connections must be shut before the process exits.
            lib.close().await;
            result?;
        }
    }
    Ok(())
}

/// The commands that work on an unlocked library.
async fn library_command(cli: &Cli, lib: &mut Library) -> Result<()> {
    match &cli.command {
        Command::Import {
            paths,
            tag,
            no_inbox,
            mark_read,
        } => {
            let tags = homepost_core::imports::ImportOptions {
                mark_read: *mark_read,
                skip_inbox: *no_inbox,
                tags: tag.clone(),
            }
            .default_tags();
            let sources = ImportSources::new(paths.clone());
            let progress = Progress::new("import", sources.total_bytes());
            let started = std::time::Instant::now();
            let stats = lib
                .import(sources, &tags, now(), |p: ImportProgress| {
                    progress.set(p.bytes, p.messages);
                })
                .await?;
            progress.finish();
            for e in &stats.unreadable {
                errln!("homepost: skipped: {e}");
            }
            let unnamed = stats.unreadable_count - stats.unreadable.len() as u64;
            if unnamed > 0 {
                errln!("homepost: skipped {unnamed} more that could not be read");
            }
            let secs = started.elapsed().as_secs_f64();
            let read = stats.imported + stats.duplicates;
            outln!(
                "imported {}, duplicates {}, malformed {}, unreadable {}, spam {}, unsure {}, filtered by rules {} ({} messages in {:.1} s, {:.0}/s)",
                stats.imported,
                stats.duplicates,
                stats.malformed,
                stats.unreadable_count,
                stats.spam,
                stats.unsure,
                stats.filtered,
                read,
                secs,
                read as f64 / secs.max(1e-3)
            );
        }
        Command::Search {
            json,
            count,
            sort,
            limit,
            offset,
            save,
            query,
        } => {
            if let Some(name) = save {
                rules_cli::save(lib, name, &query.join(" ")).await?;
            }
            // A normal view: spam and trash stay out unless the query names them.
            let query =
                homepost_search::hide_unless_named(homepost_search::parse(&query.join(" "))?)
                    .to_string();
            if *count {
                outln!("{}", lib.count(&query).await?);
            } else {
                let opts = SearchOptions {
                    sort: match sort {
                        SortArg::Newest => Sort::Newest,
                        SortArg::Oldest => Sort::Oldest,
                        SortArg::Relevance => Sort::Relevance,
                    },
                    limit: *limit,
                    offset: *offset,
                };
                let (_, results) = lib.search(&query, &opts).await?;
                if *json {
                    output::print_json(&output::json_summaries(&results))?;
                } else {
                    for s in &results {
                        outln!("{}", output::summary_line(s));
                    }
                }
            }
        }
        Command::Show { json, id } => {
            // The same reading as the app's message view.
            let store = lib.store();
            let reading = homepost_core::reading::read(store, *id)
                .await?
                .with_context(|| format!("no message with id {id}"))?;
            if *json {
                let sender = reading
                    .detail
                    .summary
                    .from
                    .iter()
                    .find_map(|a| a.address.as_deref())
                    .map(homepost_pgp::autocrypt::canonical_address);
                let peer = match &sender {
                    Some(a) => store.peer(a).await?,
                    None => None,
                };
                let mut v = output::json_detail(&reading);
                if let serde_json::Value::Object(map) = &mut v {
                    map.insert(
                        "crypto".into(),
                        mail_cli::crypto_json(reading.crypto.as_ref(), peer.as_ref()),
                    );
                }
                output::print_json(&v)?;
            } else {
                console::out_bytes(&output::detail_text(&reading))?;
            }
        }
        Command::Thread { json, id } => {
            let detail = lib
                .store()
                .message(*id)
                .await?
                .with_context(|| format!("no message with id {id}"))?;
            let thread = lib.store().thread(detail.summary.thread_id).await?;
            if *json {
                output::print_json(&output::json_summaries(&thread))?;
            } else {
                for s in &thread {
                    outln!("{}", output::summary_line(s));
                }
            }
        }
        Command::Tag { args } => {
            let (ids, add, remove) = cli::split_tag_args(args)?;
            lib.change_tags(&ids, &add, &remove).await?;
            for id in &ids {
                let tags = lib.store().tags_of(*id).await?;
                outln!("{id}: {}", tags.join(" "));
            }
        }
        Command::Spam { command } => spam_cli::spam_command(command, lib).await?,
        Command::Saved { command } => rules_cli::saved(command.as_ref(), lib).await?,
        Command::Rules { command } => rules_cli::rules(command.as_ref(), lib).await?,
        Command::Account { command } => mail_cli::account_command(command, lib).await?,
        Command::Key { command } => mail_cli::key_command(command, lib).await?,
        Command::Outbox { command } => mail_cli::outbox_command(command.as_ref(), lib).await?,
        Command::Send(args) => send_cli::send(args, lib).await?,
        Command::Reindex => {
            let n = lib.reindex().await?;
            outln!("reindexed {n} messages");
        }
        Command::Check { json } => check_cli::check(lib, *json).await?,
        Command::Repair { json } => check_cli::repair(lib, *json).await?,
        Command::Delete { ids } => {
            let n = lib.delete_for_good(ids).await?;
            outln!("deleted {n} messages for good");
        }
        Command::Trash { command } => check_cli::trash(command, lib).await?,
        Command::Backup { command } => {
            backup_cli::backup_command(command.as_ref(), lib.store(), lib.backup_access()).await?;
        }
        Command::BenchQueries { repeat, queries } => {
            let mut report = serde_json::Map::new();
            for q in queries {
                let mut times = Vec::with_capacity(*repeat);
                let mut total = 0;
                for _ in 0..(*repeat).max(1) {
                    let t = std::time::Instant::now();
                    let opts = SearchOptions {
                        sort: Sort::Newest,
                        limit: 50,
                        offset: 0,
                    };
                    total = lib.search(q, &opts).await?.0;
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                times.sort_by(f64::total_cmp);
                let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
                report.insert(
                    q.clone(),
                    serde_json::json!({"hits": total, "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": pct(1.0)}),
                );
            }
            output::print_json(&serde_json::Value::Object(report))?;
        }
        Command::Init { .. }
        | Command::Passwd { .. }
        | Command::Serve { .. }
        | Command::Remote { .. }
        | Command::Discover(_)
        | Command::Restore(_)
        | Command::Fetch { .. } => {}
    }
    Ok(())
}

/// Progress over input bytes, as `import` and `spam learn` show: a bar on a
/// terminal; otherwise (a log, a pipe, the journal) one plain line on stderr each
/// time another tenth of the input is done, so long work is visible there too.
struct Progress {
    bar: ProgressBar,
    what: &'static str,
    /// Tenths reported so far when stderr is not a terminal; `None` on a terminal.
    lines: Option<std::sync::atomic::AtomicU64>,
}

impl Progress {
    fn new(what: &'static str, total_bytes: u64) -> Progress {
        // A bar only on this process's own terminal (not a remote client's).
        let bar = if console::stderr_is_terminal() {
            ProgressBar::new(total_bytes)
        } else {
            ProgressBar::with_draw_target(
                Some(total_bytes),
                indicatif::ProgressDrawTarget::hidden(),
            )
        };
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let lines = (!console::stderr_is_terminal()).then(|| std::sync::atomic::AtomicU64::new(0));
        Progress { bar, what, lines }
    }

    /// Input bytes and messages read so far.
    fn set(&self, bytes: u64, messages: u64) {
        self.bar.set_position(bytes);
        self.bar.set_message(format!("{messages} messages"));
        if let Some(reported) = &self.lines {
            let total = self.bar.length().unwrap_or(0).max(1);
            let tenths = (bytes.min(total) * 10 / total).min(10);
            if tenths > reported.load(std::sync::atomic::Ordering::Relaxed) && tenths < 10 {
                reported.store(tenths, std::sync::atomic::Ordering::Relaxed);
                errln!(
                    "homepost: {}: {}% of the input, {messages} messages",
                    self.what,
                    tenths * 10
                );
            }
        }
    }

    /// Prints a line without breaking the bar.
    fn println(&self, line: &str) {
        self.bar.suspend(|| errln!("{line}"));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `homepost spam learn|check|stats`.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
