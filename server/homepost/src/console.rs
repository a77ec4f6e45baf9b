//! Where a command's output goes and where its input comes from: the process's
//! own terminal, or — for a command that a CLI process sent to the running
//! server over the control socket — that client, through frames.
//!
//! Command code writes with `outln!`/`errln!` and reads with [`var`] and
//! [`read_stdin`]; it does not need to know which one it is.

use std::collections::HashMap;
use std::io::{IsTerminal, Read, Write};

use tokio::sync::mpsc::UnboundedSender;
use zeroize::Zeroizing;

/// A piece of a remote command's output.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// Text for the client's stdout.
    Out(String),
    /// Text for the client's stderr.
    Err(String),
    /// The command ended: `None` on success, else the error to print.
    Done(Option<String>),
}

/// The client of a command run for it by the server.
pub struct Remote {
    /// Where output frames go.
    pub frames: UnboundedSender<Frame>,
    /// The client's values of the variables commands read (passwords, codes).
    pub env: HashMap<String, Zeroizing<String>>,
    /// The client's stdin, when the command reads it.
    pub stdin: Option<Zeroizing<Vec<u8>>>,
}

tokio::task_local! {
    static REMOTE: Remote;
}

/// Runs `f` with its output going to `remote`.
pub async fn with_remote<T>(remote: Remote, f: impl Future<Output = T>) -> T {
    REMOTE.scope(remote, f).await
}

/// Whether the running command is a remote client's.
pub fn is_remote() -> bool {
    REMOTE.try_with(|_| ()).is_ok()
}

fn send(frame: Frame) -> std::io::Result<()> {
    REMOTE
        .try_with(|r| r.frames.send(frame))
        .map_err(|_| std::io::Error::other("no remote client"))?
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
}

/// Writes a line of output.
pub fn out(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    if is_remote() {
        send(Frame::Out(format!("{args}\n")))
    } else {
        writeln!(std::io::stdout().lock(), "{args}")
    }
}

/// Writes raw output (no newline added).
pub fn out_bytes(text: &str) -> std::io::Result<()> {
    if is_remote() {
        send(Frame::Out(text.to_owned()))
    } else {
        std::io::stdout().lock().write_all(text.as_bytes())
    }
}

/// Writes a line to the error output (progress, warnings). Never fails: a
/// client that went away is noticed at the next `out`.
pub fn err(args: std::fmt::Arguments<'_>) {
    if is_remote() {
        let _ = send(Frame::Err(format!("{args}\n")));
    } else {
        eprintln!("{args}");
    }
}

/// Whether the error output is a terminal (a progress bar can be drawn).
pub fn stderr_is_terminal() -> bool {
    !is_remote() && std::io::stderr().is_terminal()
}

/// Whether the output is this process's own terminal (a person reads it; a
/// pipe, a file or a client over the control socket may not be seen).
pub fn stdout_is_terminal() -> bool {
    !is_remote() && std::io::stdout().is_terminal()
}

/// Whether questions can be asked on a terminal.
pub fn stdin_is_terminal() -> bool {
    !is_remote() && std::io::stdin().is_terminal()
}

/// An environment variable: the client's for a remote command, else this
/// process's. Empty counts as unset.
pub fn var(name: &str) -> Option<Zeroizing<String>> {
    match REMOTE.try_with(|r| r.env.get(name).cloned()) {
        Ok(v) => v,
        Err(_) => std::env::var(name).ok().map(Zeroizing::new),
    }
    .filter(|v| !v.is_empty())
}

/// Reads stdin, at most `limit + 1` bytes (so that the caller can tell "too
/// long"): the client's for a remote command.
pub fn read_stdin(limit: usize) -> std::io::Result<Zeroizing<Vec<u8>>> {
    if let Ok(given) = REMOTE.try_with(|r| r.stdin.clone()) {
        let mut bytes = given.unwrap_or_default();
        bytes.truncate(limit + 1);
        return Ok(bytes);
    }
    let mut bytes = Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}
