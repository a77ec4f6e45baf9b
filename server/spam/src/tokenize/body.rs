//! Tokens from a message's MIME structure, body text and attachments.

use mail_parser::decoders::html::html_to_text;
use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::{MAX_TEXT_BYTES, Sink, truncate, url, words};

/// Most MIME parts whose types are read.
const MAX_PARTS: usize = 100;
/// Most attachments read.
const MAX_ATTACHMENTS: usize = 50;
/// Most distinct HTML tag names taken from one message.
const MAX_HTML_TAGS: usize = 40;
/// Longest attachment extension kept.
const MAX_EXTENSION_CHARS: usize = 10;

/// Tokenizes the body of `message` into `sink`.
pub(super) fn tokenize(message: &Message<'_>, sink: &mut Sink) {
    for part in message.parts.iter().take(MAX_PARTS) {
        mime_tokens(part, sink);
    }
    text_parts(message, sink);
    for part in message.attachments().take(MAX_ATTACHMENTS) {
        attachment(part, sink);
    }
}

/// `content-type:text/html`, `charset:utf-8`, `content-transfer-encoding:base64`.
fn mime_tokens(part: &MessagePart<'_>, sink: &mut Sink) {
    if let Some(ct) = part.content_type() {
        sink.push(format!(
            "content-type:{}",
            media_type(&ct.c_type, ct.c_subtype.as_deref())
        ));
        if let Some(charset) = ct.attribute("charset") {
            sink.push(format!("charset:{}", charset.trim().to_ascii_lowercase()));
        }
    }
    if let Some(encoding) = part.content_transfer_encoding() {
        sink.push(format!(
            "content-transfer-encoding:{}",
            encoding.trim().to_ascii_lowercase()
        ));
    }
}

fn media_type(c_type: &str, c_subtype: Option<&str>) -> String {
    match c_subtype {
        Some(sub) => format!("{c_type}/{sub}").to_ascii_lowercase(),
        None => c_type.to_ascii_lowercase(),
    }
}

/// Words and links of the inline text and HTML parts, within
/// [`MAX_TEXT_BYTES`] in all.
fn text_parts(message: &Message<'_>, sink: &mut Sink) {
    let mut ids: Vec<u32> = message.text_body.clone();
    for id in &message.html_body {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    let mut budget = MAX_TEXT_BYTES;
    let mut tags = Vec::new();
    for id in ids {
        if budget == 0 || sink.is_full() {
            break;
        }
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Text(text) => {
                let text = truncate(text, budget);
                budget -= text.len();
                words::tokenize_body(text, sink);
            }
            PartType::Html(html) => {
                let html = truncate(html, budget);
                budget -= html.len();
                url::scan(html, sink);
                html_tags(html, &mut tags);
                words::tokenize_body(&html_to_text(html), sink);
            }
            _ => {}
        }
    }
    for tag in tags {
        sink.push(format!("html:{tag}"));
    }
}

/// Collects the distinct tag names used in `html` (`img`, `font`, `table`...):
/// spam leans on some markup more than personal mail does.
fn html_tags(html: &str, tags: &mut Vec<String>) {
    for after in html.split('<').skip(1) {
        if tags.len() >= MAX_HTML_TAGS {
            return;
        }
        let name: String = if after.starts_with("!--") {
            "comment".to_owned()
        } else {
            after
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .take(12)
                .collect::<String>()
                .to_ascii_lowercase()
        };
        if !name.is_empty() && !tags.contains(&name) {
            tags.push(name);
        }
    }
}

/// `att-type:application/zip` and `att-ext:exe` (or `att-ext:none`).
fn attachment(part: &MessagePart<'_>, sink: &mut Sink) {
    let media = part.content_type().map_or_else(
        || "text/plain".to_owned(),
        |ct| media_type(&ct.c_type, ct.c_subtype.as_deref()),
    );
    sink.push(format!("att-type:{media}"));
    match part.attachment_name() {
        Some(name) => {
            let extension = name
                .trim()
                .rsplit_once('.')
                .map(|(_, ext)| ext.to_lowercase())
                .filter(|ext| {
                    (1..=MAX_EXTENSION_CHARS).contains(&ext.chars().count())
                        && ext.chars().all(char::is_alphanumeric)
                });
            sink.push(format!(
                "att-ext:{}",
                extension.as_deref().unwrap_or("none")
            ));
        }
        None => sink.push("att-name:none".to_owned()),
    }
}
