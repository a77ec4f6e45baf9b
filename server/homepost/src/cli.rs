//! The command line.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Parser, Subcommand, ValueEnum};

pub use crate::cli_account::{AccountArgs, ExistingMail};

/// Homepost: your mail, encrypted at rest, searchable, on your own box.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Cli {
    /// Data directory [default: $XDG_DATA_HOME/homepost or ~/.local/share/homepost].
    #[arg(long, global = true, env = "HOMEPOST_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Read the passphrase from this file (first line) instead of asking.
    /// HOMEPOST_PASSPHRASE is used too when set.
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Read the new passphrase for `init` or `passwd` from this file.
    /// HOMEPOST_NEW_PASSPHRASE is used too when set.
    #[arg(long, global = true, value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// Which key lookup sources the server may ask.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum KeyLookupArg {
    /// The address's own domain (WKD), then keys.openpgp.org.
    All,
    /// The address's own domain only.
    Wkd,
    /// No lookups.
    Off,
}

/// Argon2id cost for a new passphrase.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum KdfProfile {
    /// About a second on a Raspberry Pi 4.
    Default,
    /// Trivially cheap: only for automated tests.
    #[value(name = "insecure-test-only")]
    InsecureTestOnly,
}

impl KdfProfile {
    /// The Argon2id parameters of this profile.
    pub fn params(self) -> homepost_vault::KdfParams {
        match self {
            KdfProfile::Default => homepost_vault::KdfParams::DEFAULT,
            KdfProfile::InsecureTestOnly => homepost_vault::KdfParams::INSECURE_FOR_TESTS,
        }
    }
}

