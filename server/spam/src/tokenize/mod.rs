//! Turning a raw RFC 5322 message into the set of tokens the classifier weighs.
//!
//! In the manner of SpamBayes' tokenizer:
//!
//! - the header fields that describe the sender and the message give tokens
//!   prefixed by the field's lowercased name (`subject:cheap`,
//!   `from:alice@example.com`, `from:example.com`, `received:mail.example.net`,
//!   `message-id:@example.com`, `x-mailer:...`);
//! - text parts give their decoded words; HTML parts are converted to text first
//!   (mail-parser's `html_to_text`), their links are read from the markup and
//!   the tag names they use give `html:<tag>`;
//! - URLs give `url:<host>` and its registrable parents (`url:example.com`),
//!   plus `url-scheme:` and `url-path:` words; addresses in text give `email:`
//!   domains;
//! - MIME structure gives `content-type:`, `charset:`,
//!   `content-transfer-encoding:`, `att-type:` and `att-ext:` tokens.
//!
//! Words are lowercased and kept at 3 to 40 characters; longer ones become a
//! summary (`skip:x 50`), long numbers keep only their shape (`num:###-####`).
//! Work is bounded whatever the input: only the first [`MAX_MESSAGE_BYTES`] are
//! parsed, at most [`MAX_TEXT_BYTES`] of body text are scanned, and at most
//! [`MAX_TOKENS`] tokens are kept.

mod body;
mod headers;
mod url;
mod words;

use std::collections::{BTreeSet, HashSet};
use std::sync::LazyLock;

use mail_parser::{HeaderName, Message, MessageParser};

/// Most bytes of a raw message that are parsed; the rest (usually the tail of
/// a large attachment) is ignored.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;
/// Most bytes of body text (plain or HTML) scanned for words and URLs, over all
/// parts of a message.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;
/// Most distinct tokens taken from one message.
pub const MAX_TOKENS: usize = 5_000;
/// Shortest word kept, in characters.
pub const MIN_WORD_CHARS: usize = 3;
/// Longest word kept as it is, in characters; longer ones are summarised.
pub const MAX_WORD_CHARS: usize = 40;
/// Longest token, in bytes: longer ones (odd header values) are cut.
const MAX_TOKEN_BYTES: usize = 160;

/// The parser [`tokens`] uses: the MIME fields and [`with_token_fields`]
/// decoded, every other field skipped.
static PARSER: LazyLock<MessageParser> =
    LazyLock::new(|| with_token_fields(MessageParser::new()).default_header_ignore());

/// `parser` decoding the MIME fields and the header fields the tokenizer reads
/// the way it reads them, and its other settings kept: a caller's own parser
/// extended with this parses a message once for itself and for [`tokens_of`].
pub fn with_token_fields(parser: MessageParser) -> MessageParser {
    let addresses = [
        HeaderName::From,
        HeaderName::Sender,
        HeaderName::ReplyTo,
        HeaderName::To,
        HeaderName::Cc,
        HeaderName::ResentFrom,
        HeaderName::ResentSender,
        HeaderName::ResentTo,
    ];
    // Kept raw, as a parser of every field keeps them.
    let raw = ["Errors-To", "X-Mailer", "User-Agent", "X-Newsreader"];
    let parser = addresses
        .into_iter()
        .fold(parser.with_mime_headers(), MessageParser::header_address);
    raw.into_iter()
        .filter_map(HeaderName::parse)
        .fold(parser, MessageParser::header_raw)
        .header_text(HeaderName::Subject)
        .header_id(HeaderName::MessageId)
        .header_id(HeaderName::ReturnPath)
        // Not read, but a malformed value can run into the next field (a Date
        // of `27 Jun 01 3:36:25 AM` took the From below it): decoded as a
        // caller's parser decodes them, so that either parse sees one set of
        // fields.
        .header_date(HeaderName::Date)
        .header_address(HeaderName::Bcc)
        .header_id(HeaderName::InReplyTo)
        .header_id(HeaderName::References)
        .header_received(HeaderName::Received)
        .header_raw(HeaderName::DkimSignature)
}

/// The distinct tokens of a raw RFC 5322 message, in sorted order. Never fails:
/// bytes that do not parse as a message are read as plain text.
pub fn tokens(raw: &[u8]) -> BTreeSet<String> {
    let raw = &raw[..raw.len().min(MAX_MESSAGE_BYTES)];
    tokens_of(raw, PARSER.parse(raw).as_ref())
}

