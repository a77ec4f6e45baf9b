//! Parsing one RFC 5322 / MIME message into the fields Homepost stores,
//! indexes and threads on. The raw bytes stay the source of truth; this is
//! derived data, so parsing is best effort and never fails.

use std::borrow::Cow;
use std::sync::LazyLock;

use mail_parser::{
    Addr, DateTime, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders,
    PartType,
};
use serde::{Deserialize, Serialize};

use crate::{html, text};

/// The most body text, in bytes, kept in [`ParsedMessage::body_text`]: enough
/// for search and snippets, while a 50 MB text attachment-as-body cannot blow
/// up the index.
pub const MAX_BODY_TEXT_BYTES: usize = 1 << 20;

/// One mailbox from an address header, as written by the sender.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    /// Display name, decoded (RFC 2047), if any.
    pub name: Option<String>,
    /// The `local@domain` address, if any.
    pub address: Option<String>,
}

impl std::fmt::Display for Address {
    /// `Name <local@domain>`, or whichever of the two is present (nothing if neither).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.name, &self.address) {
            (Some(n), Some(a)) => write!(f, "{n} <{a}>"),
            (Some(n), None) => f.write_str(n),
            (None, Some(a)) => f.write_str(a),
            (None, None) => Ok(()),
        }
    }
}

/// What the store needs to know about an attachment without keeping a copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentInfo {
    /// File name the sender gave (Content-Disposition or Content-Type `name`);
    /// untrusted, so sanitise it before using it as a path.
    pub filename: Option<String>,
    /// Lowercase `type/subtype`.
    pub content_type: String,
    /// Size in bytes after transfer decoding.
    pub size: u64,
}

/// The fields of a message that Homepost derives from its raw bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedMessage {
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// In-Reply-To message ids, without angle brackets.
    pub in_reply_to: Vec<String>,
    /// References message ids, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// Date header as Unix seconds (UTC; one without a zone is read as UTC);
    /// `None` if absent or unparseable.
    pub date: Option<i64>,
    /// The date the newest `Received:` field stamps (the topmost, added last),
    /// as Unix seconds: when the last server took the message.
    #[serde(default)]
    pub received: Option<i64>,
    /// The mailing list it came through: the id of its `List-Id:` field
    /// (RFC 2919), lowercased, without the angle brackets.
    #[serde(default)]
    pub list_id: Option<String>,
    /// From addresses (all From fields, groups flattened).
    pub from: Vec<Address>,
    /// To addresses (all To fields, groups flattened).
    pub to: Vec<Address>,
    /// Cc addresses (all Cc fields, groups flattened).
    pub cc: Vec<Address>,
    /// Bcc addresses (all Bcc fields, groups flattened).
    pub bcc: Vec<Address>,
    /// Reply-To addresses (all Reply-To fields, groups flattened).
    pub reply_to: Vec<Address>,
    /// Subject, decoded (RFC 2047).
    pub subject: Option<String>,
    /// Subject without reply/forward prefixes and list tags, lowercased, with
    /// whitespace collapsed: the key for JWZ subject threading.
    pub base_subject: String,
    /// Whether the subject carried a reply prefix (`Re:`, `AW:`, `SV:` ...).
    pub is_reply: bool,
    /// The text body parts (HTML converted to text where a message has no
    /// text part), decoded to UTF-8 with `\n` line ends, at most
    /// [`MAX_BODY_TEXT_BYTES`].
    pub body_text: String,
    /// Attachments, including inline images and attached messages.
    pub attachments: Vec<AttachmentInfo>,
    /// The message had no header fields, could not be parsed as RFC 5322, or
    /// had MIME/encoding errors; the other fields hold what could be read.
    pub malformed: bool,
}

impl ParsedMessage {
    /// A one-line preview: the first `max_chars` characters of the body with
    /// quoted lines (starting with `>`) left out, whitespace runs collapsed to
    /// one space and terminal-unsafe characters removed.
    pub fn snippet(&self, max_chars: usize) -> String {
        let mut out = String::new();
        let mut count = 0;
        let mut space = false;
        'lines: for line in self.body_text.lines() {
            if line.trim_start().starts_with('>') {
                continue;
            }
            for c in line.chars() {
                if c.is_whitespace() {
                    space = !out.is_empty();
                    continue;
                }
                if text::is_unsafe(c) {
                    continue;
                }
                if count == max_chars {
                    break 'lines;
                }
                if space {
                    if count + 1 == max_chars {
                        break 'lines;
                    }
                    out.push(' ');
                    count += 1;
                    space = false;
                }
                out.push(c);
                count += 1;
            }
            space = !out.is_empty();
        }
        out
    }
}

