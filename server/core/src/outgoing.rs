//! Outgoing mail: the encryption recommendation for a draft and the protection
//! (Autocrypt header, signature, encryption) of a message before it is queued.

use std::time::SystemTime;

use homepost_mail::compose::{self, Attachment, Mailbox};
use homepost_pgp::autocrypt::{self, PreferEncrypt};
use homepost_pgp::{Certificate, SecretKey};
use homepost_store::{ForwardMode, Identity, NewOutgoing, Store};
use serde::Serialize;

use crate::keys::ensure_identity_key;
use crate::library::Library;
use crate::peers::{cert, key_change_pending, state_of, to_time};

/// Why outgoing OpenPGP could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum OutgoingError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] homepost_store::Error),
    /// OpenPGP failed.
    #[error(transparent)]
    Pgp(#[from] homepost_pgp::Error),
    /// Encryption was asked for, but some recipients have no usable key.
    #[error("cannot encrypt: no usable key for {0}; send it unencrypted or remove them")]
    NoKey(String),
}

/// One recipient's part of the encryption recommendation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RecipientCrypto {
    /// Canonical address.
    pub address: String,
    /// `disable`, `discourage`, `available` or `encrypt`.
    pub recommendation: &'static str,
    /// Fingerprint of the key mail to them would be encrypted to.
    pub key: Option<String>,
    /// Their key changed and the change waits for the user's decision
    /// (nothing is encrypted to them until then).
    pub key_changed: bool,
}

/// What a draft's OpenPGP will be: the Level 1 recommendation and the decision.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DraftCrypto {
    /// The recommendation for the whole message.
    pub recommendation: &'static str,
    /// Whether sending now would encrypt.
    pub will_encrypt: bool,
    /// Per recipient.
    pub recipients: Vec<RecipientCrypto>,
    /// A warning to show before sending (decrypted content going out in clear).
    pub warning: Option<String>,
}

/// Computes the recommendation for `recipients` and decides: `encrypt` is the
/// user's choice (`None`: follow the recommendation); `answers_encrypted` says
/// the draft replies to or forwards an encrypted message.
pub async fn draft_crypto(
    store: &Store,
    recipients: &[String],
    encrypt: Option<bool>,
    answers_encrypted: bool,
    now: i64,
) -> Result<(DraftCrypto, Vec<Certificate>), homepost_store::Error> {
    use autocrypt::Recommendation as R;
    let clock = to_time(Some(now)).unwrap_or_else(SystemTime::now);
    let mut per = std::collections::BTreeMap::new();
    let mut changed = Vec::new();
    let mut own = Vec::new();
    for r in recipients {
        let addr = autocrypt::canonical_address(r);
        // Our own addresses (a copy to ourselves): we hold the key. They follow
        // the others and never hold encryption back.
        if let Some(k) = store.active_identity_key(&addr).await?
            && let Ok(key) = SecretKey::from_bytes(&k.secret)
        {
            own.push(addr.clone());
            per.insert(
                addr,
                autocrypt::RecipientRecommendation {
                    ui: R::Encrypt,
                    target_key: Some(key.certificate()),
                },
            );
            continue;
        }
        let row = store.peer(&addr).await?;
        let peer = row.as_ref().map(state_of);
        let mut rec = autocrypt::recommend::recommend(
            peer.as_ref(),
            PreferEncrypt::NoPreference,
            answers_encrypted,
            clock,
        );
        // No Autocrypt key: a key found elsewhere (attached, WKD, key server,
        // imported) makes encryption available, never automatic by itself.
        if rec.ui == R::Disable
            && let Some(key) = row
                .as_ref()
                .and_then(|r| cert(r.discovered_key.as_deref()))
                .filter(|k| k.status(clock) == homepost_pgp::KeyStatus::Usable)
        {
            rec = autocrypt::RecipientRecommendation {
                ui: R::Available,
                target_key: Some(key),
            };
        }
        // History: someone who already writes to us encrypted reads encrypted
        // mail; "available" becomes "encrypt" for them.
        if rec.ui == R::Available && row.as_ref().is_some_and(|r| r.encrypted_count > 0) {
            rec.ui = R::Encrypt;
        }
        // TOFU: mail is only ever encrypted to the pinned key.
        if let Some(r) = &row
            && let Some(pinned) = &r.pinned_fingerprint
            && rec
                .target_key
                .as_ref()
                .is_some_and(|k| k.fingerprint().to_hex() != *pinned)
        {
            let copy = cert(r.pinned_key.as_deref())
                .filter(|k| k.status(clock) == homepost_pgp::KeyStatus::Usable);
            rec = match copy {
                Some(k) => autocrypt::RecipientRecommendation {
                    ui: rec.ui,
                    target_key: Some(k),
                },
                None => autocrypt::RecipientRecommendation {
                    ui: R::Disable,
                    target_key: None,
                },
            };
        }
        // While a key change waits for the user, nothing is encrypted to them
        // (the new key may be an impostor's).
        if row.as_ref().is_some_and(key_change_pending) {
            rec = autocrypt::RecipientRecommendation {
                ui: R::Disable,
                target_key: None,
            };
            changed.push(addr.clone());
        }
        per.insert(addr, rec);
    }
    // Only ourselves: encryption is possible, but not chosen for the user (our
    // other mail apps may not have the key).
    if !own.is_empty() && own.len() == per.len() {
        for rec in per.values_mut() {
            rec.ui = R::Available;
        }
    }
    let group = autocrypt::recommend::recommend_group(&per);
    let name = |r: R| match r {
        R::Disable => "disable",
        R::Discourage => "discourage",
        R::Available => "available",
        R::Encrypt => "encrypt",
    };
    let possible = group.ui != R::Disable;
    let will_encrypt = possible && encrypt.unwrap_or(group.ui == R::Encrypt);
    let warning = if !changed.is_empty() {
        Some(format!(
            "The encryption key of {} changed since it was first seen: nothing is encrypted to them \
             until you have compared the new key with them and accepted it.",
            changed.join(", ")
        ))
    } else if answers_encrypted && !will_encrypt {
        Some(
            "You are answering or forwarding an encrypted message, and this one would go unencrypted: \
             its quoted text would be readable on the way."
                .to_owned(),
        )
    } else {
        None
    };
    let view = DraftCrypto {
        recommendation: name(group.ui),
        will_encrypt,
        recipients: per
            .iter()
            .map(|(a, r)| RecipientCrypto {
                address: a.clone(),
                recommendation: name(r.ui),
                key: r.target_key.as_ref().map(|k| k.fingerprint().to_hex()),
                key_changed: changed.contains(a),
            })
            .collect(),
        warning,
    };
    let keys = if will_encrypt {
        group.target_keys.into_values().collect()
    } else {
        Vec::new()
    };
    Ok((view, keys))
}

