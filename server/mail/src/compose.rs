//! Writing mail: recipients as people type them, replies and forwards prefilled,
//! and the finished message built with mail-builder.

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address as BuilderAddress;
use mail_builder::headers::message_id::MessageId;
use mail_builder::mime::{BodyPart, MimePart};

use crate::ParsedMessage;

/// Something in a draft that cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    /// A recipient that is not an address.
    #[error("{0:?} is not an e-mail address")]
    BadAddress(String),
    /// Nobody to send to.
    #[error("the message has no recipient")]
    NoRecipient,
    /// The message could not be written.
    #[error("the message could not be built: {0}")]
    Build(String),
}

/// A recipient: display name and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Display name.
    pub name: Option<String>,
    /// Address.
    pub address: String,
}

impl std::fmt::Display for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(n) if !n.is_empty() => {
                if n.chars().any(|c| "()<>[]:;@\\,.\"".contains(c)) {
                    write!(f, "\"{}\" <{}>", n.replace(['\\', '"'], ""), self.address)
                } else {
                    write!(f, "{n} <{}>", self.address)
                }
            }
            _ => f.write_str(&self.address),
        }
    }
}

/// Whether `s` looks like a deliverable address: `local@domain`, no spaces or
/// control characters, a domain with a dot (or `localhost`), at most 254 bytes.
pub fn is_address(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.is_empty()
        && (domain.contains('.') || domain.eq_ignore_ascii_case("localhost"))
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c))
}

/// Parses recipients as typed: each entry may hold several, separated by commas
/// or semicolons, each `address`, `<address>` or `Name <address>`.
pub fn parse_recipients(entries: &[String]) -> Result<Vec<Mailbox>, ComposeError> {
    let mut out = Vec::new();
    for entry in entries {
        for part in split_outside_quotes(entry) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let mailbox = match (part.rfind('<'), part.rfind('>')) {
                (Some(open), Some(close))
                    if open < close && part[close + 1..].trim().is_empty() =>
                {
                    let name = part[..open].trim().trim_matches('"').trim();
                    Mailbox {
                        name: (!name.is_empty()).then(|| name.to_owned()),
                        address: part[open + 1..close].trim().to_owned(),
                    }
                }
                _ => Mailbox {
                    name: None,
                    address: part.to_owned(),
                },
            };
            if !is_address(&mailbox.address) {
                return Err(ComposeError::BadAddress(part.to_owned()));
            }
            out.push(mailbox);
        }
    }
    Ok(out)
}

fn split_outside_quotes(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' | ';' if !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// A file to attach.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Bytes.
    pub data: Vec<u8>,
}

/// A message to build.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// Sender.
    pub from: Mailbox,
    /// Recipients.
    pub to: &'a [Mailbox],
    /// Copy recipients.
    pub cc: &'a [Mailbox],
    /// Blind copy recipients: envelope only, never in the headers.
    pub bcc: &'a [Mailbox],
    /// Subject.
    pub subject: &'a str,
    /// Plain-text body.
    pub body: &'a str,
    /// Message-ID of the message answered.
    pub in_reply_to: Option<&'a str>,
    /// The answered message's references followed by its Message-ID.
    pub references: &'a [String],
    /// Files.
    pub attachments: &'a [Attachment],
    /// A whole message forwarded as an attachment.
    pub forwarded: Option<&'a [u8]>,
    /// Unix seconds.
    pub date: i64,
}

/// A built message and its envelope.
#[derive(Debug, Clone)]
pub struct Built {
    /// The message.
    pub raw: Vec<u8>,
    /// Envelope sender.
    pub mail_from: String,
    /// Envelope recipients (To, Cc and Bcc, each once).
    pub rcpt_to: Vec<String>,
    /// Its Message-ID, without brackets.
    pub message_id: String,
}

fn builder_list(list: &[Mailbox]) -> BuilderAddress<'static> {
    BuilderAddress::new_list(
        list.iter()
            .map(|m| BuilderAddress::new_address(m.name.clone(), m.address.clone()))
            .collect(),
    )
}

