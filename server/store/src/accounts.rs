//! Mail accounts: one identity with its incoming and outgoing servers.
//!
//! The settings are kept as JSON beside their passwords, which sit in a column of
//! their own so that listing accounts never reads them. Both live inside the
//! encrypted database.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{Error, Result, to_json};

/// How a connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (IMAPS 993, POP3S 995, SMTPS 465).
    Tls,
    /// A plain connection upgraded with STARTTLS/STLS before logging in.
    Starttls,
    /// No encryption: only accepted for servers on this machine.
    Plain,
}

/// The protocol of an incoming server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// IMAP4rev1: folders, flags, IDLE.
    Imap,
    /// POP3 with UIDL.
    Pop3,
}

/// What happens to fetched mail on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeletePolicy {
    /// Leave it there.
    #[default]
    Keep,
    /// Delete it this many days after it was fetched.
    DeleteAfter {
        /// Days after the fetch.
        days: u32,
    },
    /// Delete it as soon as it is safely in the store.
    DeleteWhenStored,
}

/// Where and as whom to connect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Endpoint {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Connection protection.
    pub security: Security,
    /// Login name.
    pub username: String,
    /// SHA-256 of a server certificate the user chose to trust although it does not
    /// validate (colon-separated upper-case hex).
    #[serde(default)]
    pub pinned_sha256: Option<String>,
}

/// An IMAP or POP3 server to fetch from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incoming {
    /// IMAP or POP3.
    pub protocol: Protocol,
    /// The server.
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// IMAP folders to fetch; IDLE watches the first. Ignored for POP3.
    #[serde(default = "default_folders")]
    pub folders: Vec<String>,
    /// What happens to fetched mail on the server.
    #[serde(default)]
    pub policy: DeletePolicy,
    /// IMAP folder that receives a copy of sent mail.
    #[serde(default)]
    pub sent_folder: Option<String>,
    /// Seconds between checks when the server cannot push (no IDLE, or POP3).
    #[serde(default = "default_poll")]
    pub poll_seconds: u32,
    /// What the first pass over a folder takes of the mail already there.
    #[serde(default)]
    pub first_sync: FirstSync,
}

/// What the first pass over a folder (one never fetched before) does with the
/// mail already in it. Later passes fetch everything new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FirstSync {
    /// How much of it to fetch.
    #[serde(default)]
    pub scope: FirstScope,
    /// Days back, for [`FirstScope::Recent`] (default 30).
    #[serde(default = "default_recent_days")]
    pub days: u32,
    /// Mark what the first pass fetches as read (here, and so on the server).
    #[serde(default)]
    pub mark_read: bool,
}

fn default_recent_days() -> u32 {
    30
}

/// How much of the mail already on the server the first pass fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum FirstScope {
    /// All of it.
    #[default]
    All,
    /// What arrived in the last `days` days (IMAP only).
    Recent,
    /// None of it: only mail that arrives from now on.
    None,
}

fn default_folders() -> Vec<String> {
    vec!["INBOX".into()]
}

fn default_poll() -> u32 {
    300
}

/// An SMTP submission server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Outgoing {
    /// The server.
    #[serde(flatten)]
    pub endpoint: Endpoint,
}

/// An account's settings, without passwords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountConfig {
    /// A name for people ("Home", "Work").
    pub name: String,
    /// The identity's address, used as From.
    pub email: String,
    /// The identity's display name.
    #[serde(default)]
    pub display_name: String,
    /// Where mail is fetched from.
    #[serde(default)]
    pub incoming: Option<Incoming>,
    /// Where mail is submitted.
    #[serde(default)]
    pub outgoing: Option<Outgoing>,
}