/// Result order of `search`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SortArg {
    /// Newest first.
    Newest,
    /// Oldest first.
    Oldest,
    /// Best match first.
    Relevance,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create an encrypted vault (asks for a passphrase twice).
    Init {
        /// Key-derivation cost.
        #[arg(long, value_enum, default_value = "default", hide = true)]
        kdf: KdfProfile,
    },
    /// Import Maildirs, mbox files, .eml files and directories of them.
    Import {
        /// Files and directories to import.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Add this tag to every imported message (repeatable).
        #[arg(long)]
        tag: Vec<String>,
        /// Do not tag imported messages "inbox".
        #[arg(long)]
        no_inbox: bool,
        /// Mark every imported message read (old mail that should not count as new).
        #[arg(long)]
        mark_read: bool,
    },
    /// Search messages (see docs/search.md for the query language). Mail tagged
    /// spam or trash is left out unless the query names the tag (`in:spam`).
    Search {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        /// Print only the number of matches.
        #[arg(long, conflicts_with = "json")]
        count: bool,
        /// Result order.
        #[arg(long, value_enum, default_value = "newest")]
        sort: SortArg,
        /// Most results to print.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Results to skip.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Also keep the query as a saved search under this name.
        #[arg(long, value_name = "NAME")]
        save: Option<String>,
        /// The query; several words are joined with spaces.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        query: Vec<String>,
    },
    /// Show one message: headers and the body as safe plain text.
    Show {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Message id (from search).
        id: i64,
    },
    /// List the thread a message belongs to, oldest first.
    Thread {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        /// Any message id in the thread.
        id: i64,
    },
    /// Add (+tag) and remove (-tag) tags: `homepost tag 42 43 +work -inbox`.
    Tag {
        /// Message ids, then +tag / -tag operations.
        #[arg(required = true, allow_hyphen_values = true, num_args = 1..)]
        args: Vec<String>,
    },
    /// Rebuild the search index from the store.
    Reindex,
    /// Back the box up, encrypted, to an account's IMAP folder or a directory
    /// (`backup setup` first); `backup list`, `verify`, `status`, `prune`.
    Backup {
        #[command(subcommand)]
        command: Option<crate::backup_cli::BackupCommand>,
    },
    /// Make this data directory (new, or without a vault) a box again from its backup.
    Restore(crate::backup_cli::RestoreArgs),
    /// Check the box for damage: every encrypted page of the store, its
    /// structure, every message's bytes against their SHA-256, every file of the
    /// index and the index against the store, and vault.json. Says what `repair`
    /// would do; exits non-zero when something is damaged.
    Check {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Repair what `check` finds: vault.json written again, the index mended or
    /// rebuilt, damaged messages fetched again from their account or the backup;
    /// what cannot be recovered is kept in quarantine and listed.
    Repair {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete messages for good (not to the trash): their bytes, everything
    /// derived from them and their index entries; the next backup prune drops them.
    Delete {
        /// Message ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// The trash: empty it, or say how long mail stays in it.
    Trash {
        #[command(subcommand)]
        command: crate::check_cli::TrashCommand,
    },
    /// The saved searches, with their unread counts.
    Saved {
        #[command(subcommand)]
        command: Option<crate::rules_cli::SavedCommand>,
    },
    /// Filter rules for arriving mail; Sieve in and out.
    Rules {
        #[command(subcommand)]
        command: Option<crate::rules_cli::RulesCommand>,
    },
    /// Teach the spam filter and ask it, as with sa-learn and bogofilter.
    Spam {
        #[command(subcommand)]
        command: SpamCommand,
    },
    /// Run the web server and app. It starts locked: open the page to unlock it
    /// (or to create the vault, the first time).
    Serve {
        /// Read the settings from this TOML file (docs/config.md); the flags
        /// below override it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Address and port to listen on [default: 127.0.0.1:33411]. Anything
        /// but loopback needs TLS.
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<std::net::SocketAddr>,
        /// TLS certificate chain (PEM), with --tls-key.
        #[arg(long, requires = "tls_key", value_name = "FILE")]
        tls_cert: Option<PathBuf>,
        /// TLS private key (PEM), with --tls-cert.
        #[arg(long, requires = "tls_cert", value_name = "FILE")]
        tls_key: Option<PathBuf>,
        /// Use a self-signed certificate, generated once in DATA/tls/; its
        /// fingerprint is printed so you can check it in the browser.
        #[arg(long, conflicts_with = "tls_cert")]
        tls_self_signed: bool,
        /// Lock after this many minutes without a request [default: 30].
        #[arg(long, value_name = "MINUTES", value_parser = clap::value_parser!(u64).range(1..=1440))]
        idle_timeout: Option<u64>,
        /// Keep trying to send a message for this many hours before it fails
        /// [default: 96].
        #[arg(long, value_name = "HOURS", value_parser = clap::value_parser!(u64).range(1..=2160))]
        outbox_lifetime: Option<u64>,
        /// Key-derivation cost of a vault created from the web.
        #[arg(long, value_enum, default_value = "default", hide = true)]
        kdf: KdfProfile,
        /// Where the app may look up a correspondent's OpenPGP key when the
        /// user asks: a URL their mail named, their domain's Web Key Directory
        /// and keys.openpgp.org (all, the default), the domain only (wkd), or
        /// nowhere (off).
        #[arg(long, value_enum)]
        key_lookup: Option<KeyLookupArg>,
        /// Answer to this host name too (repeatable): a name the box is reached
        /// by, such as its DNS name on the home network. The box's addresses,
        /// `localhost` and, beyond loopback, `HOSTNAME.local` always work; other
        /// names are refused, so that a web page cannot reach the box through a
        /// name it controls (DNS rebinding).
        #[arg(long, value_name = "NAME")]
        allow_host: Vec<String>,
    },
    /// Time queries in-process (for bench/run): prints JSON with p50/p99 per query.
    #[command(hide = true)]
    BenchQueries {
        /// Runs per query.
        #[arg(long, default_value_t = 50)]
        repeat: usize,
        /// Queries, one per argument.
        #[arg(required = true, allow_hyphen_values = true)]
        queries: Vec<String>,
    },
    /// Mail accounts: list, add, remove, trust a server certificate.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Find a mail address's servers as the setup wizard does (autoconfig
    /// files, SRV records, the mail exchanger, probing), and say where from.
    Discover(crate::cli_account::DiscoverArgs),
    /// OpenPGP keys: export yours (public, or secret to move it), import one.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Fetch every account's new mail once and send what is due in the outbox,
    /// then exit (`serve` does this continuously while unlocked).
    Fetch {
        /// Only this account.
        #[arg(long, value_name = "ID")]
        account: Option<i64>,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 600, value_name = "SECONDS")]
        timeout: u64,
    },
    /// Send a message: protected like the app does it (Autocrypt, signed, and
    /// encrypted when every recipient's key is known) and queued in the outbox;
    /// `homepost fetch` or the server sends it. The body is read from stdin.
    Send(Box<SendArgs>),
    /// The outbox: what waits to be sent, what failed and what was sent lately.
    Outbox {
        #[command(subcommand)]
        command: Option<OutboxCommand>,
    },
    /// How the box is reached from outside the home network (a PageKite
    /// relay), and whether it works.
    Remote {
        #[command(subcommand)]
        command: crate::remote_cli::RemoteCommand,
    },
    /// Change the passphrase (rewraps the master key; data is not re-encrypted).
    Passwd {
        /// Key-derivation cost.
        #[arg(long, value_enum, default_value = "default", hide = true)]
        kdf: KdfProfile,
    },
}

