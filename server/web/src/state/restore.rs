//! Restoring a new box from its backup, as the setup wizard asks (`POST
//! /restore`): one restore at a time, run in the background, its progress and
//! outcome kept for `GET /restore`.

use std::sync::{Arc, Mutex, PoisonError};

use homepost_backup::{AnyRemote, ImapRemote, Secret};
use homepost_core::library::Library;
use homepost_vault::{Passphrase, Vault};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::error::ApiError;

/// Where a restore is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RestorePhase {
    /// None was asked for.
    #[default]
    Idle,
    /// Reading the backup and writing the store.
    Running,
    /// The store is back; the search index is being rebuilt.
    Indexing,
    /// Finished: unlock the box with its passphrase.
    Done,
    /// Stopped: `error` says why; nothing was kept.
    Failed,
}

/// A restore's progress and outcome.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct RestoreView {
    /// Where it is.
    pub phase: RestorePhase,
    /// Pieces of the store's copy restored so far.
    pub done: u64,
    /// Pieces in all (0 until known).
    pub total: u64,
    /// Messages restored, once done.
    pub messages: Option<u64>,
    /// When the snapshot restored was taken (Unix seconds), once done.
    pub snapshot_time: Option<i64>,
    /// Why it failed, in plain words.
    pub error: Option<String>,
}

/// The box's one restore.
#[derive(Debug, Default)]
pub(crate) struct RestoreJob(Mutex<RestoreView>);

impl RestoreJob {
    fn update(&self, f: impl FnOnce(&mut RestoreView)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// The restore's state now.
    pub(crate) fn view(&self) -> RestoreView {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether a restore is under way (the box must not be set up otherwise meanwhile).
    pub(crate) fn busy(&self) -> bool {
        matches!(
            self.view().phase,
            RestorePhase::Running | RestorePhase::Indexing
        )
    }
}

impl AppState {
    /// Starts restoring this (vault-less) box from the backup in `remote`,
    /// opened by `secret`; `unlock` is the passphrase the restored box opens
    /// with (the old one, or the new one given with a recovery key).
    pub(crate) fn start_restore(
        self: &Arc<Self>,
        remote: ImapRemote,
        secret: Secret,
        unlock: Passphrase,
    ) -> Result<(), ApiError> {
        {
            let mut job = self
                .restore
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if matches!(job.phase, RestorePhase::Running | RestorePhase::Indexing) {
                return Err(ApiError::new(
                    actix_web::http::StatusCode::CONFLICT,
                    "restore_running",
                    "a restore is under way already",
                ));
            }
            if self.has_vault() {
                return Err(super::vault_exists());
            }
            *job = RestoreView {
                phase: RestorePhase::Running,
                ..RestoreView::default()
            };
        }
        let state = self.clone();
        tokio::spawn(async move {
            let outcome = state.run_restore(remote, secret, unlock).await;
            state.restore.update(|v| match outcome {
                Ok(()) => v.phase = RestorePhase::Done,
                Err(e) => {
                    v.phase = RestorePhase::Failed;
                    v.error = Some(e);
                }
            });
        });
        Ok(())
    }

    async fn run_restore(
        &self,
        remote: ImapRemote,
        secret: Secret,
        unlock: Passphrase,
    ) -> Result<(), String> {
        let dir = self.data_dir.clone();
        let mut remote = AnyRemote::Imap(Box::new(remote));
        let done = homepost_backup::restore(&mut remote, &secret, &dir, None, &mut |d, t| {
            self.restore.update(|v| {
                v.done = d;
                v.total = t;
            });
        })
        .await;
        remote.close().await;
        let summary = done.map_err(|e| e.to_string())?;
        tracing::info!(messages = summary.messages, "restored from a backup");
        self.claim.spend();
        self.restore.update(|v| {
            v.phase = RestorePhase::Indexing;
            v.messages = Some(summary.messages);
            v.snapshot_time = Some(summary.time);
        });
        // The index is rebuilt now, so the first unlock is not the slow one.
        let at = dir.clone();
        let vault = tokio::task::spawn_blocking(move || Vault::unlock(&at, &unlock))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let lib = Library::open(&dir, &vault).await.map_err(|e| {
            format!("the store is back, but the search index could not be rebuilt: {e}")
        })?;
        lib.close().await;
        Ok(())
    }
}