/// Builds the message: text/plain body, attachments, threading headers. Bcc
/// recipients are in the envelope only.
pub fn build(o: &Outgoing<'_>) -> Result<Built, ComposeError> {
    if o.to.is_empty() && o.cc.is_empty() && o.bcc.is_empty() {
        return Err(ComposeError::NoRecipient);
    }
    let domain = o
        .from
        .address
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    let message_id = format!("{}@{}", random_token(), domain);
    let mut b = MessageBuilder::new()
        .from(BuilderAddress::new_address(
            o.from.name.clone(),
            o.from.address.clone(),
        ))
        .subject(o.subject.to_owned())
        .date(o.date)
        .message_id(message_id.clone())
        .header(
            "User-Agent",
            mail_builder::headers::raw::Raw::new("Homepost"),
        );
    if !o.to.is_empty() {
        b = b.to(builder_list(o.to));
    }
    if !o.cc.is_empty() {
        b = b.cc(builder_list(o.cc));
    }
    if let Some(irt) = o.in_reply_to {
        b = b.in_reply_to(irt.to_owned());
    }
    if !o.references.is_empty() {
        b = b.references(MessageId::new_list(
            o.references
                .iter()
                .map(|r| std::borrow::Cow::Owned(r.clone())),
        ));
    }
    // Trailing whitespace (the "-- " signature separator) is kept: mail-builder
    // then encodes the part quoted-printable, which has none on the wire, as a
    // signed part must (RFC 3156 section 3).
    let text = MimePart::new("text/plain; charset=utf-8", o.body.replace("\r\n", "\n"));
    if o.attachments.is_empty() && o.forwarded.is_none() {
        b = b.body(text);
    } else {
        let mut parts = vec![text];
        for a in o.attachments {
            parts.push(
                MimePart::new(
                    a.content_type.clone(),
                    BodyPart::Binary(a.data.clone().into()),
                )
                .attachment(a.name.clone()),
            );
        }
        if let Some(fwd) = o.forwarded {
            parts.push(
                MimePart::new(
                    "message/rfc822",
                    BodyPart::Text(String::from_utf8_lossy(fwd).into_owned().into()),
                )
                .attachment("forwarded.eml")
                .transfer_encoding("8bit"),
            );
        }
        b = b.body(MimePart::new("multipart/mixed", parts));
    }
    let raw = b
        .write_to_vec()
        .map_err(|e| ComposeError::Build(e.to_string()))?;
    let mut rcpt_to: Vec<String> = Vec::new();
    for m in o.to.iter().chain(o.cc).chain(o.bcc) {
        if !rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(&m.address)) {
            rcpt_to.push(m.address.clone());
        }
    }
    Ok(Built {
        raw,
        mail_from: o.from.address.clone(),
        rcpt_to,
        message_id,
    })
}

fn random_token() -> String {
    let mut b = [0u8; 16];
    // getrandom failing is no reason to refuse to write mail: fall back on time.
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b = t.to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// How to answer a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    /// To the sender (Reply-To if set).
    Reply,
    /// To the sender and every other recipient.
    All,
    /// A forward with the text quoted inline.
    ForwardInline,
    /// A forward with the message attached.
    ForwardAttached,
}

/// The fields a reply or forward starts with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prefill {
    /// Recipients.
    pub to: Vec<String>,
    /// Copy recipients.
    pub cc: Vec<String>,
    /// Subject with `Re:` or `Fwd:`.
    pub subject: String,
    /// Quoted text.
    pub body: String,
}

fn display(a: &crate::Address) -> Option<String> {
    let address = a.address.clone()?;
    Some(
        Mailbox {
            name: a.name.clone(),
            address,
        }
        .to_string(),
    )
}

fn format_date(unix: Option<i64>) -> String {
    unix.map_or_else(|| "an unknown date".into(), time_fmt)
}

