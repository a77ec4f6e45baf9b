//! Importing an Autocrypt Setup Message: the one rule that the web app and the
//! CLI share. A Setup Message carries a secret key that becomes the key for the
//! user's own address, so it is accepted only when it was sent from one of this
//! box's own addresses to one of them (Autocrypt Level 1, 4.4.3): a stranger
//! could otherwise mail a key of theirs for the user's address, with the code in
//! the message's text, and have the user import it. The key itself is used only
//! for the box's own addresses.

use std::time::SystemTime;

use homepost_mail::{Address, parse};
use homepost_pgp::Error as PgpError;
use homepost_pgp::SecretKey;
use homepost_pgp::autocrypt::canonical_address;
use homepost_pgp::setup::{SetupCode, import_setup_message};
use homepost_store::Store;

/// Why a Setup Message was not imported.
#[derive(Debug, thiserror::Error)]
pub enum SetupImportError {
    /// It does not come from and go to the box's own addresses.
    #[error(
        "this Setup Message was not sent from one of this box's own addresses to one of them: \
only a Setup Message you sent yourself (from your other mail app) can be imported"
    )]
    NotFromOurselves,
    /// The code does not open it.
    #[error("that setup code does not open this message")]
    WrongCode,
    /// It is not a Setup Message (or is damaged).
    #[error("this is not an Autocrypt Setup Message: {0}")]
    NotASetupMessage(String),
    /// The key inside is for none of the box's addresses.
    #[error("the key {fingerprint} is for {addresses}, which is none of this box's accounts")]
    NotOurAddress {
        /// The key's fingerprint.
        fingerprint: String,
        /// The addresses in its user ids.
        addresses: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] homepost_store::Error),
    /// The key could not be stored.
    #[error("the key could not be stored: {0}")]
    Key(PgpError),
}

/// A key imported from a Setup Message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedKey {
    /// Its fingerprint (hex).
    pub fingerprint: String,
    /// The box's addresses it is now the key for.
    pub addresses: Vec<String>,
}

/// The box's own addresses: those it sends from (each account's own and its
/// aliases), canonical.
pub async fn own_addresses(store: &Store) -> Result<Vec<String>, homepost_store::Error> {
    Ok(store
        .identities()
        .await?
        .iter()
        .map(|i| canonical_address(&i.address))
        .collect())
}

/// Whether a message with these senders and recipients may be offered as the
/// user's own Setup Message: every sender, and at least one recipient, is one of
/// `own` (canonical addresses).
pub fn from_and_to_ourselves(from: &[Address], to: &[Address], own: &[String]) -> bool {
    let ours = |a: &Address| {
        a.address
            .as_deref()
            .is_some_and(|x| own.contains(&canonical_address(x)))
    };
    !from.is_empty() && from.iter().all(ours) && to.iter().any(ours)
}

/// Whether the raw message may be offered for import (see
/// [`from_and_to_ourselves`]).
pub fn importable(raw: &[u8], own: &[String]) -> bool {
    let parsed = parse(raw);
    let to: Vec<Address> = parsed.to.iter().chain(&parsed.cc).cloned().collect();
    from_and_to_ourselves(&parsed.from, &to, own)
}

