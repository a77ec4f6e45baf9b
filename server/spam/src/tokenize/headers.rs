//! Tokens from a message's top-level header fields, each prefixed by the
//! field's lowercased name so `subject:free` and body `free` stay apart.

use std::net::IpAddr;

use mail_parser::{Address, HeaderValue, Host, Message, Received};

use super::{Sink, truncate, url, words};

/// Most header fields read.
const MAX_HEADERS: usize = 200;
/// Most `Received` fields read, from the top (the hops nearest to us).
const MAX_RECEIVED: usize = 5;
/// Most addresses read from one field.
const MAX_ADDRESSES: usize = 10;
/// Most bytes of one field's value tokenized as words.
const MAX_VALUE_BYTES: usize = 1024;
/// Most bytes of an `X-Mailer`-like value kept whole.
const MAX_MAILER_BYTES: usize = 60;

/// Tokenizes the top-level header fields of `message` into `sink`.
///
/// Only fields that say something about the sender and the message are read.
/// Tokenizing every field, or noting which fields are present, was tried and
/// measured worse by cross-validation (`bench/spam`): a mailing list adds a
/// dozen fields that all say "list mail" at once, and that chorus drowned out
/// the body of spam sent through lists.
pub(super) fn tokenize(message: &Message<'_>, sink: &mut Sink) {
    let mut received_seen = 0;
    for header in message.root_part().headers.iter().take(MAX_HEADERS) {
        if sink.is_full() {
            return;
        }
        let name = header.name.as_str().to_ascii_lowercase();
        let value = &header.value;
        match name.as_str() {
            "subject" => {
                if let Some(text) = value_text(value) {
                    words::tokenize_text(truncate(&text, MAX_VALUE_BYTES), "subject:", sink);
                }
            }
            "from" | "sender" | "reply-to" | "to" | "cc" | "return-path" | "resent-from"
            | "resent-sender" | "resent-to" | "errors-to" => addresses(&name, value, sink),
            "received" => {
                if received_seen < MAX_RECEIVED {
                    received(value, sink);
                }
                received_seen += 1;
            }
            "message-id" => message_id(value, sink),
            "x-mailer" | "user-agent" | "x-newsreader" => mailer(&name, value, sink),
            "dkim-signature" => dkim_signature(value, sink),
            _ => {}
        }
    }
}

/// The text of an unstructured header value.
fn value_text(value: &HeaderValue<'_>) -> Option<String> {
    match value {
        HeaderValue::Text(text) => Some(text.to_string()),
        HeaderValue::TextList(list) => Some(list.join(" ")),
        _ => None,
    }
}

/// A bucket for how many recipients a field names.
fn count_bucket(n: usize) -> &'static str {
    match n {
        0 => "0",
        1 => "1",
        2 => "2",
        3 => "3",
        4 => "4",
        5..=9 => "5-9",
        _ => "10+",
    }
}

/// `from:alice@example.com`, `from:example.com`, `from:name:alice`, and for
/// recipient fields `to:count:N`.
fn addresses(name: &str, value: &HeaderValue<'_>, sink: &mut Sink) {
    let prefix = format!("{name}:");
    match value {
        HeaderValue::Address(list) => {
            if matches!(name, "to" | "cc") {
                sink.push(format!(
                    "{prefix}count:{}",
                    count_bucket(list.iter().count())
                ));
            }
            for addr in list.iter().take(MAX_ADDRESSES) {
                address(&prefix, addr.address(), sink);
                match addr.name().filter(|n| !n.trim().is_empty()) {
                    Some(display) => {
                        let name_prefix = format!("{prefix}name:");
                        words::tokenize_text(
                            truncate(display, MAX_VALUE_BYTES),
                            &name_prefix,
                            sink,
                        );
                    }
                    None => sink.push(format!("{prefix}no-name")),
                }
            }
            if let Address::Group(groups) = list {
                sink.push(format!("{prefix}group:{}", count_bucket(groups.len())));
            }
        }
        HeaderValue::Text(text) => address(&prefix, Some(text.trim_matches(['<', '>', ' '])), sink),
        HeaderValue::TextList(list) => {
            for text in list.iter().take(MAX_ADDRESSES) {
                address(&prefix, Some(text.trim_matches(['<', '>', ' '])), sink);
            }
        }
        _ => sink.push(format!("{prefix}no-addr")),
    }
}