fn time_fmt(t: i64) -> String {
    // YYYY-MM-DD HH:MM UTC without a date crate: civil-from-days.
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// Most recipients of a draft (To, Cc and Bcc together).
pub const MAX_RECIPIENTS: usize = 500;
/// Longest subject of a draft, in bytes.
pub const MAX_SUBJECT_BYTES: usize = 1000;
/// Longest body of a draft, in bytes.
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// What ends a quoted text cut to fit [`MAX_BODY_BYTES`].
const CUT_NOTE: &str = "\n[… the rest of the quoted message is left out: it is too long]\n";

impl Prefill {
    /// Within the limits of what a person could type into a draft, so that a
    /// prefilled draft can always be saved again: control characters (from
    /// encoded words) become spaces in the subject (and, but line breaks and tabs,
    /// in the body), the subject is cut to
    /// [`MAX_SUBJECT_BYTES`]; a body over [`MAX_BODY_BYTES`] is cut with a note;
    /// recipients beyond [`MAX_RECIPIENTS`] are dropped.
    fn bounded(mut self) -> Prefill {
        self.subject = self
            .subject
            .chars()
            .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
            .collect();
        truncate_at_char(&mut self.subject, MAX_SUBJECT_BYTES);
        // Control characters (but line breaks and tabs) would also grow sixfold as
        // JSON escapes in every autosave.
        if self
            .body
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        {
            self.body = self
                .body
                .chars()
                .map(|c| {
                    if c.is_control() && !matches!(c, '\n' | '\t' | '\r') {
                        ' '
                    } else {
                        c
                    }
                })
                .collect();
        }
        if self.body.len() > MAX_BODY_BYTES {
            truncate_at_char(&mut self.body, MAX_BODY_BYTES - CUT_NOTE.len());
            self.body.push_str(CUT_NOTE);
        }
        self.to.truncate(MAX_RECIPIENTS);
        self.cc.truncate(MAX_RECIPIENTS - self.to.len());
        self
    }
}

/// Cuts `s` to at most `max` bytes, on a character boundary.
fn truncate_at_char(s: &mut String, max: usize) {
    if s.len() > max {
        let end = (0..=max)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s.truncate(end);
    }
}

/// Prefills a reply or forward of `original` (whose readable text is `text`).
/// `own` are the user's addresses, left out of reply-all. The result fits the
/// limits of a draft (see [`MAX_BODY_BYTES`] and the others).
pub fn prefill(original: &ParsedMessage, text: &str, mode: ReplyMode, own: &[String]) -> Prefill {
    prefill_unbounded(original, text, mode, own).bounded()
}

fn prefill_unbounded(
    original: &ParsedMessage,
    text: &str,
    mode: ReplyMode,
    own: &[String],
) -> Prefill {
    let subject = original.subject.clone().unwrap_or_default();
    let is_own = |a: &crate::Address| {
        a.address
            .as_deref()
            .is_some_and(|x| own.iter().any(|o| o.eq_ignore_ascii_case(x)))
    };
    let sender = original
        .from
        .first()
        .and_then(|a| a.name.clone().or_else(|| a.address.clone()))
        .unwrap_or_else(|| "someone".into());
    match mode {
        ReplyMode::Reply | ReplyMode::All => {
            let reply_to = if original.reply_to.is_empty() {
                &original.from
            } else {
                &original.reply_to
            };
            let mut to: Vec<String> = reply_to.iter().filter_map(display).collect();
            let mut cc = Vec::new();
            if mode == ReplyMode::All {
                let mut seen: Vec<String> = reply_to
                    .iter()
                    .filter_map(|a| a.address.clone())
                    .map(|a| a.to_lowercase())
                    .collect();
                for (list, target) in [(&original.to, &mut to), (&original.cc, &mut cc)] {
                    for a in list {
                        let Some(addr) = a.address.as_deref() else {
                            continue;
                        };
                        if is_own(a) || seen.contains(&addr.to_lowercase()) {
                            continue;
                        }
                        seen.push(addr.to_lowercase());
                        if let Some(d) = display(a) {
                            target.push(d);
                        }
                    }
                }
            }
            // Answering one's own message goes to its recipients.
            if to.is_empty() || original.from.iter().all(is_own) && mode == ReplyMode::Reply {
                let others: Vec<String> = original.to.iter().filter_map(display).collect();
                if !others.is_empty() {
                    to = others;
                }
            }
            let quoted: String = text
                .lines()
                .map(|l| {
                    if l.is_empty() {
                        ">".to_owned()
                    } else {
                        format!("> {l}")
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            Prefill {
                to,
                cc,
                subject: prefixed("Re: ", &subject),
                body: format!(
                    "\n\nOn {}, {sender} wrote:\n{quoted}\n",
                    format_date(original.date)
                ),
            }
        }
        ReplyMode::ForwardInline | ReplyMode::ForwardAttached => {
            let list =
                |l: &[crate::Address]| l.iter().filter_map(display).collect::<Vec<_>>().join(", ");
            let body = if mode == ReplyMode::ForwardInline {
                format!(
                    "\n\n---------- Forwarded message ----------\nFrom: {}\nDate: {}\nSubject: {}\nTo: {}\n{}\n{text}\n",
                    list(&original.from),
                    format_date(original.date),
                    subject,
                    list(&original.to),
                    if original.cc.is_empty() {
                        String::new()
                    } else {
                        format!("Cc: {}\n", list(&original.cc))
                    },
                )
            } else {
                String::new()
            };
            Prefill {
                to: Vec::new(),
                cc: Vec::new(),
                subject: prefixed("Fwd: ", &subject),
                body,
            }
        }
    }
}

fn prefixed(prefix: &str, subject: &str) -> String {
    let trimmed = subject.trim_start();
    let lower = trimmed.to_ascii_lowercase();
    let already = match prefix {
        "Re: " => lower.starts_with("re:"),
        _ => lower.starts_with("fwd:") || lower.starts_with("fw:"),
    };
    if already {
        trimmed.to_owned()
    } else {
        format!("{prefix}{trimmed}")
    }
}

#[cfg(test)]
mod tests;
