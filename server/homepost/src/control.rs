//! One owner of the data directory: while `homepost serve` runs, it listens on a
//! Unix socket in the data directory (`control.sock`, mode 0600) and runs the
//! CLI's library commands for clients of the same user, on its own open library
//! (or one it opens for the command while locked). A CLI command finds the
//! socket and sends its arguments there instead of opening the store and the
//! index a second time; without a running server it opens them itself.
//!
//! The protocol is one JSON [`Request`] line from the client, then JSON
//! [`Frame`] lines from the server until `done`.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Parser;
use homepost_vault::Passphrase;
use homepost_web::AppState;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use zeroize::Zeroizing;

use crate::cli::{AccountCommand, Cli, Command, KeyCommand};
use crate::console::{self, Frame, Remote};

/// The socket's name in the data directory.
pub const SOCKET: &str = "control.sock";

/// Largest request line (arguments, environment and a `send` body).
const MAX_REQUEST: usize = 8 << 20;

/// What a client asks the server to run.
#[derive(serde::Serialize, serde::Deserialize)]
struct Request {
    /// The command line, without the program name.
    args: Vec<String>,
    /// The client's working directory (relative paths are resolved from it).
    cwd: PathBuf,
    /// The passphrase, checked like an unlock.
    passphrase: Zeroizing<String>,
    /// The variables the command reads ([`Command::reads_env`]).
    env: HashMap<String, Zeroizing<String>>,
    /// stdin, for `send` without `--draft`.
    stdin: Option<Zeroizing<Vec<u8>>>,
}

/// Starts serving the control socket of `dir`. Fails when another server
/// already answers on it; a stale socket (no one answering) is replaced.
pub async fn listen(dir: &Path, state: Arc<AppState>) -> Result<()> {
    let path = dir.join(SOCKET);
    if UnixStream::connect(&path).await.is_ok() {
        bail!(
            "another `homepost serve` already runs on {}: stop it first",
            dir.display()
        );
    }
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot replace {}", path.display())),
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    let listener = UnixListener::bind(&path)
        .with_context(|| format!("cannot listen on the control socket {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let owner = std::fs::metadata(&path)?.uid();
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "control socket: accept failed");
                    continue;
                }
            };
            // Only the user the server runs as (the socket's mode says the
            // same; this holds even if the mode is changed).
            match stream.peer_cred() {
                Ok(c) if c.uid() == owner => {}
                other => {
                    tracing::warn!(peer = ?other.map(|c| c.uid()), "control socket: refused a client of another user");
                    continue;
                }
            }
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(e) = serve_client(stream, state).await {
                    tracing::warn!(error = %e, "control socket: a client failed");
                }
            });
        }
    });
    Ok(())
}

/// Removes the socket when the server stops (a hard kill leaves it; the next
/// start and every client tell a stale socket from a live one).
pub fn remove(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(SOCKET));
}

async fn serve_client(stream: UnixStream, state: Arc<AppState>) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = Zeroizing::new(Vec::new());
    BufReader::new(read)
        .take(MAX_REQUEST as u64)
        .read_until(b'\n', &mut line)
        .await?;
    let request: Request =
        serde_json::from_slice(&line).context("control socket: a request that does not parse")?;
    drop(line);
    let (frames, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            let mut json = serde_json::to_vec(&frame).unwrap_or_default();
            json.push(b'\n');
            if write.write_all(&json).await.is_err() {
                break;
            }
        }
    });
    let done = frames.clone();
    let remote = Remote {
        frames,
        env: request.env,
        stdin: request.stdin,
    };
    let result = console::with_remote(
        remote,
        run_for_client(request.args, &request.cwd, request.passphrase, &state),
    )
    .await;
    let _ = done.send(Frame::Done(result.err().map(|e| format!("{e:#}"))));
    drop(done);
    let _ = writer.await;
    Ok(())
}

async fn run_for_client(
    args: Vec<String>,
    cwd: &Path,
    passphrase: Zeroizing<String>,
    state: &Arc<AppState>,
) -> Result<()> {
    let mut cli = Cli::try_parse_from(std::iter::once("homepost".to_owned()).chain(args))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for p in cli.command.paths_mut() {
        if p.is_relative() {
            *p = cwd.join(&*p);
        }
    }
    tracing::info!(
        command = cli.command.name(),
        "ran a command for a local client"
    );
    if let Command::Fetch { .. } = cli.command {
        return fetch_now(state).await;
    }
    let passphrase = Passphrase::new(passphrase.to_string());
    if let Command::Remote { command } = &cli.command {
        // The passphrase is checked (and throttled) like an unlock first.
        state
            .run_command(passphrase, async |_| Ok::<(), anyhow::Error>(()))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))??;
        return crate::remote_cli::in_server(command, state.clone()).await;
    }
    if let Command::Backup { command } = &cli.command {
        // Checked like an unlock; then, on an open box, the backup runs on the
        // store without holding the library (a first backup takes minutes).
        state
            .run_command(passphrase.clone(), async |_| ())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let open = state
            .with_open_library(async |lib| (lib.store().clone(), lib.backup_access().clone()))
            .await;
        if let Some((store, access)) = open {
            return crate::backup_cli::backup_command(command.as_ref(), &store, &access).await;
        }
    }
    let result = state
        .run_command(passphrase, async |lib| {
            crate::library_command(&cli, lib).await
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tell_transport(&cli.command, state).await;
    result
}

/// What a command changed reaches the running transport, as the app's changes
/// do: new, changed or removed accounts restart their fetchers, tag changes go
/// to the servers, and new or changed outbox mail is sent.
async fn tell_transport(command: &Command, state: &AppState) {
    let Some(transport) = state.transport() else {
        return;
    };
    if let Command::Account { command } = command {
        let mut ids = state
            .with_open_library(async |lib| lib.store().accounts().await)
            .await
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|a| a.id)
            .collect::<Vec<_>>();
        match command {
            AccountCommand::List { .. } => ids.clear(),
            AccountCommand::Remove { id } | AccountCommand::Trust { id, .. } => ids = vec![*id],
            // The new account's id is the largest.
            AccountCommand::Add(_) => ids = ids.into_iter().max().into_iter().collect(),
        }
        for id in ids {
            transport.reload(id).await;
        }
    }
    transport.local_change();
    transport.outbox_changed();
}

