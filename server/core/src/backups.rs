//! The box's backups (docs/backup.md): where they go, a run with its status,
//! and the schedule that runs them while the box is unlocked. The engine is
//! `homepost-backup`; this module keeps its settings and status in the store.

use std::path::PathBuf;
use std::time::Duration;

use homepost_backup::{AnyRemote, DirRemote, ImapRemote, Options, Retention, Summary, VaultAccess};
use homepost_store::{Protocol, Store};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::unix_now;

/// The folder backups go to unless the user names another.
pub const DEFAULT_FOLDER: &str = "Homepost Backup";
/// The store setting holding [`BackupSettings`].
const SETTINGS_KEY: &str = "backup.settings";
/// The store setting holding the password of a [`Target::Imap`].
const PASSWORD_KEY: &str = "backup.imap_password";
/// The store setting holding [`BackupStatus`].
const STATUS_KEY: &str = "backup.status";
/// A run that failed is tried again after this long (not a full day).
const RETRY_AFTER: i64 = 3600;
/// Messages stored since the last backup that make the next one due at once
/// (a large import or a first fetch is not left a day without a copy).
const AFTER_IMPORT: u64 = 1000;

/// Why a backup could not be set up or run.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// No place to back up to is set.
    #[error("no backup target is set: choose an account's folder or a directory first")]
    NoTarget,
    /// The settings are not usable.
    #[error("{0}")]
    Invalid(String),
    /// The engine failed.
    #[error(transparent)]
    Backup(#[from] homepost_backup::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] homepost_store::Error),
}

/// Where backups go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A folder of one of the box's accounts (its IMAP server and login).
    Account {
        /// The account's id.
        account: i64,
        /// The folder (made if missing).
        #[serde(default = "default_folder")]
        folder: String,
    },
    /// A folder of an IMAP account used for backups alone (not fetched from);
    /// its password is kept apart from the settings and never shown.
    Imap {
        /// The server, its login and its protection.
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        server: homepost_store::Endpoint,
        /// The folder (made if missing).
        #[serde(default = "default_folder")]
        folder: String,
    },
    /// A directory: a disk attached to the box.
    Directory {
        /// Its absolute path.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        path: PathBuf,
    },
}

fn default_folder() -> String {
    DEFAULT_FOLDER.to_owned()
}

/// How and where the box backs itself up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupSettings {
    /// Where; `None` until the user chooses (nothing runs before).
    pub target: Option<Target>,
    /// The largest message the server takes, in bytes.
    #[serde(default = "default_limit")]
    pub message_limit: u64,
    /// Hours between runs.
    #[serde(default = "default_hours")]
    pub every_hours: u32,
    /// Snapshots kept.
    #[serde(default)]
    pub keep: Retention,
}

fn default_limit() -> u64 {
    10 << 20
}

fn default_hours() -> u32 {
    24
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            target: None,
            message_limit: default_limit(),
            every_hours: default_hours(),
            keep: Retention::default(),
        }
    }
}

/// What the last runs did, for the app's status and `homepost backup status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackupStatus {
    /// When the last run that completed ended (Unix seconds).
    pub last_success: Option<i64>,
    /// When the last run ended, completed or not.
    pub last_attempt: Option<i64>,
    /// Why the last run failed, in plain words; `None` after a success.
    pub last_error: Option<String>,
    /// The newest snapshot's name.
    pub snapshot: Option<String>,
    /// Messages in it.
    pub messages: u64,
    /// Bytes of the store it covers.
    pub bytes: u64,
    /// Bytes the last successful run sent.
    pub sent: u64,
    /// When the next run is due (Unix seconds), if a target is set.
    #[serde(default)]
    pub next_run: Option<i64>,
    /// Whether the recovery key made by the first backup still waits to be
    /// shown to the user.
    #[serde(default)]
    pub recovery_key_pending: bool,
    /// The run going on now, if any.
    #[serde(default, skip_deserializing)]
    pub running: Option<RunProgress>,
}

/// Where a running backup is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunProgress {
    /// Rows of the store copied so far.
    pub rows: u64,
    /// Rows in all.
    pub total: u64,
    /// Bytes sent so far.
    pub sent: u64,
}

/// The run going on now (one at a time in the process).
static PROGRESS: std::sync::Mutex<Option<RunProgress>> = std::sync::Mutex::new(None);

fn set_progress(p: Option<RunProgress>) {
    *PROGRESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = p;
}

/// Whether a backup is running now.
pub fn is_running() -> bool {
    PROGRESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .is_some()
}

/// The backup settings (the defaults until set).
pub async fn settings(store: &Store) -> Result<BackupSettings, BackupError> {
    Ok(match store.setting(SETTINGS_KEY).await? {
        Some(json) => serde_json::from_str(&json)
            .map_err(|_| BackupError::Invalid("the stored backup settings do not parse".into()))?,
        None => BackupSettings::default(),
    })
}

