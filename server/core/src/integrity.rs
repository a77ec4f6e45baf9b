//! The box's own care of its data while it is unlocked (docs/integrity.md): a
//! check every week, the trash emptied of what is older than its retention
//! every day, a check or a repair on request, and their status for the app.
//!
//! A check reads the store through a clone of it, so mail stays readable while
//! it runs; only bringing the index up to date takes the library for writing,
//! and reading the index shares it. A repair holds the library while it runs.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::library::{CheckReport, Library, RepairReport};
use crate::sink::SharedLibrary;
use crate::unix_now;

/// The setting holding the last outcomes.
const STATUS_KEY: &str = "integrity_status";
/// Seconds between checks run by themselves.
pub const CHECK_EVERY: i64 = 7 * 86_400;
/// Seconds from the first unlock to the first check.
const FIRST_CHECK_AFTER: i64 = 3600;
/// Seconds between purges of the trash.
const PURGE_EVERY: u64 = 86_400;

/// What the last check and repair found, and what runs now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntegrityStatus {
    /// When the last check ended (Unix seconds).
    pub last_check: Option<i64>,
    /// Whether it found nothing wrong.
    pub clean: Option<bool>,
    /// What it found, in plain words (no subject, no address).
    pub findings: Vec<String>,
    /// Messages it read.
    pub messages: u64,
    /// Messages kept in quarantine (their bytes could not be recovered).
    pub quarantined: u64,
    /// Why the last check could not run, if it could not.
    pub error: Option<String>,
    /// When the last repair ended, and what it did.
    pub last_repair: Option<i64>,
    /// What the last repair did, in plain words.
    pub repaired: Vec<String>,
    /// When the next check runs by itself.
    #[serde(default, skip_deserializing)]
    pub next_check: Option<i64>,
    /// The check or repair going on now.
    #[serde(default, skip_deserializing)]
    pub running: Option<Running>,
}

/// A check or repair going on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Running {
    /// `check` or `repair`.
    pub what: String,
    /// What it does now, in words.
    pub step: String,
    /// Messages read so far, and in all (0 while unknown).
    pub done: u64,
    /// Messages in all.
    pub total: u64,
}

static RUNNING: std::sync::Mutex<Option<Running>> = std::sync::Mutex::new(None);

fn set_running(r: Option<Running>) {
    *RUNNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = r;
}

fn update_running(f: impl FnOnce(&mut Running)) {
    if let Some(r) = RUNNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_mut()
    {
        f(r);
    }
}

/// The status last read, and the trash's retention then: what the app is
/// told while a repair holds the library.
static LAST: std::sync::Mutex<Option<(IntegrityStatus, i64)>> = std::sync::Mutex::new(None);

/// Keeps the status just read (with the trash's retention in days).
pub fn remember(status: &IntegrityStatus, trash_days: i64) {
    *LAST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((status.clone(), trash_days));
}

/// The status last read (see [`remember`]), or the defaults.
pub fn cached() -> (IntegrityStatus, i64) {
    LAST.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
        .unwrap_or((IntegrityStatus::default(), crate::library::TRASH_DAYS))
}

/// The check or repair running now, if any.
pub fn running() -> Option<Running> {
    RUNNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Marks a check or repair as running, unless one is; cleared on drop.
struct Busy;

impl Busy {
    fn start(what: &str) -> Option<Busy> {
        let mut r = RUNNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if r.is_some() {
            return None;
        }
        *r = Some(Running {
            what: what.into(),
            step: "starting".into(),
            ..Running::default()
        });
        Some(Busy)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        set_running(None);
    }
}

/// Why a check or repair did not run.
#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    /// One is running already.
    #[error("a check or repair is running already")]
    Busy,
    /// The box is locked.
    #[error("the box is locked")]
    Locked,
    /// The library failed.
    #[error(transparent)]
    Library(#[from] crate::library::LibraryError),
}

/// The status, with the next check worked out and what runs now.
pub async fn status(lib: &Library) -> Result<IntegrityStatus, IntegrityError> {
    let mut status = stored(lib).await?;
    status.next_check = Some(next_check(&status, first_unlock(lib).await));
    status.running = running();
    Ok(status)
}

async fn stored(lib: &Library) -> Result<IntegrityStatus, IntegrityError> {
    Ok(
        match lib.store().setting(STATUS_KEY).await.map_err(lib_err)? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => IntegrityStatus::default(),
        },
    )
}

