//! `homepost remote`: how the box is reached from outside the home network.
//! With a server running it changes the running tunnels (through the control
//! socket); without one it changes the saved settings the next start uses.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use homepost_web::AppState;
use homepost_web::remote::{self, PagekiteSettings, RemoteBody};
use zeroize::Zeroizing;

use crate::console;
use crate::output::print_json;

/// Where the kite's secret may come from besides `--secret-file` and a prompt.
pub const SECRET_ENV: &str = "HOMEPOST_KITE_SECRET";

/// `homepost remote ...`.
#[derive(Subcommand, Debug)]
pub enum RemoteCommand {
    /// How the box is reached from outside, and whether each way works now.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Reach the box through a PageKite relay as `https://KITE/`. The box
    /// keeps TLS end to end with a certificate for the kite name (the relay
    /// sees only the name). The kite's secret is read from
    /// HOMEPOST_KITE_SECRET, from --secret-file, or asked for; without any,
    /// the saved secret stays.
    Pagekite {
        /// The relay (PageKite frontend), host:port.
        #[arg(long, required_unless_present = "off")]
        frontend: Option<String>,
        /// The kite name, e.g. mybox.pagekite.me.
        #[arg(long, required_unless_present = "off")]
        kite: Option<String>,
        /// A file holding the kite's secret.
        #[arg(long, value_name = "FILE", conflicts_with = "off")]
        secret_file: Option<PathBuf>,
        /// A certificate chain for the kite name (PEM) instead of a
        /// self-signed one; needs --key.
        #[arg(long, value_name = "FILE", requires = "key", conflicts_with = "off")]
        cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, value_name = "FILE", requires = "cert", conflicts_with = "off")]
        key: Option<PathBuf>,
        /// Stop using the relay and forget its settings.
        #[arg(long, conflicts_with_all = ["frontend", "kite"])]
        off: bool,
    },
    /// The onion service: the box's own address in the Tor network, for Tor
    /// Browser or Orbot on the phone. Without a subcommand: its address as a
    /// QR code, its status and the paired devices.
    Onion {
        #[command(subcommand)]
        command: Option<OnionCommand>,
    },
}

/// `homepost remote onion ...`.
#[derive(Subcommand, Debug)]
pub enum OnionCommand {
    /// Turn it on (the address stays the same across restarts).
    On {
        /// Only paired devices can find it (restricted discovery).
        #[arg(long)]
        restricted: bool,
    },
    /// Turn it off (the address is kept for next time).
    Off,
    /// Pair a device: prints its secret key once, for Tor Browser to ask for.
    Pair {
        /// What to call the device.
        name: String,
    },
    /// Unpair a device: its key no longer finds the box.
    Unpair {
        /// The device's id (from `homepost remote onion`).
        id: String,
    },
}

impl RemoteCommand {
    /// Whether the command asks for the kite's secret.
    pub fn wants_secret(&self) -> bool {
        matches!(self, RemoteCommand::Pagekite { off: false, .. })
    }

    /// The certificate and key arguments (resolved against the client's
    /// working directory when the server runs the command).
    pub fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        match self {
            RemoteCommand::Pagekite { cert, key, .. } => {
                cert.iter_mut().chain(key.iter_mut()).collect()
            }
            RemoteCommand::Status { .. } | RemoteCommand::Onion { .. } => Vec::new(),
        }
    }
}

/// Reads `--secret-file` on the client's side (the server may not be allowed
/// to open the user's files), for [`SECRET_ENV`].
pub fn read_secret_file(command: &RemoteCommand) -> Result<Option<Zeroizing<String>>> {
    let RemoteCommand::Pagekite {
        secret_file: Some(path),
        ..
    } = command
    else {
        return Ok(None);
    };
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the kite's secret from {}", path.display()))?,
    );
    Ok(Some(Zeroizing::new(text.trim().to_owned())))
}

