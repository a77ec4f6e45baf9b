//! Tag names and the tag table.

use std::collections::HashMap;

use sqlx::SqliteConnection;

use crate::{Error, Result};

/// Normalises a tag name: trimmed, lowercased; refuses empty, over-long, spaced or
/// control-character names and names starting with `+` or `-` (the CLI's operators).
pub fn normalize_tag(name: &str) -> Result<String> {
    let t = name.trim().to_lowercase();
    let bad = t.is_empty()
        || t.chars().count() > 64
        || t.starts_with(['+', '-'])
        || t.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"');
    if bad {
        return Err(Error::BadTag(name.to_string()));
    }
    Ok(t)
}

/// Tag ids looked up or created during one transaction.
#[derive(Default)]
pub(crate) struct TagCache(HashMap<String, i64>);

impl TagCache {
    /// The id of tag `name`, creating the tag if needed.
    pub(crate) async fn id(&mut self, conn: &mut SqliteConnection, name: &str) -> Result<i64> {
        let name = normalize_tag(name)?;
        if let Some(&id) = self.0.get(&name) {
            return Ok(id);
        }
        sqlx::query("INSERT OR IGNORE INTO tags (name) VALUES (?)")
            .bind(&name)
            .execute(&mut *conn)
            .await?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM tags WHERE name = ?")
            .bind(&name)
            .fetch_one(&mut *conn)
            .await?;
        self.0.insert(name, id);
        Ok(id)
    }
}

/// The tags of one message, sorted by name.
pub(crate) async fn of_message(conn: &mut SqliteConnection, id: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT t.name FROM message_tags mt JOIN tags t ON t.id = mt.tag WHERE mt.message = ? ORDER BY t.name",
    )
    .bind(id)
    .fetch_all(conn)
    .await?)
}

/// A tag with how many messages carry it.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagCount {
    /// Normalised name.
    pub name: String,
    /// Messages with this tag.
    pub total: i64,
    /// Of those, messages without the `read` tag.
    pub unread: i64,
}

impl crate::Store {
    /// Every tag's name, sorted.
    pub async fn tag_names(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT name FROM tags ORDER BY name")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every tag, sorted by name, with its message and unread counts.
    pub async fn tag_counts(&self) -> Result<Vec<TagCount>> {
        // Kept by triggers (migration 0017): one row per tag.
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT t.name, c.total, c.total - c.read
               FROM tags t JOIN tag_counts c ON c.tag = t.id
              ORDER BY t.name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, total, unread)| TagCount {
                name,
                total,
                unread,
            })
            .collect())
    }

    /// Creates a tag that no message carries yet. Returns its normalised name.
    pub async fn create_tag(&self, name: &str) -> Result<String> {
        let name = normalize_tag(name)?;
        let done = sqlx::query("INSERT OR IGNORE INTO tags (name) VALUES (?)")
            .bind(&name)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::TagExists(name));
        }
        Ok(name)
    }

    /// Renames a tag on every message that carries it; the messages are queued
    /// for reindexing. Returns the new normalised name.
    pub async fn rename_tag(&self, old: &str, new: &str) -> Result<String> {
        let old = normalize_tag(old)?;
        let new = normalize_tag(new)?;
        let mut tx = self.begin_write().await?;
        rename_in(&mut tx, &old, &new).await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Removes a tag from every message and deletes it; the messages are queued
    /// for reindexing.
    pub async fn delete_tag(&self, name: &str) -> Result<()> {
        let name = normalize_tag(name)?;
        let mut tx = self.begin_write().await?;
        let id = tag_id(&mut tx, &name).await?;
        crate::index_queue::requeue_on(&mut tx, crate::index_queue::Requeue::Tagged(id)).await?;
        sqlx::query("DELETE FROM message_tags WHERE tag = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM tags WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Renames tag `old` to `new` (both normalised) inside a transaction, queuing
/// its messages for reindexing.
pub(crate) async fn rename_in(conn: &mut SqliteConnection, old: &str, new: &str) -> Result<()> {
    let id = tag_id(conn, old).await?;
    if old == new {
        return Ok(());
    }
    let taken: i64 = sqlx::query_scalar("SELECT count(*) FROM tags WHERE name = ?")
        .bind(new)
        .fetch_one(&mut *conn)
        .await?;
    if taken > 0 {
        return Err(Error::TagExists(new.to_owned()));
    }
    crate::index_queue::requeue_on(conn, crate::index_queue::Requeue::Tagged(id)).await?;
    sqlx::query("UPDATE tags SET name = ? WHERE id = ?")
        .bind(new)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

async fn tag_id(conn: &mut SqliteConnection, name: &str) -> Result<i64> {
    sqlx::query_scalar("SELECT id FROM tags WHERE name = ?")
        .bind(name)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::NoSuchTag(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::TagCount;
    use crate::Store;
    use crate::tests::{insert_mail, open_store};
    /// Every tag's (name, total, unread) counted from scratch, as the tag list
    /// did before the counts were kept (migration 0017).
    async fn counted(store: &Store) -> Vec<TagCount> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "WITH read AS (
                 SELECT mt.message FROM message_tags mt JOIN tags t ON t.id = mt.tag
                 WHERE t.name = 'read')
             SELECT t.name, count(mt.message), count(mt.message) - count(read.message)
             FROM tags t
             LEFT JOIN message_tags mt ON mt.tag = t.id
             LEFT JOIN read ON read.message = mt.message
             GROUP BY t.id ORDER BY t.name",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        rows.into_iter()
            .map(|(name, total, unread)| TagCount {
                name,
                total,
                unread,
            })
            .collect()
    }

    #[tokio::test]
    async fn tag_counts_kept_by_triggers_match_a_full_count() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_store(dir.path()).await;
        let mut ids = Vec::new();
        for n in 0..12 {
            ids.push(insert_mail(&store, &format!("c{n}@example.org"), &format!("body {n}")).await);
        }
        let s = |v: &[&str]| v.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        let steps: Vec<(Vec<i64>, Vec<String>, Vec<String>)> = vec![
            (ids[..6].to_vec(), s(&["work"]), vec![]),
            (ids[3..9].to_vec(), s(&["read"]), vec![]),
            (ids[..12].to_vec(), s(&["read", "lists"]), s(&["inbox"])),
            (ids[2..5].to_vec(), vec![], s(&["read"])),
            (ids[4..8].to_vec(), s(&["work", "spam"]), s(&["lists"])),
            (ids[..3].to_vec(), s(&["read"]), s(&["read"])),
        ];
        for (i, (ids, add, remove)) in steps.iter().enumerate() {
            store.change_tags(ids, add, remove).await.unwrap();
            assert_eq!(
                store.tag_counts().await.unwrap(),
                counted(&store).await,
                "step {i}"
            );
        }
        store.rename_tag("work", "job").await.unwrap();
        store.delete_tag("lists").await.unwrap();
        store.create_tag("empty").await.unwrap();
        assert_eq!(
            store.tag_counts().await.unwrap(),
            counted(&store).await,
            "rename, delete, create"
        );
        store.delete_messages(&ids[3..7], &[]).await.unwrap();
        let after = store.tag_counts().await.unwrap();
        assert_eq!(after, counted(&store).await, "messages deleted for good");
        let job = after.iter().find(|t| t.name == "job").unwrap();
        assert_eq!((job.total, job.unread), (4, 3));
    }
}