/// `homepost account ...`.
#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// List the accounts.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add an account. Passwords are asked for, or read from
    /// HOMEPOST_INCOMING_PASSWORD and HOMEPOST_OUTGOING_PASSWORD.
    Add(Box<AccountArgs>),
    /// Remove an account (its fetched mail stays).
    Remove {
        /// Account id (from `account list`).
        id: i64,
    },
    /// Trust a server certificate that does not validate, by its SHA-256
    /// fingerprint (as `fetch` printed it). Compare it with the one your
    /// provider shows first.
    Trust {
        /// Account id.
        id: i64,
        /// Which server.
        #[arg(long, value_enum)]
        side: SideArg,
        /// The fingerprint, `AB:CD:...`.
        fingerprint: String,
    },
}

/// `homepost key ...`.
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Print an identity's key, armored (public unless --secret).
    Export {
        /// Print the secret key (keep it safe: it reads all your encrypted mail).
        #[arg(long)]
        secret: bool,
        /// Whose key [default: the first account's address].
        #[arg(long)]
        address: Option<String>,
    },
    /// Write an Autocrypt Setup Message (to move your key to another mail app):
    /// the message goes to FILE, the 36-digit setup code to the terminal. Send
    /// the file to yourself; the other app asks for the code.
    SetupMessage {
        /// Where to write the message.
        file: std::path::PathBuf,
        /// Whose key [default: the first account's address].
        #[arg(long)]
        address: Option<String>,
    },
    /// Import the key from an Autocrypt Setup Message another app made. The code
    /// is asked for, or read from HOMEPOST_SETUP_CODE.
    ImportSetup {
        /// The message (.eml).
        file: std::path::PathBuf,
    },
    /// Accept a correspondent's changed key (after checking it with them another
    /// way): it replaces the key first seen, and mail to them can be encrypted again.
    Accept {
        /// Their address.
        address: String,
    },
    /// Import a key from a file (armored or binary): a secret key becomes the
    /// active key of its addresses; a public key is kept for its addresses
    /// (pinned when they have no key yet, else a change to accept).
    Import {
        /// The key file.
        file: std::path::PathBuf,
    },
    /// Look up a correspondent's key: the URL their mail announced, their
    /// domain's Web Key Directory, then keys.openpgp.org. The servers asked
    /// learn whose key you looked for.
    Lookup {
        /// Their address.
        address: String,
        /// Ask only their own domain: not keys.openpgp.org (a third party) nor
        /// a URL their mail named.
        #[arg(long)]
        no_keyserver: bool,
    },
    /// Show what is known of a correspondent: their key and where it came
    /// from, the key trusted first, a change waiting, and their history.
    Peer {
        /// Their address.
        address: String,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Which server of an account.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SideArg {
    /// The IMAP or POP3 server.
    Incoming,
    /// The SMTP server.
    Outgoing,
}

/// How a connection is protected.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SecurityArg {
    /// TLS from the start.
    Tls,
    /// STARTTLS.
    Starttls,
    /// None (only to this machine).
    Plain,
}

/// What `homepost send` sends.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// Send this saved draft (made in the app) instead of a new message.
    #[arg(long, value_name = "ID", conflicts_with_all = ["account", "to", "cc", "bcc", "attach"])]
    pub draft: Option<i64>,
    /// The account to send from (`homepost account list`).
    #[arg(long, value_name = "ID", required_unless_present = "draft")]
    pub account: Option<i64>,
    /// A recipient (`Name <address>` or `address`); repeat for more.
    #[arg(long, value_name = "ADDRESS", required_unless_present = "draft")]
    pub to: Vec<String>,
    /// A copy recipient; repeat for more.
    #[arg(long, value_name = "ADDRESS")]
    pub cc: Vec<String>,
    /// A blind copy recipient; repeat for more.
    #[arg(long, value_name = "ADDRESS")]
    pub bcc: Vec<String>,
    /// Subject.
    #[arg(long, default_value = "")]
    pub subject: String,
    /// Attach a file; repeat for more.
    #[arg(long, value_name = "FILE")]
    pub attach: Vec<std::path::PathBuf>,
    /// Encrypt, or fail if a recipient has no usable key.
    #[arg(long, conflicts_with = "no_encrypt")]
    pub encrypt: bool,
    /// Do not encrypt (by default: encrypt when the recommendation says so).
    #[arg(long)]
    pub no_encrypt: bool,
}

/// `homepost outbox ...`.
#[derive(Subcommand, Debug)]
pub enum OutboxCommand {
    /// List it (the default).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Try a deferred, failed or cancelled message again now.
    Retry {
        /// Outbox id.
        id: i64,
    },
    /// Cancel a message that is not being sent.
    Cancel {
        /// Outbox id.
        id: i64,
    },
}

