//! Tag changes, kept in step with the index; adding or removing `spam` trains
//! the spam filter.

use homepost_store::normalize_tag;

use super::{Library, LibraryError, Result};
use crate::spam::{UNSURE_TAG, spam_decision};

impl Library {
    /// Renames a tag on every message and updates the index.
    pub async fn rename_tag(&mut self, old: &str, new: &str) -> Result<String> {
        let name = self.store.rename_tag(old, new).await?;
        self.index_changes().await?;
        Ok(name)
    }

    /// Removes a tag from every message, deletes it and updates the index.
    pub async fn delete_tag(&mut self, name: &str) -> Result<()> {
        self.store.delete_tag(name).await?;
        self.index_changes().await
    }

    /// Adds and removes tags on messages and updates the index.
    ///
    /// Adding `spam` or removing it is a person's verdict, and trains the spam
    /// filter at once, in the same transaction: adding it learns the messages
    /// as spam, removing it learns them as ham (a message learnt as the other
    /// class before is untrained first). Either way `unsure` goes.
    pub async fn change_tags(
        &mut self,
        ids: &[i64],
        add: &[String],
        remove: &[String],
    ) -> Result<()> {
        for &id in ids {
            if !self.store.exists(id).await? {
                return Err(LibraryError::NoSuchMessage(id));
            }
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
        remove.push(UNSURE_TAG.into());
        let mut examples = Vec::with_capacity(ids.len());
        for &id in ids {
            let raw = self
                .store
                .raw(id)
                .await?
                .ok_or(LibraryError::NoSuchMessage(id))?;
            examples.push(crate::spam::example(&raw, class));
        }
        self.store
            .change_tags_and_train(ids, &add, &remove, &examples)
            .await?;
        self.index_changes().await
    }
}