/// Protects an outgoing message: an Autocrypt header always, then encrypted
/// (with gossip for groups and protected headers) when `crypto` decided so,
/// else signed. `from` is the sending address.
pub async fn protect_outgoing(
    store: &Store,
    raw: &[u8],
    from: &str,
    recipients: &[String],
    encrypt: Option<bool>,
    answers_encrypted: bool,
    now: i64,
) -> Result<Vec<u8>, OutgoingError> {
    let clock = to_time(Some(now)).unwrap_or_else(SystemTime::now);
    ensure_identity_key(store, None, from, now).await?;
    let stored = store
        .active_identity_key(from)
        .await?
        .ok_or_else(|| OutgoingError::NoKey(from.to_owned()))?;
    let key = SecretKey::from_bytes(&stored.secret)?;
    let header = autocrypt::AutocryptHeader::new(
        from,
        &key.certificate(),
        PreferEncrypt::NoPreference,
        clock,
    )?;
    let mut with_header = Vec::with_capacity(raw.len() + 1024);
    with_header.extend_from_slice(header.to_field()?.as_bytes());
    with_header.extend_from_slice(b"\r\n");
    with_header.extend_from_slice(raw);
    let (decision, keys) = draft_crypto(store, recipients, encrypt, answers_encrypted, now).await?;
    if encrypt == Some(true) && !decision.will_encrypt {
        let missing: Vec<String> = decision
            .recipients
            .iter()
            .filter(|r| r.key.is_none())
            .map(|r| r.address.clone())
            .collect();
        return Err(OutgoingError::NoKey(missing.join(", ")));
    }
    if decision.will_encrypt {
        let refs: Vec<&Certificate> = keys.iter().collect();
        // Gossip only to groups: a single recipient knows their own key.
        let gossip = if recipients.len() > 1 {
            decision
                .recipients
                .iter()
                .zip(&keys)
                .filter_map(|(r, k)| autocrypt::AutocryptHeader::gossip(&r.address, k, clock).ok())
                .collect()
        } else {
            Vec::new()
        };
        Ok(homepost_pgp::encrypt_message(
            &with_header,
            &key,
            &refs,
            &gossip,
            clock,
        )?)
    } else {
        Ok(homepost_pgp::sign_message(&with_header, &key, clock)?)
    }
}

