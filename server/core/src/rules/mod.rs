//! Saved searches and filter rules (docs/rules.md).
//!
//! A rule is a query in the search language and tag changes. Arriving mail
//! (an import, a fetch) is matched against the enabled rules in their order,
//! after the spam filter's verdict, and the rules' tag changes are part of the
//! transaction that stores the message: a crash leaves a message with all
//! its rules applied or not stored. A rule can also be run over stored mail;
//! both apply the same tag changes ([`RuleActions::tag_changes`]) to the same
//! matches (the [`Matcher`] answers as the index does).

mod run;
mod sieve;

use homepost_search::{IndexDoc, MatchDoc, Matcher, Query, QueryError, hide_unless_named, parse};
use homepost_store::{Rule, RuleActions, SavedSearch, Store};
use serde::Serialize;

use crate::library::{Library, LibraryError};

pub use run::{RuleRun, RunStatus, run_over_stored, run_status};
pub use sieve::{NotExported, SieveImport, SkippedLine, export_sieve, import_sieve};

/// Longest query a saved search or rule may have, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Most saved searches, and most rules.
pub const MAX_ITEMS: usize = 200;

/// Tags every box has or gets by itself: naming one is never a mistake.
const KNOWN_TAGS: [&str; 8] = [
    "inbox", "read", "flagged", "spam", "unsure", "trash", "sent", "replied",
];

/// What is wrong with a saved search or rule.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The query cannot be understood, or is too long.
    #[error("the query cannot be used: {0}")]
    BadQuery(String),
    /// The name is empty or too long.
    #[error("the name must be 1 to {MAX_NAME_CHARS} characters")]
    BadName,
    /// A rule that changes nothing.
    #[error("the rule does nothing: choose at least one action")]
    NoActions,
    /// A tag both added and removed, or a tag name that cannot be.
    #[error("{0}")]
    BadActions(String),
    /// The list is full.
    #[error("there are already {MAX_ITEMS}: delete one first")]
    TooMany,
    /// The Sieve script cannot be read.
    #[error("the Sieve script cannot be read: {0}")]
    BadSieve(String),
    /// The box is locked.
    #[error("the box is locked: unlock it first")]
    Locked,
    /// A rule is already running over stored mail.
    #[error("a rule is already running over stored mail: wait for it to finish")]
    Busy,
    /// The library failed.
    #[error(transparent)]
    Library(#[from] LibraryError),
}

impl From<homepost_store::Error> for RulesError {
    fn from(e: homepost_store::Error) -> Self {
        match e {
            homepost_store::Error::Full(_) => RulesError::TooMany,
            e => RulesError::Library(e.into()),
        }
    }
}

type Result<T, E = RulesError> = std::result::Result<T, E>;

/// A saved search with its counts, as the app shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedView {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its query.
    pub query: String,
    /// Messages it finds (spam and trash left out unless it names them).
    pub total: usize,
    /// Of those, messages not read.
    pub unread: usize,
    /// What may be wrong with it, in plain words.
    pub warnings: Vec<String>,
}

/// A rule as the app shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleView {
    /// Its id (0 for one not saved, as in a preview).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its query.
    pub query: String,
    /// What it does.
    pub actions: RuleActions,
    /// Whether it runs on arriving mail.
    pub enabled: bool,
    /// What may be wrong with it, in plain words.
    pub warnings: Vec<String>,
}

/// Parses a query a saved search or rule is to keep.
pub fn check_query(query: &str) -> Result<Query> {
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(RulesError::BadQuery(format!(
            "it is longer than {MAX_QUERY_CHARS} characters"
        )));
    }
    parse(query).map_err(|e: QueryError| RulesError::BadQuery(e.to_string()))
}

/// Checks a name: trimmed, 1 to [`MAX_NAME_CHARS`] characters, no control characters.
pub fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(RulesError::BadName);
    }
    Ok(name.to_owned())
}

/// Checks a rule's actions (valid tag names, something to do, no tag both
/// added and removed) and returns them with their tags normalised, as stored.
pub fn check_actions(actions: &RuleActions) -> Result<RuleActions> {
    let (add, remove) = actions
        .tag_changes()
        .map_err(|e| RulesError::BadActions(e.to_string()))?;
    if actions.is_empty() {
        return Err(RulesError::NoActions);
    }
    if let Some(both) = add.iter().find(|t| remove.contains(t)) {
        return Err(RulesError::BadActions(format!(
            "the rule both adds and removes the tag {both:?}"
        )));
    }
    let normal = |list: &[String]| -> Vec<String> {
        let mut out: Vec<String> = list
            .iter()
            .filter_map(|t| homepost_store::normalize_tag(t).ok())
            .collect();
        out.sort();
        out.dedup();
        out
    };
    Ok(RuleActions {
        add_tags: normal(&actions.add_tags),
        remove_tags: normal(&actions.remove_tags),
        ..actions.clone()
    })
}

