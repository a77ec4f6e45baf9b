//! Protected headers (RFC 9788, and the Memory Hole `protected-headers="v1"`
//! convention it grew from): the real header fields travel inside the signed
//! or encrypted part, and an encrypted message shows only "..." as its
//! Subject outside.

use homepost_mail::Address;

use crate::mime::{self, ContentType, HeaderField};

/// The header fields copied into the protected part.
pub const PROTECTED_FIELDS: &[&str] = &[
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
];

/// The Subject an encrypted message shows outside (RFC 9788 section 4.2.1
/// leaves the obscured value to the implementation; Autocrypt clients use "...").
pub const OBSCURED_SUBJECT: &str = "...";

/// The decrypted entity without its legacy display element (RFC 9788
/// section 4.5.3): a `text/plain` part marked `hp-legacy-display="1"` begins
/// with copies of header fields and a blank line, for readers that cannot show
/// protected headers. A reader that shows the real fields drops them. The
/// root part or the first part of a multipart root is looked at; anything
/// that does not look exactly like such a block is left as it is (so is
/// HTML's legacy display `div`, and a part that is not 7bit or 8bit).
pub fn without_legacy_display(entity: &[u8]) -> Vec<u8> {
    let (head, body) = mime::split_head_body(entity);
    let fields = mime::header_fields(head);
    let ct = ContentType::of(&fields);
    let stripped = if ct.mime.starts_with("multipart/") {
        ct.param("boundary")
            .and_then(|b| mime::multipart_parts(body, b))
            .and_then(|parts| parts.first().copied())
            .and_then(|first| {
                let offset = first.as_ptr() as usize - entity.as_ptr() as usize;
                legacy_block_len(first).map(|(at, len)| (offset + at, len))
            })
    } else {
        legacy_block_len(entity)
    };
    match stripped {
        Some((at, len)) => {
            let mut out = Vec::with_capacity(entity.len() - len);
            out.extend_from_slice(&entity[..at]);
            out.extend_from_slice(&entity[at + len..]);
            out
        }
        _ => entity.to_vec(),
    }
}

/// For a single `text/plain` entity marked `hp-legacy-display="1"`: where its
/// legacy display block starts (the body's first byte) and how long it is.
fn legacy_block_len(part: &[u8]) -> Option<(usize, usize)> {
    let (head, body) = mime::split_head_body(part);
    let fields = mime::header_fields(head);
    let ct = ContentType::of(&fields);
    if ct.mime != "text/plain" || !ct.param_is("hp-legacy-display", "1") {
        return None;
    }
    let cte = mime::find(&fields, "Content-Transfer-Encoding")
        .map(|f| f.value().to_ascii_lowercase())
        .unwrap_or_default();
    if !matches!(cte.as_str(), "" | "7bit" | "8bit") {
        return None;
    }
    let mut len = 0;
    for (lines, line) in body.split_inclusive(|&b| b == b'\n').enumerate() {
        len += line.len();
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.is_empty() {
            return (lines > 0).then_some((part.len() - body.len(), len));
        }
        let continued = text[0] == b' ' || text[0] == b'\t';
        let field = text.iter().position(|&b| b == b':').is_some_and(|colon| {
            colon > 0
                && text[..colon]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        });
        if !(field || (continued && lines > 0)) {
            return None;
        }
    }
    None
}

/// The header fields found in a protected part, decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtectedHeaders {
    /// The real Subject, decoded (RFC 2047).
    pub subject: Option<String>,
    /// From addresses.
    pub from: Vec<Address>,
    /// To addresses.
    pub to: Vec<Address>,
    /// Cc addresses.
    pub cc: Vec<Address>,
    /// Reply-To addresses.
    pub reply_to: Vec<Address>,
    /// Date as Unix seconds.
    pub date: Option<i64>,
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
}

