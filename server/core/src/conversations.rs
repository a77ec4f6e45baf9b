//! Mail as conversations: the results of a search grouped by thread, newest
//! first, a page at a time, and tag changes on whole conversations that say
//! exactly what they changed (so that Undo restores it).

use std::collections::{BTreeMap, HashMap, HashSet};

use homepost_search::{Query, SearchOptions, Sort};
use homepost_store::{MessageSummary, ThreadOverview};
use serde::Serialize;

use crate::library::{Library, LibraryError, Result};
use crate::searcher::Searcher;

/// Hits read by the first step while filling a page of conversations; each
/// further step reads twice as many, up to [`MAX_STEP`].
const STEP: usize = 200;
/// Most hits one step reads.
const MAX_STEP: usize = 12_800;
/// Most hits one request reads while filling a page (past the earlier pages):
/// a page of a search whose hits are a few huge threads may come back short,
/// with a cursor to go on from.
const MAX_SCAN: usize = 50_000;
/// Deepest hit a page of conversations starts from (as for message pages).
pub const MAX_OFFSET: usize = 100_000;
/// Most messages one tag change on conversations may touch.
pub const MAX_THREAD_MESSAGES: usize = 20_000;

/// One conversation of a list: its newest matching message and the whole
/// thread at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    /// The newest message of the thread that matches the search.
    pub latest: MessageSummary,
    /// The whole thread.
    pub thread: ThreadOverview,
}

/// One page of conversations.
#[derive(Debug, Clone)]
pub struct ConversationPage {
    /// How many messages match the search.
    pub total_messages: usize,
    /// The page, the conversation with the newest matching message first.
    pub conversations: Vec<Conversation>,
    /// Where the next page starts (a hit offset), if there is one.
    pub next: Option<usize>,
}

impl Searcher {
    /// The conversations whose messages match `query`, newest first: `limit`
    /// of them, from hit `offset` (a previous page's `next`). A thread with a
    /// hit before `offset` was on an earlier page and is not repeated.
    pub async fn conversations(
        &self,
        query: &Query,
        limit: usize,
        offset: usize,
    ) -> Result<ConversationPage> {
        let opts = |limit, offset| SearchOptions {
            sort: Sort::Newest,
            limit,
            offset,
        };
        let mut seen: HashSet<i64> = HashSet::new();
        if offset > 0 {
            let (_, earlier) = self.ids(query, &opts(offset, 0)).await?;
            seen.extend(self.store().threads_of(&earlier).await?.into_values());
        }
        let mut picked: Vec<(i64, i64)> = Vec::new(); // (thread, newest matching message)
        let mut at = offset;
        let mut total = 0;
        let mut next = None;
        let mut step = STEP.max(limit * 3);
        'pages: while at <= MAX_OFFSET {
            let (found, ids) = self.ids(query, &opts(step, at)).await?;
            total = found;
            if ids.is_empty() {
                break;
            }
            step = (step * 2).min(MAX_STEP);
            let threads = self.store().threads_of(&ids).await?;
            for (i, id) in ids.iter().enumerate() {
                let Some(&thread) = threads.get(id) else {
                    continue; // deleted since the index was committed
                };
                if seen.insert(thread) {
                    picked.push((thread, *id));
                    if picked.len() == limit {
                        let after = at + i + 1;
                        next = (after < total && after <= MAX_OFFSET).then_some(after);
                        break 'pages;
                    }
                }
            }
            at += ids.len();
            if at - offset >= MAX_SCAN && at < total {
                next = (at <= MAX_OFFSET).then_some(at);
                break;
            }
        }
        let message_ids: Vec<i64> = picked.iter().map(|&(_, id)| id).collect();
        let thread_ids: Vec<i64> = picked.iter().map(|&(t, _)| t).collect();
        let mut latest: HashMap<i64, MessageSummary> = self
            .store()
            .summaries(&message_ids)
            .await?
            .into_iter()
            .map(|s| (s.thread_id, s))
            .collect();
        let conversations = self
            .store()
            .thread_overviews(&thread_ids)
            .await?
            .into_iter()
            .filter_map(|thread| {
                Some(Conversation {
                    latest: latest.remove(&thread.thread_id)?,
                    thread,
                })
            })
            .collect();
        Ok(ConversationPage {
            total_messages: total,
            conversations,
            next,
        })
    }
}

/// What a tag change did to one tag: the messages that gained it and those
/// that lost it (messages that had it already, or never had it, are not named).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagDelta {
    /// The tag, normalized.
    pub tag: String,
    /// Messages that did not have it and now do.
    pub added: Vec<i64>,
    /// Messages that had it and now do not.
    pub removed: Vec<i64>,
}

impl Library {
    /// The messages of `ids` and of every thread in `threads`, sorted, each
    /// once. Fails if there would be more than [`MAX_THREAD_MESSAGES`].
    pub async fn expand_threads(&self, ids: &[i64], threads: &[i64]) -> Result<Vec<i64>> {
        let mut all = ids.to_vec();
        if !threads.is_empty() {
            all.extend(self.store().messages_of_threads(threads).await?);
        }
        all.sort_unstable();
        all.dedup();
        if all.len() > MAX_THREAD_MESSAGES {
            return Err(LibraryError::TooMany(all.len(), MAX_THREAD_MESSAGES));
        }
        Ok(all)
    }

    /// [`Library::change_tags`], reporting per tag which messages it changed:
    /// what was asked, and what came with it (`unsure` going with a spam verdict).
    pub async fn change_tags_reporting(
        &mut self,
        ids: &[i64],
        add: &[String],
        remove: &[String],
    ) -> Result<Vec<TagDelta>> {
        let before = self.store().tags_by_message(ids).await?;
        self.change_tags(ids, add, remove).await?;
        let after = self.store().tags_by_message(ids).await?;
        let none = Vec::new();
        let mut deltas: BTreeMap<&str, TagDelta> = BTreeMap::new();
        for id in ids {
            let (was, is) = (
                before.get(id).unwrap_or(&none),
                after.get(id).unwrap_or(&none),
            );
            for tag in is.iter().filter(|t| !was.contains(t)) {
                delta(&mut deltas, tag).added.push(*id);
            }
            for tag in was.iter().filter(|t| !is.contains(t)) {
                delta(&mut deltas, tag).removed.push(*id);
            }
        }
        Ok(deltas.into_values().collect())
    }
}

fn delta<'m, 'a>(deltas: &'m mut BTreeMap<&'a str, TagDelta>, tag: &'a str) -> &'m mut TagDelta {
    deltas.entry(tag).or_insert_with(|| TagDelta {
        tag: tag.to_owned(),
        ..TagDelta::default()
    })
}
