//! Thunderbird's clientConfig format (config-v1.1.xml): a pure parser from
//! bytes to servers, placeholders filled in for one address.
//!
//! The parser takes what it understands and skips the rest: unknown
//! elements, server types other than IMAP, POP3 and SMTP, and server entries
//! without a usable host or port (each skipped entry is named in
//! [`ClientConfig::skipped`]). Only a document that is not well-formed XML,
//! or is not a clientConfig at all, is an error. It never panics, whatever
//! the input (a property test holds it to that). quick-xml expands no
//! entities but XML's five and character references, so a DOCTYPE cannot
//! make it fetch or grow anything.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use crate::address::{EmailAddress, normalize_host};
use crate::config::{Authentication, Protocol, Security, Server, Username};

/// Bounds against hostile files (the body itself is bounded by the fetch).
const MAX_DEPTH: usize = 32;
const MAX_TEXT: usize = 4096;
const MAX_SERVERS: usize = 32;
const MAX_DOMAINS: usize = 256;

/// What a clientConfig file says for one address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientConfig {
    /// The provider's `id` attribute (usually its main domain).
    pub provider_id: Option<String>,
    /// The provider's `displayName`.
    pub display_name: Option<String>,
    /// The domains the file says it covers (`<domain>`), lower case.
    pub domains: Vec<String>,
    /// IMAP and POP3 servers, in the file's order.
    pub incoming: Vec<Server>,
    /// SMTP servers, in the file's order.
    pub outgoing: Vec<Server>,
    /// Server entries left out, and why (for the discovery log).
    pub skipped: Vec<String>,
}

/// Why a file could not be read as a clientConfig. The texts never quote the
/// file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The bytes are not UTF-8.
    #[error("the file is not UTF-8 text")]
    NotUtf8,
    /// The XML is not well-formed (or nests deeper than any clientConfig).
    #[error("the file is not well-formed XML (near byte {position})")]
    Malformed {
        /// Where the parser gave up.
        position: u64,
    },
    /// Well-formed, but not a clientConfig with an emailProvider.
    #[error("the file is XML but not a Thunderbird clientConfig")]
    NotClientConfig,
}

/// One `<incomingServer>` or `<outgoingServer>` being read.
#[derive(Default)]
struct Entry {
    outgoing: bool,
    kind: String,
    hostname: Option<String>,
    port: Option<String>,
    socket_type: Option<String>,
    username: Option<String>,
    authentication: Vec<String>,
}