fn lib_err(e: homepost_store::Error) -> IntegrityError {
    IntegrityError::Library(e.into())
}

async fn save(lib: &Library, status: &IntegrityStatus) -> Result<(), IntegrityError> {
    if let Ok(json) = serde_json::to_string(status) {
        lib.store()
            .set_setting(STATUS_KEY, &json)
            .await
            .map_err(lib_err)?;
    }
    Ok(())
}

/// When the box was first seen unlocked (recorded then), for the first check.
async fn first_unlock(lib: &Library) -> i64 {
    const KEY: &str = "integrity_since";
    match lib.store().setting(KEY).await {
        Ok(Some(v)) => v.parse().unwrap_or_else(|_| unix_now()),
        _ => {
            let now = unix_now();
            let _ = lib.store().set_setting(KEY, &now.to_string()).await;
            now
        }
    }
}

/// A week after the last check, or an hour after the first unlock.
fn next_check(status: &IntegrityStatus, since: i64) -> i64 {
    match status.last_check {
        Some(at) => at + CHECK_EVERY,
        None => since + FIRST_CHECK_AFTER,
    }
}

/// The findings of a check, in plain words.
pub fn describe(r: &CheckReport) -> Vec<String> {
    let mut out = Vec::new();
    let s = &r.store;
    if !s.pages.is_empty() || !s.structure.is_empty() {
        out.push(format!(
            "{} pages of the store are damaged: restore the box from its backup",
            s.pages.len().max(1)
        ));
    }
    if !s.references.is_empty() {
        out.push(format!(
            "{} rows of the store point at nothing",
            s.references.len()
        ));
    }
    if !s.damaged_messages.is_empty() {
        out.push(format!(
            "{} messages are damaged: a repair fetches them again",
            s.damaged_messages.len()
        ));
    }
    if !s.unreadable_messages.is_empty() {
        out.push(format!(
            "{} messages are on pages that cannot be read",
            s.unreadable_messages.len()
        ));
    }
    if !r.index.is_clean() {
        out.push("the search index is damaged or incomplete: a repair rebuilds it".into());
    }
    if r.vault.is_some() {
        out.push("vault.json is damaged: a repair writes it again".into());
    }
    out
}

/// Checks the box (see the module) and records the outcome. `library` must be
/// unlocked.
pub async fn check(library: &SharedLibrary) -> Result<CheckReport, IntegrityError> {
    let _busy = Busy::start("check").ok_or(IntegrityError::Busy)?;
    let store = {
        let guard = library.read().await;
        guard
            .as_ref()
            .ok_or(IntegrityError::Locked)?
            .store()
            .clone()
    };
    update_running(|r| r.step = "reading every message".into());
    let found = store
        .check(|done, total| {
            update_running(|r| {
                r.done = done;
                r.total = total;
            });
        })
        .await
        .map_err(lib_err)?;
    update_running(|r| r.step = "reading the search index".into());
    let mut guard = library.write().await;
    let lib = guard.as_mut().ok_or(IntegrityError::Locked)?;
    let update_failed = lib.sync_index().await.err().map(|e| e.to_string());
    let guard = guard.downgrade();
    let lib = guard.as_ref().ok_or(IntegrityError::Locked)?;
    let report = lib.finish_check(found, update_failed).await?;
    let mut status = stored(lib).await?;
    status.last_check = Some(unix_now());
    status.clean = Some(report.is_clean());
    status.findings = describe(&report);
    status.messages = report.messages;
    status.quarantined = report.quarantined.len() as u64;
    status.error = None;
    save(lib, &status).await?;
    if !report.is_clean() {
        tracing::warn!(findings = ?status.findings, "the check found damage");
    }
    Ok(report)
}

