//! Saved searches and filter rules: queries kept under a name, in the user's
//! order. The store keeps their text; the query language is the search
//! crate's, so validating and matching a query happen above the store.

use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;

use crate::tags::normalize_tag;
use crate::{Error, Result, Store};

/// Tag the inbox is: archiving takes it off.
const INBOX: &str = "inbox";
/// Tag the read state lives in.
const READ: &str = "read";

/// A search kept under a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedSearch {
    /// Its id.
    pub id: i64,
    /// Its name, unique ignoring case.
    pub name: String,
    /// The query, in the search language.
    pub query: String,
}

/// A filter rule: when arriving mail matches `query`, `actions` apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The query, in the search language.
    pub query: String,
    /// What it does to mail that matches.
    pub actions: RuleActions,
    /// Whether it runs on arriving mail.
    pub enabled: bool,
}

/// What a rule does to a message it matches. Every action is a tag change,
/// so applying a rule to arriving mail and to stored mail gives the same tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleActions {
    /// Tags to add.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// Tags to remove.
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// Mark it read.
    #[serde(default)]
    pub mark_read: bool,
    /// Take it out of the inbox.
    #[serde(default)]
    pub archive: bool,
    /// Put it in the trash.
    #[serde(default)]
    pub trash: bool,
    /// Mark it spam, or not spam (the filter is not trained by a rule).
    #[serde(default)]
    pub spam: Option<SpamAction>,
    /// Run no later rule on this message.
    #[serde(default)]
    pub stop: bool,
}

/// A rule's spam verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SpamAction {
    /// Tag it `spam`.
    Spam,
    /// Take `spam` and `unsure` off.
    NotSpam,
}

impl RuleActions {
    /// The tags the actions add and remove, normalised.
    pub fn tag_changes(&self) -> Result<(Vec<String>, Vec<String>)> {
        let mut add = self
            .add_tags
            .iter()
            .map(|t| normalize_tag(t))
            .collect::<Result<Vec<_>>>()?;
        let mut remove = self
            .remove_tags
            .iter()
            .map(|t| normalize_tag(t))
            .collect::<Result<Vec<_>>>()?;
        if self.mark_read {
            add.push(READ.into());
        }
        if self.archive {
            remove.push(INBOX.into());
        }
        if self.trash {
            add.push("trash".into());
        }
        match self.spam {
            Some(SpamAction::Spam) => {
                add.push("spam".into());
                remove.push("unsure".into());
            }
            Some(SpamAction::NotSpam) => remove.extend(["spam".into(), "unsure".into()]),
            None => {}
        }
        for list in [&mut add, &mut remove] {
            list.sort();
            list.dedup();
        }
        Ok((add, remove))
    }

    /// Whether the actions change anything or stop the rules.
    pub fn is_empty(&self) -> bool {
        self.tag_changes()
            .is_ok_and(|(add, remove)| add.is_empty() && remove.is_empty())
            && !self.stop
    }

    /// Applies the tag changes to a message's tags (sorted, without repeats).
    pub fn apply(&self, tags: &mut Vec<String>) -> Result<()> {
        let (add, remove) = self.tag_changes()?;
        tags.retain(|t| !remove.contains(t));
        tags.extend(add);
        tags.sort();
        tags.dedup();
        Ok(())
    }

    /// The actions with tag `old` renamed to `new`; `None` if they do not name it.
    fn renamed(&self, old: &str, new: &str) -> Option<RuleActions> {
        let is_old = |t: &String| normalize_tag(t).is_ok_and(|t| t == old);
        let named = |list: &[String]| list.iter().any(is_old);
        if !named(&self.add_tags) && !named(&self.remove_tags) {
            return None;
        }
        let rename = |list: &[String]| {
            list.iter()
                .map(|t| if is_old(t) { new.to_owned() } else { t.clone() })
                .collect()
        };
        Some(RuleActions {
            add_tags: rename(&self.add_tags),
            remove_tags: rename(&self.remove_tags),
            ..self.clone()
        })
    }
}

/// A rule to add.
#[derive(Debug, Clone)]
pub struct NewRule {
    /// Its name.
    pub name: String,
    /// Its query.
    pub query: String,
    /// What it does.
    pub actions: RuleActions,
    /// Whether it runs.
    pub enabled: bool,
}