/// Why a draft could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// There is no such draft.
    #[error("no draft with id {0}")]
    NoSuchDraft(i64),
    /// The draft cannot be sent as it is; the message says what to change.
    #[error("{0}")]
    Unsendable(String),
    /// Encryption was asked for, but some recipients have no usable key.
    #[error("cannot encrypt: no usable key for {0}; send it unencrypted or remove them")]
    NoKey(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] homepost_store::Error),
    /// The library (store or index) failed while tagging the answered message.
    #[error(transparent)]
    Library(#[from] crate::library::LibraryError),
    /// OpenPGP failed.
    #[error(transparent)]
    Pgp(#[from] homepost_pgp::Error),
}

impl From<OutgoingError> for SendError {
    fn from(e: OutgoingError) -> SendError {
        match e {
            OutgoingError::Store(e) => SendError::Store(e),
            OutgoingError::Pgp(e) => SendError::Pgp(e),
            OutgoingError::NoKey(who) => SendError::NoKey(who),
        }
    }
}

/// Sends a draft: builds the message from it (From its identity, through that
/// identity's account; a reply's threading headers, the draft's attachments, a
/// forwarded message attached as received or its attachments as the user saw
/// them), protects it ([`protect_outgoing`]) and
/// queues it in the outbox, which owns the draft from then on. The answered
/// message is tagged `replied`. Returns the outbox id; the transport sends it
/// (tell it with `Transport::outbox_changed`).
///
/// `lifetime` is how long the outbox keeps trying, in seconds.
#[tracing::instrument(skip(lib, lifetime, now))]
pub async fn send_draft(
    lib: &mut Library,
    draft: i64,
    lifetime: i64,
    now: i64,
) -> Result<i64, SendError> {
    let store = lib.store();
    let d = store
        .draft(draft)
        .await?
        .ok_or(SendError::NoSuchDraft(draft))?;
    let c = &d.content;
    let unsendable = |m: String| SendError::Unsendable(m);
    let identity = sender(store, c.identity_id, c.account_id).await?;
    let account_id = identity.account_id;
    let account = store
        .account(account_id)
        .await?
        .ok_or_else(|| unsendable(format!("account {account_id} does not exist")))?;
    if account.config.outgoing.is_none() {
        return Err(unsendable(format!(
            "the account {:?} has no outgoing (SMTP) server",
            account.config.name
        )));
    }
    let parse_list =
        |l: &[String]| compose::parse_recipients(l).map_err(|e| unsendable(e.to_string()));
    let (to, cc, bcc) = (parse_list(&c.to)?, parse_list(&c.cc)?, parse_list(&c.bcc)?);
    let (in_reply_to, references) = match c.in_reply_to {
        Some(orig) => threading(store, orig).await?,
        None => (None, Vec::new()),
    };
    let mut files: Vec<Attachment> = store
        .draft_attachment_data(draft)
        .await?
        .into_iter()
        .map(|(name, content_type, data)| Attachment {
            name,
            content_type,
            data,
        })
        .collect();
    let mut forwarded = None;
    if let Some(f) = c.forward
        && let Some(raw) = store.raw(f.id).await?
    {
        match f.mode {
            // The message as received (an encrypted one stays encrypted).
            ForwardMode::Attached => forwarded = Some(raw),
            // The attachments as the user saw them (decrypted).
            ForwardMode::Inline => {
                let readable = crate::incoming::readable(store, f.id).await?.unwrap_or(raw);
                for (info, bytes) in homepost_mail::attachments(&readable) {
                    files.push(Attachment {
                        name: info.filename.unwrap_or_else(|| "attachment".into()),
                        content_type: info.content_type,
                        data: bytes,
                    });
                }
            }
        }
    }
    let from = Mailbox {
        name: (!identity.display_name.is_empty()).then(|| identity.display_name.clone()),
        address: identity.address.clone(),
    };
    let built = compose::build(&compose::Outgoing {
        from,
        to: &to,
        cc: &cc,
        bcc: &bcc,
        subject: &c.subject,
        body: &c.body,
        in_reply_to: in_reply_to.as_deref(),
        references: &references,
        attachments: &files,
        forwarded: forwarded.as_deref(),
        date: now,
    })
    .map_err(|e| unsendable(e.to_string()))?;
    let answers = c.in_reply_to.or(c.forward.map(|f| f.id));
    let answers_encrypted = answers_encrypted(store, answers).await?;
    let raw = protect_outgoing(
        store,
        &built.raw,
        &built.mail_from,
        &built.rcpt_to,
        c.encrypt,
        answers_encrypted,
        now,
    )
    .await?;
    let outbox_id = store
        .queue_outgoing(
            &NewOutgoing {
                account: account_id,
                raw: &raw,
                mail_from: &built.mail_from,
                rcpt_to: &built.rcpt_to,
                subject: &c.subject,
                sent_folder: account.config.imap_sent_folder(),
            },
            now,
            lifetime,
            Some(draft),
        )
        .await?;
    let replied_to = c.in_reply_to;
    if let Some(orig) = replied_to
        && let Err(e) = lib.change_tags(&[orig], &["replied".to_owned()], &[]).await
    {
        // The mail is queued: a missing tag is not worth failing the send.
        tracing::warn!(error = %e, "cannot tag the answered message");
    }
    Ok(outbox_id)
}

/// The identity a draft is sent from: the one it names, else its account's own
/// address (drafts from before identities), else the default identity. Its
/// account's SMTP server sends it.
async fn sender(
    store: &Store,
    identity: Option<i64>,
    account: Option<i64>,
) -> Result<Identity, SendError> {
    let found = match (identity, account) {
        (Some(id), _) => store.identity(id).await?,
        (None, Some(account)) => store.primary_identity(account).await?,
        (None, None) => store.default_identity().await?,
    };
    found.ok_or_else(|| {
        SendError::Unsendable(match (identity, account) {
            (Some(_), _) => {
                "the address it was written from no longer exists: choose another From".into()
            }
            (None, Some(account)) => format!("account {account} does not exist"),
            (None, None) => "add an account to send from".into(),
        })
    })
}

/// The `In-Reply-To` and `References` of an answer to a stored message.
async fn threading(
    store: &Store,
    original: i64,
) -> Result<(Option<String>, Vec<String>), homepost_store::Error> {
    let Some(raw) = store.raw(original).await? else {
        return Ok((None, Vec::new()));
    };
    let p = homepost_mail::parse(&raw);
    let mut references = if p.references.is_empty() {
        p.in_reply_to.clone()
    } else {
        p.references.clone()
    };
    let mut in_reply_to = None;
    if let Some(mid) = p.message_id {
        references.push(mid.clone());
        in_reply_to = Some(mid);
    }
    Ok((in_reply_to, references))
}

/// Whether the message a draft answers or forwards was encrypted.
pub async fn answers_encrypted(
    store: &Store,
    message: Option<i64>,
) -> Result<bool, homepost_store::Error> {
    let Some(id) = message else { return Ok(false) };
    Ok(crate::incoming::outcome(store, id)
        .await?
        .is_some_and(|o| o.encrypted))
}

/// Largest attachment, decoded.
pub const MAX_ATTACHMENT: usize = 25 << 20;

/// Why an attachment was not added to a draft.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// Over [`MAX_ATTACHMENT`].
    #[error("attachments are limited to 25 MiB")]
    TooLarge,
    /// There is no such draft.
    #[error("no draft with id {0}")]
    NoSuchDraft(i64),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] homepost_store::Error),
}

/// Adds a file to a draft. The name is cut to its last path component without
/// control characters (at most 200 characters; `attachment` if nothing is left)
/// and a content type that is not `type/subtype` in printable ASCII becomes
/// `application/octet-stream`.
pub async fn add_attachment(
    store: &Store,
    draft: i64,
    name: &str,
    content_type: &str,
    data: &[u8],
    now: i64,
) -> Result<(), AttachError> {
    if data.len() > MAX_ATTACHMENT {
        return Err(AttachError::TooLarge);
    }
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    let name = if name.trim().is_empty() {
        "attachment".to_owned()
    } else {
        name
    };
    let content_type = if content_type.contains('/')
        && content_type.len() <= 100
        && content_type.chars().all(|c| c.is_ascii_graphic())
    {
        content_type
    } else {
        "application/octet-stream"
    };
    if !store
        .add_draft_attachment(draft, &name, content_type, data, now)
        .await?
    {
        return Err(AttachError::NoSuchDraft(draft));
    }
    Ok(())
}