/// Repairs what a check finds and records the outcome.
pub async fn repair(
    library: &SharedLibrary,
    timeouts: homepost_transport::Timeouts,
) -> Result<RepairReport, IntegrityError> {
    let _busy = Busy::start("repair").ok_or(IntegrityError::Busy)?;
    let mut guard = library.write().await;
    let lib = guard.as_mut().ok_or(IntegrityError::Locked)?;
    let report = lib
        .repair(timeouts, |step| {
            update_running(|r| r.step = step.to_owned());
        })
        .await?;
    let mut status = stored(lib).await?;
    let now = unix_now();
    status.last_repair = Some(now);
    status.repaired = repaired(&report);
    status.last_check = Some(now);
    status.clean = Some(report.after.is_clean());
    status.findings = describe(&report.after);
    status.messages = report.after.messages;
    status.quarantined = report.quarantined.len() as u64;
    save(lib, &status).await?;
    Ok(report)
}

/// What a repair did, in plain words.
fn repaired(r: &RepairReport) -> Vec<String> {
    let mut out = Vec::new();
    if r.vault_rewritten {
        out.push("vault.json written again".into());
    }
    if r.index_rebuilt {
        out.push("the search index rebuilt".into());
    } else if r.ghosts_removed + r.reindexed > 0 {
        out.push(format!(
            "the search index mended ({} entries)",
            r.ghosts_removed + r.reindexed
        ));
    }
    if !r.refetched.is_empty() {
        out.push(format!(
            "{} messages fetched again from their account",
            r.refetched.len()
        ));
    }
    if !r.from_backup.is_empty() {
        out.push(format!(
            "{} messages read back from the backup",
            r.from_backup.len()
        ));
    }
    if !r.quarantined.is_empty() {
        out.push(format!(
            "{} messages kept in quarantine: neither their account nor the backup has them",
            r.quarantined.len()
        ));
    }
    if out.is_empty() {
        out.push("nothing needed repair".into());
    }
    out
}

/// While the box is unlocked: a check a week (the first an hour after the
/// first unlock) and the trash's purge once a day. The app starts it at
/// unlock and aborts it at lock; a check stopped midway changed nothing.
pub async fn schedule(library: SharedLibrary) {
    let mut next_purge = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_purge {
            let mut guard = library.write().await;
            let Some(lib) = guard.as_mut() else { return };
            match lib.purge_trash(unix_now()).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(messages = n, "trash: deleted for good after its retention");
                }
                Err(e) => tracing::warn!(error = %e, "trash: the purge failed"),
            }
            next_purge += Duration::from_secs(PURGE_EVERY);
        }
        let due = {
            let guard = library.read().await;
            let Some(lib) = guard.as_ref() else { return };
            match status(lib).await {
                Ok(s) => s.next_check.unwrap_or(i64::MAX),
                Err(_) => unix_now() + 600,
            }
        };
        if due <= unix_now() && running().is_none() {
            if let Err(e) = check(&library).await {
                tracing::warn!(error = %e, "the weekly check failed");
                let guard = library.read().await;
                if let Some(lib) = guard.as_ref()
                    && let Ok(mut s) = stored(lib).await
                {
                    // Tried again at the next week's turn, said now.
                    s.last_check = Some(unix_now());
                    s.error = Some(e.to_string());
                    let _ = save(lib, &s).await;
                }
            }
            continue;
        }
        // Woken at least every ten minutes: a check may have run meanwhile.
        let wait = (due - unix_now()).clamp(1, 600);
        tokio::time::sleep(Duration::from_secs(wait as u64)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_check_comes_an_hour_after_unlock_then_weekly() {
        let mut s = IntegrityStatus::default();
        assert_eq!(next_check(&s, 1000), 1000 + 3600);
        s.last_check = Some(5000);
        assert_eq!(next_check(&s, 1000), 5000 + 7 * 86_400);
    }

    #[test]
    fn one_at_a_time() {
        let first = Busy::start("check").unwrap();
        assert!(Busy::start("repair").is_none());
        assert_eq!(running().unwrap().what, "check");
        drop(first);
        assert!(running().is_none());
    }
}
