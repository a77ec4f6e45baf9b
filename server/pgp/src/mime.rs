//! Just enough raw MIME for RFC 3156: header blocks, Content-Type parameters
//! and multipart bodies, working on bytes so that a signed part is verified
//! exactly as it was sent. Decoding of bodies and words is left to
//! mail-parser.

use std::collections::BTreeMap;

/// One header field as it appears in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderField {
    /// The name as written (case kept).
    pub name: String,
    /// The whole field, name, colon, value and folded continuation lines,
    /// without the final line ending; continuation lines end in CRLF.
    pub raw: Vec<u8>,
}

impl HeaderField {
    /// Builds a field from a name and an already folded value.
    pub fn new(name: &str, value: &str) -> Self {
        HeaderField {
            name: name.to_owned(),
            raw: format!("{name}: {value}").into_bytes(),
        }
    }

    /// The value unfolded (line breaks removed) and trimmed; bytes that are
    /// not UTF-8 are replaced.
    pub fn value(&self) -> String {
        let raw = String::from_utf8_lossy(&self.raw);
        let after = raw.split_once(':').map_or("", |(_, v)| v);
        after
            .replace("\r\n", "")
            .replace('\n', "")
            .trim()
            .to_owned()
    }

    /// Whether the field has this name (ASCII case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// Converts every line ending to CRLF (RFC 3156 section 5, step 1). Existing
/// CRLF pairs are kept, a bare LF becomes CRLF.
pub(crate) fn to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// Splits a message or entity at the empty line into its header block
/// (without the empty line) and its body. Without an empty line everything
/// is header.
pub(crate) fn split_head_body(entity: &[u8]) -> (&[u8], &[u8]) {
    if entity.starts_with(b"\r\n") {
        return (&[], &entity[2..]);
    }
    if entity.starts_with(b"\n") {
        return (&[], &entity[1..]);
    }
    let mut i = 0;
    while let Some(pos) = memchr(b'\n', &entity[i..]) {
        let nl = i + pos;
        let rest = &entity[nl + 1..];
        if rest.starts_with(b"\r\n") {
            return (&entity[..nl + 1], &rest[2..]);
        }
        if rest.starts_with(b"\n") {
            return (&entity[..nl + 1], &rest[1..]);
        }
        i = nl + 1;
    }
    (entity, &[])
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// Splits a header block into fields, keeping folded lines with the field they
/// continue. Lines before the first field that are not fields are dropped.
pub(crate) fn header_fields(head: &[u8]) -> Vec<HeaderField> {
    let mut fields: Vec<HeaderField> = Vec::new();
    for line in head.split_inclusive(|&b| b == b'\n') {
        let line = line
            .strip_suffix(b"\r\n")
            .or_else(|| line.strip_suffix(b"\n"))
            .unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            if let Some(last) = fields.last_mut() {
                last.raw.extend_from_slice(b"\r\n");
                last.raw.extend_from_slice(line);
            }
            continue;
        }
        let Some(colon) = memchr(b':', line) else {
            continue;
        };
        let name = String::from_utf8_lossy(&line[..colon]).trim().to_owned();
        if name.is_empty() || name.contains(' ') {
            continue;
        }
        fields.push(HeaderField {
            name,
            raw: line.to_vec(),
        });
    }
    fields
}

/// Writes fields as a header block, each line ending in CRLF.
pub(crate) fn write_fields(fields: &[HeaderField], out: &mut Vec<u8>) {
    for f in fields {
        out.extend_from_slice(&f.raw);
        out.extend_from_slice(b"\r\n");
    }
}

/// The first field with this name.
pub(crate) fn find<'a>(fields: &'a [HeaderField], name: &str) -> Option<&'a HeaderField> {
    fields.iter().find(|f| f.is(name))
}

/// A parsed Content-Type: the lower-cased media type and its parameters
/// (names lower-cased, values unquoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContentType {
    /// `type/subtype`, lower case.
    pub mime: String,
    /// Parameters, names in lower case.
    pub params: BTreeMap<String, String>,
}