/// A parser that decodes only the header fields Homepost uses, and skips the
/// rest (Received, DKIM, ...) instead of parsing them: this runs once per
/// message on import.
pub(crate) static PARSER: LazyLock<MessageParser> = LazyLock::new(parser);

/// The parser [`parse`] uses: it decodes the MIME fields and those
/// [`ParsedMessage`] keeps, and skips the others. A caller that reads more of
/// a message adds its fields to this and parses once, with [`parse_with`].
pub fn parser() -> MessageParser {
    MessageParser::new()
        .with_mime_headers()
        .header_text(HeaderName::Subject)
        .header_date(HeaderName::Date)
        .header_address(HeaderName::From)
        .header_address(HeaderName::To)
        .header_address(HeaderName::Cc)
        .header_address(HeaderName::Bcc)
        .header_address(HeaderName::ReplyTo)
        .header_id(HeaderName::MessageId)
        .header_id(HeaderName::InReplyTo)
        .header_id(HeaderName::References)
        .default_header_ignore()
}

/// Parses a raw RFC 5322 message. Never fails and never panics: what cannot be
/// parsed is left empty and the result is marked [`ParsedMessage::malformed`].
pub fn parse(raw: &[u8]) -> ParsedMessage {
    parse_with(&PARSER, raw, |_| ()).0
}

