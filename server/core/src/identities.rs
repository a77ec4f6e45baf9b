//! Identities: the addresses a person sends From (each account's own address and
//! its aliases), with a display name, a signature and one default. The store
//! keeps each account's primary identity in step with the account; these are the
//! rules the app applies to the rest: fields checked, the primary never deleted,
//! and replies written from the identity the answered mail was sent to.

use homepost_mail::ParsedMessage;
use homepost_store::{Identity, IdentityFields, IdentityOutcome, Store};

/// Why an identity change was refused.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The fields are not usable (the reason says which).
    #[error("{0}")]
    Invalid(String),
    /// No account has this id.
    #[error("there is no account {0}")]
    NoSuchAccount(i64),
    /// No identity has this id.
    #[error("there is no identity {0}")]
    NoSuchIdentity(i64),
    /// The account already sends from this address.
    #[error("the account already sends from {0}")]
    AddressTaken(String),
    /// Not for an account's own address.
    #[error(
        "this is the account's own address: it goes only with the account, and its address changes in the account's settings"
    )]
    Primary,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] homepost_store::Error),
}

/// Adds an alias to `account`; returns it.
pub async fn add(
    store: &Store,
    account: i64,
    mut fields: IdentityFields,
    now: i64,
) -> Result<Identity, IdentityError> {
    fields.check().map_err(IdentityError::Invalid)?;
    let outcome = store.add_identity(account, &fields, now).await?;
    stored(store, outcome, account, &fields).await
}

/// Changes identity `id`; returns it.
pub async fn update(
    store: &Store,
    id: i64,
    mut fields: IdentityFields,
) -> Result<Identity, IdentityError> {
    fields.check().map_err(IdentityError::Invalid)?;
    let outcome = store.update_identity(id, &fields).await?;
    stored(store, outcome, id, &fields).await
}

/// Deletes alias `id`. If it was the default, the first account's own address
/// becomes the default.
pub async fn remove(store: &Store, id: i64) -> Result<(), IdentityError> {
    let outcome = store.delete_identity(id).await?;
    refused(outcome, id, "")?;
    Ok(())
}

/// Makes `id` the default identity.
pub async fn make_default(store: &Store, id: i64) -> Result<(), IdentityError> {
    if store.set_default_identity(id).await? {
        Ok(())
    } else {
        Err(IdentityError::NoSuchIdentity(id))
    }
}

async fn stored(
    store: &Store,
    outcome: IdentityOutcome,
    asked: i64,
    fields: &IdentityFields,
) -> Result<Identity, IdentityError> {
    let id = refused(outcome, asked, &fields.address)?;
    store
        .identity(id)
        .await?
        .ok_or(IdentityError::NoSuchIdentity(id))
}

/// The id of what was done, or why not.
fn refused(outcome: IdentityOutcome, asked: i64, address: &str) -> Result<i64, IdentityError> {
    match outcome {
        IdentityOutcome::Done(id) => Ok(id),
        IdentityOutcome::NoSuchAccount => Err(IdentityError::NoSuchAccount(asked)),
        IdentityOutcome::NoSuchIdentity => Err(IdentityError::NoSuchIdentity(asked)),
        IdentityOutcome::AddressTaken => Err(IdentityError::AddressTaken(address.to_owned())),
        IdentityOutcome::Primary => Err(IdentityError::Primary),
    }
}

/// The identity a reply to (or forward of) `original` is written from: the one
/// whose address the message was sent to — To, then Cc, then the addresses the
/// receiving servers recorded (`delivered_to`: Delivered-To, X-Original-To), which
/// name an alias that was only Bcc'd or behind a list — else the default.
pub fn for_answer<'a>(
    identities: &'a [Identity],
    original: &ParsedMessage,
    delivered_to: &[String],
) -> Option<&'a Identity> {
    let listed = original
        .to
        .iter()
        .chain(&original.cc)
        .filter_map(|a| a.address.as_deref());
    listed
        .chain(delivered_to.iter().map(String::as_str))
        .find_map(|addr| {
            identities
                .iter()
                .find(|i| i.address.eq_ignore_ascii_case(addr.trim()))
        })
        .or_else(|| identities.iter().find(|i| i.is_default))
}

