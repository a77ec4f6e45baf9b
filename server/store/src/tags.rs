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