/// [`parse`] with `parser` (one built on [`parser`] that decodes more fields),
/// also handing the parse to `also`, `None` if `raw` is not a message: one
/// parse for [`ParsedMessage`] and for what else the caller reads (the spam
/// filter's tokens). A panic in mail-parser reads as `None`, as in [`parse`];
/// one in `also` goes on.
pub fn parse_with<T>(
    parser: &MessageParser,
    raw: &[u8],
    also: impl FnOnce(Option<&Message<'_>>) -> T,
) -> (ParsedMessage, T) {
    // mail-parser is fuzzed upstream, but one panicking message must not abort
    // an import of 100,000: treat a panic as an unparseable message. (Fuzzing
    // still sees such panics, since libFuzzer aborts in its panic hook.)
    let parsed = std::panic::catch_unwind(|| {
        let message = parser.parse(raw);
        let parsed = message
            .as_ref()
            .map_or_else(|| unparseable(raw), |m| from_message(m, raw));
        (parsed, message)
    });
    match parsed {
        Ok((parsed, message)) => (parsed, also(message.as_ref())),
        Err(_) => (unparseable(raw), also(None)),
    }
}

/// The fields of a parsed `message` (`raw` its bytes).
fn from_message(message: &Message<'_>, raw: &[u8]) -> ParsedMessage {
    let Some(root) = message.parts.first() else {
        return unparseable(raw);
    };
    let subject = message.subject().map(str::to_owned);
    let (base_subject, is_reply) = subject.as_deref().map(base_subject).unwrap_or_default();
    ParsedMessage {
        message_id: message_ids(message.header(HeaderName::MessageId))
            .into_iter()
            .next(),
        in_reply_to: message_ids(message.header(HeaderName::InReplyTo)),
        references: message_ids(message.header(HeaderName::References)),
        date: header_date(message),
        received: received_date(message),
        list_id: list_id(message),
        from: addresses(message, HeaderName::From),
        to: addresses(message, HeaderName::To),
        cc: addresses(message, HeaderName::Cc),
        bcc: addresses(message, HeaderName::Bcc),
        reply_to: addresses(message, HeaderName::ReplyTo),
        subject,
        base_subject,
        is_reply,
        body_text: body_text(message),
        attachments: attachment_parts(message).map(|(info, _)| info).collect(),
        malformed: root.headers.is_empty()
            || message
                .parts
                .iter()
                .any(|part| part.is_encoding_problem && !is_header_only(part, raw.len())),
    }
}

/// The result for bytes that are not a message: malformed, with the bytes as
/// text so that a search can still find them.
pub(crate) fn unparseable(raw: &[u8]) -> ParsedMessage {
    // Four extra bytes let a character cut at the limit decode before capping.
    let head = &raw[..raw.len().min(MAX_BODY_TEXT_BYTES + 4)];
    let mut body_text = String::new();
    push_body(&mut body_text, &String::from_utf8_lossy(head));
    ParsedMessage {
        body_text,
        malformed: true,
        ..ParsedMessage::default()
    }
}

/// The Date field's time. One without a zone (obsolete RFC 822 syntax, common
/// in old archives) is read as UTC rather than dropped.
fn header_date(message: &Message<'_>) -> Option<i64> {
    if let Some(date) = message.date().filter(|d| d.is_valid()) {
        return Some(date.to_timestamp());
    }
    let written = message.header_raw(HeaderName::Date)?.trim();
    DateTime::parse_rfc822(&format!("{written} +0000"))
        .filter(DateTime::is_valid)
        .map(|d| d.to_timestamp())
}

/// The time the topmost `Received:` field stamps after its `;`.
fn received_date(message: &Message<'_>) -> Option<i64> {
    let (_, value) = message
        .headers_raw()
        .find(|(name, _)| name.eq_ignore_ascii_case("Received"))?;
    let (_, stamp) = value.rsplit_once(';')?;
    DateTime::parse_rfc822(stamp.trim())
        .filter(DateTime::is_valid)
        .map(|d| d.to_timestamp())
}

/// The id in a `List-Id:` field: `Name <id>` or a bare id (RFC 2919), at
/// most 255 characters of letters, digits and `.-_`.
fn list_id(message: &Message<'_>) -> Option<String> {
    let (_, value) = message
        .headers_raw()
        .find(|(name, _)| name.eq_ignore_ascii_case("List-Id"))?;
    let value = value.trim();
    let id = match (value.rfind('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value,
    }
    .trim()
    .to_ascii_lowercase();
    let usable = !id.is_empty()
        && id.len() <= 255
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    usable.then_some(id)
}

/// The time a message is listed and sorted by: its Date, else its newest
/// `Received:` stamp, else `file_time` (its file's modification time), else
/// `now`. A time more than a day after `now` is passed over as wrong: such a
/// date would keep the message at the top of the inbox for years.
pub fn sort_date(parsed: &ParsedMessage, file_time: Option<i64>, now: i64) -> i64 {
    let latest = now.saturating_add(86_400);
    [parsed.date, parsed.received, file_time]
        .into_iter()
        .flatten()
        .find(|&t| t <= latest)
        .unwrap_or(now)
}

/// mail-parser flags a message with headers and no body as an encoding
/// problem, but RFC 5322 makes the body optional.
fn is_header_only(part: &MessagePart<'_>, raw_len: usize) -> bool {
    part.offset_body as usize == raw_len
        && matches!(&part.body, PartType::Text(text) if text.is_empty())
}

fn message_ids(value: Option<&HeaderValue<'_>>) -> Vec<String> {
    match value {
        Some(HeaderValue::Text(id)) => vec![id.to_string()],
        Some(HeaderValue::TextList(ids)) => {
            ids.iter().map(std::string::ToString::to_string).collect()
        }
        _ => Vec::new(),
    }
}

/// All addresses in every `name` header field, groups flattened. Repeated
/// fields are obsolete syntax (RFC 5322 section 4.5) but are kept: hiding a
/// second From would help a spoofer.
fn addresses(message: &Message<'_>, name: HeaderName<'static>) -> Vec<Address> {
    message
        .header_values(name)
        .filter_map(HeaderValue::as_address)
        .flat_map(|list| list.iter())
        .map(|addr: &Addr<'_>| Address {
            name: addr.name.as_deref().map(str::to_owned),
            address: addr.address.as_deref().map(str::to_owned),
        })
        .collect()
}

/// The message's text body parts joined by newlines; HTML parts (chosen by
/// mail-parser only where an alternative has no text part) become text
/// through [`html::to_text`].
pub(crate) fn body_text(message: &Message<'_>) -> String {
    let mut out = String::new();
    for &id in &message.text_body {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let text: Cow<'_, str> = match &part.body {
            PartType::Text(text) => Cow::Borrowed(text),
            PartType::Html(markup) => Cow::Owned(html::to_text(markup)),
            _ => continue,
        };
        if !out.is_empty() && !out.ends_with('\n') && !push_body(&mut out, "\n") {
            break;
        }
        if !push_body(&mut out, &text) {
            break;
        }
    }
    out
}

/// Appends `text` to `out` with CRLF turned into LF, stopping at
/// [`MAX_BODY_TEXT_BYTES`] on a character boundary. Returns whether there is
/// room for more.
fn push_body(out: &mut String, text: &str) -> bool {
    for (i, piece) in text.split("\r\n").enumerate() {
        if i > 0 && !push_capped(out, "\n") || !push_capped(out, piece) {
            return false;
        }
    }
    out.len() < MAX_BODY_TEXT_BYTES
}

/// Appends as much of `s` as fits under [`MAX_BODY_TEXT_BYTES`]; returns
/// whether all of it fitted.
fn push_capped(out: &mut String, s: &str) -> bool {
    let room = MAX_BODY_TEXT_BYTES.saturating_sub(out.len());
    if s.len() > room {
        out.push_str(&s[..s.floor_char_boundary(room)]);
        return false;
    }
    out.push_str(s);
    true
}

