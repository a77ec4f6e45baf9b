//! Unit tests of recipients, building messages and prefilling replies and
//! forwards.

use super::*;
use crate::parse;

fn mb(a: &str) -> Mailbox {
    Mailbox {
        name: None,
        address: a.into(),
    }
}

#[test]
fn recipients_parse_as_typed() {
    let r = parse_recipients(&[
        "Alice <alice@example.org>, bob@example.org".into(),
        "\"Doe, Jane\" <jane@example.org>; <x@localhost>".into(),
    ])
    .unwrap();
    assert_eq!(r.len(), 4);
    assert_eq!(r[0].name.as_deref(), Some("Alice"));
    assert_eq!(r[2].name.as_deref(), Some("Doe, Jane"));
    assert_eq!(r[3].address, "x@localhost");
    for bad in [
        "alice",
        "a b@example.org",
        "a@b",
        "<a@example.org",
        "a@example.org\r\nBcc: x@y.z",
    ] {
        assert!(parse_recipients(&[bad.into()]).is_err(), "{bad}");
    }
}

#[test]
fn built_message_round_trips_and_hides_bcc() {
    let to = [mb("bob@example.org")];
    let bcc = [mb("secret@example.org")];
    let att = [Attachment {
        name: "notes.txt".into(),
        content_type: "text/plain".into(),
        data: b"attached words".to_vec(),
    }];
    let refs = ["a@x".to_owned(), "b@x".to_owned()];
    let built = build(&Outgoing {
        from: Mailbox {
            name: Some("Alice".into()),
            address: "alice@example.org".into(),
        },
        to: &to,
        cc: &[],
        bcc: &bcc,
        subject: "Grüße",
        body: "Hello Bob\nsecond line",
        in_reply_to: Some("b@x"),
        references: &refs,
        attachments: &att,
        forwarded: Some(b"From: c@example.org\r\nSubject: old\r\n\r\nold body\r\n"),
        date: 1_700_000_000,
    })
    .unwrap();
    assert_eq!(built.rcpt_to, ["bob@example.org", "secret@example.org"]);
    let text = String::from_utf8_lossy(&built.raw);
    assert!(
        !text.contains("secret@example.org"),
        "Bcc must not be in the headers"
    );
    let p = parse(&built.raw);
    assert_eq!(p.subject.as_deref(), Some("Grüße"));
    assert!(p.body_text.contains("Hello Bob"));
    assert_eq!(p.in_reply_to, ["b@x"]);
    assert_eq!(p.references, ["a@x", "b@x"]);
    assert_eq!(p.message_id.as_deref(), Some(built.message_id.as_str()));
    assert_eq!(p.attachments.len(), 2, "{:?}", p.attachments);
    assert_eq!(p.attachments[0].filename.as_deref(), Some("notes.txt"));
    assert!(
        build(&Outgoing {
            to: &[],
            bcc: &[],
            ..built_outgoing()
        })
        .is_err()
    );
}

fn built_outgoing() -> Outgoing<'static> {
    Outgoing {
        from: mb("a@example.org"),
        to: &[],
        cc: &[],
        bcc: &[],
        subject: "",
        body: "",
        in_reply_to: None,
        references: &[],
        attachments: &[],
        forwarded: None,
        date: 0,
    }
}

#[test]
fn replies_and_forwards_prefill() {
    let raw = b"From: Bob <bob@example.org>\r\nTo: alice@example.org, carol@example.org\r\nCc: Dave <dave@example.org>\r\nReply-To: list@example.org\r\nSubject: Plans\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <m1@example.org>\r\n\r\nLine one\r\n\r\nLine two\r\n";
    let p = parse(raw);
    let own = ["alice@example.org".to_owned()];
    let r = prefill(&p, &p.body_text, ReplyMode::Reply, &own);
    assert_eq!(r.to, ["list@example.org"]);
    assert_eq!(r.subject, "Re: Plans");
    assert!(
        r.body
            .contains("On 2023-11-14 22:13 UTC, Bob wrote:\n> Line one\n>\n> Line two"),
        "{}",
        r.body
    );
    let all = prefill(&p, &p.body_text, ReplyMode::All, &own);
    assert_eq!(all.to, ["list@example.org", "carol@example.org"]);
    assert_eq!(all.cc, ["Dave <dave@example.org>"]);
    let f = prefill(&p, &p.body_text, ReplyMode::ForwardInline, &own);
    assert!(f.to.is_empty());
    assert_eq!(f.subject, "Fwd: Plans");
    assert!(f.body.contains("From: Bob <bob@example.org>") && f.body.contains("Line two"));
    let again = prefill(
        &parse(b"Subject: Re: Plans\r\n\r\n"),
        "",
        ReplyMode::Reply,
        &own,
    );
    assert_eq!(again.subject, "Re: Plans");
}