/// An account's passwords. Wiped from memory when dropped; never serialised into
/// answers or logs (Debug is redacted).
#[derive(Clone, Default, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Secrets {
    /// The incoming server's password.
    #[serde(default)]
    pub incoming: Option<String>,
    /// The outgoing server's password.
    #[serde(default)]
    pub outgoing: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("incoming", &self.incoming.as_ref().map(|_| "<redacted>"))
            .field("outgoing", &self.outgoing.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl AccountConfig {
    /// The IMAP folder that gets a copy of sent mail, if any (POP3 has none).
    pub fn imap_sent_folder(&self) -> Option<&str> {
        self.incoming
            .as_ref()
            .filter(|i| i.protocol == Protocol::Imap)
            .and_then(|i| i.sent_folder.as_deref())
    }

    /// Checks settings written by a user (API or CLI) and tidies them (trimmed
    /// names, an empty folder list becomes INBOX). The error says what to fix.
    pub fn check(&mut self) -> std::result::Result<(), String> {
        self.name = self.name.trim().to_owned();
        if self.name.is_empty()
            || self.name.chars().count() > 100
            || self.name.chars().any(char::is_control)
        {
            return Err("give the account a name of 1-100 characters".into());
        }
        self.email = self.email.trim().to_owned();
        if !homepost_mail::compose::is_address(&self.email) {
            return Err(format!("{:?} is not an e-mail address", self.email));
        }
        self.display_name = self.display_name.trim().to_owned();
        if self.display_name.chars().any(char::is_control)
            || self.display_name.chars().count() > 200
        {
            return Err("the display name is not valid".into());
        }
        if let Some(i) = self.incoming.as_mut() {
            i.endpoint.check("incoming")?;
            if i.protocol == Protocol::Imap {
                i.folders.retain(|f| !f.trim().is_empty());
                if i.folders.is_empty() {
                    i.folders.push("INBOX".into());
                }
                if i.folders.len() > 50
                    || i.folders
                        .iter()
                        .any(|f| f.len() > 200 || f.chars().any(char::is_control))
                {
                    return Err("folder names are 1-200 characters, at most 50 folders".into());
                }
            }
            if !(10..=86_400).contains(&i.poll_seconds) {
                return Err("check for new mail every 10 to 86400 seconds".into());
            }
            // The days matter only for `Recent` (the CLI always gives them).
            if i.protocol == Protocol::Pop3
                && (i.first_sync.scope != FirstScope::All || i.first_sync.mark_read)
            {
                return Err(
                    "a POP3 server cannot tell old mail from new before fetching it: \
fetch all of it, or use IMAP"
                        .into(),
                );
            }
            if i.first_sync.scope == FirstScope::Recent && !(1..=3650).contains(&i.first_sync.days)
            {
                return Err("fetch the mail of the last 1 to 3650 days".into());
            }
            if let DeletePolicy::DeleteAfter { days: 0 } = i.policy {
                return Err("delete after at least 1 day".into());
            }
            if let Some(f) = &i.sent_folder
                && (f.is_empty() || f.len() > 200 || f.chars().any(char::is_control))
            {
                return Err("the Sent folder name is not valid".into());
            }
        }
        if let Some(o) = self.outgoing.as_mut() {
            o.endpoint.check("outgoing")?;
        }
        Ok(())
    }
}

impl Endpoint {
    fn check(&mut self, what: &str) -> std::result::Result<(), String> {
        self.host = self.host.trim().to_owned();
        let host_ok = !self.host.is_empty()
            && self.host.len() <= 253
            && self
                .host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !host_ok {
            return Err(format!(
                "the {what} server's host name {:?} is not valid",
                self.host
            ));
        }
        if self.port == 0 {
            return Err(format!("the {what} server needs a port"));
        }
        if self.security == Security::Plain && !is_loopback(&self.host) {
            return Err(format!(
                "the {what} server must use TLS or STARTTLS: unencrypted connections are only allowed to this machine"
            ));
        }
        if self.username.chars().any(char::is_control) || self.username.len() > 320 {
            return Err(format!("the {what} user name is not valid"));
        }
        Ok(())
    }
}

/// Whether `host` is this machine (where an unencrypted connection is acceptable).
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Store id.
    pub id: i64,
    /// Its settings.
    pub config: AccountConfig,
    /// Whether an incoming password is stored.
    pub has_incoming_password: bool,
    /// Whether an outgoing password is stored.
    pub has_outgoing_password: bool,
}

/// Which of an account's servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The IMAP or POP3 server.
    Incoming,
    /// The SMTP server.
    Outgoing,
}

