//! Tag changes, kept in step with the index; adding or removing `spam` trains
//! the spam filter.

use std::collections::BTreeMap;

use homepost_store::{flag_tags, normalize_tag};
use homepost_transport::FlagChange;

use super::{Library, LibraryError, Result};
use homepost_spam::Class;

use crate::spam::{SENT_TAG, SPAM_TAG, UNSURE_TAG, spam_decision};

impl Library {
    /// Applies flag changes a mail server reported, grouped by change: one
    /// transaction per kind of change (at most nine: read and flagged, each
    /// added, removed or left) and one index commit for all of them, however
    /// many messages changed. Messages deleted for good meanwhile are skipped.
    /// Flags never include `spam`, so nothing is trained.
    pub async fn apply_flag_changes(&mut self, changes: &[FlagChange]) -> Result<()> {
        let mut groups: BTreeMap<(i64, i64), Vec<i64>> = BTreeMap::new();
        for c in changes {
            groups.entry((c.add, c.remove)).or_default().push(c.message);
        }
        for ((add, remove), ids) in groups {
            let missing = self.store.missing(&ids).await?;
            let ids: Vec<i64> = ids.into_iter().filter(|id| !missing.contains(id)).collect();
            if !ids.is_empty() {
                self.store
                    .change_tags(&ids, &flag_tags(add), &flag_tags(remove))
                    .await?;
            }
        }
        self.index_changes().await
    }

    /// Removes a tag from every message, deletes it and updates the index.
    pub async fn delete_tag(&mut self, name: &str) -> Result<()> {
        self.store.delete_tag(name).await?;
        self.index_changes().await
    }

    /// Adds and removes tags on messages and updates the index.
    ///
    /// Adding `spam` or removing it is a person's verdict, and trains the spam
    /// filter at once, in the same transaction, on the messages whose state it
    /// changes: adding it learns as spam those that were not spam (never the
    /// user's own sent mail, which a conversation reported as spam holds), and
    /// they lose `unsure`; removing it learns as ham those that were spam (a
    /// message learnt as the other class before is untrained first). Moving a
    /// whole conversation to the inbox thus trains nothing on the messages
    /// nobody judged, and an `unsure` message stays unsure until someone does.
    pub async fn change_tags(
        &mut self,
        ids: &[i64],
        add: &[String],
        remove: &[String],
    ) -> Result<()> {
        if let Some(&missing) = self.store.missing(ids).await?.first() {
            return Err(LibraryError::NoSuchMessage(missing));
        }
        let Some(class) = spam_decision(add, remove) else {
            self.store.change_tags(ids, add, remove).await?;
            return self.index_changes().await;
        };
        let add: Vec<String> = add
            .iter()
            .filter(|t| normalize_tag(t).ok().as_deref() != Some(UNSURE_TAG))
            .cloned()
            .collect();
        let mut remove = remove.to_vec();
        if class == Class::Spam {
            remove.push(UNSURE_TAG.into());
        }
        let before = self.store.tags_by_message(ids).await?;
        let has = |id: i64, tag: &str| before.get(&id).is_some_and(|t| t.iter().any(|x| x == tag));
        let judged: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|&id| match class {
                Class::Spam => !has(id, SPAM_TAG) && !has(id, SENT_TAG),
                Class::Ham => has(id, SPAM_TAG),
            })
            .collect();
        // The user's own sent mail keeps its place: a conversation reported as
        // spam takes the received messages only.
        let tagged: Vec<i64> = match class {
            Class::Spam => ids
                .iter()
                .copied()
                .filter(|&id| !has(id, SENT_TAG))
                .collect(),
            Class::Ham => ids.to_vec(),
        };
        let mut examples = Vec::with_capacity(judged.len());
        for &id in &judged {
            let raw = self
                .store
                .raw(id)
                .await?
                .ok_or(LibraryError::NoSuchMessage(id))?;
            examples.push(crate::spam::example(&raw, class));
        }
        self.store
            .change_tags_and_train(&tagged, &add, &remove, &examples)
            .await?;
        self.index_changes().await
    }
}