/// Checks and stores new backup settings; `password` is a [`Target::Imap`]'s
/// (kept, not changed, when `None`).
pub async fn set_settings_with_password(
    store: &Store,
    new: &BackupSettings,
    password: Option<&str>,
) -> Result<(), BackupError> {
    if let Some(Target::Imap { server, folder }) = &new.target {
        if server.host.trim().is_empty() || server.username.trim().is_empty() {
            return Err(BackupError::Invalid(
                "name the backup account's server and login".into(),
            ));
        }
        if server.security == homepost_store::Security::Plain
            && !homepost_store::is_loopback(&server.host)
        {
            return Err(BackupError::Invalid(
                "a password goes to a mail server on another machine only over TLS".into(),
            ));
        }
        if folder.trim().is_empty() || folder.len() > 200 {
            return Err(BackupError::Invalid(
                "name a folder of 1-200 characters".into(),
            ));
        }
        if let Some(p) = password {
            store.set_setting(PASSWORD_KEY, p).await?;
        }
    }
    // Checks, among the rest, that a password is stored by now.
    set_settings(store, new).await
}

/// Checks and stores new backup settings.
pub async fn set_settings(store: &Store, new: &BackupSettings) -> Result<(), BackupError> {
    if matches!(new.target, Some(Target::Imap { .. }))
        && store.setting(PASSWORD_KEY).await?.is_none()
    {
        return Err(BackupError::Invalid(
            "give the backup account's password".into(),
        ));
    }
    match &new.target {
        Some(Target::Account { account, folder }) => {
            let acc = store
                .account(*account)
                .await?
                .ok_or_else(|| BackupError::Invalid(format!("there is no account {account}")))?;
            match &acc.config.incoming {
                Some(i)
                    if i.folders
                        .iter()
                        .any(|f| f.eq_ignore_ascii_case(folder.trim())) =>
                {
                    return Err(BackupError::Invalid(format!(
                        "the box fetches mail from {folder:?}: keep backups in a folder of their own"
                    )));
                }
                Some(i) if i.protocol == Protocol::Imap => {}
                _ => {
                    return Err(BackupError::Invalid(format!(
                        "account {account} has no IMAP server to keep backups on"
                    )));
                }
            }
            if folder.trim().is_empty() || folder.len() > 200 {
                return Err(BackupError::Invalid(
                    "name a folder of 1-200 characters".into(),
                ));
            }
        }
        Some(Target::Directory { path }) if !path.is_absolute() || !path.is_dir() => {
            return Err(BackupError::Invalid(format!(
                "{} is not a directory: give the absolute path of an existing one \
(a mounted disk)",
                path.display()
            )));
        }
        _ => {}
    }
    if !(256 << 10..=1 << 30).contains(&new.message_limit) {
        return Err(BackupError::Invalid(
            "the message size limit must be between 256 KiB and 1 GiB".into(),
        ));
    }
    if !(1..=24 * 31).contains(&new.every_hours) {
        return Err(BackupError::Invalid(
            "run backups every 1 to 744 hours".into(),
        ));
    }
    let json = serde_json::to_string(new)
        .map_err(|e| BackupError::Invalid(format!("cannot store the settings: {e}")))?;
    store.set_setting(SETTINGS_KEY, &json).await?;
    Ok(())
}

/// The status of backups, with the next run worked out.
pub async fn status(store: &Store) -> Result<BackupStatus, BackupError> {
    let mut status: BackupStatus = match store.setting(STATUS_KEY).await? {
        Some(json) => serde_json::from_str(&json).unwrap_or_default(),
        None => BackupStatus::default(),
    };
    let settings = settings(store).await?;
    status.next_run = next_run(&status, &settings);
    status.recovery_key_pending = homepost_backup::pending_recovery_key(store)
        .await?
        .is_some();
    status.running = *PROGRESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(status)
}

/// When the next run is due: at once the first time, `every_hours` after a
/// success, an hour after a failure.
fn next_run(status: &BackupStatus, settings: &BackupSettings) -> Option<i64> {
    settings.target.as_ref()?;
    let every = i64::from(settings.every_hours) * 3600;
    let after_success = status.last_success.map(|t| t + every);
    let after_failure = match (status.last_attempt, status.last_success) {
        (Some(a), s) if s.is_none_or(|s| a > s) => Some(a + RETRY_AFTER),
        _ => None,
    };
    Some(match (after_success, after_failure) {
        (_, Some(f)) => f.min(after_success.unwrap_or(f)),
        (Some(s), None) => s,
        (None, None) => 0,
    })
}