impl ProtectedHeaders {
    /// Reads the protected fields of an entity whose Content-Type says it
    /// carries them (`protected-headers="v1"`, or RFC 9788's `hp`
    /// parameter). `None` for an entity without that mark: fields in an
    /// unmarked part may be a MIME part's own and must not be shown as the
    /// message's.
    pub fn from_entity(entity: &[u8]) -> Option<Self> {
        let (head, _) = mime::split_head_body(entity);
        let fields = mime::header_fields(head);
        let ct = ContentType::of(&fields);
        if !ct.param_is("protected-headers", "v1") && ct.param("hp").is_none() {
            return None;
        }
        let parsed = homepost_mail::parse(head);
        Some(ProtectedHeaders {
            subject: parsed.subject,
            from: parsed.from,
            to: parsed.to,
            cc: parsed.cc,
            reply_to: parsed.reply_to,
            date: parsed.date,
            message_id: parsed.message_id,
        })
    }
}

/// A message split for wrapping: the fields that stay outside, and the
/// inner entity (content fields, protected copies, body) in CRLF form.
pub(crate) struct Split {
    pub outer: Vec<HeaderField>,
    pub inner: Vec<u8>,
}

/// Splits `message` into the outer fields and the inner entity. The inner
/// entity's Content-Type gets `protected-headers="v1"` and copies of the
/// [`PROTECTED_FIELDS`]; `extra` fields (Autocrypt-Gossip) are added to it.
/// When `obscure` is set, the outer Subject becomes [`OBSCURED_SUBJECT`].
pub(crate) fn split(message: &[u8], extra: &[String], obscure: bool) -> Split {
    let message = mime::to_crlf(message);
    let (head, body) = mime::split_head_body(&message);
    let fields = mime::header_fields(head);

    let mut inner_fields: Vec<HeaderField> = Vec::new();
    let content_type = mime::find(&fields, "Content-Type").map_or_else(
        || "Content-Type: text/plain; charset=us-ascii".to_owned(),
        |f| String::from_utf8_lossy(&f.raw).into_owned(),
    );
    inner_fields.push(HeaderField {
        name: "Content-Type".into(),
        raw: format!("{};\r\n protected-headers=\"v1\"", content_type.trim_end()).into_bytes(),
    });
    inner_fields.extend(
        fields
            .iter()
            .filter(|f| mime::is_content_field(f) && !f.is("Content-Type"))
            .cloned(),
    );
    for name in PROTECTED_FIELDS {
        inner_fields.extend(fields.iter().filter(|f| f.is(name)).cloned());
    }
    for field in extra {
        let name = field.split(':').next().unwrap_or_default().to_owned();
        inner_fields.push(HeaderField {
            name,
            raw: field.as_bytes().to_vec(),
        });
    }

    let mut outer: Vec<HeaderField> = fields
        .iter()
        .filter(|f| !mime::is_content_field(f) && !f.is("MIME-Version"))
        .cloned()
        .collect();
    if obscure {
        for f in outer.iter_mut().filter(|f| f.is("Subject")) {
            *f = HeaderField::new("Subject", OBSCURED_SUBJECT);
        }
        if mime::find(&outer, "Subject").is_none() {
            outer.push(HeaderField::new("Subject", OBSCURED_SUBJECT));
        }
    }

    let mut inner = Vec::with_capacity(message.len() + 256);
    for f in &inner_fields {
        // Trailing whitespace in a header line means nothing; RFC 3156
        // section 3 wants none in signed data.
        for (i, line) in f.raw.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                inner.push(b'\n');
            }
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            inner.extend_from_slice(line.trim_ascii_end());
            inner.push(b'\r');
        }
        inner.push(b'\n');
    }
    inner.extend_from_slice(b"\r\n");
    inner.extend_from_slice(body);
    Split { outer, inner }
}

