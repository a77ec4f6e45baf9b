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

#[cfg(test)]
mod tests {
    use homepost_testing::{corpus, disk};

    use super::*;

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