impl crate::Store {
    /// Every account, by id.
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        let rows = sqlx::query(
            "SELECT id, config, json_extract(secrets, '$.incoming') IS NOT NULL AS has_in,
                    json_extract(secrets, '$.outgoing') IS NOT NULL AS has_out
             FROM accounts ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(account_from_row).collect()
    }

    /// One account.
    pub async fn account(&self, id: i64) -> Result<Option<Account>> {
        let row = sqlx::query(
            "SELECT id, config, json_extract(secrets, '$.incoming') IS NOT NULL AS has_in,
                    json_extract(secrets, '$.outgoing') IS NOT NULL AS has_out
             FROM accounts WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// Adds an account; returns its id.
    pub async fn add_account(
        &self,
        config: &AccountConfig,
        secrets: &Secrets,
        now: i64,
    ) -> Result<i64> {
        let mut secrets_json = to_json(secrets)?;
        let id = sqlx::query_scalar(
            "INSERT INTO accounts (config, secrets, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(to_json(config)?)
        .bind(&secrets_json)
        .bind(now)
        .fetch_one(&self.pool)
        .await;
        secrets_json.zeroize();
        Ok(id?)
    }

    /// Replaces an account's settings. A password that is `None` in `secrets` keeps
    /// the stored one. Returns false when there is no such account.
    pub async fn update_account(
        &self,
        id: i64,
        config: &AccountConfig,
        secrets: &Secrets,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let Some(mut stored) = secrets_in(&mut tx, id).await? else {
            return Ok(false);
        };
        if let Some(p) = &secrets.incoming {
            stored.incoming = Some(p.clone());
        }
        if let Some(p) = &secrets.outgoing {
            stored.outgoing = Some(p.clone());
        }
        // A server that is gone takes its password with it.
        if config.incoming.is_none() {
            stored.incoming = None;
        }
        if config.outgoing.is_none() {
            stored.outgoing = None;
        }
        let mut secrets_json = to_json(&stored)?;
        let done = sqlx::query("UPDATE accounts SET config = ?, secrets = ? WHERE id = ?")
            .bind(to_json(config)?)
            .bind(&secrets_json)
            .bind(id)
            .execute(&mut *tx)
            .await;
        secrets_json.zeroize();
        done?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes an account and its sync state; its fetched mail stays. Returns false
    /// when there was no such account.
    pub async fn delete_account(&self, id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM accounts WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// An account's passwords.
    pub async fn account_secrets(&self, id: i64) -> Result<Option<Secrets>> {
        let mut conn = self.pool.acquire().await?;
        secrets_in(&mut conn, id).await
    }

    /// Pins a certificate fingerprint for one of an account's servers.
    pub async fn pin_certificate(&self, id: i64, side: Side, fingerprint: &str) -> Result<bool> {
        let Some(mut account) = self.account(id).await? else {
            return Ok(false);
        };
        let endpoint = match side {
            Side::Incoming => account.config.incoming.as_mut().map(|s| &mut s.endpoint),
            Side::Outgoing => account.config.outgoing.as_mut().map(|s| &mut s.endpoint),
        };
        let Some(endpoint) = endpoint else {
            return Ok(false);
        };
        endpoint.pinned_sha256 = Some(fingerprint.to_owned());
        sqlx::query("UPDATE accounts SET config = ? WHERE id = ?")
            .bind(to_json(&account.config)?)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(true)
    }
}

async fn secrets_in(conn: &mut sqlx::SqliteConnection, id: i64) -> Result<Option<Secrets>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT secrets FROM accounts WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    let Some((mut json,)) = row else {
        return Ok(None);
    };
    let secrets =
        serde_json::from_str(&json).map_err(|e| Error::Sql(sqlx::Error::Decode(Box::new(e))));
    json.zeroize();
    secrets.map(Some)
}

fn account_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Account> {
    let config: String = row.try_get("config")?;
    Ok(Account {
        id: row.try_get("id")?,
        config: serde_json::from_str(&config)
            .map_err(|e| Error::Sql(sqlx::Error::Decode(Box::new(e))))?,
        has_incoming_password: row.try_get("has_in")?,
        has_outgoing_password: row.try_get("has_out")?,
    })
}
