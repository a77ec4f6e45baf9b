//! The outbox: SMTP submission with retries, and the copies of sent mail (stored
//! locally, and appended to the account's Sent folder).

use std::sync::Arc;
use std::time::Duration;

use homepost_mail::RawMessage;
use homepost_store::OutboxJob;
use zeroize::Zeroizing;

use super::{backoff, now, store_err, wait};
use crate::error::{Error, Result};
use crate::imap::Imap;
use crate::smtp::{self, SendError};
use crate::{Shared, SyncState};

/// Uploads copies of sent mail to the Sent folder.
pub(super) async fn append_sent(shared: &Shared, account: i64, imap: &mut Imap) -> Result<()> {
    let store = &shared.store;
    for (id, folder, message) in store
        .pending_sent_appends(account)
        .await
        .map_err(store_err)?
    {
        let Some(raw) = store.raw(message).await.map_err(store_err)? else {
            store.mark_appended(id).await.map_err(store_err)?;
            continue;
        };
        imap.append(&folder, &raw).await?;
        store.mark_appended(id).await.map_err(store_err)?;
    }
    Ok(())
}

/// The sender: works through due outbox messages, then sleeps until the next one
/// is due or the outbox changes.
pub(crate) async fn run_outbox(shared: Arc<Shared>) {
    store_sent_copies(&shared).await;
    loop {
        loop {
            match shared.store.claim_outgoing(now()).await {
                Ok(Some(job)) => send_one(&shared, job).await,
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the outbox");
                    break;
                }
            }
        }
        let sleep = match shared.store.next_outgoing_due().await {
            Ok(Some(due)) => Duration::from_secs((due - now()).clamp(1, 60) as u64),
            _ => Duration::from_secs(60),
        };
        wait(&shared.outbox_wake, sleep).await;
    }
}

/// Stores the sent copies a crash left unstored.
async fn store_sent_copies(shared: &Shared) {
    let pending = match shared.store.sent_without_copy().await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the outbox");
            return;
        }
    };
    for (id, raw) in pending {
        store_copy(shared, id, raw).await;
    }
}

async fn store_copy(shared: &Shared, id: i64, raw: Vec<u8>) {
    let copy = RawMessage {
        raw,
        origin: format!("outbox:{id}"),
        mbox_number: None,
        tags: vec!["sent".into(), "read".into()],
        progress_bytes: 0,
        file_time: None,
    };
    match shared.sink.deliver(vec![copy]).await {
        Ok(ids) => {
            if let Some(&message) = ids.first()
                && let Err(e) = shared.store.set_sent_copy(id, message).await
            {
                tracing::error!(error = %e, "cannot link the sent copy");
            }
            if let Err(e) = shared.sink.flush().await {
                // Stored: the next open indexes it.
                tracing::warn!(error = %e, "the sent copy is not searchable yet");
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot store the sent copy; will try at the next start");
        }
    }
}

#[tracing::instrument(
    name = "send_attempt",
    skip_all,
    fields(outbox = job.id, account = job.account, attempt = job.attempts + 1)
)]
async fn send_one(shared: &Shared, job: OutboxJob) {
    let store = &shared.store;
    let Ok(Some(account)) = store.account(job.account).await else {
        let _ = store
            .mark_failed(job.id, "the sending account no longer exists")
            .await;
        shared.bump();
        return;
    };
    let Some(outgoing) = account.config.outgoing.clone() else {
        let _ = store
            .mark_failed(job.id, "the account has no outgoing (SMTP) server")
            .await;
        shared.bump();
        return;
    };
    if now() >= job.expires_at {
        let _ = store
            .mark_failed(job.id, "not sent before its lifetime ran out")
            .await;
        shared.bump();
        return;
    }
    let password = match store.account_secrets(job.account).await {
        Ok(Some(s)) => s.outgoing.clone().map(Zeroizing::new),
        _ => None,
    };
    shared.set_status(job.account, false, |s| {
        s.state = SyncState::Syncing;
        s.detail = "Sending".into();
    });
    let result = smtp::send(
        &outgoing.endpoint,
        password.as_deref().map(String::as_str),
        &job.mail_from,
        &job.rcpt_to,
        &job.raw,
        shared.opts.send_timeout,
    )
    .await;
    drop(password);
    match result {
        Ok(()) => {
            // Recorded first: from here on the message must never be sent again.
            if let Err(e) = store.mark_sent(job.id, now()).await {
                tracing::error!(id = job.id, error = %e, "the server accepted a message but the outbox could not record it");
            }
            shared.set_status(job.account, false, |s| {
                s.state = SyncState::Idle;
                s.detail = "Sent".into();
                s.error = None;
                s.last_success = Some(now());
            });
            shared.bump();
            store_copy(shared, job.id, job.raw).await;
            shared.wake_account(job.account);
        }
        Err(SendError::Permanent(reason)) => {
            let _ = store.mark_failed(job.id, &reason).await;
            shared.set_status(job.account, false, |s| {
                s.state = SyncState::Idle;
                s.detail = "A message was refused".into();
            });
            shared.bump();
        }
        Err(other) => {
            let reason = other.reason();
            let attempts = u32::try_from(job.attempts + 1).unwrap_or(u32::MAX);
            let delay = backoff(shared.opts.retry_base, shared.opts.retry_max, attempts);
            let next = now() + delay.as_secs().max(1) as i64;
            if next >= job.expires_at {
                let _ = store
                    .mark_failed(
                        job.id,
                        &format!("gave up after {attempts} attempts: {reason}"),
                    )
                    .await;
            } else {
                let _ = store.mark_deferred(job.id, &reason, next).await;
            }
            shared.set_status(job.account, false, |s| {
                s.state = SyncState::Error;
                s.detail = reason.clone();
                s.next_attempt = Some(next);
                s.error = Some(match &other {
                    SendError::Untrusted(e) => e.report(),
                    _ => Error::Protocol(reason.clone()).report(),
                });
            });
            shared.bump();
        }
    }
}
