//! HTML mail bodies: turning them into readable plain text ([`to_text`]) and
//! into a small, inert document for the optional formatted view
//! ([`sanitize`]).
//!
//! Both parse with html5ever (through `scraper` for the text walk and
//! `ammonia` for the allowlist), the parser browsers are tested against, so the
//! text and the formatted view see the same tree a browser would. Neither ever
//! fetches anything: images are never loaded and remote resources never
//! survive [`sanitize`].

mod bounded_parse;
mod plain_text;
mod sanitizer;
#[cfg(test)]
mod tests;

use mail_parser::PartType;

pub(crate) use bounded_parse::parse_bounded;
pub use plain_text::to_text;
pub use sanitizer::sanitize;

use crate::parse;

/// The most HTML, in bytes, that [`to_text`] and [`sanitize`] parse; the rest
/// is cut off (on a character boundary). Parsing cost and the size of the tree
/// grow with the input, and no mail worth reading is longer.
pub const MAX_HTML_BYTES: usize = 8 << 20;

/// The most text, in bytes, that [`to_text`] returns.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// The first `text/html` body part of a raw RFC 5322 message, decoded to
/// UTF-8, or `None` if the message has no HTML body (HTML attachments do not
/// count).
pub fn message_html(raw: &[u8]) -> Option<String> {
    std::panic::catch_unwind(|| {
        let message = parse::PARSER.parse(raw)?;
        message
            .html_body
            .iter()
            .filter_map(|&id| message.parts.get(id as usize))
            .find_map(|part| match &part.body {
                PartType::Html(html) => Some(html.to_string()),
                _ => None,
            })
    })
    .ok()
    .flatten()
}

/// Whether a parsed message has a `text/html` body part (what
/// [`message_html`] returns is `Some`).
pub(crate) fn has_html_body(message: &mail_parser::Message<'_>) -> bool {
    message
        .html_body
        .iter()
        .filter_map(|&id| message.parts.get(id as usize))
        .any(|part| matches!(part.body, PartType::Html(_)))
}

/// `s` cut to at most `max` bytes on a character boundary.
fn cap(s: &str, max: usize) -> &str {
    &s[..s.floor_char_boundary(max)]
}

/// The text of `html` by mail-parser's simple converter: no structure, but
/// linear time, for documents too costly to parse.
fn flat_text(html: &str) -> String {
    let text = mail_parser::decoders::html::html_to_text(html);
    cap(&text, MAX_TEXT_BYTES).to_owned()
}