impl ContentType {
    /// Parses a Content-Type value; a missing or broken one is `text/plain`
    /// (RFC 2045 section 5.2).
    pub fn parse(value: &str) -> Self {
        let mut parts = split_params(value).into_iter();
        let mime = parts
            .next()
            .map(|m| m.trim().to_ascii_lowercase())
            .filter(|m| m.contains('/'))
            .unwrap_or_else(|| "text/plain".to_owned());
        let mut params = BTreeMap::new();
        for p in parts {
            if let Some((k, v)) = p.split_once('=') {
                let v = v.trim();
                let v = if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
                    unescape_quoted(&v[1..v.len() - 1])
                } else {
                    v.to_owned()
                };
                params.entry(k.trim().to_ascii_lowercase()).or_insert(v);
            }
        }
        ContentType { mime, params }
    }

    /// The Content-Type of a header block (text/plain when absent).
    pub fn of(fields: &[HeaderField]) -> Self {
        find(fields, "Content-Type").map_or_else(
            || ContentType::parse("text/plain"),
            |f| ContentType::parse(&f.value()),
        )
    }

    /// A parameter's value, by lower-case name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// Whether a parameter equals `value`, ASCII case-insensitively.
    pub fn param_is(&self, name: &str, value: &str) -> bool {
        self.param(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
    }
}

/// Splits on `;` outside double quotes.
fn split_params(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

fn unescape_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut escaped = false;
    for c in s.chars() {
        if escaped || c != '\\' {
            out.push(c);
            escaped = false;
        } else {
            escaped = true;
        }
    }
    out
}

/// The body parts of a multipart body (RFC 2046 section 5.1.1), each exactly
/// as between its delimiter lines: the line ending before a delimiter belongs
/// to the delimiter, not to the part. `None` when the closing delimiter is
/// missing or there is no part.
pub(crate) fn multipart_parts<'a>(body: &'a [u8], boundary: &str) -> Option<Vec<&'a [u8]>> {
    let dash = format!("--{boundary}");
    let dash = dash.as_bytes();
    let mut parts = Vec::new();
    let mut part_start: Option<usize> = None;
    let mut pos = 0;
    let mut closed = false;
    while pos < body.len() {
        let end = memchr(b'\n', &body[pos..]).map_or(body.len(), |e| pos + e + 1);
        let line = &body[pos..end];
        if let Some(rest) = line.strip_prefix(dash) {
            let rest_trim: &[u8] = trim_ascii_end(rest);
            let is_close = rest_trim.starts_with(b"--")
                && rest_trim[2..].iter().all(|b| *b == b' ' || *b == b'\t');
            let is_open = rest_trim.iter().all(|b| *b == b' ' || *b == b'\t');
            if is_close || is_open {
                if let Some(start) = part_start {
                    let mut stop = pos;
                    if stop > start && body[stop - 1] == b'\n' {
                        stop -= 1;
                        if stop > start && body[stop - 1] == b'\r' {
                            stop -= 1;
                        }
                    }
                    parts.push(&body[start..stop.max(start)]);
                }
                if is_close {
                    closed = true;
                    break;
                }
                part_start = Some(end);
            }
        }
        pos = end;
    }
    (closed && !parts.is_empty()).then_some(parts)
}

