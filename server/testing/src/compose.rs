//! Mail as Homepost's composer builds it (mail-builder: CRLF, MIME parts,
//! encoded headers), for tests that send, sign or deliver such mail.

use homepost_mail::RawMessage;
use homepost_mail::compose::{Attachment, Mailbox, Outgoing, build};

/// A message from `from` to each of `to` with `attachments`, dated `date`
/// (Unix seconds), as the composer builds it.
pub fn message(
    from: &str,
    to: &[&str],
    subject: &str,
    body: &str,
    attachments: &[Attachment],
    date: i64,
) -> Vec<u8> {
    let mailbox = |address: &str| Mailbox {
        name: None,
        address: address.into(),
    };
    let to: Vec<Mailbox> = to.iter().map(|a| mailbox(a)).collect();
    build(&Outgoing {
        from: mailbox(from),
        to: &to,
        cc: &[],
        bcc: &[],
        subject,
        body,
        in_reply_to: None,
        references: &[],
        attachments,
        forwarded: None,
        date,
    })
    .expect("compose a test message")
    .raw
}

/// An armored public key as a mail attachment (`key.asc`,
/// `application/pgp-keys`), the way a correspondent without Autocrypt sends
/// their key.
pub fn key_attachment(armored: String) -> Attachment {
    Attachment {
        name: "key.asc".into(),
        content_type: "application/pgp-keys".into(),
        data: armored.into_bytes(),
    }
}

/// `raw` as a message fetched into the inbox (origin `test`), the way a
/// library delivers what a transport brings.
pub fn to_inbox(raw: Vec<u8>) -> RawMessage {
    RawMessage {
        raw,
        origin: "test".into(),
        mbox_number: None,
        tags: vec!["inbox".into()],
        progress_bytes: 0,
        file_time: None,
    }
}
