//! Importing files uploaded through the app.
//!
//! An upload (an mbox, a Maildir packed as .zip or .tar, .eml files) is
//! streamed to an encrypted spool file as it arrives
//! ([`homepost_vault::spool`]), never held in memory and never on disk in
//! the clear. Starting an import turns one or more uploads into a job that runs
//! in the background, through the same pipeline as `homepost import`; its
//! progress and, at the end, what it did (with the duplicates and malformed
//! messages named) are read back with [`Imports::job`]. Locking the box drops
//! the uploads and forgets the jobs.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use homepost_mail::{ImportSources, Upload};
use homepost_vault::spool::{SpoolWriter, Spooled};
use serde::Serialize;

use crate::library::{ImportProgress, ImportStats};
use crate::sink::SharedLibrary;

/// Uploads waiting for an import at once.
const MAX_PENDING: usize = 200;
/// An upload no import claimed is dropped after this long (long enough for
/// the other files of the same import to arrive over a slow uplink).
const PENDING_FOR: Duration = Duration::from_secs(12 * 60 * 60);
/// Finished jobs remembered, for the app to show their results.
const KEEP_JOBS: usize = 20;

/// What to do with imported mail besides its own Maildir flags.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportOptions {
    /// Mark every imported message read (old mail that should not count as new).
    #[serde(default)]
    pub mark_read: bool,
    /// Leave imported mail out of the inbox (it is found by search and tags).
    #[serde(default)]
    pub skip_inbox: bool,
    /// More tags for every imported message.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl ImportOptions {
    /// The tags every imported message gets: `inbox` unless skipped, `read` if
    /// asked, and the extra tags.
    pub fn default_tags(&self) -> Vec<String> {
        let mut tags = self.tags.clone();
        if !self.skip_inbox {
            tags.push("inbox".into());
        }
        if self.mark_read {
            tags.push("read".into());
        }
        tags
    }
}

/// An upload waiting for an import.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadInfo {
    /// Names it in [`Imports::start`].
    pub id: String,
    /// The file's name as the user's device gave it.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Where an import job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for the mailbox (another import or a long change is running).
    Queued,
    /// Reading and storing.
    Running,
    /// Finished; see the report.
    Done,
    /// Stopped; see the error. Messages stored before it stay stored.
    Failed,
}

/// How far an import job is.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobProgress {
    /// Bytes of the uploads read so far.
    pub bytes: u64,
    /// The uploads' total size.
    pub total_bytes: u64,
    /// Messages read so far.
    pub messages: u64,
}

/// An import job, as the app shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportJob {
    /// The job's id.
    pub id: u64,
    /// Where it is.
    pub state: JobState,
    /// The names of the files it imports.
    pub files: Vec<String>,
    /// How far it is.
    pub progress: JobProgress,
    /// What it did, once done (or how far it got, once failed).
    pub report: Option<ImportStats>,
    /// Why it stopped, if it failed, and what to do.
    pub error: Option<String>,
}

/// Why an upload or an import could not start.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// An upload id is unknown (never made, already imported, or expired).
    #[error("no upload {0}: upload the file again")]
    NoUpload(String),
    /// Too many uploads wait for an import.
    #[error("{MAX_PENDING} uploads are waiting already: import or remove some first")]
    TooMany,
    /// No upload was named.
    #[error("name at least one upload to import")]
    Nothing,
    /// The spool file could not be written.
    #[error("could not keep the upload on the box: {0}")]
    Spool(#[source] std::io::Error),
    /// The box was locked while the file was being uploaded.
    #[error("the box was locked during the upload: unlock it and upload the file again")]
    Locked,
}

struct Pending {
    info: UploadInfo,
    spooled: Spooled,
    at: Instant,
}

#[derive(Default)]
struct State {
    pending: HashMap<String, Pending>,
    jobs: VecDeque<ImportJob>,
    next_job: u64,
    /// Bumped by [`Imports::clear`]: a job started before it reports nowhere,
    /// an upload begun before it is not kept.
    generation: u64,
    /// Set to stop the running import after its current batch (the box is
    /// locking); a fresh flag after each [`Imports::clear`].
    stop: Arc<AtomicBool>,
}