/// Changes to a rule; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RuleChange {
    /// A new name.
    pub name: Option<String>,
    /// A new query.
    pub query: Option<String>,
    /// New actions.
    pub actions: Option<RuleActions>,
    /// Turned on or off.
    pub enabled: Option<bool>,
}

/// The two ordered lists of this module.
#[derive(Debug, Clone, Copy)]
enum List {
    Saved,
    Rules,
}

impl List {
    /// The list's statements: delete one, all ids, set a position, next
    /// position, count.
    fn sql(self) -> [&'static str; 5] {
        match self {
            List::Saved => [
                "DELETE FROM saved_searches WHERE id = ?",
                "SELECT id FROM saved_searches",
                "UPDATE saved_searches SET position = ? WHERE id = ?",
                "SELECT coalesce(max(position) + 1, 0) FROM saved_searches",
                "SELECT count(*) FROM saved_searches",
            ],
            List::Rules => [
                "DELETE FROM rules WHERE id = ?",
                "SELECT id FROM rules",
                "UPDATE rules SET position = ? WHERE id = ?",
                "SELECT coalesce(max(position) + 1, 0) FROM rules",
                "SELECT count(*) FROM rules",
            ],
        }
    }

    fn what(self) -> &'static str {
        match self {
            List::Saved => "saved search",
            List::Rules => "rule",
        }
    }
}