/// `homepost spam ...`.
#[derive(Subcommand, Debug)]
pub enum SpamCommand {
    /// Learn mail as spam or as ham (wanted mail): Maildirs, mbox files, .eml
    /// files and directories of them. The mail is not imported. Learning a
    /// message again as the same class changes nothing; as the other class,
    /// corrects it.
    #[command(group(clap::ArgGroup::new("mail").required(true).multiple(true).args(["spam", "ham"])))]
    Learn {
        /// Mail to learn as spam (repeatable).
        #[arg(long, value_name = "PATH")]
        spam: Vec<PathBuf>,
        /// Mail to learn as ham (repeatable).
        #[arg(long, value_name = "PATH")]
        ham: Vec<PathBuf>,
    },
    /// Score mail without storing or learning anything: one line per message,
    /// `FILE VERDICT SCORE`, with `FILE:N` for the Nth message of an mbox,
    /// VERDICT `spam`, `ham` or `unsure` and SCORE from 0 (ham) to 1 (spam).
    Check {
        /// Files and directories to check.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// How much the filter has learnt.
    Stats,
}

/// Splits `tag` arguments into message ids, tags to add and tags to remove.
pub fn split_tag_args(args: &[String]) -> Result<(Vec<i64>, Vec<String>, Vec<String>)> {
    let (mut ids, mut add, mut remove) = (Vec::new(), Vec::new(), Vec::new());
    for a in args {
        if let Some(t) = a.strip_prefix('+') {
            add.push(t.to_string());
        } else if let Some(t) = a.strip_prefix('-') {
            remove.push(t.to_string());
        } else if let Ok(id) = a.parse::<i64>() {
            ids.push(id);
        } else {
            bail!("{a:?} is neither a message id nor +tag / -tag");
        }
    }
    if ids.is_empty() {
        bail!("no message id given");
    }
    if add.is_empty() && remove.is_empty() {
        bail!("no tag change given: use +tag to add and -tag to remove");
    }
    Ok((ids, add, remove))
}

impl Command {
    /// The subcommand's name (for logs: the arguments may name private things).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Init { .. } => "init",
            Command::Import { .. } => "import",
            Command::Search { .. } => "search",
            Command::Show { .. } => "show",
            Command::Thread { .. } => "thread",
            Command::Tag { .. } => "tag",
            Command::Reindex => "reindex",
            Command::Backup { .. } => "backup",
            Command::Restore(_) => "restore",
            Command::Check { .. } => "check",
            Command::Repair { .. } => "repair",
            Command::Delete { .. } => "delete",
            Command::Trash { .. } => "trash",
            Command::Spam { .. } => "spam",
            Command::Saved { .. } => "saved",
            Command::Rules { .. } => "rules",
            Command::Serve { .. } => "serve",
            Command::BenchQueries { .. } => "bench-queries",
            Command::Account { .. } => "account",
            Command::Discover(_) => "discover",
            Command::Key { .. } => "key",
            Command::Fetch { .. } => "fetch",
            Command::Send(_) => "send",
            Command::Outbox { .. } => "outbox",
            Command::Passwd { .. } => "passwd",
            Command::Remote { .. } => "remote",
        }
    }

    /// The file and directory arguments, to resolve against the client's
    /// working directory when the running server runs the command for it.
    pub fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        match self {
            Command::Import { paths, .. }
            | Command::Spam {
                command: SpamCommand::Check { paths },
            } => paths.iter_mut().collect(),
            Command::Spam {
                command: SpamCommand::Learn { spam, ham },
            } => spam.iter_mut().chain(ham.iter_mut()).collect(),
            Command::Key {
                command:
                    KeyCommand::SetupMessage { file, .. }
                    | KeyCommand::ImportSetup { file }
                    | KeyCommand::Import { file },
            } => vec![file],
            Command::Send(args) => args.attach.iter_mut().collect(),
            Command::Remote { command } => command.paths_mut(),
            Command::Rules {
                command: Some(command),
            } => command.paths_mut(),
            _ => Vec::new(),
        }
    }

    /// The environment variables the command may read (a client passes its
    /// values along with a remote command).
    pub fn reads_env(&self) -> &'static [&'static str] {
        match self {
            Command::Account { .. } => {
                &["HOMEPOST_INCOMING_PASSWORD", "HOMEPOST_OUTGOING_PASSWORD"]
            }
            Command::Key { .. } => &["HOMEPOST_SETUP_CODE"],
            Command::Remote { .. } => &[crate::remote_cli::SECRET_ENV],
            Command::Restore(_) => &[
                crate::backup_cli::PASSWORD_ENV,
                crate::backup_cli::RECOVERY_ENV,
            ],
            Command::Backup { .. } => &[crate::backup_cli::PASSWORD_ENV],
            _ => &[],
        }
    }
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