/// The remote the settings name.
pub async fn remote(store: &Store, settings: &BackupSettings) -> Result<AnyRemote, BackupError> {
    match settings.target.as_ref().ok_or(BackupError::NoTarget)? {
        Target::Directory { path } => Ok(AnyRemote::Dir(DirRemote::new(path.clone())?)),
        Target::Imap { server, folder } => {
            let password = store.setting(PASSWORD_KEY).await?.ok_or_else(|| {
                BackupError::Invalid("the backup account's password is not stored".into())
            })?;
            Ok(AnyRemote::Imap(Box::new(ImapRemote::new(
                server.clone(),
                Zeroizing::new(password),
                folder.clone(),
            ))))
        }
        Target::Account { account, folder } => {
            let acc = store.account(*account).await?.ok_or_else(|| {
                BackupError::Invalid(format!("the backup account {account} is gone"))
            })?;
            let incoming = acc.config.incoming.ok_or_else(|| {
                BackupError::Invalid(format!("account {account} has no IMAP server"))
            })?;
            let password = store
                .account_secrets(*account)
                .await?
                .and_then(|s| s.incoming.clone())
                .ok_or_else(|| {
                    BackupError::Invalid(format!("account {account} has no password stored"))
                })?;
            Ok(AnyRemote::Imap(Box::new(ImapRemote::new(
                incoming.endpoint,
                Zeroizing::new(password),
                folder.clone(),
            ))))
        }
    }
}

/// The bytes of stored messages that this box's backup holds, by SHA-256 (for
/// `homepost repair`); `None` when the box has no backup.
pub async fn recover_messages(
    store: &Store,
    digests: &[Vec<u8>],
) -> Result<Option<std::collections::HashMap<Vec<u8>, Vec<u8>>>, BackupError> {
    let Some(keys) = homepost_backup::stored_keys(store).await? else {
        return Ok(None);
    };
    let settings = settings(store).await?;
    if settings.target.is_none() {
        return Ok(None);
    }
    let mut remote = remote(store, &settings).await?;
    let found = homepost_backup::messages(&mut remote, &keys, digests).await;
    remote.close().await;
    Ok(Some(found?))
}

/// One run at a time, whoever starts it (the schedule, the app, the CLI).
static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs a backup now, then prunes what the retention no longer keeps, and
/// records the outcome in the status (an error in plain words).
pub async fn run(
    store: &Store,
    vault: &VaultAccess,
    progress: &mut (dyn FnMut(homepost_backup::Progress) + Send),
) -> Result<Summary, BackupError> {
    let _one = RUNNING.lock().await;
    // Cleared however the run ends, a task aborted at lock included.
    struct Cleared;
    impl Drop for Cleared {
        fn drop(&mut self) {
            set_progress(None);
        }
    }
    let _cleared = Cleared;
    set_progress(Some(RunProgress::default()));
    let outcome = run_once(store, vault, &mut |p: homepost_backup::Progress| {
        set_progress(Some(RunProgress {
            rows: p.rows,
            total: p.total,
            sent: p.sent,
        }));
        progress(p);
    })
    .await;
    set_progress(None);
    let mut status = status(store).await.unwrap_or_default();
    status.running = None;
    let now = unix_now();
    status.last_attempt = Some(now);
    match &outcome {
        Ok(summary) => {
            status.last_success = Some(now);
            status.last_error = None;
            status.snapshot = Some(summary.snapshot.clone());
            status.messages = summary.messages;
            status.bytes = summary.bytes;
            status.sent = summary.sent;
        }
        Err(e) => status.last_error = Some(e.to_string()),
    }
    if let Ok(json) = serde_json::to_string(&status) {
        store.set_setting(STATUS_KEY, &json).await?;
    }
    outcome
}

async fn run_once(
    store: &Store,
    vault: &VaultAccess,
    progress: &mut (dyn FnMut(homepost_backup::Progress) + Send),
) -> Result<Summary, BackupError> {
    let settings = settings(store).await?;
    let mut remote = remote(store, &settings).await?;
    let options = Options {
        message_limit: usize::try_from(settings.message_limit).unwrap_or(usize::MAX),
        ..Options::default()
    };
    let result = async {
        let summary =
            homepost_backup::backup(store, vault, &mut remote, &options, progress).await?;
        if let Some(keys) = homepost_backup::stored_keys(store).await? {
            let pruned = homepost_backup::prune(
                store,
                &keys,
                &mut remote,
                &settings.keep,
                options.message_limit,
                Some(&summary.snapshot),
            )
            .await?;
            tracing::info!(?pruned, "backup: pruned");
        }
        Ok::<_, BackupError>(summary)
    }
    .await;
    remote.close().await;
    result
}