#[cfg(test)]
mod tests {
    #[test]
    fn legacy_display_blocks_are_dropped_only_when_marked_and_well_formed() {
        use super::without_legacy_display as strip;
        let marked = b"Content-Type: text/plain; charset=utf-8; hp=\"cipher\";\r\n hp-legacy-display=\"1\"\r\n\r\nSubject: Dinner plans\r\nTo: bob@example.net,\r\n carol@example.net\r\n\r\nLet's eat\r\n";
        let out = strip(marked);
        assert!(
            out.ends_with(b"\r\n\r\nLet's eat\r\n"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        assert!(!String::from_utf8_lossy(&out).contains("Dinner"));
        // Not marked, or not a header block: left alone.
        let unmarked =
            b"Content-Type: text/plain\r\n\r\nSubject: Dinner plans\r\n\r\nLet's eat\r\n";
        assert_eq!(strip(unmarked), unmarked.to_vec());
        let prose = b"Content-Type: text/plain; hp-legacy-display=1\r\n\r\nDear Bob: dinner?\r\nor lunch\r\n\r\nx\r\n";
        assert_eq!(strip(prose), prose.to_vec());
        let encoded = b"Content-Type: text/plain; hp-legacy-display=1\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA==\r\n";
        assert_eq!(strip(encoded), encoded.to_vec());
        // The first part of a multipart root.
        let mixed = b"Content-Type: multipart/mixed; boundary=\"b\"; hp=\"cipher\"\r\n\r\n--b\r\nContent-Type: text/plain; hp-legacy-display=\"1\"\r\n\r\nSubject: Plans\r\n\r\nBody text\r\n--b\r\nContent-Type: text/plain\r\n\r\nSubject: kept\r\n\r\nsecond\r\n--b--\r\n";
        let out = String::from_utf8(strip(mixed)).unwrap();
        assert!(!out.contains("Subject: Plans"), "{out}");
        assert!(out.contains("\r\n\r\nBody text\r\n--b\r\n"), "{out}");
        assert!(out.contains("Subject: kept"), "{out}");
    }

    use super::*;

    const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nDate: Tue, 22 Jan 2019 12:56:25 +0100\nMessage-ID: <1@example.org>\nX-Mailer: test\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\nHello\n";

    #[test]
    fn inner_part_carries_the_real_headers() {
        let s = split(MESSAGE, &[], true);
        let inner = String::from_utf8(s.inner.clone()).unwrap();
        assert!(inner.starts_with(
            "Content-Type: text/plain; charset=utf-8;\r\n protected-headers=\"v1\"\r\n"
        ));
        assert!(inner.contains("\r\nContent-Transfer-Encoding: 7bit\r\n"));
        assert!(inner.contains("\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"));
        assert!(inner.contains("\r\nMessage-ID: <1@example.org>\r\n"));
        assert!(!inner.contains("X-Mailer"));
        assert!(inner.ends_with("\r\n\r\nHello\r\n"));

        let outer: Vec<String> = s
            .outer
            .iter()
            .map(super::super::mime::HeaderField::value)
            .collect();
        assert!(outer.contains(&"...".to_string()));
        assert!(
            !s.outer
                .iter()
                .any(|f| f.is("Content-Type") || f.is("MIME-Version"))
        );
        assert!(s.outer.iter().any(|f| f.is("X-Mailer")));

        let hp = ProtectedHeaders::from_entity(&s.inner).unwrap();
        assert_eq!(hp.subject.as_deref(), Some("Grüße"));
        assert_eq!(hp.from[0].address.as_deref(), Some("alice@example.org"));
        assert_eq!(hp.to[0].address.as_deref(), Some("bob@example.org"));
        assert_eq!(hp.message_id.as_deref(), Some("1@example.org"));
        assert_eq!(hp.date, Some(1_548_158_185));
    }

    #[test]
    fn unmarked_parts_have_no_protected_headers() {
        assert!(
            ProtectedHeaders::from_entity(b"Content-Type: text/plain\r\nSubject: x\r\n\r\nhi")
                .is_none()
        );
        assert!(
            ProtectedHeaders::from_entity(
                b"Content-Type: text/plain; hp=\"cipher\"\r\nSubject: x\r\n\r\nhi"
            )
            .is_some()
        );
    }

    #[test]
    fn a_message_without_content_type_gets_text_plain() {
        let s = split(
            b"Subject: s\r\n\r\nbody",
            &["Autocrypt-Gossip: addr=a@b; keydata=AA".into()],
            false,
        );
        let inner = String::from_utf8(s.inner).unwrap();
        assert!(inner.starts_with(
            "Content-Type: text/plain; charset=us-ascii;\r\n protected-headers=\"v1\"\r\n"
        ));
        assert!(inner.contains("\r\nAutocrypt-Gossip: addr=a@b; keydata=AA\r\n"));
        assert_eq!(s.outer[0].value(), "s");
    }
}
