//! The decoded bytes of a message's attachments, for the risk check
//! ([`crate::risk::assess`]) and for downloads.

use crate::parse::{self, AttachmentInfo};

/// Each attachment of a raw RFC 5322 message with its bytes after transfer
/// decoding (text parts as UTF-8, attached messages as their raw bytes), in
/// the same order and with the same [`AttachmentInfo`] as
/// [`crate::ParsedMessage::attachments`] of [`crate::parse()`]. Never panics:
/// a message mail-parser cannot read has no attachments here either.
pub fn attachments(raw: &[u8]) -> Vec<(AttachmentInfo, Vec<u8>)> {
    std::panic::catch_unwind(|| {
        let Some(message) = parse::PARSER.parse(raw) else {
            return Vec::new();
        };
        parse::attachment_parts(&message)
            .map(|(info, part)| (info, part.contents().to_vec()))
            .collect()
    })
    .unwrap_or_default()
}

/// What reading a message needs of it, taken from one parse: its text, whether
/// it has an HTML body, and its attachments with their decoded bytes. The same
/// as [`crate::parse()`]'s `body_text`, [`crate::html::message_html`]`.is_some()`
/// and [`attachments`], at a third of the cost.
#[derive(Debug, Default)]
pub struct TakenApart {
    /// The body as plain text (see [`crate::ParsedMessage::body_text`]).
    pub body_text: String,
    /// Whether there is a `text/html` body part.
    pub has_html: bool,
    /// Each attachment with its decoded bytes, as [`attachments`] gives them.
    pub attachments: Vec<(AttachmentInfo, Vec<u8>)>,
}

/// Takes `raw` apart for reading (see [`TakenApart`]). Never panics: a message
/// mail-parser cannot read has no text, HTML or attachments here.
pub fn take_apart(raw: &[u8]) -> TakenApart {
    // What cannot be parsed reads as its own bytes, as in `parse()`.
    let unparseable = || TakenApart {
        body_text: parse::unparseable(raw).body_text,
        ..TakenApart::default()
    };
    std::panic::catch_unwind(|| {
        let Some(message) = parse::PARSER.parse(raw) else {
            return unparseable();
        };
        if message.parts.is_empty() {
            return unparseable();
        }
        TakenApart {
            body_text: parse::body_text(&message),
            has_html: crate::html::has_html_body(&message),
            attachments: parse::attachment_parts(&message)
                .map(|(info, part)| (info, part.contents().to_vec()))
                .collect(),
        }
    })
    .unwrap_or_else(|_| unparseable())
}

#[cfg(test)]
mod tests {
    use homepost_testing::{corpus, disk};

    use super::*;

    #[test]
    fn taken_apart_agrees_with_the_three_parses_over_the_corpus() {
        let mut paths = disk::files(&corpus::path("mail"));
        paths.extend(disk::files(&corpus::path("xss")));
        let mut html = 0;
        for path in paths {
            let Ok(raw) = std::fs::read(&path) else {
                continue;
            };
            let taken = take_apart(&raw);
            assert_eq!(taken.body_text, crate::parse(&raw).body_text, "{path:?}");
            let has_html = crate::html::message_html(&raw).is_some();
            assert_eq!(taken.has_html, has_html, "{path:?}");
            html += usize::from(has_html);
            assert_eq!(taken.attachments, attachments(&raw), "{path:?}");
        }
        assert!(html > 10, "too few HTML messages: {html}");
    }

    #[test]
    fn agrees_with_parse_over_the_corpus_mail() {
        let mut paths = disk::files(&corpus::path("mail"));
        paths.extend(disk::files(&corpus::path("xss")));
        assert!(paths.len() > 300, "only {} corpus files", paths.len());
        let mut with_attachments = 0;
        for path in paths {
            let Ok(raw) = std::fs::read(&path) else {
                continue;
            };
            let listed = crate::parse(&raw).attachments;
            let decoded = attachments(&raw);
            let infos: Vec<_> = decoded.iter().map(|(info, _)| info.clone()).collect();
            assert_eq!(infos, listed, "{}", path.display());
            for (info, bytes) in &decoded {
                assert_eq!(info.size, bytes.len() as u64, "{}", path.display());
            }
            with_attachments += usize::from(!decoded.is_empty());
        }
        assert!(
            with_attachments > 20,
            "only {with_attachments} with attachments"
        );
    }

    #[test]
    fn decodes_base64_attachment() {
        let raw = b"From: a@example.org\nContent-Type: multipart/mixed; boundary=b\n\n\
--b\nContent-Type: text/plain\n\nbody\n\
--b\nContent-Type: application/pdf; name=r.pdf\nContent-Transfer-Encoding: base64\n\n\
JVBERi0xLjQK\n--b--\n";
        let found = attachments(raw);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.filename.as_deref(), Some("r.pdf"));
        assert_eq!(found[0].1, b"%PDF-1.4\n");
    }

    #[test]
    fn nothing_for_unparseable_input() {
        assert!(attachments(b"").is_empty());
        assert!(attachments(b"no headers at all").is_empty());
    }
}