/// The tokens of `raw` read from `message`, its parse by a parser built with
/// [`with_token_fields`] (`None`: not a message, read as text), as [`tokens`]
/// gives them, except that a message longer than [`MAX_MESSAGE_BYTES`] gives
/// the tokens of all of what was parsed.
pub fn tokens_of(raw: &[u8], message: Option<&Message<'_>>) -> BTreeSet<String> {
    let mut sink = Sink::new(MAX_TOKENS);
    match message {
        Some(message) => {
            headers::tokenize(message, &mut sink);
            body::tokenize(message, &mut sink);
        }
        None => {
            let text = String::from_utf8_lossy(&raw[..raw.len().min(MAX_TEXT_BYTES)]);
            words::tokenize_body(&text, &mut sink);
        }
    }
    sink.into_tokens()
}

/// The longest prefix of `s` no longer than `max` bytes that ends on a
/// character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Collects distinct tokens up to a limit. A hash set while collecting
/// (cheaper to insert into); sorted once at the end.
struct Sink {
    tokens: HashSet<String>,
    limit: usize,
    /// Reused by [`Sink::push_with`] so a repeated word costs no allocation.
    scratch: String,
}

impl Sink {
    fn new(limit: usize) -> Self {
        Self {
            tokens: HashSet::new(),
            limit,
            scratch: String::new(),
        }
    }

    /// Builds a token in a scratch buffer and adds a copy only if it is new.
    fn push_with(&mut self, build: impl FnOnce(&mut String)) {
        if self.is_full() {
            return;
        }
        let mut token = std::mem::take(&mut self.scratch);
        token.clear();
        build(&mut token);
        let cut = truncate(&token, MAX_TOKEN_BYTES);
        if !self.tokens.contains(cut) {
            self.tokens.insert(cut.to_owned());
        }
        self.scratch = token;
    }

    /// Adds a token, cut to [`MAX_TOKEN_BYTES`], unless the limit is reached.
    fn push(&mut self, mut token: String) {
        if self.is_full() {
            return;
        }
        if token.len() > MAX_TOKEN_BYTES {
            let end = truncate(&token, MAX_TOKEN_BYTES).len();
            token.truncate(end);
        }
        self.tokens.insert(token);
    }

    fn is_full(&self) -> bool {
        self.tokens.len() >= self.limit
    }