/// `homepost fetch` while the server runs: its transport fetches continuously
/// while unlocked; ask it to fetch every account now.
async fn fetch_now(state: &AppState) -> Result<()> {
    let Some(transport) = state.transport() else {
        bail!(
            "the running server is locked, and it fetches only while unlocked: unlock it in the \
app (or stop the server to fetch from the command line)"
        );
    };
    let ids = match state
        .with_open_library(async |lib| lib.store().accounts().await)
        .await
    {
        Some(accounts) => accounts?.into_iter().map(|a| a.id).collect::<Vec<_>>(),
        None => Vec::new(),
    };
    for id in &ids {
        transport.sync_now(*id).await;
    }
    transport.outbox_changed();
    outln!(
        "Asked the running server to fetch {} account(s) and send the outbox now.",
        ids.len()
    );
    Ok(())
}

/// Sends the command to the server running on `dir`, if one answers, and
/// relays its output. Returns `None` when no server runs (the caller opens the
/// store itself).
pub async fn run_remote(cli: &Cli, dir: &Path) -> Result<Option<()>> {
    let path = dir.join(SOCKET);
    let Ok(stream) = UnixStream::connect(&path).await else {
        return Ok(None);
    };
    let passphrase = crate::passphrase::current(cli)?;
    let mut env = HashMap::new();
    for name in cli.command.reads_env() {
        if let Some(v) = console::var(name) {
            env.insert((*name).to_owned(), v);
        }
    }
    if let Command::Remote { command } = &cli.command {
        let secret = match crate::remote_cli::read_secret_file(command)? {
            Some(from_file) => Some(from_file),
            None => crate::remote_cli::ask_secret(command)?,
        };
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            env.insert(crate::remote_cli::SECRET_ENV.to_owned(), secret);
        }
    }
    ask_ahead(cli, &mut env)?;
    let stdin = match &cli.command {
        Command::Send(args) if args.draft.is_none() => {
            Some(console::read_stdin(homepost_mail::compose::MAX_BODY_BYTES)?)
        }
        _ => None,
    };
    let request = Request {
        args: std::env::args().skip(1).collect(),
        cwd: std::env::current_dir().context("cannot read the working directory")?,
        passphrase: Zeroizing::new(passphrase.expose().to_owned()),
        env,
        stdin,
    };
    let mut line = Zeroizing::new(serde_json::to_vec(&request)?);
    drop(request);
    line.push(b'\n');
    let (read, mut write) = stream.into_split();
    write
        .write_all(&line)
        .await
        .context("cannot talk to the running server")?;
    drop(line);
    let mut lines = BufReader::new(read).lines();
    while let Some(l) = lines
        .next_line()
        .await
        .context("the running server stopped answering")?
    {
        match serde_json::from_str::<Frame>(&l) {
            Ok(Frame::Out(text)) => console::out_bytes(&text)?,
            Ok(Frame::Err(text)) => eprint!("{text}"),
            Ok(Frame::Done(None)) => return Ok(Some(())),
            Ok(Frame::Done(Some(error))) => bail!("{error}"),
            Err(e) => bail!("the running server sent something unexpected: {e}"),
        }
    }
    bail!("the running server closed the connection before the command finished")
}

/// Asks on this terminal what the command would ask on the server's (passwords
/// of a new account, a setup code), when it is not in the environment.
fn ask_ahead(cli: &Cli, env: &mut HashMap<String, Zeroizing<String>>) -> Result<()> {
    if !console::stdin_is_terminal() {
        return Ok(());
    }
    let mut ask = |name: &str, label: &str| -> Result<()> {
        if !env.contains_key(name) {
            let typed = rpassword::prompt_password(format!("{label}: "))
                .with_context(|| format!("cannot read the {label}"))?;
            env.insert(name.to_owned(), Zeroizing::new(typed));
        }
        Ok(())
    };
    match &cli.command {
        Command::Account {
            command: AccountCommand::Add(a),
        } => {
            if a.imap.is_some() || a.pop3.is_some() {
                ask("HOMEPOST_INCOMING_PASSWORD", "Incoming server password")?;
            }
            if a.smtp.is_some() {
                ask("HOMEPOST_OUTGOING_PASSWORD", "Outgoing server password")?;
            }
        }
        Command::Key {
            command: KeyCommand::ImportSetup { .. },
        } => ask("HOMEPOST_SETUP_CODE", "Setup code")?,
        _ => {}
    }
    Ok(())
}
