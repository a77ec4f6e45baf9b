//! Running one rule over stored mail: its matches counted first, then its tag
//! changes applied a batch at a time, with the library let go between batches
//! so mail stays readable and fetching goes on.

use std::future::Future;
use std::sync::Mutex;

use homepost_search::{SearchOptions, Sort};
use serde::Serialize;

use super::{Result, RuleView, RulesError, check_query};
use crate::library::Library;
use crate::sink::SharedLibrary;

/// Messages changed per transaction.
const BATCH: usize = 500;

/// A rule running over stored mail.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleRun {
    /// The rule's id.
    pub rule: i64,
    /// Its name.
    pub name: String,
    /// Messages done so far.
    pub done: u64,
    /// Messages it matched when it started.
    pub total: u64,
}

/// How the last run ended.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunOutcome {
    /// The rule's id.
    pub rule: i64,
    /// Its name.
    pub name: String,
    /// Messages changed.
    pub changed: u64,
    /// When it ended (Unix seconds).
    pub finished: i64,
    /// Why it stopped early, if it did.
    pub error: Option<String>,
}

/// The run going on and the last one's outcome.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunStatus {
    /// The run going on.
    pub running: Option<RuleRun>,
    /// How the last run ended.
    pub last: Option<RunOutcome>,
}

static STATUS: Mutex<RunStatus> = Mutex::new(RunStatus {
    running: None,
    last: None,
});

fn status() -> std::sync::MutexGuard<'static, RunStatus> {
    STATUS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The run going on and how the last one ended.
pub fn run_status() -> RunStatus {
    status().clone()
}

/// Ends the run when dropped: with its outcome, or as stopped (the box locked).
struct Running {
    rule: i64,
    name: String,
    outcome: Option<Result<u64, String>>,
}

impl Running {
    fn finish(&mut self, outcome: Result<u64, String>) {
        self.outcome = Some(outcome);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut s = status();
        let done = s.running.take().map_or(0, |r| r.done);
        let (changed, error) = match self.outcome.take() {
            Some(Ok(n)) => (n, None),
            Some(Err(e)) => (done, Some(e)),
            None => (
                done,
                Some("stopped because the box was locked; run the rule again to finish".into()),
            ),
        };
        s.last = Some(RunOutcome {
            rule: self.rule,
            name: std::mem::take(&mut self.name),
            changed,
            finished: crate::unix_now(),
            error,
        });
    }
}

/// Starts running rule `id` over stored mail: returns how many messages it
/// matches now and the run itself, to await or spawn. At most one run goes on
/// at a time ([`RulesError::Busy`]). Spam training is left alone: a rule is
/// not a person's verdict.
pub async fn run_over_stored(
    library: SharedLibrary,
    id: i64,
) -> Result<(usize, impl Future<Output = Result<u64>> + Send + 'static)> {
    let (rule, (ids, add, remove)) = {
        let guard = library.read().await;
        let lib = guard.as_ref().ok_or(RulesError::Locked)?;
        let rule = lib.rule(id).await?;
        let found = matches_of(lib, &rule).await?;
        (rule, found)
    };
    {
        let mut s = status();
        if s.running.is_some() {
            return Err(RulesError::Busy);
        }
        s.running = Some(RuleRun {
            rule: id,
            name: rule.name.clone(),
            done: 0,
            total: ids.len() as u64,
        });
    }
    let mut running = Running {
        rule: id,
        name: rule.name,
        outcome: None,
    };
    let count = ids.len();
    let run = async move {
        let outcome = apply(&library, &ids, &add, &remove).await;
        running.finish(outcome.as_ref().map(|n| *n).map_err(ToString::to_string));
        outcome
    };
    Ok((count, run))
}

async fn apply(
    library: &SharedLibrary,
    ids: &[i64],
    add: &[String],
    remove: &[String],
) -> Result<u64> {
    let mut changed = 0;
    for chunk in ids.chunks(BATCH) {
        let mut guard = library.write().await;
        let lib = guard.as_mut().ok_or(RulesError::Locked)?;
        changed += apply_chunk(lib, chunk, add, remove).await?;
        if let Some(r) = status().running.as_mut() {
            r.done += chunk.len() as u64;
        }
    }
    Ok(changed)
}

/// Applies tag changes to one batch in one transaction; returns how many
/// messages they changed (not those that had the tags already, nor mail
/// deleted for good since it matched).
async fn apply_chunk(
    lib: &mut Library,
    chunk: &[i64],
    add: &[String],
    remove: &[String],
) -> Result<u64> {
    let missing = lib.store().missing(chunk).await?;
    let tags = lib.store().tags_by_message(chunk).await?;
    let changes = |id: &i64| {
        let has = |t: &String| tags.get(id).is_some_and(|list| list.contains(t));
        add.iter().any(|t| !has(t)) || remove.iter().any(has)
    };
    let chunk: Vec<i64> = chunk
        .iter()
        .copied()
        .filter(|id| !missing.contains(id) && changes(id))
        .collect();
    if chunk.is_empty() {
        return Ok(0);
    }
    lib.store().change_tags(&chunk, add, remove).await?;
    lib.index_changes().await?;
    Ok(chunk.len() as u64)
}

/// The stored messages a rule matches now, oldest first, and its tag changes.
type Matches = (Vec<i64>, Vec<String>, Vec<String>);

async fn matches_of(lib: &Library, rule: &RuleView) -> Result<Matches> {
    let query = check_query(&rule.query)?;
    let opts = SearchOptions {
        sort: Sort::Oldest,
        limit: usize::MAX,
        offset: 0,
    };
    let (_, ids) = lib.searcher().ids(&query, &opts).await?;
    let (add, remove) = rule
        .actions
        .tag_changes()
        .map_err(|e| RulesError::BadActions(e.to_string()))?;
    Ok((ids, add, remove))
}

impl Library {
    /// Runs rule `id` over stored mail while holding the library (the CLI):
    /// `on_progress(done, total)` after each batch. Returns how many messages
    /// were changed.
    pub async fn run_rule(
        &mut self,
        id: i64,
        mut on_progress: impl FnMut(u64, u64),
    ) -> Result<u64> {
        let rule = self.rule(id).await?;
        let (ids, add, remove) = matches_of(self, &rule).await?;
        let mut changed = 0;
        let mut done = 0;
        for chunk in ids.chunks(BATCH) {
            changed += apply_chunk(self, chunk, &add, &remove).await?;
            done += chunk.len() as u64;
            on_progress(done, ids.len() as u64);
        }
        Ok(changed)
    }
}
