//! Starting a draft: a new message, or an answer or forward prefilled from the
//! message it answers, from the identity that message was sent to.

use homepost_mail::compose::{self, ReplyMode};
use homepost_mail::parse;
use homepost_store::{Account, DraftContent, Forward, ForwardMode, Store};

use crate::incoming;
use crate::reading::ReadError;

/// Stores a new draft made of `content`, prefilled (recipients, subject, quoted
/// text) when it answers or forwards message `answering`. Without an account
/// named, it is written from the identity the answered message was sent to,
/// else from the first account that can send. Returns the draft's id, or `None`
/// when the message it answers does not exist.
pub async fn start_draft(
    store: &Store,
    mut content: DraftContent,
    answering: Option<(i64, ReplyMode)>,
    now: i64,
) -> Result<Option<i64>, ReadError> {
    let accounts = store.accounts().await?;
    if let Some((id, mode)) = answering {
        let Some(raw) = store.raw(id).await? else {
            return Ok(None);
        };
        let own: Vec<String> = accounts.iter().map(|a| a.config.email.clone()).collect();
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
        if content.account_id.is_none() {
            let to_us = original.to.iter().chain(&original.cc);
            content.account_id = to_us
                .filter_map(|a| a.address.as_deref())
                .find_map(|addr| account_of(&accounts, addr));
        }
    }
    if content.account_id.is_none() {
        content.account_id = accounts
            .iter()
            .find(|a| a.config.outgoing.is_some())
            .or(accounts.first())
            .map(|a| a.id);
    }
    Ok(Some(store.create_draft(&content, now).await?))
}

/// The account whose address `addr` is.
fn account_of(accounts: &[Account], addr: &str) -> Option<i64> {
    accounts
        .iter()
        .find(|a| a.config.email.eq_ignore_ascii_case(addr))
        .map(|a| a.id)
}
