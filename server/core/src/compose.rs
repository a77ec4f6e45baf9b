//! Starting a draft: a new message, or an answer or forward prefilled from the
//! message it answers, written from an identity (the one that message was sent
//! to, else the default) with that identity's signature.

use homepost_mail::compose::{self, ReplyMode};
use homepost_mail::parse;
use homepost_store::{DraftContent, Forward, ForwardMode, Identity, Store};

use crate::identities;
use crate::incoming;
use crate::reading::ReadError;

/// Why a draft could not be started or saved.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    /// The draft names an identity that does not exist.
    #[error("there is no identity {0} to write from")]
    NoSuchIdentity(i64),
    /// The message it answers could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
}

impl From<homepost_store::Error> for DraftError {
    fn from(e: homepost_store::Error) -> DraftError {
        DraftError::Read(ReadError::Store(e))
    }
}

/// Stores a new draft made of `content`, prefilled (recipients, subject, quoted
/// text) when it answers or forwards message `answering`. It is written from the
/// identity `content` names; else from its account's own address (`account_id`,
/// as drafts were before identities); else, for an answer, from the identity the
/// answered message was sent to; else from the default identity. With
/// `add_signature`, that identity's signature is put under the text (once: the
/// draft keeps it from then on). Returns the draft's id, or `None` when the
/// message it answers does not exist.
pub async fn start_draft(
    store: &Store,
    mut content: DraftContent,
    answering: Option<(i64, ReplyMode)>,
    add_signature: bool,
    now: i64,
) -> Result<Option<i64>, DraftError> {
    let all = store.identities().await?;
    let mut chosen = chosen_identity(&all, &content)?;
    if let Some((id, mode)) = answering {
        let Some(raw) = store.raw(id).await? else {
            return Ok(None);
        };
        let own: Vec<String> = all.iter().map(|i| i.address.clone()).collect();
        let delivered = identities::delivered_to(&raw);
        // Addresses come from the message as received; the text (and the real
        // subject, for protected headers) from its decrypted form.
        let readable = incoming::readable(store, id).await?;
        let protected_subject = incoming::outcome(store, id)
            .await?
            .and_then(|o| o.protected_subject);
        let (original, body_text) = tokio::task::spawn_blocking(move || {
            let mut original = parse(&raw);
            let body_text = match readable.filter(|r| *r != raw) {
                Some(inner) => parse(&inner).body_text,
                None => original.body_text.clone(),
            };
            if protected_subject.is_some() {
                original.subject = protected_subject;
            }
            (original, body_text)
        })
        .await
        .map_err(|_| ReadError::Unreadable(id))?;
        let pre = compose::prefill(&original, &body_text, mode, &own);
        content.to = pre.to;
        content.cc = pre.cc;
        content.subject = pre.subject;
        content.body = pre.body;
        match mode {
            ReplyMode::Reply | ReplyMode::All => content.in_reply_to = Some(id),
            ReplyMode::ForwardInline => {
                content.forward = Some(Forward {
                    id,
                    mode: ForwardMode::Inline,
                });
            }
            ReplyMode::ForwardAttached => {
                content.forward = Some(Forward {
                    id,
                    mode: ForwardMode::Attached,
                });
            }
        }
        if chosen.is_none() {
            chosen = identities::for_answer(&all, &original, &delivered);
        }
    }
    let chosen = chosen.or_else(|| all.iter().find(|i| i.is_default));
    if let Some(identity) = chosen {
        content.identity_id = Some(identity.id);
        content.account_id = Some(identity.account_id);
        if add_signature {
            content.body =
                identities::with_signature(&content.body, &identity.signature, answering.is_some());
        }
    }
    Ok(Some(store.create_draft(&content, now).await?))
}

/// Makes a draft's account the account of the identity it names, which must
/// exist (a draft saved by the app names the identity picked as From).
pub async fn settle_identity(store: &Store, content: &mut DraftContent) -> Result<(), DraftError> {
    if let Some(id) = content.identity_id {
        let identity = store
            .identity(id)
            .await?
            .ok_or(DraftError::NoSuchIdentity(id))?;
        content.account_id = Some(identity.account_id);
    }
    Ok(())
}

/// The identity a new draft names: by id, or as its account's own address.
fn chosen_identity<'a>(
    all: &'a [Identity],
    content: &DraftContent,
) -> Result<Option<&'a Identity>, DraftError> {
    match (content.identity_id, content.account_id) {
        (Some(id), _) => all
            .iter()
            .find(|i| i.id == id)
            .map(Some)
            .ok_or(DraftError::NoSuchIdentity(id)),
        (None, Some(account)) => Ok(all.iter().find(|i| i.account_id == account && i.is_primary)),
        (None, None) => Ok(None),
    }
}
