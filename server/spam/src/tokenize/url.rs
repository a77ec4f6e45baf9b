//! URLs and domains. A link says more by where it points than by its words:
//! `url:www.shop.example.com` is kept together with its registrable parents
//! (`url:example.com`, `url:shop.example.com`), so a spammer's fresh subdomain
//! still meets the domain's history.

use std::net::Ipv4Addr;

use super::Sink;

/// Most URLs taken from one stretch of text.
const MAX_URLS: usize = 100;
/// Most words taken from one URL's path and query.
const MAX_PATH_WORDS: usize = 10;
/// Longest host name considered (RFC 1035's limit).
const MAX_HOST_BYTES: usize = 253;

/// True for a whitespace-delimited chunk that is (or starts) a URL.
pub(super) fn looks_like_url(chunk: &str) -> bool {
    chunk.contains("://")
        || starts_with_ignore_case(chunk.trim_start_matches(['<', '(', '"', '\'']), "www.")
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Bytes that end a URL found inside markup or text.
fn ends_url(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'"' | b'\'' | b'<' | b'>' | b'`' | b'\\' | b'^' | b'|' | b'{' | b'}'
        )
}

/// Finds URLs anywhere in `text`, e.g. in HTML `href` attributes, and
/// tokenizes them.
pub(super) fn scan(text: &str, sink: &mut Sink) {
    let bytes = text.as_bytes();
    let mut found = 0;
    let mut i = 0;
    while i < bytes.len() && found < MAX_URLS && !sink.is_full() {
        let rest = &text[i..];
        let start = starts_with_ignore_case(rest, "http://")
            || starts_with_ignore_case(rest, "https://")
            || (starts_with_ignore_case(rest, "www.")
                && (i == 0
                    || !(bytes[i - 1].is_ascii_alphanumeric()
                        || matches!(bytes[i - 1], b'.' | b'/'))));
        if start {
            // Every byte `ends_url` accepts is ASCII, so `end` is a char boundary.
            let end = rest.bytes().position(ends_url).map_or(rest.len(), |n| n);
            tokenize_url(&rest[..end], sink);
            found += 1;
            i += end.max(1);
        } else {
            i += 1;
        }
        while i < bytes.len() && !text.is_char_boundary(i) {
            i += 1;
        }
    }
}

/// Tokens of one URL: its scheme, host (with parents) and path words.
pub(super) fn tokenize_url(url: &str, sink: &mut Sink) {
    let url = url.trim_matches(|c: char| {
        matches!(
            c,
            '<' | '>' | '(' | ')' | '"' | '\'' | '.' | ',' | ';' | '!' | '?'
        )
    });
    let rest = match url.find("://") {
        Some(at) => {
            let scheme: String = url[..at]
                .chars()
                .rev()
                .take_while(char::is_ascii_alphabetic)
                .take(10)
                .collect::<Vec<char>>()
                .into_iter()
                .rev()
                .collect();
            if !scheme.is_empty() {
                sink.push(format!("url-scheme:{}", scheme.to_ascii_lowercase()));
            }
            &url[at + 3..]
        }
        None => url,
    };
    let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let host = match authority.rsplit_once('@') {
        Some((_, host)) => {
            sink.push("url:has-userinfo".to_owned());
            host
        }
        None => authority,
    };
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
            if !port.is_empty() {
                sink.push("url:has-port".to_owned());
            }
            h
        }
        _ => host,
    };
    url_host(host, sink);
    let mut words = 0;
    for piece in path.split(|c: char| !c.is_alphanumeric()) {
        if words >= MAX_PATH_WORDS {
            break;
        }
        let chars = piece.chars().count();
        if (3..=20).contains(&chars) && !piece.bytes().all(|b| b.is_ascii_digit()) {
            sink.push(format!("url-path:{}", piece.to_lowercase()));
            words += 1;
        }
    }
}

/// `url:` tokens for a host: an IP address, a domain and its parents, or a
/// mark that the host is disguised.
fn url_host(host: &str, sink: &mut Sink) {
    let host = host.trim_end_matches('.');
    if host.is_empty() {
        return;
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        sink.push("url:ip".to_owned());
        sink.push(format!("url:{ip}"));
    } else if host.starts_with('[') {
        sink.push("url:ip".to_owned());
    } else if host.contains('%') {
        sink.push("url:encoded-host".to_owned());
    } else if !push_domain(sink, "url:", host) {
        sink.push("url:bad-host".to_owned());
    }
}

/// Pushes `prefix` + a domain, and + its registrable parents: the last two and
/// three labels (`example.com`, `example.co.uk`). False if `domain` is not a
/// plausible host name.
pub(super) fn push_domain(sink: &mut Sink, prefix: &str, domain: &str) -> bool {
    let domain = domain.trim_end_matches('.').to_lowercase();
    let plausible = !domain.is_empty()
        && domain.len() <= MAX_HOST_BYTES
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-' || c == '_');
    if !plausible {
        return false;
    }
    let dots: Vec<usize> = domain.match_indices('.').map(|(i, _)| i).collect();
    // Parents with two and three labels, when shorter than the whole name.
    for labels in [2, 3] {
        if dots.len() >= labels {
            sink.push(format!(
                "{prefix}{}",
                &domain[dots[dots.len() - labels] + 1..]
            ));
        }
    }
    sink.push(format!("{prefix}{domain}"));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(text: &str) -> Vec<String> {
        let mut sink = Sink::new(1000);
        scan(text, &mut sink);
        sink.into_tokens().into_iter().collect()
    }

    #[test]
    fn url_domain_and_parents() {
        assert_eq!(
            scanned("see <a href=\"HTTP://www.Shop.Example.com:8080/buy/now?id=12\">"),
            [
                "url-path:buy",
                "url-path:now",
                "url-scheme:http",
                "url:example.com",
                "url:has-port",
                "url:shop.example.com",
                "url:www.shop.example.com",
            ]
        );
    }

    #[test]
    fn bare_www_and_ip_hosts() {
        assert_eq!(
            scanned("go to www.example.org."),
            ["url:example.org", "url:www.example.org"]
        );
        assert_eq!(
            scanned("http://user@10.0.0.1/x"),
            [
                "url-scheme:http",
                "url:10.0.0.1",
                "url:has-userinfo",
                "url:ip"
            ]
        );
    }

    #[test]
    fn disguised_hosts_are_marked() {
        assert_eq!(
            scanned("http://%77%77%77.example.com/"),
            ["url-scheme:http", "url:encoded-host"]
        );
    }

    #[test]
    fn scan_survives_multibyte_text() {
        assert_eq!(
            scanned("é http://é.example/ ü"),
            ["url-scheme:http", "url:é.example"]
        );
    }
}