/// The attachments of `message` (inline images and attached messages
/// included) with what Homepost records about each, in mail-parser's order:
/// the one walk behind [`ParsedMessage::attachments`] and
/// [`crate::attach::attachments`], so that the two always agree.
pub(crate) fn attachment_parts<'a>(
    message: &'a Message<'a>,
) -> impl Iterator<Item = (AttachmentInfo, &'a MessagePart<'a>)> {
    message
        .attachments()
        .map(|part| (attachment_info(part), part))
}

fn attachment_info(part: &MessagePart<'_>) -> AttachmentInfo {
    let declared = part
        .content_type()
        .and_then(|ct| Some((ct.ctype(), ct.subtype()?)));
    let content_type = match declared {
        Some((ctype, subtype)) => {
            let mut s = format!("{ctype}/{subtype}");
            s.make_ascii_lowercase();
            s
        }
        None => match part.body {
            PartType::Text(_) => "text/plain",
            PartType::Html(_) => "text/html",
            PartType::Message(_) => "message/rfc822",
            _ => "application/octet-stream",
        }
        .to_owned(),
    };
    AttachmentInfo {
        filename: part.attachment_name().map(str::to_owned),
        content_type,
        size: part.len() as u64,
    }
}

/// Reply prefixes in the languages mail clients localise them to.
const REPLY_PREFIXES: &[&str] = &[
    "re", "aw", "sv", "vs", "antw", "ref", "odp", "res", "rif", "ynt", "atb", "bls", "απ", "σχετ",
    "השב", "رد", "回复", "答复", "回覆",
];

/// Forward prefixes in the languages mail clients localise them to.
const FORWARD_PREFIXES: &[&str] = &[
    "fwd",
    "fw",
    "wg",
    "tr",
    "rv",
    "enc",
    "vl",
    "doorst",
    "továbbítás",
    "pd",
    "fs",
    "trs",
    "yml",
    "vb",
    "πρθ",
    "转发",
    "轉寄",
];

/// Returns the base subject of `subject` and whether it carried a reply
/// prefix. Strips leading reply/forward prefixes (with counters such as
/// `Re[2]:` or `Re(2):`, repeated and mixed) and list tags such as `[list]`,
/// then lowercases and collapses whitespace, and drops a trailing `(fwd)`
/// (RFC 5256 section 2.1 in spirit, for JWZ subject threading).
pub fn base_subject(subject: &str) -> (String, bool) {
    let mut rest = subject.trim_start();
    let mut is_reply = false;
    loop {
        if let Some(after) = strip_list_tag(rest) {
            rest = after;
        } else if let Some((after, reply)) = strip_prefix(rest) {
            is_reply |= reply;
            rest = after;
        } else {
            break;
        }
    }
    let mut base = String::with_capacity(rest.len());
    for word in rest.split_whitespace() {
        if !base.is_empty() {
            base.push(' ');
        }
        base.extend(word.chars().flat_map(char::to_lowercase));
    }
    while let Some(stripped) = base.strip_suffix("(fwd)") {
        let len = stripped.trim_end().len();
        base.truncate(len);
    }
    (base, is_reply)
}

/// `"[tag] rest"` -> `"rest"`, unless nothing would be left.
fn strip_list_tag(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('[')?;
    let close = inner.find(']')?;
    let after = inner[close + 1..].trim_start();
    (!after.is_empty() && !inner[..close].contains('[')).then_some(after)
}

/// `"Re[2]: rest"` -> `("rest", true)`, `"Fwd: rest"` -> `("rest", false)`.
fn strip_prefix(s: &str) -> Option<(&str, bool)> {
    let word_end = s
        .char_indices()
        .find(|&(_, c)| !c.is_alphabetic())
        .map_or(s.len(), |(i, _)| i);
    let word = &s[..word_end];
    if word.is_empty() {
        return None;
    }
    let reply = if is_one_of(word, REPLY_PREFIXES) {
        true
    } else if is_one_of(word, FORWARD_PREFIXES) {
        false
    } else {
        return None;
    };
    let mut rest = &s[word_end..];
    for (open, close) in [('[', ']'), ('(', ')')] {
        if let Some(counter) = rest.strip_prefix(open)
            && let Some(end) = counter.find(close)
            && counter[..end].bytes().all(|b| b.is_ascii_digit())
        {
            rest = &counter[end + 1..];
        }
    }
    if let Some(counter) = rest.strip_prefix('^') {
        rest = counter.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let rest = rest.trim_start_matches(' ');
    let rest = rest.strip_prefix(':').or_else(|| rest.strip_prefix('：'))?;
    Some((rest.trim_start(), reply))
}

fn is_one_of(word: &str, list: &[&str]) -> bool {
    list.iter()
        .any(|p| word.chars().flat_map(char::to_lowercase).eq(p.chars()))
}

#[cfg(test)]
mod tests;