/// Checks the query of a rule: as [`check_query`], and every part of it must
/// have a word the index keeps. A part without one would be left out of the
/// match (see `docs/search.md`) and widen the rule to mail it was not meant for.
pub fn check_rule_query(query: &str) -> Result<Query> {
    let parsed = check_query(query)?;
    if let Some(part) = homepost_search::wordless_parts(&parsed).first() {
        return Err(RulesError::BadQuery(format!(
            "{part:?} has no word the index keeps (punctuation only, or words over 40 characters), so the rule would match more than meant: leave it out or write it with ordinary words"
        )));
    }
    Ok(parsed)
}

/// Warnings about the tags a query names that no message has (`existing`:
/// every tag's name).
fn tag_warnings(existing: &[String], query: &Query) -> Vec<String> {
    query
        .tags()
        .into_iter()
        .filter(|t| !KNOWN_TAGS.contains(&t.as_str()) && !existing.contains(t))
        .map(|t| format!("it names the tag \"{t}\", which no message has (renamed or deleted?)"))
        .collect()
}

/// A rule with its warnings (`existing`: every tag's name).
fn rule_view(existing: &[String], r: Rule) -> RuleView {
    let warnings = match parse(&r.query) {
        Ok(q) => tag_warnings(existing, &q),
        Err(e) => vec![format!("its query cannot be read, so it never runs: {e}")],
    };
    RuleView {
        id: r.id,
        name: r.name,
        query: r.query,
        actions: r.actions,
        enabled: r.enabled,
        warnings,
    }
}

/// The enabled rules, prepared for matching: loaded for each batch of
/// arriving mail, so a change made anywhere applies to the next batch.
pub(crate) struct RuleSet(Vec<(Matcher, RuleActions)>);

impl RuleSet {
    /// The enabled rules of `store`; a rule whose query no longer parses is
    /// left out (and logged by id).
    pub(crate) async fn load(store: &Store) -> Result<RuleSet, homepost_store::Error> {
        let rules = store.rules().await?;
        Ok(RuleSet(
            rules
                .into_iter()
                .filter(|r| r.enabled)
                .filter_map(|r| match parse(&r.query) {
                    Ok(q) => Some((Matcher::new(&q), r.actions)),
                    Err(e) => {
                        tracing::warn!(rule = r.id, error = %e, "rule skipped: its query does not parse");
                        None
                    }
                })
                .collect(),
        ))
    }

    /// Whether there is no rule to run.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The tag changes the rules make once `inner` (a message's decrypted
    /// content) is known: the rules run again over `doc` with the decrypted
    /// text, from `base` (its tags before the rules), and the result is
    /// compared with `now` (its tags stored). `None` when nothing changes.
    pub(crate) fn retag(
        &self,
        doc: &IndexDoc,
        base: &[String],
        now: &[String],
        inner: &[u8],
    ) -> Option<crate::incoming::TagChange> {
        if self.is_empty() {
            return None;
        }
        let mut doc = doc.clone();
        crate::library::with_decrypted(&mut doc, inner);
        doc.tags = base.to_vec();
        let (after, _) = self.apply(&doc);
        let add: Vec<String> = after.iter().filter(|t| !now.contains(t)).cloned().collect();
        let remove: Vec<String> = now.iter().filter(|t| !after.contains(t)).cloned().collect();
        (!add.is_empty() || !remove.is_empty()).then_some((add, remove))
    }

    /// Runs the rules in order over one arriving message (whose `doc.tags`
    /// hold its tags so far) and returns its tags after them. Each rule runs
    /// once, so a rule whose actions would make it match again cannot loop.
    pub(crate) fn apply(&self, doc: &IndexDoc) -> (Vec<String>, bool) {
        let mut m = MatchDoc::new(doc);
        let mut matched = false;
        for (matcher, actions) in &self.0 {
            if matcher.matches(&m) {
                matched = true;
                // Checked when saved: a rule's tags are valid.
                let _ = actions.apply(&mut m.tags);
                if actions.stop {
                    break;
                }
            }
        }
        (m.tags, matched)
    }
}

impl Library {
    /// The saved searches with their counts, in the user's order. Counts are
    /// kept per index generation: a list read again before new mail or a tag
    /// change costs no search.
    pub async fn saved_searches(&self) -> Result<Vec<SavedView>> {
        let saved = self.store().saved_searches().await?;
        let existing = self.store().tag_names().await?;
        self.saved_cache()
            .retain(|query, _| saved.iter().any(|s| &s.query == query));
        let mut out = Vec::with_capacity(saved.len());
        for s in saved {
            out.push(self.saved_view_of(s, &existing).await?);
        }
        Ok(out)
    }

    /// One saved search with its counts and warnings (`existing`: every tag's name).
    async fn saved_view_of(&self, s: SavedSearch, existing: &[String]) -> Result<SavedView> {
        let SavedSearch { id, name, query } = s;
        let (total, unread, mut warnings) = match parse(&query) {
            Ok(q) => {
                let (total, unread) = self.saved_counts(&query, &q).await?;
                (total, unread, tag_warnings(existing, &q))
            }
            Err(e) => (0, 0, vec![format!("its query cannot be read: {e}")]),
        };
        if total == 0 && !warnings.is_empty() {
            warnings.push("it finds nothing now".into());
        }
        Ok(SavedView {
            id,
            name,
            query,
            total,
            unread,
            warnings,
        })
    }