/// Parses `xml`, filling `%EMAILADDRESS%`, `%EMAILLOCALPART%` and
/// `%EMAILDOMAIN%` from `address`.
pub fn parse(xml: &[u8], address: &EmailAddress) -> Result<ClientConfig, ParseError> {
    let text = std::str::from_utf8(xml).map_err(|_| ParseError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Text is trimmed per field, not per event: an entity splits the text
    // into several events, and trimming each would eat the spaces around it.
    let mut reader = quick_xml::Reader::from_str(text);
    let malformed = |reader: &quick_xml::Reader<&[u8]>| ParseError::Malformed {
        position: reader.error_position(),
    };

    let mut out = ClientConfig::default();
    let mut stack: Vec<String> = Vec::new();
    let mut content = String::new();
    let mut entry: Option<Entry> = None;
    let mut providers = 0usize;
    let mut saw_root = false;
    loop {
        let event = reader.read_event().map_err(|_| malformed(&reader))?;
        let (start, end) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            Event::End(_) => (None, true),
            Event::Text(t) => {
                push_text(&mut content, &t.xml10_content());
                continue;
            }
            Event::CData(t) => {
                push_text(&mut content, &t.xml10_content());
                continue;
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        match quick_xml::escape::resolve_predefined_entity(&r.xml10_content()) {
                            Some(s) => s.to_owned(),
                            None => return Err(malformed(&reader)),
                        }
                    }
                    Err(_) => return Err(malformed(&reader)),
                };
                push_text(&mut content, &resolved);
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        if let Some(e) = start {
            if stack.len() >= MAX_DEPTH {
                return Err(malformed(&reader));
            }
            let name = local_name(e);
            if stack.is_empty() {
                if saw_root || name != "clientConfig" {
                    return Err(ParseError::NotClientConfig);
                }
                saw_root = true;
            }
            if stack.len() == 1 && name == "emailProvider" {
                providers += 1;
                if providers == 1 {
                    out.provider_id = attribute(e, "id");
                }
            }
            if providers == 1
                && stack.len() == 2
                && stack[1] == "emailProvider"
                && (name == "incomingServer" || name == "outgoingServer")
            {
                entry = Some(Entry {
                    outgoing: name == "outgoingServer",
                    kind: attribute(e, "type").unwrap_or_default(),
                    ..Entry::default()
                });
            }
            stack.push(name);
            content.clear();
        }
        if end {
            let Some(name) = stack.pop() else {
                return Err(malformed(&reader));
            };
            let value = std::mem::take(&mut content).trim().to_owned();
            if providers != 1 || stack.get(1).is_some_and(|n| n != "emailProvider") {
                continue;
            }
            match (stack.len(), name.as_str()) {
                (2, "domain") if out.domains.len() < MAX_DOMAINS => {
                    if let Some(domain) = normalize_host(&value) {
                        out.domains.push(domain);
                    }
                }
                (2, "displayName") if out.display_name.is_none() && !value.is_empty() => {
                    out.display_name = Some(value);
                }
                (2, "incomingServer" | "outgoingServer") => {
                    if let Some(e) = entry.take() {
                        finish(e, address, &mut out);
                    }
                }
                (3, field) => {
                    if let Some(e) = entry.as_mut() {
                        match field {
                            "hostname" => e.hostname = Some(value),
                            "port" => e.port = Some(value),
                            "socketType" => e.socket_type = Some(value),
                            "username" => e.username = Some(value),
                            "authentication" if e.authentication.len() < 16 => {
                                e.authentication.push(value);
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if !stack.is_empty() {
        return Err(malformed(&reader));
    }
    if providers == 0 {
        return Err(ParseError::NotClientConfig);
    }
    Ok(out)
}

/// Appends text, bounded: no field of a clientConfig is long.
fn push_text(content: &mut String, text: &str) {
    let room = MAX_TEXT.saturating_sub(content.len());
    if text.len() <= room {
        content.push_str(text);
    } else {
        let mut cut = room;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        content.push_str(&text[..cut]);
    }
}

fn local_name(e: &BytesStart<'_>) -> String {
    e.local_name().as_ref().to_owned()
}

fn attribute(e: &BytesStart<'_>, name: &str) -> Option<String> {
    let attr = e.try_get_attribute(name).ok()??;
    let value = attr.normalized_value(XmlVersion::Implicit1_0).ok()?;
    Some(value.trim().chars().take(MAX_TEXT).collect())
}

/// Fills the placeholders Thunderbird defines for these fields, in one pass:
/// text that came from the address is never read again as a placeholder.
fn fill(template: &str, address: &EmailAddress) -> String {
    let whole = address.to_string();
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let (value, len) = if tail.starts_with("%EMAILADDRESS%") {
            (whole.as_str(), "%EMAILADDRESS%".len())
        } else if tail.starts_with("%EMAILLOCALPART%") {
            (address.local_part(), "%EMAILLOCALPART%".len())
        } else if tail.starts_with("%EMAILDOMAIN%") {
            (address.domain(), "%EMAILDOMAIN%".len())
        } else {
            ("%", 1)
        };
        out.push_str(value);
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// Turns a finished entry into a server, or notes why it was skipped.
fn finish(e: Entry, address: &EmailAddress, out: &mut ClientConfig) {
    let side = if e.outgoing { "outgoing" } else { "incoming" };
    let mut skip = |why: String| {
        if out.skipped.len() < MAX_SERVERS {
            out.skipped.push(why);
        }
    };
    let protocol = match (e.outgoing, e.kind.to_ascii_lowercase().as_str()) {
        (false, "imap") => Protocol::Imap,
        (false, "pop3") => Protocol::Pop3,
        (true, "smtp") => Protocol::Smtp,
        (_, kind) => {
            let kind: String = kind
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(16)
                .collect();
            skip(format!(
                "an {side} server of type \"{kind}\", which Homepost does not speak"
            ));
            return;
        }
    };
    let label = protocol.as_str();
    let Some(host) = e
        .hostname
        .as_deref()
        .map(|h| fill(h, address))
        .and_then(|h| normalize_host(&h))
    else {
        skip(format!("an {label} server without a valid host name"));
        return;
    };
    let security = match e
        .socket_type
        .as_deref()
        .map(|s| s.trim().to_ascii_uppercase())
        .as_deref()
    {
        Some("SSL" | "TLS") => Security::Tls,
        Some("STARTTLS") => Security::StartTls,
        Some("PLAIN") | None => Security::Plain,
        Some(_) => {
            skip(format!("the {label} server {host}: unknown socketType"));
            return;
        }
    };
    let port = match e.port.as_deref().map(str::trim) {
        Some(p) => match p.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => {
                skip(format!(
                    "the {label} server {host}: the port is not a number from 1 to 65535"
                ));
                return;
            }
        },
        None => default_port(protocol, security),
    };
    let username = match e.username.as_deref().map(str::trim) {
        None | Some("" | "%EMAILADDRESS%") => Username::EmailAddress,
        Some("%EMAILLOCALPART%") => Username::LocalPart,
        Some(other) => {
            let filled = fill(other, address);
            if filled == address.to_string() {
                Username::EmailAddress
            } else if filled == address.local_part() {
                Username::LocalPart
            } else {
                Username::Other(filled)
            }
        }
    };
    let server = Server {
        protocol,
        host,
        port,
        security,
        username,
        authentication: e
            .authentication
            .iter()
            .map(|a| Authentication::from_config(a))
            .collect(),
    };
    let list = if e.outgoing {
        &mut out.outgoing
    } else {
        &mut out.incoming
    };
    if list.len() < MAX_SERVERS {
        list.push(server);
    }
}

/// The usual port when a file leaves it out.
fn default_port(protocol: Protocol, security: Security) -> u16 {
    match (protocol, security) {
        (Protocol::Imap, Security::Tls) => 993,
        (Protocol::Imap, _) => 143,
        (Protocol::Pop3, Security::Tls) => 995,
        (Protocol::Pop3, _) => 110,
        (Protocol::Smtp, Security::Tls) => 465,
        (Protocol::Smtp, _) => 587,
    }
}

#[cfg(test)]
#[path = "clientconfig_tests.rs"]
mod tests;