/// Asks for the kite's secret on this terminal, unless it comes from the
/// environment or a file (or there is no terminal: the saved one stays).
pub fn ask_secret(command: &RemoteCommand) -> Result<Option<Zeroizing<String>>> {
    let given = console::var(SECRET_ENV).is_some()
        || matches!(
            command,
            RemoteCommand::Pagekite {
                secret_file: Some(_),
                ..
            }
        );
    if given || !command.wants_secret() || !console::stdin_is_terminal() {
        return Ok(None);
    }
    let typed = rpassword::prompt_password("The kite's secret (empty: keep the saved one): ")
        .context("cannot read the kite's secret")?;
    Ok(Some(Zeroizing::new(typed.trim().to_owned())))
}

/// The relay's settings of `command`, with `secret` (empty: keep the saved one).
fn settings(command: &RemoteCommand, secret: Zeroizing<String>) -> Option<PagekiteSettings> {
    let RemoteCommand::Pagekite {
        frontend: Some(frontend),
        kite: Some(kite),
        cert,
        key,
        off: false,
        ..
    } = command
    else {
        return None;
    };
    Some(PagekiteSettings {
        frontend: frontend.clone(),
        kite: kite.clone(),
        secret,
        cert: cert.clone(),
        key: key.clone(),
    })
}

/// Runs the command in the running server.
pub async fn in_server(command: &RemoteCommand, state: Arc<AppState>) -> Result<()> {
    match command {
        RemoteCommand::Onion { command } => {
            let dir = state.data_dir().to_owned();
            match command {
                None => {}
                Some(OnionCommand::On { restricted }) => {
                    remote::enable_onion(&state, *restricted).await?;
                }
                Some(OnionCommand::Off) if !remote::disable_onion(&state).await? => {
                    bail!("the onion service is off");
                }
                Some(OnionCommand::Off) => {}
                Some(OnionCommand::Pair { name }) => {
                    let paired = remote::pair_client(&state, name).await?;
                    return print_paired(&paired);
                }
                Some(OnionCommand::Unpair { id }) => remote::unpair_client(&state, id).await?,
            }
            print_onion(&state.remote().body().await, &dir)
        }
        RemoteCommand::Status { json } => print_status(&state.remote().body().await, *json),
        RemoteCommand::Pagekite { off: true, .. } => {
            if !remote::remove_pagekite(&state).await? {
                bail!("no relay is set up");
            }
            outln!("The relay is off and its settings are forgotten.");
            Ok(())
        }
        RemoteCommand::Pagekite { .. } => {
            // The client read --secret-file (the server may not open the
            // user's files, and a relative name is the client's) into the
            // environment it passed along.
            let secret = console::var(SECRET_ENV).unwrap_or_default();
            let Some(settings) = settings(command, secret) else {
                bail!("give --frontend and --kite");
            };
            let started = remote::set_pagekite(&state, settings).await?;
            outln!(
                "The relay is set up: {} (through {}).",
                started.url,
                started.frontend
            );
            print_certificate(started.own_certificate, &started.fingerprint)?;
            outln!("See whether it works with `homepost remote status`.");
            Ok(())
        }
    }
}