fn trim_ascii_end(s: &[u8]) -> &[u8] {
    let mut end = s.len();
    while end > 0 && matches!(s[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    &s[..end]
}

/// A fresh random boundary that cannot occur in base64 or quoted-printable
/// text by accident.
pub(crate) fn new_boundary() -> String {
    let mut bytes = [0u8; 18];
    // A weak boundary is only a formatting risk (checked against the body by
    // the callers), never a security one: fall back to a fixed value.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = *b"homepost-boundary!";
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("=_hp{hex}")
}

/// Parses a MIME entity with mail-parser, treating a panic inside it as "no
/// message" (as homepost-mail's `parse` does): one message from a stranger must
/// not take the import down. The fuzzer reached a debug assertion in its
/// multipart handling (`tests/data/fuzz-open-inline-multipart.eml`).
pub(crate) fn parse_entity(entity: &[u8]) -> Option<mail_parser::Message<'_>> {
    std::panic::catch_unwind(|| mail_parser::MessageParser::default().parse(entity))
        .ok()
        .flatten()
}

/// Whether the header names an entity's content (`Content-*`), which belongs
/// to the inner part when wrapping a message in multipart/signed or
/// multipart/encrypted.
pub(crate) fn is_content_field(f: &HeaderField) -> bool {
    // Bytes, not a str slice: a name with a multi-byte character around its
    // eighth byte (a lossy decoding of any header) must not panic.
    f.name.len() > 8 && f.name.as_bytes()[..8].eq_ignore_ascii_case(b"content-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_fields_by_name_whatever_the_bytes() {
        let field = |name: &str| HeaderField {
            name: name.into(),
            raw: Vec::new(),
        };
        for (name, content) in [
            ("Content-Type", true),
            ("content-transfer-encoding", true),
            ("CONTENT-X", true),
            ("Content-", false),
            ("Contents", false),
            ("Subject", false),
            // A multi-byte character across the eighth byte used to panic.
            ("Content\u{e9}Type", false),
            ("Conte\u{1f600}x", false),
        ] {
            assert_eq!(is_content_field(&field(name)), content, "{name}");
        }
    }

    #[test]
    fn crlf_conversion_keeps_existing_pairs() {
        assert_eq!(to_crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert_eq!(to_crlf(b"no newline"), b"no newline");
        assert_eq!(to_crlf(b"\n\n"), b"\r\n\r\n");
    }

    #[test]
    fn head_and_body_split_at_the_empty_line() {
        let (h, b) = split_head_body(b"A: 1\r\nB: 2\r\n\r\nbody\r\n");
        assert_eq!(h, b"A: 1\r\nB: 2\r\n");
        assert_eq!(b, b"body\r\n");
        let (h, b) = split_head_body(b"A: 1\n\nbody");
        assert_eq!(h, b"A: 1\n");
        assert_eq!(b, b"body");
        let (h, b) = split_head_body(b"\r\nbody");
        assert!(h.is_empty());
        assert_eq!(b, b"body");
        let (h, b) = split_head_body(b"A: 1");
        assert_eq!(h, b"A: 1");
        assert!(b.is_empty());
    }

    #[test]
    fn fields_keep_folding_and_unfold_for_values() {
        let fields = header_fields(b"Subject: one\r\n two\r\nX-Y:z\r\nnot a field\r\n");
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].raw, b"Subject: one\r\n two");
        assert_eq!(fields[0].value(), "one two");
        assert_eq!(fields[1].value(), "z");
        assert!(fields[1].is("x-y"));
    }

    #[test]
    fn content_type_parameters() {
        let ct = ContentType::parse(
            "Multipart/Signed; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\"; boundary=\"a;b\\\"c\"",
        );
        assert_eq!(ct.mime, "multipart/signed");
        assert_eq!(ct.param("micalg"), Some("pgp-sha256"));
        assert_eq!(ct.param("protocol"), Some("application/pgp-signature"));
        assert_eq!(ct.param("boundary"), Some("a;b\"c"));
        assert_eq!(ContentType::parse("").mime, "text/plain");
        assert_eq!(ContentType::parse("garbage").mime, "text/plain");
    }

    #[test]
    fn multipart_parts_exclude_the_crlf_before_the_delimiter() {
        let body =
            b"preamble\r\n--b\r\nA: 1\r\n\r\nfirst\r\n\r\n--b \r\nsecond\r\n--b--\r\nepilogue\r\n";
        let parts = multipart_parts(body, "b").unwrap();
        assert_eq!(parts, vec![&b"A: 1\r\n\r\nfirst\r\n"[..], &b"second"[..]]);
        // A delimiter-lookalike with more text is part of the content.
        let body = b"--b\r\n--bx\r\n--b--";
        assert_eq!(multipart_parts(body, "b").unwrap(), vec![&b"--bx"[..]]);
        // No closing delimiter: not a complete multipart.
        assert!(multipart_parts(b"--b\r\nx\r\n", "b").is_none());
        assert!(multipart_parts(b"", "b").is_none());
    }
}
