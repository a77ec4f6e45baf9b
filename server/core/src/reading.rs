//! Reading a message: what the app's message view and `homepost show` present —
//! the decrypted content when it was encrypted, its OpenPGP outcome as it reads
//! now, the body as safe text, each attachment under the name it is saved as and
//! with its risk, and whether it is a Setup Message we may import.

use homepost_mail::text::terminal_safe;
use homepost_mail::{
    Address, AttachmentRisk, Reputation, RiskLevel, RiskReason, assess_download, download_name,
    with_reputation,
};
use homepost_store::{MessageDetail, MessageSummary, Store};
use serde::Serialize;

use crate::incoming::{CryptoOutcome, as_read_now};
use crate::keys::setup_message;

/// Most thread members shown around a message.
pub const THREAD_WINDOW: usize = 50;

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] homepost_store::Error),
    /// Taking the message apart failed (a bug, reported rather than crashing).
    #[error("message {0} could not be taken apart for reading")]
    Unreadable(i64),
}

/// A message as the user reads it.
pub struct Reading {
    /// The stored fields (their attachments are the received message's, as
    /// stored); the subject is the protected (encrypted) one when the message
    /// carried one.
    pub detail: MessageDetail,
    /// What its OpenPGP said, as it reads now (`None`: it had none).
    pub crypto: Option<CryptoOutcome>,
    /// The text parts as safe plain text (HTML-only mail turned into text).
    pub text: String,
    /// It has an HTML part that can be shown sanitised.
    pub has_html: bool,
    /// Its attachments, in order (those of the decrypted content when it was
    /// encrypted).
    pub attachments: Vec<ShownAttachment>,
    /// Set when it is an Autocrypt Setup Message.
    pub setup_message: Option<SetupMessageHint>,
}

/// An attachment as shown and saved.
#[derive(Debug, Clone, Serialize)]
pub struct ShownAttachment {
    /// The name it is saved under: the sender's (untrusted), made safe and at
    /// most 128 characters, or `attachment-N`. Its risk is judged on it.
    pub filename: String,
    /// Declared `type/subtype`.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// How risky it is to open, with reasons (the sender's reputation included).
    pub risk: AttachmentRisk,
}

/// What a Setup Message says about its code, and whether it may be imported.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetupMessageHint {
    /// The code's first two digits, to tell which code belongs to it.
    pub passphrase_begin: Option<String>,
    /// Only a Setup Message sent from one of the box's own addresses to one of
    /// them is offered for import: anyone else's could hold a key of theirs.
    pub importable: bool,
}

/// Message `id` as the user reads it, or `None` when there is no such message.
pub async fn read(store: &Store, id: i64) -> Result<Option<Reading>, ReadError> {
    let Some(mut detail) = store.message(id).await? else {
        return Ok(None);
    };
    let Some(raw) = store.raw(id).await? else {
        return Ok(None);
    };
    let reputation = reputation(store, &detail.summary.from, id).await?;
    let sender = detail
        .summary
        .from
        .iter()
        .find_map(|a| a.address.as_deref());
    let (crypto, decrypted) = match as_read_now(store, id, sender).await? {
        Some((outcome, decrypted)) => (Some(outcome), decrypted),
        None => (None, None),
    };
    let own = setup_message::own_addresses(store).await?;
    if let Some(subject) = crypto
        .as_ref()
        .and_then(|c| c.protected_subject.as_deref())
        .filter(|s| !s.is_empty())
    {
        detail.summary.subject = subject.to_owned();
    }
    let stored = detail.attachments.clone();
    let encrypted = decrypted.is_some();
    let taken_apart = tokio::task::spawn_blocking(move || {
        // A decrypted message shows its own text and attachments, not the
        // ciphertext.
        let shown = decrypted.as_deref().unwrap_or(&raw);
        // One parse for the text, the HTML question and the attachments.
        let taken = homepost_mail::take_apart(shown);
        let attachments = shown_attachments(taken.attachments, stored, encrypted, reputation);
        let setup_message = homepost_pgp::setup::inspect_setup_message(&raw)
            .ok()
            .map(|i| SetupMessageHint {
                passphrase_begin: i.passphrase_begin,
                importable: setup_message::importable(&raw, &own),
            });
        let text = terminal_safe(&taken.body_text);
        (text, taken.has_html, attachments, setup_message)
    })
    .await
    .map_err(|_| ReadError::Unreadable(id))?;
    let (text, has_html, attachments, setup_message) = taken_apart;
    Ok(Some(Reading {
        detail,
        crypto,
        text,
        has_html,
        attachments,
        setup_message,
    }))
}

/// The thread around a message, oldest first (the message included): all of it,
/// or for a long thread the [`THREAD_WINDOW`] messages around it; and how many
/// messages the whole thread has.
pub async fn thread_around(
    store: &Store,
    message: &MessageSummary,
) -> Result<(Vec<MessageSummary>, usize), homepost_store::Error> {
    let ids = store.thread_ids(message.thread_id).await?;
    let total = ids.len();
    let at = ids.iter().position(|&t| t == message.id).unwrap_or(0);
    let start = at
        .saturating_sub(THREAD_WINDOW / 2)
        .min(total.saturating_sub(THREAD_WINDOW));
    let window = &ids[start..(start + THREAD_WINDOW).min(total)];
    Ok((store.summaries(window).await?, total))
}

/// Each attachment under the name it is saved as, judged on that name, its
/// bytes and the sender's reputation.
fn shown_attachments(
    found: Vec<(homepost_mail::AttachmentInfo, Vec<u8>)>,
    stored: Vec<homepost_mail::AttachmentInfo>,
    decrypted: bool,
    reputation: Reputation,
) -> Vec<ShownAttachment> {
    // Shown, judged and saved under one name: the download's, taken from the
    // same walk over the message as the download itself.
    let mut judged = found.iter().enumerate().map(|(index, (info, bytes))| {
        let saved = download_name(info.filename.as_deref(), index);
        let risk = with_reputation(
            assess_download(info.filename.as_deref(), &saved, &info.content_type, bytes),
            reputation,
        );
        (info, saved, risk)
    });
    if decrypted {
        return judged
            .map(|(info, filename, risk)| ShownAttachment {
                filename,
                content_type: info.content_type.clone(),
                size: info.size,
                risk,
            })
            .collect();
    }
    // The stored list and the walk over the raw bytes agree (one walker in
    // homepost-mail); should they not, an unchecked file is treated as risky.
    stored
        .into_iter()
        .enumerate()
        .map(|(index, a)| {
            let (filename, risk) = match judged.next() {
                Some((_, saved, risk)) => (saved, risk),
                None => (download_name(a.filename.as_deref(), index), unchecked()),
            };
            ShownAttachment {
                filename,
                content_type: a.content_type,
                size: a.size,
                risk,
            }
        })
        .collect()
}

/// The sender's standing: a first contact makes risky attachments riskier.
async fn reputation(
    store: &Store,
    from: &[Address],
    id: i64,
) -> Result<Reputation, homepost_store::Error> {
    for address in from.iter().filter_map(|a| a.address.as_deref()) {
        if store.is_known_correspondent(address, id).await? {
            return Ok(Reputation::KnownCorrespondent);
        }
    }
    Ok(Reputation::FirstContact)
}

fn unchecked() -> AttachmentRisk {
    AttachmentRisk {
        level: RiskLevel::Medium,
        reasons: vec![RiskReason {
            code: "archive_unchecked",
            message: "this attachment could not be checked".into(),
        }],
    }
}
