//! Tag changes, kept in step with the index; adding or removing `spam` trains
//! the spam filter.

use homepost_store::normalize_tag;

use super::{Library, LibraryError, Result};
use homepost_spam::Class;

use crate::spam::{SENT_TAG, SPAM_TAG, UNSURE_TAG, spam_decision};

impl Library {
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