    fn into_tokens(self) -> BTreeSet<String> {
        let mut tokens: Vec<String> = self.tokens.into_iter().collect();
        tokens.sort_unstable();
        tokens.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn has(tokens: &BTreeSet<String>, token: &str) -> bool {
        tokens.contains(token)
    }

    #[test]
    fn header_tokens_are_prefixed_by_field() {
        let raw = b"From: \"Alice Liddell\" <Alice@Mail.Example.COM>\r\n\
To: bob@example.org, carol@example.net\r\n\
Subject: Quarterly Report ready\r\n\
X-Mailer: Microsoft Outlook Express 6.00.2600.0000\r\n\
Message-ID: <123@mx.example.com>\r\n\
\r\n\
Body words here.\r\n";
        let t = tokens(raw);
        for token in [
            "subject:quarterly",
            "subject:report",
            "subject:ready",
            "from:alice@mail.example.com",
            "from:mail.example.com",
            "from:example.com",
            "from:name:alice",
            "from:name:liddell",
            "to:bob@example.org",
            "to:example.net",
            "to:count:2",
            "x-mailer:microsoft outlook express 6.00.2600.0000",
            "x-mailer:outlook",
            "message-id:@mx.example.com",
            "body",
            "words",
            "here",
        ] {
            assert!(has(&t, token), "missing {token} in {t:?}");
        }
        assert!(!has(&t, "quarterly"), "subject words must be prefixed");
    }

    #[test]
    fn html_only_mail_is_tokenised_from_its_text() {
        let raw = b"From: x@example.com\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><body><p>Enormous <b>discount</b> on <a href=\"http://deals.shop.example.net/x\">watches</a></p>\
<img src=\"http://img.example.org/pixel.gif\"></body></html>\r\n";
        let t = tokens(raw);
        for token in [
            "enormous",
            "discount",
            "watches",
            "url:deals.shop.example.net",
            "url:example.net",
            "url:img.example.org",
            "content-type:text/html",
            "charset:utf-8",
            "html:img",
        ] {
            assert!(has(&t, token), "missing {token} in {t:?}");
        }
        assert!(!t.iter().any(|x| x.contains("<b>") || x == "body"), "{t:?}");
    }

    #[test]
    fn encoded_bodies_are_decoded() {
        let raw = b"Subject: =?utf-8?B?R3LDvMOfZQ==?=\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
U3BlY2lhbCBvZmZlciB0b2RheQ==\r\n";
        let t = tokens(raw);
        for token in [
            "subject:grüße",
            "special",
            "offer",
            "today",
            "content-transfer-encoding:base64",
        ] {
            assert!(has(&t, token), "missing {token} in {t:?}");
        }
    }

    #[test]
    fn attachments_give_type_and_extension() {
        let raw = b"From: x@example.com\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain\r\n\
\r\n\
See attached invoice\r\n\
--b\r\n\
Content-Type: application/zip; name=\"invoice.PDF.exe\"\r\n\
Content-Disposition: attachment; filename=\"invoice.PDF.exe\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
UEsDBA==\r\n\
--b--\r\n";
        let t = tokens(raw);
        for token in [
            "att-type:application/zip",
            "att-ext:exe",
            "invoice",
            "content-type:multipart/mixed",
        ] {
            assert!(has(&t, token), "missing {token} in {t:?}");
        }
    }

    #[test]
    fn received_hosts_are_tokenised() {
        let raw = b"Received: from mail.relay.example.net (mail.relay.example.net [192.0.2.7])\r\n\
\tby mx.example.org (Postfix) with ESMTP id 123\r\n\
\tfor <bob@example.org>; Mon, 1 Jan 2024 10:00:00 +0000\r\n\
Subject: hi\r\n\
\r\n\
hello\r\n";
        let t = tokens(raw);
        for token in [
            "received:mail.relay.example.net",
            "received:example.net",
            "received:ip:192.0.2",
            "received:mx.example.org",
        ] {
            assert!(has(&t, token), "missing {token} in {t:?}");
        }
    }

    #[test]
    fn private_received_addresses_give_no_tokens() {
        let raw = b"Received: from gw.example.net ([192.168.1.20]) by mx.example.org\r\n\
\twith ESMTP; Mon, 1 Jan 2024 10:00:00 +0000\r\n\
Received: from relay ([10.0.0.5]) by gw.example.net; Mon, 1 Jan 2024 09:59:59 +0000\r\n\
Received: from localhost ([127.0.0.1]) by relay; Mon, 1 Jan 2024 09:59:58 +0000\r\n\
Received: from fe80 ([fe80::1]) by relay; Mon, 1 Jan 2024 09:59:57 +0000\r\n\
Subject: hi\r\n\
\r\n\
hello\r\n";
        let t = tokens(raw);
        assert!(has(&t, "received:gw.example.net"), "{t:?}");
        let ips: Vec<&String> = t.iter().filter(|x| x.starts_with("received:ip:")).collect();
        assert!(ips.is_empty(), "{ips:?}");
    }

    #[test]
    fn output_is_deterministic() {
        let raw = b"Subject: a b c\r\n\r\nword another word http://x.example.com/\r\n";
        assert_eq!(tokens(raw), tokens(raw));
    }

    #[test]
    fn huge_bodies_are_bounded() {
        let mut raw = b"Subject: big\r\n\r\n".to_vec();
        raw.extend_from_slice("filler ".repeat(MAX_TEXT_BYTES / 6).as_bytes());
        raw.extend_from_slice(b"sentinel\r\n");
        let t = tokens(&raw);
        // Only the first MAX_TEXT_BYTES of text were read.
        assert!(has(&t, "filler") && !has(&t, "sentinel"), "{t:?}");
    }

    #[test]
    fn token_count_is_capped() {
        let mut raw = b"Subject: many\r\n\r\n".to_vec();
        for i in 0..20_000 {
            raw.extend_from_slice(format!("w{i}x ").as_bytes());
        }
        assert_eq!(tokens(&raw).len(), MAX_TOKENS);
    }

    #[test]
    fn garbage_is_read_as_text() {
        let t = tokens(b"\xff\xfe hello world");
        assert!(t.iter().all(|x| !x.is_empty()));
        let _ = tokens(b"");
        let _ = tokens(b"\r\n\r\n");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(raw in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let t = tokens(&raw);
            prop_assert!(t.len() <= MAX_TOKENS);
            prop_assert!(t.iter().all(|x| x.len() <= MAX_TOKEN_BYTES));
        }

        #[test]
        fn never_panics_on_message_like_text(
            headers in proptest::collection::vec(("[A-Za-z-]{1,12}", "[ -~\u{80}-\u{10ff}]{0,60}"), 0..8),
            body in "[ -~\r\n\u{80}-\u{3000}]{0,400}",
        ) {
            let mut raw = String::new();
            for (name, value) in headers {
                raw.push_str(&format!("{name}: {value}\r\n"));
            }
            raw.push_str("\r\n");
            raw.push_str(&body);
            let t = tokens(raw.as_bytes());
            prop_assert_eq!(&t, &tokens(raw.as_bytes()));
        }
    }
}