/// Drops what the retention no longer keeps, now, as a run does after its backup
/// (never while a run is sending: its packs are named by its snapshot only at
/// its end).
pub async fn prune(store: &Store) -> Result<homepost_backup::PruneSummary, BackupError> {
    let _one = RUNNING.lock().await;
    let keys = homepost_backup::stored_keys(store)
        .await?
        .ok_or_else(|| BackupError::Invalid("this box has made no backup yet".into()))?;
    let settings = settings(store).await?;
    let mut remote = remote(store, &settings).await?;
    let limit = usize::try_from(settings.message_limit).unwrap_or(usize::MAX);
    let done = homepost_backup::prune(store, &keys, &mut remote, &settings.keep, limit, None).await;
    remote.close().await;
    Ok(done?)
}

/// Runs backups when they are due (or at once when a large import made the
/// last one old), for as long as it is not dropped (the app
/// starts it when the box is unlocked and aborts it when it locks; a run
/// stopped midway leaves nothing half-listed). A failure is recorded and tried
/// again an hour later.
pub async fn schedule(store: Store, vault: VaultAccess) {
    loop {
        let wait = match status(&store).await {
            Ok(s) => match s.next_run {
                Some(_) if grew(&store, &s).await => 0,
                Some(at) => (at - unix_now()).max(0),
                // No target: look again in a while (the user may set one).
                None => 600,
            },
            Err(e) => {
                tracing::warn!(error = %e, "backup: cannot read the schedule");
                600
            }
        };
        if wait > 0 {
            // Woken at least every ten minutes: settings may have changed.
            tokio::time::sleep(Duration::from_secs(wait.min(600) as u64)).await;
            continue;
        }
        match run(&store, &vault, &mut |_| {}).await {
            Ok(s) => tracing::info!(snapshot = %s.snapshot, sent = s.sent, "backup: done"),
            Err(e) => tracing::warn!(error = %e, "backup failed"),
        }
    }
}

/// Whether [`AFTER_IMPORT`] messages or more arrived since the last backup.
async fn grew(store: &Store, status: &BackupStatus) -> bool {
    store
        .count()
        .await
        .is_ok_and(|n| grown(u64::try_from(n).unwrap_or(0), status))
}

/// Whether a store of `stored` messages has grown enough since the last
/// successful backup to back up now.
fn grown(stored: u64, status: &BackupStatus) -> bool {
    status.last_success.is_some() && stored.saturating_sub(status.messages) >= AFTER_IMPORT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_run_follows_success_and_retries_a_failure_sooner() {
        let mut settings = BackupSettings::default();
        let mut status = BackupStatus::default();
        assert_eq!(next_run(&status, &settings), None, "no target, no run");
        settings.target = Some(Target::Directory {
            path: "/mnt/backup".into(),
        });
        assert_eq!(
            next_run(&status, &settings),
            Some(0),
            "at once the first time"
        );
        status.last_success = Some(1000);
        status.last_attempt = Some(1000);
        assert_eq!(next_run(&status, &settings), Some(1000 + 86_400));
        status.last_attempt = Some(5000);
        assert_eq!(next_run(&status, &settings), Some(5000 + 3600));
    }

    #[tokio::test]
    async fn backups_do_not_go_into_a_folder_the_box_fetches() {
        let dir = tempfile::tempdir().unwrap();
        let vault = homepost_testing::vault::create(dir.path());
        let key = vault.subkey(homepost_vault::Purpose::Sqlcipher);
        let store = Store::open(&dir.path().join(homepost_store::DB_FILE), &key)
            .await
            .unwrap();
        let config: homepost_store::AccountConfig = serde_json::from_value(serde_json::json!({
            "name": "Home", "email": "me@example.org",
            "incoming": {"protocol": "imap", "host": "imap.example.org", "port": 993,
                         "security": "tls", "username": "me", "folders": ["INBOX", "Archive"]}
        }))
        .unwrap();
        let secrets = homepost_store::Secrets {
            incoming: Some("x".into()),
            outgoing: None,
        };
        let account = store.add_account(&config, &secrets, 0).await.unwrap();
        for (folder, accepted) in [("inbox", false), ("Archive", false), (DEFAULT_FOLDER, true)] {
            let settings = BackupSettings {
                target: Some(Target::Account {
                    account,
                    folder: folder.into(),
                }),
                ..BackupSettings::default()
            };
            assert_eq!(
                set_settings(&store, &settings).await.is_ok(),
                accepted,
                "{folder}"
            );
        }
        store.close().await;
    }

    #[test]
    fn a_large_import_makes_a_backup_due() {
        let mut status = BackupStatus::default();
        assert!(
            !grown(5000, &status),
            "never backed up: the schedule runs it anyway"
        );
        status.last_success = Some(1000);
        status.messages = 4000;
        assert!(!grown(4999, &status));
        assert!(grown(5000, &status));
        assert!(!grown(10, &status), "fewer messages than backed up");
    }
}
