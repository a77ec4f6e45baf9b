//! Threads seen as conversations: which thread a message is in, what a thread
//! holds at a glance (how many messages, how many unread, who wrote, its tags),
//! and the tags of many messages at once (to say exactly what a change did).

use std::collections::HashMap;

use homepost_mail::Address;
use serde::Serialize;
use sqlx::Row;

use crate::messages::address_from_row;
use crate::{Result, Store, to_json};

/// A thread at a glance, for a conversation list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadOverview {
    /// The thread.
    pub thread_id: i64,
    /// Messages in it.
    pub messages: usize,
    /// Messages in it without the `read` tag.
    pub unread: usize,
    /// Who wrote in it: each sender once, by first message, oldest first (at
    /// most [`MAX_PARTICIPANTS`]).
    pub participants: Vec<Address>,
    /// Every tag any of its messages has (but `read`), sorted.
    pub tags: Vec<String>,
    /// Whether any of its messages has attachments.
    pub has_attachment: bool,
}

/// Most senders named in a [`ThreadOverview`].
pub const MAX_PARTICIPANTS: usize = 8;

impl Store {
    /// The thread of each of `ids` that exists.
    pub async fn threads_of(&self, ids: &[i64]) -> Result<HashMap<i64, i64>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(sqlx::query_as::<_, (i64, i64)>(
            "SELECT id, thread_id FROM messages WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(to_json(&ids)?)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .collect())
    }

    /// Every message of the threads `thread_ids`, by thread, oldest first.
    pub async fn messages_of_threads(&self, thread_ids: &[i64]) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM messages WHERE thread_id IN (SELECT value FROM json_each(?))
             ORDER BY thread_id, date, id",
        )
        .bind(to_json(&thread_ids)?)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The overview of each of `thread_ids` that has messages, in that order.
    pub async fn thread_overviews(&self, thread_ids: &[i64]) -> Result<Vec<ThreadOverview>> {
        if thread_ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = to_json(&thread_ids)?;
        let mut conn = self.pool.acquire().await?;
        let mut by_thread: HashMap<i64, ThreadOverview> = HashMap::new();
        for r in sqlx::query(
            "SELECT m.thread_id, count(*) AS messages, max(m.has_attachment) AS attach,
                    sum(NOT EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                                    WHERE mt.message = m.id AND t.name = 'read')) AS unread
             FROM messages m WHERE m.thread_id IN (SELECT value FROM json_each(?))
             GROUP BY m.thread_id",
        )
        .bind(&list)
        .fetch_all(&mut *conn)
        .await?
        {
            let thread_id: i64 = r.try_get("thread_id")?;
            let count = |name: &str| -> Result<usize> {
                Ok(usize::try_from(r.try_get::<i64, _>(name)?).unwrap_or(0))
            };
            by_thread.insert(
                thread_id,
                ThreadOverview {
                    thread_id,
                    messages: count("messages")?,
                    unread: count("unread")?,
                    has_attachment: r.try_get::<i64, _>("attach")? != 0,
                    ..ThreadOverview::default()
                },
            );
        }
        // Each thread's first senders, each once (by address, whatever its
        // case), by their first message: at most MAX_PARTICIPANTS rows a thread
        // leave the database, however long the thread.
        for r in sqlx::query(
            "SELECT thread_id, address, name FROM (
                 SELECT m.thread_id, a.address, a.name, min(m.date) AS first,
                        row_number() OVER (PARTITION BY m.thread_id ORDER BY min(m.date), min(m.id)) AS n
                 FROM messages m
                 JOIN addresses a ON a.message = m.id AND a.field = 'from' AND a.position = 0
                 WHERE m.thread_id IN (SELECT value FROM json_each(?))
                 GROUP BY m.thread_id, coalesce(lower(a.address), a.name)
             ) WHERE n <= ? ORDER BY thread_id, n",
        )
        .bind(&list)
        .bind(i64::try_from(MAX_PARTICIPANTS).unwrap_or(8))
        .fetch_all(&mut *conn)
        .await?
        {
            let thread_id: i64 = r.try_get("thread_id")?;
            let Some(overview) = by_thread.get_mut(&thread_id) else {
                continue;
            };
            let address = address_from_row(&r)?;
            let same = |a: &Address| match (&a.address, &address.address) {
                (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                _ => a == &address,
            };
            if overview.participants.len() < MAX_PARTICIPANTS
                && !overview.participants.iter().any(same)
            {
                overview.participants.push(address);
            }
        }
        for (thread_id, name) in sqlx::query_as::<_, (i64, String)>(
            "SELECT DISTINCT m.thread_id, t.name FROM messages m
             JOIN message_tags mt ON mt.message = m.id JOIN tags t ON t.id = mt.tag
             WHERE m.thread_id IN (SELECT value FROM json_each(?)) AND t.name != 'read'
             ORDER BY m.thread_id, t.name",
        )
        .bind(&list)
        .fetch_all(&mut *conn)
        .await?
        {
            if let Some(overview) = by_thread.get_mut(&thread_id) {
                overview.tags.push(name);
            }
        }
        Ok(thread_ids
            .iter()
            .filter_map(|t| by_thread.remove(t))
            .collect())
    }

    /// Those of `ids` that are not messages of the store, in the order given.
    pub async fn missing(&self, ids: &[i64]) -> Result<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_scalar(
            "SELECT j.value FROM json_each(?) j
             WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = j.value) ORDER BY j.key",
        )
        .bind(to_json(&ids)?)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The tags of each of `ids` (sorted; a message without tags is left out).
    pub async fn tags_by_message(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<String>>> {
        let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
        for (message, name) in sqlx::query_as::<_, (i64, String)>(
            "SELECT mt.message, t.name FROM message_tags mt JOIN tags t ON t.id = mt.tag
             WHERE mt.message IN (SELECT value FROM json_each(?)) ORDER BY mt.message, t.name",
        )
        .bind(to_json(&ids)?)
        .fetch_all(&self.pool)
        .await?
        {
            tags.entry(message).or_default().push(name);
        }
        Ok(tags)
    }
}