/// An upload being received: write its bytes, then [`Imports::add_upload`].
pub struct UploadWriter {
    writer: SpoolWriter,
    generation: u64,
}

impl UploadWriter {
    /// Appends the next piece of the file.
    pub fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.writer.write(data)
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.writer.is_empty()
    }
}

/// The uploads and import jobs of one server.
pub struct Imports {
    dir: PathBuf,
    state: Arc<Mutex<State>>,
}

impl Imports {
    /// Keeps spool files in `dir`, removing what an earlier run left there.
    pub fn new(dir: &Path) -> Imports {
        if let Err(e) = homepost_vault::spool::clear(dir) {
            tracing::warn!(error = %e, dir = %dir.display(), "could not remove old upload spool files");
        }
        Imports {
            dir: dir.to_owned(),
            state: Arc::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts receiving an upload: write its bytes, then [`Imports::add_upload`].
    pub fn begin_upload(&self) -> Result<UploadWriter, ImportError> {
        let mut state = self.state();
        state.pending.retain(|_, p| p.at.elapsed() < PENDING_FOR);
        if state.pending.len() >= MAX_PENDING {
            return Err(ImportError::TooMany);
        }
        let generation = state.generation;
        drop(state);
        let writer = SpoolWriter::create(&self.dir).map_err(ImportError::Spool)?;
        Ok(UploadWriter { writer, generation })
    }

    /// Keeps a finished upload named `name` until an import claims it. An
    /// upload that was still arriving when the box locked is dropped.
    pub fn add_upload(&self, name: &str, upload: UploadWriter) -> Result<UploadInfo, ImportError> {
        if self.state().generation != upload.generation {
            return Err(ImportError::Locked);
        }
        let spooled = upload.writer.finish().map_err(ImportError::Spool)?;
        let mut id = [0u8; 12];
        getrandom::fill(&mut id)
            .map_err(|e| ImportError::Spool(std::io::Error::other(e.to_string())))?;
        let info = UploadInfo {
            id: id.iter().map(|b| format!("{b:02x}")).collect(),
            name: clean_name(name),
            size: spooled.len(),
        };
        let mut state = self.state();
        if state.generation != upload.generation {
            return Err(ImportError::Locked);
        }
        if state.pending.len() >= MAX_PENDING {
            return Err(ImportError::TooMany);
        }
        state.pending.insert(
            info.id.clone(),
            Pending {
                info: info.clone(),
                spooled,
                at: Instant::now(),
            },
        );
        Ok(info)
    }

    /// Drops an upload; `false` if there was none by that id.
    pub fn remove_upload(&self, id: &str) -> bool {
        self.state().pending.remove(id).is_some()
    }

    /// Starts importing the uploads `ids` into `library` in the background.
    /// The uploads are used up; the job's id reads its progress.
    pub fn start(
        &self,
        library: SharedLibrary,
        ids: &[String],
        options: &ImportOptions,
    ) -> Result<ImportJob, ImportError> {
        if ids.is_empty() {
            return Err(ImportError::Nothing);
        }
        let mut state = self.state();
        if let Some(missing) = ids.iter().find(|id| !state.pending.contains_key(*id)) {
            return Err(ImportError::NoUpload(missing.clone()));
        }
        let mut spooled = Vec::new();
        let mut uploads = Vec::new();
        for id in ids {
            let Some(p) = state.pending.remove(id) else {
                continue; // the same id twice
            };
            let reader = p.spooled.open().map_err(ImportError::Spool)?;
            uploads.push(Upload {
                name: p.info.name.clone(),
                size: p.info.size,
                reader: Box::new(reader),
            });
            spooled.push(p.spooled);
        }
        state.next_job += 1;
        let job = ImportJob {
            id: state.next_job,
            state: JobState::Queued,
            files: uploads.iter().map(|u| u.name.clone()).collect(),
            progress: JobProgress {
                total_bytes: uploads.iter().map(|u| u.size).sum(),
                ..JobProgress::default()
            },
            report: None,
            error: None,
        };
        state.jobs.push_back(job.clone());
        while state.jobs.len() > KEEP_JOBS {
            let Some(at) = state
                .jobs
                .iter()
                .position(|j| matches!(j.state, JobState::Done | JobState::Failed))
            else {
                break;
            };
            state.jobs.remove(at);
        }
        let generation = state.generation;
        let stop = Arc::clone(&state.stop);
        drop(state);
        let tags = options.default_tags();
        let jobs = Arc::clone(&self.state);
        let id = job.id;
        tokio::spawn(async move {
            let update = |f: &mut dyn FnMut(&mut ImportJob)| {
                let mut state = jobs.lock().unwrap_or_else(PoisonError::into_inner);
                if state.generation != generation {
                    return;
                }
                if let Some(job) = state.jobs.iter_mut().find(|j| j.id == id) {
                    f(job);
                }
            };
            let mut guard = library.write().await;
            let Some(lib) = guard.as_mut() else {
                update(&mut |job| {
                    job.state = JobState::Failed;
                    job.error = Some("the box was locked before the import began: unlock it and upload the files again".into());
                });
                return;
            };
            update(&mut |job| job.state = JobState::Running);
            let sources = ImportSources::uploads(uploads);
            let result = lib
                .import_until(
                    sources,
                    &tags,
                    crate::unix_now(),
                    |p: ImportProgress| {
                        update(&mut |job| {
                            job.progress.bytes = p.bytes;
                            job.progress.messages = p.messages;
                        });
                    },
                    &stop,
                )
                .await;
            drop(guard);
            drop(spooled);
            update(&mut |job| match &result {
                Ok(stats) => {
                    job.state = JobState::Done;
                    job.progress.bytes = job.progress.total_bytes;
                    job.report = Some(stats.clone());
                }
                Err(e) => {
                    job.state = JobState::Failed;
                    job.error = Some(format!(
                        "the import stopped: {e}. Messages stored before this stay; importing the same files again skips them as duplicates"
                    ));
                }
            });
        });
        Ok(job)
    }

    /// One job, while remembered.
    pub fn job(&self, id: u64) -> Option<ImportJob> {
        self.state().jobs.iter().find(|j| j.id == id).cloned()
    }

    /// The remembered jobs, oldest first.
    pub fn jobs(&self) -> Vec<ImportJob> {
        self.state().jobs.iter().cloned().collect()
    }

    /// Asks the running import to stop after its current batch: the box is
    /// about to lock, and must not wait for a long import to end.
    pub fn stop_running(&self) {
        self.state().stop.store(true, Ordering::Relaxed);
    }

    /// Lets the running import go on after all: the box did not lock after
    /// [`Imports::stop_running`] (another session came or stayed).
    pub fn keep_running(&self) {
        self.state().stop.store(false, Ordering::Relaxed);
    }

    /// Drops every upload and forgets every job (on lock).
    pub fn clear(&self) {
        let mut state = self.state();
        state.stop.store(true, Ordering::Relaxed);
        state.stop = Arc::default();
        state.pending.clear();
        state.jobs.clear();
        state.generation += 1;
    }
}

/// The last path component of a name a device sent, without control
/// characters, at most 200 characters; `upload` if nothing is left.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let clean = clean.trim();
    if clean.is_empty() {
        "upload".into()
    } else {
        clean.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_give_the_tags() {
        let plain = ImportOptions::default();
        assert_eq!(plain.default_tags(), ["inbox"]);
        let old = ImportOptions {
            mark_read: true,
            skip_inbox: true,
            tags: vec!["archive-2019".into()],
        };
        assert_eq!(old.default_tags(), ["archive-2019", "read"]);
    }

    #[test]
    fn names_keep_only_the_file_name() {
        assert_eq!(clean_name("C:\\Users\\me\\Mail.zip"), "Mail.zip");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("in\u{1b}[31mbox.mbox"), "in[31mbox.mbox");
        assert_eq!(clean_name(" / "), "upload");
    }
}