/// Runs the command on the saved settings while no server runs.
pub fn offline(command: &RemoteCommand, dir: &Path) -> Result<()> {
    match command {
        RemoteCommand::Onion { command } => {
            match command {
                None => {}
                Some(OnionCommand::On { restricted }) => {
                    remote::set_onion_offline(dir, true, Some(*restricted))?;
                }
                Some(OnionCommand::Off) => {
                    remote::set_onion_offline(dir, false, None)?;
                }
                Some(OnionCommand::Pair { name }) => {
                    return print_paired(&remote::add_client(dir, name)?);
                }
                Some(OnionCommand::Unpair { id }) => remote::remove_client(dir, id)?,
            }
            let settings = remote::saved_onion(dir)?.unwrap_or_default();
            if !settings.enabled {
                outln!("The onion service is off; `homepost remote onion on` turns it on.");
                return Ok(());
            }
            let address = remote::onion_address(dir)?;
            print_qr(&format!("http://{address}/"))?;
            outln!("Onion service: http://{address}/ (starts with `homepost serve`)");
            print_clients(
                settings.restricted,
                settings
                    .clients
                    .iter()
                    .map(|c| (c.name.as_str(), c.id.as_str())),
            )
        }
        RemoteCommand::Status { json } => {
            let saved = remote::saved_pagekite(dir)?;
            if *json {
                return print_json(&serde_json::json!({
                    "running": false,
                    "pagekite": saved.map(|s| serde_json::json!({
                        "frontend": s.frontend, "kite": s.kite,
                        "url": format!("https://{}/", s.kite),
                    })),
                }));
            }
            match saved {
                Some(s) => outln!(
                    "PageKite relay: https://{}/ through {} (starts with `homepost serve`)",
                    s.kite,
                    s.frontend
                ),
                None => outln!("No way in from outside the home network is set up."),
            }
            Ok(())
        }
        RemoteCommand::Pagekite { off: true, .. } => {
            if !remote::forget_pagekite(dir)? {
                bail!("no relay is set up");
            }
            outln!("The relay's settings are forgotten.");
            Ok(())
        }
        RemoteCommand::Pagekite { .. } => {
            let secret = match read_secret_file(command)? {
                Some(from_file) => from_file,
                None => match console::var(SECRET_ENV) {
                    Some(from_env) => from_env,
                    None => ask_secret(command)?.unwrap_or_default(),
                },
            };
            let Some(settings) = settings(command, secret) else {
                bail!("give --frontend and --kite");
            };
            let saved = remote::save_pagekite(dir, settings)?;
            outln!(
                "The relay is set up: https://{}/ (through {}). It starts with `homepost serve`.",
                saved.kite,
                saved.frontend
            );
            Ok(())
        }
    }
}

fn print_certificate(own: bool, fingerprint: &str) -> Result<()> {
    if own {
        outln!("Certificate: your own, SHA-256 {fingerprint}");
    } else {
        outln!("Certificate: self-signed, SHA-256 {fingerprint}");
        outln!("Check that your phone's browser shows the same before you type your passphrase.");
    }
    Ok(())
}

/// The onion service as `homepost remote onion` shows it.
fn print_onion(body: &RemoteBody, dir: &Path) -> Result<()> {
    let Some(onion) = &body.onion else {
        let _ = dir;
        outln!("The onion service is off; `homepost remote onion on` turns it on.");
        return Ok(());
    };
    print_qr(&onion.url)?;
    outln!("Onion service: {} ({})", onion.url, onion.message);
    outln!("Open it in Tor Browser, or in a browser behind Orbot, on the phone.");
    print_clients(
        onion.restricted,
        onion
            .clients
            .iter()
            .map(|c| (c.name.as_str(), c.id.as_str())),
    )
}

/// Whether only paired devices can find the service, and the devices (name, id).
fn print_clients<'a>(
    restricted: bool,
    clients: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<()> {
    if restricted {
        outln!("Only paired devices can find it.");
    }
    for (name, id) in clients {
        outln!("  paired: {name} ({id})");
    }
    Ok(())
}

fn print_paired(paired: &remote::OnionClientBody) -> Result<()> {
    print_qr(&paired.key)?;
    outln!(
        "Paired {} ({}). Its key, shown this once:",
        paired.name,
        paired.id
    );
    outln!("  {}", paired.key.as_str());
    outln!("Tor Browser asks for it the first time it opens the box's address.");
    outln!("For Orbot or Tor's ClientOnionAuthDir, the whole line:");
    outln!("  {}", paired.auth_private.as_str());
    Ok(())
}

/// A QR code on the terminal (nothing if the text is too long for one).
fn print_qr(text: &str) -> Result<()> {
    if let Some(art) = crate::setup_code::terminal_qr(text) {
        outln!("{art}");
    }
    Ok(())
}

fn print_status(body: &RemoteBody, json: bool) -> Result<()> {
    if json {
        return print_json(&serde_json::to_value(body)?);
    }
    match &body.pagekite {
        Some(p) => {
            outln!("PageKite relay: {} (through {})", p.url, p.frontend);
            outln!("  {}", p.message);
            print_certificate(p.own_certificate, &p.fingerprint)?;
        }
        None => outln!("No PageKite relay is set up."),
    }
    match &body.onion {
        Some(o) => outln!("Onion service: {} ({})", o.url, o.message),
        None => outln!("The onion service is off."),
    }
    Ok(())
}