impl Store {
    /// The saved searches, in the user's order.
    pub async fn saved_searches(&self) -> Result<Vec<SavedSearch>> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, query FROM saved_searches ORDER BY position, id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, query)| SavedSearch { id, name, query })
            .collect())
    }

    /// Saves a search last in the list; its name must be free (ignoring case),
    /// and the list may then hold at most `max` ([`Error::Full`]).
    pub async fn add_saved_search(&self, name: &str, query: &str, max: usize) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        room_for(&mut tx, List::Saved, 1, max).await?;
        let position = next_position(&mut tx, List::Saved).await?;
        let id = sqlx::query_scalar(
            "INSERT INTO saved_searches (name, query, position) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(query)
        .bind(position)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| name_taken(e, name))?;
        tx.commit().await?;
        Ok(id)
    }

    /// Renames a saved search or changes its query.
    pub async fn update_saved_search(
        &self,
        id: i64,
        name: Option<&str>,
        query: Option<&str>,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE saved_searches SET name = coalesce(?, name), query = coalesce(?, query) WHERE id = ?",
        )
        .bind(name)
        .bind(query)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(|e| name_taken(e, name.unwrap_or_default()))?;
        found(done.rows_affected(), List::Saved, id)
    }

    /// Deletes a saved search.
    pub async fn delete_saved_search(&self, id: i64) -> Result<()> {
        self.delete_from(List::Saved, id).await
    }

    /// Puts the saved searches in this order; `ids` must name each exactly once.
    pub async fn reorder_saved_searches(&self, ids: &[i64]) -> Result<()> {
        self.reorder(List::Saved, ids).await
    }

    /// The filter rules, in the order they run.
    pub async fn rules(&self) -> Result<Vec<Rule>> {
        let rows: Vec<(i64, String, String, String, bool)> = sqlx::query_as(
            "SELECT id, name, query, actions, enabled FROM rules ORDER BY position, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, query, actions, enabled)| {
                // A rule this build cannot read (written by a newer one?) is
                // shown turned off, not in the way of every other rule.
                let (actions, enabled) = match decode_actions(id, &actions) {
                    Ok(a) => (a, enabled),
                    Err(e) => {
                        tracing::warn!(rule = id, error = %e, "a rule's actions cannot be read; it is off");
                        (RuleActions::default(), false)
                    }
                };
                Rule {
                    id,
                    name,
                    query,
                    actions,
                    enabled,
                }
            })
            .collect())
    }

    /// Adds rules last in the list, all in one transaction: all or none,
    /// and none if the list would then hold more than `max` ([`Error::Full`]).
    pub async fn add_rules(&self, rules: &[NewRule], max: usize) -> Result<Vec<i64>> {
        let mut tx = self.begin_write().await?;
        room_for(&mut tx, List::Rules, rules.len(), max).await?;
        let mut position = next_position(&mut tx, List::Rules).await?;
        let mut ids = Vec::with_capacity(rules.len());
        for rule in rules {
            let id = sqlx::query_scalar(
                "INSERT INTO rules (name, query, actions, enabled, position) VALUES (?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(&rule.name)
            .bind(&rule.query)
            .bind(encode_actions(&rule.actions))
            .bind(rule.enabled)
            .bind(position)
            .fetch_one(&mut *tx)
            .await?;
            ids.push(id);
            position += 1;
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Changes a rule.
    pub async fn update_rule(&self, id: i64, change: &RuleChange) -> Result<()> {
        let done = sqlx::query(
            "UPDATE rules SET name = coalesce(?, name), query = coalesce(?, query),
                    actions = coalesce(?, actions), enabled = coalesce(?, enabled)
              WHERE id = ?",
        )
        .bind(change.name.as_deref())
        .bind(change.query.as_deref())
        .bind(change.actions.as_ref().map(encode_actions))
        .bind(change.enabled)
        .bind(id)
        .execute(&self.writer)
        .await?;
        found(done.rows_affected(), List::Rules, id)
    }

    /// Deletes a rule.
    pub async fn delete_rule(&self, id: i64) -> Result<()> {
        self.delete_from(List::Rules, id).await
    }

    /// Puts the rules in this order; `ids` must name each exactly once.
    pub async fn reorder_rules(&self, ids: &[i64]) -> Result<()> {
        self.reorder(List::Rules, ids).await
    }

    /// [`rename_tag`](Self::rename_tag), and in the same transaction the saved
    /// searches' and rules' queries rewritten by `rewrite` (which returns the
    /// new text of a query that names the tag, `None` for one that does not)
    /// and the rules' actions renamed: a crash leaves all or nothing renamed.
    pub async fn rename_tag_with(
        &self,
        old: &str,
        new: &str,
        rewrite: &(dyn Fn(&str) -> Option<String> + Send + Sync),
    ) -> Result<String> {
        let old = normalize_tag(old)?;
        let new = normalize_tag(new)?;
        let mut tx = self.begin_write().await?;
        crate::tags::rename_in(&mut tx, &old, &new).await?;
        let saved: Vec<(i64, String)> = sqlx::query_as("SELECT id, query FROM saved_searches")
            .fetch_all(&mut *tx)
            .await?;
        for (id, query) in saved {
            if let Some(query) = rewrite(&query) {
                sqlx::query("UPDATE saved_searches SET query = ? WHERE id = ?")
                    .bind(query)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let rules: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, query, actions FROM rules")
                .fetch_all(&mut *tx)
                .await?;
        for (id, query, actions) in rules {
            let query = rewrite(&query);
            let actions = decode_actions(id, &actions)?.renamed(&old, &new);
            if query.is_some() || actions.is_some() {
                sqlx::query(
                    "UPDATE rules SET query = coalesce(?, query), actions = coalesce(?, actions) WHERE id = ?",
                )
                .bind(query)
                .bind(actions.as_ref().map(encode_actions))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(new)
    }

    async fn delete_from(&self, list: List, id: i64) -> Result<()> {
        let done = sqlx::query(list.sql()[0])
            .bind(id)
            .execute(&self.writer)
            .await?;
        found(done.rows_affected(), list, id)
    }

    async fn reorder(&self, list: List, ids: &[i64]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let mut have: Vec<i64> = sqlx::query_scalar(list.sql()[1])
            .fetch_all(&mut *tx)
            .await?;
        let mut given = ids.to_vec();
        have.sort_unstable();
        given.sort_unstable();
        if have != given {
            return Err(Error::BadOrder(list.what()));
        }
        for (position, id) in ids.iter().enumerate() {
            sqlx::query(list.sql()[2])
                .bind(position as i64)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn next_position(conn: &mut SqliteConnection, list: List) -> Result<i64> {
    Ok(sqlx::query_scalar(list.sql()[3]).fetch_one(conn).await?)
}

/// [`Error::Full`] unless `list` has room for `more` within `max`.
async fn room_for(conn: &mut SqliteConnection, list: List, more: usize, max: usize) -> Result<()> {
    let have: i64 = sqlx::query_scalar(list.sql()[4]).fetch_one(conn).await?;
    if usize::try_from(have)
        .unwrap_or(usize::MAX)
        .saturating_add(more)
        > max
    {
        return Err(Error::Full(max));
    }
    Ok(())
}

fn found(rows: u64, list: List, id: i64) -> Result<()> {
    if rows == 0 {
        return Err(Error::NotFound(format!("there is no {} {id}", list.what())));
    }
    Ok(())
}

fn name_taken(e: sqlx::Error, name: &str) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::NameTaken(name.to_owned()),
        _ => e.into(),
    }
}

fn encode_actions(actions: &RuleActions) -> String {
    serde_json::to_string(actions).unwrap_or_else(|_| "{}".into())
}

fn decode_actions(id: i64, json: &str) -> Result<RuleActions> {
    serde_json::from_str(json).map_err(|e| Error::NotFound(format!("rule {id} is unreadable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::open_store;

    fn actions(add: &[&str]) -> RuleActions {
        RuleActions {
            add_tags: add.iter().map(|t| (*t).to_owned()).collect(),
            ..RuleActions::default()
        }
    }

    #[test]
    fn actions_are_tag_changes() {
        let a = RuleActions {
            add_tags: vec!["News".into()],
            mark_read: true,
            archive: true,
            spam: Some(SpamAction::NotSpam),
            ..RuleActions::default()
        };
        let (add, remove) = a.tag_changes().unwrap();
        assert_eq!(add, ["news", "read"]);
        assert_eq!(remove, ["inbox", "spam", "unsure"]);
        let mut tags = vec!["inbox".to_owned(), "spam".to_owned(), "work".to_owned()];
        a.apply(&mut tags).unwrap();
        assert_eq!(tags, ["news", "read", "work"]);
        assert!(RuleActions::default().is_empty());
        assert!(
            !RuleActions {
                stop: true,
                ..RuleActions::default()
            }
            .is_empty()
        );
        assert!(actions(&["bad tag"]).tag_changes().is_err());
    }

    #[tokio::test]
    async fn saved_searches_keep_names_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        let a = store
            .add_saved_search("Bills", "tag:bills", 10)
            .await
            .unwrap();
        let b = store
            .add_saved_search("Family", "from:mum", 10)
            .await
            .unwrap();
        assert!(matches!(
            store.add_saved_search("Third", "x", 2).await,
            Err(Error::Full(2))
        ));
        assert!(matches!(
            store.add_saved_search("bills", "x", 10).await,
            Err(Error::NameTaken(_))
        ));
        store.reorder_saved_searches(&[b, a]).await.unwrap();
        let names: Vec<_> = store
            .saved_searches()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["Family", "Bills"]);
        assert!(matches!(
            store.reorder_saved_searches(&[a]).await,
            Err(Error::BadOrder(_))
        ));
        store
            .update_saved_search(a, None, Some("tag:paid"))
            .await
            .unwrap();
        assert!(matches!(
            store.update_saved_search(a, Some("family"), None).await,
            Err(Error::NameTaken(_))
        ));
        store.delete_saved_search(b).await.unwrap();
        assert!(matches!(
            store.delete_saved_search(b).await,
            Err(Error::NotFound(_))
        ));
        let left = store.saved_searches().await.unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].query, "tag:paid");
    }

    #[tokio::test]
    async fn renaming_a_tag_rewrites_queries_and_actions_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        store.create_tag("bills").await.unwrap();
        let s = store
            .add_saved_search("Bills", "tag:bills", 10)
            .await
            .unwrap();
        let rule = NewRule {
            name: "Bank".into(),
            query: "from:bank".into(),
            actions: actions(&["bills"]),
            enabled: true,
        };
        let r = store.add_rules(&[rule], 10).await.unwrap()[0];
        let rewrite = |q: &str| (q == "tag:bills").then(|| "tag:paid".to_owned());
        store
            .rename_tag_with("bills", "paid", &rewrite)
            .await
            .unwrap();
        let saved = store.saved_searches().await.unwrap();
        assert_eq!((saved[0].id, saved[0].query.as_str()), (s, "tag:paid"));
        let rules = store.rules().await.unwrap();
        assert_eq!(rules[0].id, r);
        assert_eq!(rules[0].actions.add_tags, ["paid"]);
        assert_eq!(rules[0].query, "from:bank");
    }
}
