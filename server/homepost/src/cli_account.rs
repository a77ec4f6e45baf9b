//! The command line's account settings, and `homepost discover`.

use clap::ValueEnum;

use crate::cli::SecurityArg;

/// Settings of a new account.
#[derive(clap::Args, Debug)]
pub struct AccountArgs {
    /// A name for the account.
    #[arg(long)]
    pub name: String,
    /// Your address on it (the From of mail you send).
    #[arg(long)]
    pub email: String,
    /// Your name as recipients see it.
    #[arg(long, default_value = "")]
    pub display_name: String,
    /// IMAP server, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "pop3")]
    pub imap: Option<String>,
    /// POP3 server, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub pop3: Option<String>,
    /// Protection of the IMAP/POP3 connection.
    #[arg(long, value_enum, default_value = "tls")]
    pub incoming_security: SecurityArg,
    /// IMAP/POP3 user name [default: the address].
    #[arg(long)]
    pub incoming_user: Option<String>,
    /// IMAP folder to fetch (repeatable) [default: INBOX].
    #[arg(long)]
    pub folder: Vec<String>,
    /// Delete fetched mail from the server once it is stored.
    #[arg(long, conflicts_with = "delete_after_days")]
    pub delete_when_stored: bool,
    /// Delete fetched mail from the server this many days after fetching it.
    #[arg(long, value_name = "DAYS")]
    pub delete_after_days: Option<u32>,
    /// IMAP folder that gets a copy of sent mail.
    #[arg(long)]
    pub sent_folder: Option<String>,
    /// Seconds between checks when the server cannot push new mail.
    #[arg(long, default_value_t = 300)]
    pub poll_seconds: u32,
    /// SMTP submission server, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub smtp: Option<String>,
    /// Protection of the SMTP connection.
    #[arg(long, value_enum, default_value = "tls")]
    pub smtp_security: SecurityArg,
    /// SMTP user name [default: the address].
    #[arg(long)]
    pub smtp_user: Option<String>,
    /// What the first fetch of a folder takes of the mail already there (IMAP).
    #[arg(long, value_enum, default_value = "all")]
    pub existing: ExistingMail,
    /// Days back, for `--existing recent`.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub recent_days: u32,
    /// Mark the mail already there read (here, and so on the server) as it is fetched.
    #[arg(long)]
    pub mark_old_read: bool,
}

/// What the first fetch of a folder takes of the mail already there.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExistingMail {
    /// All of it.
    All,
    /// What arrived in the last `--recent-days` days.
    Recent,
    /// None: only mail that arrives from now on.
    None,
}

/// `homepost discover ADDRESS`.
#[derive(clap::Args, Debug)]
pub struct DiscoverArgs {
    /// The e-mail address.
    pub address: String,
    /// The name server for SRV and MX records, IP:PORT [default: the system's].
    #[arg(long, value_name = "IP:PORT")]
    pub name_server: Option<std::net::SocketAddr>,
    /// Never ask Mozilla's ISPDB (it would learn the domain).
    #[arg(long)]
    pub no_ispdb: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}