    /// Saves a search.
    pub async fn save_search(&self, name: &str, query: &str) -> Result<SavedView> {
        let name = check_name(name)?;
        check_query(query)?;
        let id = self
            .store()
            .add_saved_search(&name, query.trim(), MAX_ITEMS)
            .await?;
        self.saved_view(id).await
    }

    /// Renames a saved search or changes its query.
    pub async fn update_saved_search(
        &self,
        id: i64,
        name: Option<&str>,
        query: Option<&str>,
    ) -> Result<SavedView> {
        let name = name.map(check_name).transpose()?;
        if let Some(q) = query {
            check_query(q)?;
        }
        self.store()
            .update_saved_search(id, name.as_deref(), query.map(str::trim))
            .await?;
        self.saved_view(id).await
    }

    async fn saved_view(&self, id: i64) -> Result<SavedView> {
        let saved = self
            .store()
            .saved_searches()
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| {
                homepost_store::Error::NotFound(format!("there is no saved search {id}"))
            })?;
        let existing = self.store().tag_names().await?;
        self.saved_view_of(saved, &existing).await
    }

    /// The rules in the order they run.
    pub async fn rules(&self) -> Result<Vec<RuleView>> {
        let existing = self.store().tag_names().await?;
        Ok(self
            .store()
            .rules()
            .await?
            .into_iter()
            .map(|r| rule_view(&existing, r))
            .collect())
    }

    pub(crate) async fn rule_view(&self, r: Rule) -> Result<RuleView> {
        Ok(rule_view(&self.store().tag_names().await?, r))
    }

    /// Adds a rule last in the list.
    pub async fn add_rule(
        &self,
        name: &str,
        query: &str,
        actions: &RuleActions,
        enabled: bool,
    ) -> Result<RuleView> {
        let name = check_name(name)?;
        check_rule_query(query)?;
        let actions = check_actions(actions)?;
        let rule = homepost_store::NewRule {
            name,
            query: query.trim().to_owned(),
            actions,
            enabled,
        };
        let ids = self.store().add_rules(&[rule], MAX_ITEMS).await?;
        let id = ids
            .first()
            .copied()
            .ok_or_else(|| homepost_store::Error::NotFound("the rule was not added".into()))?;
        self.rule(id).await
    }

    /// Changes a rule.
    pub async fn update_rule(
        &self,
        id: i64,
        mut change: homepost_store::RuleChange,
    ) -> Result<RuleView> {
        change.name = change.name.as_deref().map(check_name).transpose()?;
        if let Some(q) = &change.query {
            check_rule_query(q)?;
            change.query = Some(q.trim().to_owned());
        }
        if let Some(a) = &change.actions {
            change.actions = Some(check_actions(a)?);
        }
        self.store().update_rule(id, &change).await?;
        self.rule(id).await
    }

    /// One rule.
    pub async fn rule(&self, id: i64) -> Result<RuleView> {
        let rule = self
            .store()
            .rules()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| homepost_store::Error::NotFound(format!("there is no rule {id}")))?;
        self.rule_view(rule).await
    }

    /// How many stored messages rule `id` matches now: what running it over
    /// stored mail would change at most.
    pub async fn rule_matches(&self, id: i64) -> Result<usize> {
        let rule = self.rule(id).await?;
        let query = check_query(&rule.query)?;
        Ok(self.searcher().count(&query).await?)
    }

    /// Renames a tag on every message, in the saved searches and rules that
    /// name it (in one transaction), and updates the index.
    pub async fn rename_tag(&mut self, old: &str, new: &str) -> Result<String, LibraryError> {
        let (o, n) = (old.trim().to_lowercase(), new.trim().to_lowercase());
        let rewrite = move |text: &str| {
            parse(text)
                .ok()
                .and_then(|q| q.rename_tag(&o, &n))
                .map(|q| q.to_string())
        };
        let name = self.store().rename_tag_with(old, new, &rewrite).await?;
        self.index_changes().await?;
        Ok(name)
    }

    async fn saved_counts(&self, text: &str, query: &Query) -> Result<(usize, usize)> {
        let shown = hide_unless_named(query.clone());
        let unread = Query::And(vec![
            shown.clone(),
            Query::Not(Box::new(Query::Tag("read".into()))),
        ]);
        let searcher = self.searcher();
        let generation = searcher.generation();
        if let Some(&(g, total, unread)) = self.saved_cache().get(text)
            && g == generation
        {
            return Ok((total, unread));
        }
        let total = searcher.count(&shown).await?;
        let unread = searcher.count(&unread).await?;
        self.saved_cache()
            .insert(text.to_owned(), (generation, total, unread));
        Ok((total, unread))
    }
}
