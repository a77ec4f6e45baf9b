//! The index schema, its text analyzer and the mapping from [`IndexDoc`] to a tantivy
//! document.

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};

use super::IndexDoc;
use crate::query::strip_angle_brackets;

/// Name under which [`analyzer`] is registered with the index.
pub(crate) const ANALYZER: &str = "homepost_text";

/// Words longer than this (in bytes) are not indexed: they are hashes, base64 or
/// URLs, not words anyone types.
const MAX_WORD_LEN: usize = 40;

/// Value of the `has` field for a message with attachments.
pub(crate) const HAS_ATTACHMENT: &str = "attachment";

/// The fields of the index schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// Store id of the message: the document key.
    pub(crate) id: Field,
    /// Unix seconds.
    pub(crate) date: Field,
    /// Raw size in bytes.
    pub(crate) size: Field,
    /// Without angle brackets.
    pub(crate) message_id: Field,
    pub(crate) subject: Field,
    pub(crate) body: Field,
    /// `Name <addr>` strings, analysed into words.
    pub(crate) from: Field,
    pub(crate) to: Field,
    pub(crate) cc: Field,
    /// Exact lowercase addresses, for `from:alice@example.org`.
    pub(crate) from_addr: Field,
    pub(crate) to_addr: Field,
    pub(crate) cc_addr: Field,
    /// Attachment file names and content types, analysed into words.
    pub(crate) attachment: Field,
    pub(crate) tag: Field,
    pub(crate) has: Field,
}

/// Builds the schema and returns it with its fields.
///
/// Only `id` is stored: the encrypted store is the source of truth, and a search
/// returns ids. Text fields keep positions for phrase queries.
pub(crate) fn build() -> (Schema, Fields) {
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let mut b = Schema::builder();
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | FAST | STORED),
        date: b.add_i64_field("date", INDEXED | FAST),
        size: b.add_u64_field("size", INDEXED | FAST),
        message_id: b.add_text_field("message_id", STRING),
        subject: b.add_text_field("subject", text.clone()),
        body: b.add_text_field("body", text.clone()),
        from: b.add_text_field("from", text.clone()),
        to: b.add_text_field("to", text.clone()),
        cc: b.add_text_field("cc", text.clone()),
        from_addr: b.add_text_field("from_addr", STRING),
        to_addr: b.add_text_field("to_addr", STRING),
        cc_addr: b.add_text_field("cc_addr", STRING),
        attachment: b.add_text_field("attachment", text),
        tag: b.add_text_field("tag", STRING),
        has: b.add_text_field("has", STRING),
    };
    (b.build(), fields)
}

/// The analyzer for every text field: split on non-alphanumerics, drop overlong
/// words, lowercase, fold accents to ASCII (so `cafe` finds `café`).
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_LEN))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The tantivy document for `doc`.
pub(crate) fn document(fields: &Fields, doc: &IndexDoc) -> TantivyDocument {
    let mut d = TantivyDocument::new();
    d.add_u64(fields.id, doc.id);
    d.add_i64(fields.date, doc.date);
    d.add_u64(fields.size, doc.size);
    let message_id = strip_angle_brackets(&doc.message_id);
    if !message_id.is_empty() {
        d.add_text(fields.message_id, message_id);
    }
    d.add_text(fields.subject, &doc.subject);
    d.add_text(fields.body, &doc.body);
    for (list, text_field, addr_field) in [
        (&doc.from, fields.from, fields.from_addr),
        (&doc.to, fields.to, fields.to_addr),
        (&doc.cc, fields.cc, fields.cc_addr),
    ] {
        for mailbox in list {
            d.add_text(text_field, mailbox);
            if let Some(addr) = address_of(mailbox) {
                d.add_text(addr_field, addr);
            }
        }
    }
    for attachment in &doc.attachments {
        d.add_text(fields.attachment, attachment);
    }
    for tag in &doc.tags {
        d.add_text(fields.tag, tag.to_lowercase());
    }
    if doc.has_attachment {
        d.add_text(fields.has, HAS_ATTACHMENT);
    }
    d
}

/// The lowercase address of `Name <addr>`, `<addr>` or `addr`, if it looks like one
/// (`local@domain`, no spaces).
pub(crate) fn address_of(mailbox: &str) -> Option<String> {
    let mailbox = mailbox.trim();
    let addr = match (mailbox.rfind('<'), mailbox.ends_with('>')) {
        (Some(open), true) => &mailbox[open + 1..mailbox.len() - 1],
        _ => mailbox,
    };
    let addr = addr.trim();
    let (local, domain) = addr.rsplit_once('@')?;
    let valid = !local.is_empty()
        && !domain.is_empty()
        && !addr
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '<' | '>'));
    valid.then(|| addr.to_lowercase())
}