/// The address itself and its domain with parents.
fn address(prefix: &str, address: Option<&str>, sink: &mut Sink) {
    let Some(address) = address.map(str::trim).filter(|a| !a.is_empty()) else {
        sink.push(format!("{prefix}no-addr"));
        return;
    };
    let address = address.to_lowercase();
    match address.rsplit_once('@') {
        Some((_, domain)) if url::push_domain(sink, prefix, domain) => {
            sink.push(format!("{prefix}{address}"));
        }
        _ => sink.push(format!("{prefix}bad-addr")),
    }
}

/// Hosts and network prefixes of one `Received` hop.
fn received(value: &HeaderValue<'_>, sink: &mut Sink) {
    let Some(hop) = value.as_received() else {
        if let Some(text) = value_text(value) {
            words::tokenize_text(truncate(&text, MAX_VALUE_BYTES), "received:", sink);
        }
        return;
    };
    let Received {
        from,
        from_ip,
        from_iprev,
        by,
        helo,
        ..
    } = hop;
    for host in [from, by, helo].into_iter().flatten() {
        match host {
            Host::Name(name) => {
                url::push_domain(sink, "received:", name);
            }
            Host::IpAddr(ip) => received_ip(*ip, sink),
        }
    }
    if let Some(ip) = from_ip {
        received_ip(*ip, sink);
    }
    if let Some(name) = from_iprev {
        url::push_domain(sink, "received:", name);
    }
}

/// `received:ip:192.0`, `received:ip:192.0.2`, `received:ip:192.0.2.7`: a
/// sender's network says as much as its name.
///
/// Private, loopback and link-local addresses give nothing: they are hops
/// inside someone's own network, the same for all of its mail, so they say
/// who collected a corpus rather than who sent the message (trained on
/// CSDMC2010, `received:ip:192.168` counted 598 spam and 9 ham, and pushed
/// SpamAssassin ham towards spam; `bench/spam`).
fn received_ip(ip: IpAddr, sink: &mut Sink) {
    match ip {
        IpAddr::V4(v4) if v4.is_private() || v4.is_loopback() || v4.is_link_local() => {}
        IpAddr::V6(v6)
            if v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local() => {}
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            sink.push(format!("received:ip:{a}.{b}"));
            sink.push(format!("received:ip:{a}.{b}.{c}"));
            sink.push(format!("received:ip:{a}.{b}.{c}.{d}"));
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            sink.push(format!("received:ip:{:x}:{:x}:{:x}", s[0], s[1], s[2]));
        }
    }
}

/// `message-id:@example.com` (and parents), or `message-id:invalid`.
fn message_id(value: &HeaderValue<'_>, sink: &mut Sink) {
    let id = match value {
        HeaderValue::Text(text) => Some(text.as_ref()),
        HeaderValue::TextList(list) => list.first().map(std::convert::AsRef::as_ref),
        _ => None,
    };
    match id.and_then(|id| id.rsplit_once('@')) {
        Some((_, domain))
            if url::push_domain(sink, "message-id:@", domain.trim_end_matches('>')) => {}
        _ => sink.push("message-id:invalid".to_owned()),
    }
}

/// The whole mailer name (`x-mailer:microsoft outlook express 6.00.2600.0000`)
/// and its words.
fn mailer(name: &str, value: &HeaderValue<'_>, sink: &mut Sink) {
    let Some(text) = value_text(value) else {
        return;
    };
    let whole = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    sink.push(format!("{name}:{}", truncate(&whole, MAX_MAILER_BYTES)));
    words::tokenize_text(truncate(&text, MAX_VALUE_BYTES), &format!("{name}:"), sink);
}

/// The signing domain of a DKIM signature (`dkim:example.com`); the rest of
/// the field is base64 noise.
fn dkim_signature(value: &HeaderValue<'_>, sink: &mut Sink) {
    let Some(text) = value_text(value) else {
        return;
    };
    for tag in text.split(';') {
        if let Some(("d", domain)) = tag.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
            url::push_domain(sink, "dkim:", domain);
        }
    }
}