/// Imports the secret key of the Setup Message `raw` with `code`, for the box's
/// own addresses, after checking that the message is from and to them. The key
/// becomes the active key of those addresses; older keys stay to decrypt older
/// mail. Nothing is stored on any error.
pub async fn import(
    store: &Store,
    raw: Vec<u8>,
    code: SetupCode,
    now: i64,
) -> Result<ImportedKey, SetupImportError> {
    homepost_pgp::setup::inspect_setup_message(&raw)
        .map_err(|e| SetupImportError::NotASetupMessage(e.to_string()))?;
    let own = own_addresses(store).await?;
    if !importable(&raw, &own) {
        return Err(SetupImportError::NotFromOurselves);
    }
    let at =
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(now).unwrap_or(0));
    let imported = tokio::task::spawn_blocking(move || import_setup_message(&raw, &code, at))
        .await
        .map_err(|e| SetupImportError::NotASetupMessage(format!("the import failed: {e}")))?
        .map_err(|e| match e {
            PgpError::WrongSetupCode => SetupImportError::WrongCode,
            other => SetupImportError::NotASetupMessage(other.to_string()),
        })?;
    let key = imported.key;
    let fingerprint = key.fingerprint().to_hex();
    let addresses: Vec<String> = key
        .addresses()
        .iter()
        .map(|a| canonical_address(a))
        .filter(|a| own.contains(a))
        .collect();
    if addresses.is_empty() {
        return Err(SetupImportError::NotOurAddress {
            fingerprint,
            addresses: key.addresses().join(", "),
        });
    }
    let secret = key.to_bytes().map_err(SetupImportError::Key)?;
    for a in &addresses {
        store
            .add_identity_key(&fingerprint, a, &secret, now)
            .await?;
    }
    tracing::info!("imported a secret key from an Autocrypt Setup Message");
    Ok(ImportedKey {
        fingerprint,
        addresses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(address: &str) -> Address {
        Address {
            name: None,
            address: Some(address.into()),
        }
    }

    #[test]
    fn only_mail_from_and_to_our_own_addresses() {
        let own = vec![
            "me@example.org".to_string(),
            "alias@example.net".to_string(),
        ];
        let cases: &[(&[&str], &[&str], bool)] = &[
            (&["me@example.org"], &["me@example.org"], true),
            (&["Me@Example.ORG"], &["alias@example.net"], true),
            (
                &["me@example.org"],
                &["friend@example.com", "me@example.org"],
                true,
            ),
            // A stranger sending to us, or us sending to a stranger: no.
            (&["mallory@evil.example"], &["me@example.org"], false),
            (&["me@example.org"], &["friend@example.com"], false),
            // Several senders, one of them a stranger: no.
            (
                &["me@example.org", "mallory@evil.example"],
                &["me@example.org"],
                false,
            ),
            (&[], &["me@example.org"], false),
            (&["me@example.org"], &[], false),
        ];
        for (from, to, want) in cases {
            let from: Vec<Address> = from.iter().map(|x| a(x)).collect();
            let to: Vec<Address> = to.iter().map(|x| a(x)).collect();
            assert_eq!(
                from_and_to_ourselves(&from, &to, &own),
                *want,
                "{from:?} -> {to:?}"
            );
        }
        // An address without a mailbox (a group name) is not ours.
        let nameless = Address {
            name: Some("me@example.org".into()),
            address: None,
        };
        assert!(!from_and_to_ourselves(
            &[nameless],
            &[a("me@example.org")],
            &own
        ));
    }
}

/// Why a Setup Message could not be made or queued.
#[derive(Debug, thiserror::Error)]
pub enum SetupSendError {
    /// There is no account to send it from (or not the one named).
    #[error("no such account: add an account first")]
    NoAccount,
    /// The account cannot send.
    #[error("the account {0:?} has no outgoing (SMTP) server")]
    NoSmtp(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] homepost_store::Error),
    /// Our key or the message could not be made.
    #[error("the Setup Message could not be made: {0}")]
    Pgp(#[from] PgpError),
}

/// Our active key for `address`, generated first if the address has none.
async fn own_key(store: &Store, address: &str, now: i64) -> Result<SecretKey, SetupSendError> {
    use crate::outgoing::OutgoingError;
    let generated = super::ensure_identity_key(store, None, address, now).await;
    match generated {
        Ok(_) | Err(OutgoingError::NoKey(_)) => {}
        Err(OutgoingError::Store(e)) => return Err(e.into()),
        Err(OutgoingError::Pgp(e)) => return Err(e.into()),
    }
    let stored = store
        .active_identity_key(address)
        .await?
        .ok_or(SetupSendError::NoAccount)?;
    Ok(SecretKey::from_bytes(&stored.secret)?)
}

/// A Setup Message carrying our secret key, and the code that opens it (shown
/// to the user once, never stored).
pub struct NewSetupMessage {
    /// Our address it is for (canonical).
    pub address: String,
    /// The key's fingerprint (hex).
    pub fingerprint: String,
    /// The whole message, ready to send or save.
    pub message: Vec<u8>,
    /// The code that opens it.
    pub code: SetupCode,
}

/// Makes a Setup Message carrying our key for `address` (generated first if
/// the address has none), encrypted with a fresh setup code.
pub async fn make(
    store: &Store,
    address: &str,
    now: i64,
) -> Result<NewSetupMessage, SetupSendError> {
    let address = canonical_address(address);
    let key = own_key(store, &address, now).await?;
    let code = SetupCode::generate()?;
    let clock = crate::peers::to_time(Some(now)).unwrap_or_else(SystemTime::now);
    let message = homepost_pgp::setup::create_setup_message(
        &key,
        &address,
        homepost_pgp::autocrypt::PreferEncrypt::NoPreference,
        &code,
        clock,
    )?;
    Ok(NewSetupMessage {
        address,
        fingerprint: key.fingerprint().to_hex(),
        message,
        code,
    })
}

/// Makes a Setup Message for `account` (else the first account) and queues it
/// to that account's own address, where the user's other Autocrypt app finds
/// it. Returns it with its outbox id; the caller shows the code.
pub async fn send(
    store: &Store,
    account: Option<i64>,
    lifetime: i64,
    now: i64,
) -> Result<(NewSetupMessage, i64), SetupSendError> {
    let accounts = store.accounts().await?;
    let account = match account {
        Some(id) => accounts.into_iter().find(|a| a.id == id),
        None => accounts.into_iter().next(),
    }
    .ok_or(SetupSendError::NoAccount)?;
    if account.config.outgoing.is_none() {
        return Err(SetupSendError::NoSmtp(account.config.name));
    }
    let made = make(store, &account.config.email, now).await?;
    let outbox_id = store
        .queue_outgoing(
            &homepost_store::NewOutgoing {
                account: account.id,
                raw: &made.message,
                mail_from: &made.address,
                rcpt_to: std::slice::from_ref(&made.address),
                subject: "Autocrypt Setup Message",
                sent_folder: account.config.imap_sent_folder(),
            },
            now,
            lifetime,
            None,
        )
        .await?;
    tracing::info!(
        outbox_id,
        "queued an Autocrypt Setup Message to the account itself"
    );
    Ok((made, outbox_id))
}