/// The addresses in the `Delivered-To` and `X-Original-To` fields of a message's
/// header (RFC 9228; Postfix's original recipient), in order, without angle
/// brackets. Folded lines are joined; the body is never read.
pub fn delivered_to(raw: &[u8]) -> Vec<String> {
    let header_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len());
    let header = String::from_utf8_lossy(&raw[..header_end]);
    let mut fields: Vec<String> = Vec::new();
    for line in header.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
        } else {
            fields.push(line.to_owned());
        }
    }
    fields
        .iter()
        .filter_map(|f| {
            let (name, value) = f.split_once(':')?;
            let name = name.trim();
            (name.eq_ignore_ascii_case("delivered-to")
                || name.eq_ignore_ascii_case("x-original-to"))
            .then(|| {
                value
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .trim()
                    .to_owned()
            })
        })
        .filter(|a| !a.is_empty())
        .collect()
}

/// The signature block: the RFC 3676 separator line `-- ` and the signature.
pub fn signature_block(signature: &str) -> String {
    format!("-- \n{}\n", signature.trim_end())
}

/// `body` with `signature` added once: below the text of a new message, or
/// above the quoted or forwarded text of an answer (`answering`), right under
/// where the person writes. An empty signature changes nothing.
pub fn with_signature(body: &str, signature: &str, answering: bool) -> String {
    if signature.trim().is_empty() {
        return body.to_owned();
    }
    let block = signature_block(signature);
    if answering {
        let quoted = body.trim_start_matches('\n');
        if quoted.is_empty() {
            format!("\n\n{block}")
        } else {
            format!("\n\n{block}\n{quoted}")
        }
    } else {
        let text = body.trim_end_matches('\n');
        format!("{text}\n\n{block}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(id: i64, address: &str, default: bool) -> Identity {
        Identity {
            id,
            account_id: 1,
            address: address.into(),
            display_name: String::new(),
            signature: String::new(),
            is_primary: id == 1,
            is_default: default,
        }
    }

    #[test]
    fn an_answer_is_written_from_the_address_it_was_sent_to() {
        let ids = [
            identity(1, "alice@example.org", true),
            identity(2, "shop@example.org", false),
            identity(3, "club@example.org", false),
        ];
        let to = |raw: &str| {
            let p = homepost_mail::parse(raw.as_bytes());
            for_answer(&ids, &p, &delivered_to(raw.as_bytes())).map(|i| i.id)
        };
        assert_eq!(
            to("From: b@x.org\r\nTo: Shop <SHOP@example.org>\r\n\r\nhi\r\n"),
            Some(2)
        );
        assert_eq!(
            to(
                "From: b@x.org\r\nTo: x@y.org\r\nCc: club@example.org, alice@example.org\r\n\r\nhi\r\n"
            ),
            Some(3)
        );
        // Bcc'd or through a list: only the receiving server says to whom.
        assert_eq!(
            to(
                "Delivered-To: <club@example.org>\r\nFrom: b@x.org\r\nTo: list@lists.org\r\n\r\nhi\r\n"
            ),
            Some(3)
        );
        assert_eq!(
            to(
                "X-Original-To:\r\n shop@example.org\r\nFrom: b@x.org\r\nTo: list@lists.org\r\n\r\nhi\r\n"
            ),
            Some(2)
        );
        // None of ours: the default.
        assert_eq!(
            to("From: b@x.org\r\nTo: x@y.org\r\n\r\nDelivered-To: shop@example.org\r\n"),
            Some(1)
        );
        assert_eq!(
            for_answer(&[], &homepost_mail::parse(b"To: a@b.org\r\n\r\n"), &[]),
            None
        );
    }

    #[test]
    fn delivered_to_reads_only_the_header() {
        let raw =
            b"Received: x\r\nDelivered-To: a@example.org\r\ndelivered-to: <b@example.org>\r\n\
Subject: s\r\n\r\nDelivered-To: c@example.org\r\n";
        assert_eq!(delivered_to(raw), ["a@example.org", "b@example.org"]);
        assert_eq!(
            delivered_to(b"Delivered-To: d@example.org\n\nbody"),
            ["d@example.org"]
        );
        assert!(delivered_to(b"").is_empty());
    }

    #[test]
    fn the_signature_goes_under_the_text_once() {
        assert_eq!(with_signature("", "Alice", false), "\n\n-- \nAlice\n");
        assert_eq!(
            with_signature("Hello\n\n", "Alice\nShop", false),
            "Hello\n\n-- \nAlice\nShop\n"
        );
        assert_eq!(
            with_signature("\n\nOn Monday, Bob wrote:\n> hi\n", "Alice", true),
            "\n\n-- \nAlice\n\nOn Monday, Bob wrote:\n> hi\n"
        );
        assert_eq!(with_signature("", "Alice", true), "\n\n-- \nAlice\n");
        assert_eq!(with_signature("Hello", " \n", false), "Hello");
    }
}
