//! The PageKite handshake, pure over bytes: the `CONNECT PageKite:1` request that
//! asks a frontend to take a kite, the signature over its challenge, and the
//! frontend's answer. The socket side is in `tunnel.rs`.
//!
//! As pagekite 1.5.2 does it (`proto/proto.py`, `proto/conns.py`, `pk.py`):
//! the first request carries an empty server token; the frontend answers
//! `X-PageKite-SignThis: proto:kite:salt:token` and closes (this connector does
//! not offer `AddKites`, which would keep the connection open). The second
//! request, on a new connection with the same salt, carries that token and
//! `sig = r + sha1hex(secret + payload + r)[0..28]` where `r` is 8 random hex
//! digits and `payload = proto:kite:salt:token`; the answer is `X-PageKite-OK`,
//! `X-PageKite-Invalid` (with `X-PageKite-Invalid-Why: proto:kite:salt;why`)
//! or `X-PageKite-Duplicate`, and after `OK` the tunnel's chunks follow the
//! blank line.

use std::fmt;

use sha1::{Digest, Sha1};

use crate::secret::KiteSecret;

/// The only protocol this connector registers: TLS passes through unopened and
/// the frontend routes it by SNI.
pub(crate) const PROTO: &str = "https";

/// What the connector calls itself in `X-PageKite-Version`.
const VERSION: &str = concat!("homepost-relay/", env!("CARGO_PKG_VERSION"));

/// The longest answer head accepted from a frontend.
pub(crate) const MAX_HEAD: usize = 16 * 1024;

/// Why a frontend refused to take the kite, as it said in
/// `X-PageKite-Invalid-Why` or `X-PageKite-Duplicate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The signature did not match: the secret set on the box is not the
    /// relay's secret for this kite (`signature`).
    WrongSecret,
    /// The relay has no secret for this kite name (`unauthorized`).
    UnknownKite,
    /// The relay's account for this kite has run out (`quota`).
    NoQuota,
    /// The relay does not offer `https` kites (`proto`).
    ProtocolNotOffered,
    /// The relay does not offer the port asked for (`port`).
    PortNotOffered,
    /// Another connector already holds this kite at the relay.
    Duplicate,
    /// A reason this connector does not know, as the relay gave it.
    Other(String),
}

impl Refusal {
    fn from_why(why: &str) -> Self {
        match why {
            "signature" => Self::WrongSecret,
            "unauthorized" => Self::UnknownKite,
            "quota" => Self::NoQuota,
            "proto" => Self::ProtocolNotOffered,
            "port" => Self::PortNotOffered,
            other => Self::Other(printable(other)),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongSecret => f.write_str(
                "the relay rejected this box's kite secret: the secret set here is not the one \
                 the relay has for this kite name. Copy the kite's secret from the relay (your \
                 PageKite account, or the relay's --domain setting) and set it again",
            ),
            Self::UnknownKite => f.write_str(
                "the relay does not know this kite name: check the name, or add the kite at \
                 the relay first",
            ),
            Self::NoQuota => f.write_str(
                "the relay's account for this kite has no quota left: renew it at the relay",
            ),
            Self::ProtocolNotOffered => f.write_str(
                "the relay does not offer HTTPS kites: choose a relay that does, or enable \
                 https on it (--protos)",
            ),
            Self::PortNotOffered => f.write_str("the relay does not offer the port asked for"),
            Self::Duplicate => f.write_str(
                "another connection already holds this kite at the relay (an earlier one not \
                 yet timed out, or a second box with the same kite)",
            ),
            Self::Other(why) => write!(f, "the relay refused the kite ({why})"),
        }
    }
}

/// The frontend's answer to a `CONNECT PageKite:1` request, for this kite.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Sign this token and ask again on a new connection.
    SignThis { token: String },
    /// The kite is registered; the tunnel's chunks follow.
    Registered { session_id: Option<String> },
    /// The frontend will not take the kite.
    Refused(Refusal),
}

/// Why an answer could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// The answer is not an HTTP response head.
    #[error("its answer is not a PageKite response (first line: {0:?})")]
    NotHttp(String),
    /// A status other than 200.
    #[error("it answered {0:?} instead of accepting the tunnel")]
    Status(String),
    /// A header line without a colon, or one that is not text.
    #[error("its answer has a malformed header line")]
    BadHeader,
    /// No header about this kite.
    #[error("its answer says nothing about this kite")]
    NoVerdict,
    /// A challenge token that cannot be signed.
    #[error("its challenge is malformed")]
    BadChallenge,
}

/// The `CONNECT PageKite:1` request for one kite. `token` is empty on the first
/// try; `salt` must be the same on both tries (the frontend's token signs it).
/// `nonce` is 4 random bytes for the signature; `replace` is the session id of
/// this connector's previous tunnel, so the frontend drops it at once instead of
/// answering `Duplicate` while it times out.
pub(crate) fn request(
    kite: &str,
    salt: &str,
    token: &str,
    secret: &KiteSecret,
    nonce: [u8; 4],
    replace: Option<&str>,
) -> Vec<u8> {
    let payload = format!("{PROTO}:{kite}:{salt}:{token}");
    let signature = sign(secret, &payload, nonce);
    let mut out = String::with_capacity(256);
    out.push_str("CONNECT PageKite:1 HTTP/1.0\r\n");
    out.push_str(&format!("X-PageKite-Version: {VERSION}\r\n"));
    if let Some(session) = replace {
        out.push_str(&format!("X-PageKite-Replace: {session}\r\n"));
    }
    out.push_str(&format!("X-PageKite: {payload}:{signature}\r\n\r\n"));
    out.into_bytes()
}

/// pagekite's `signToken`: 8 hex digits of `nonce`, then the first 28 hex
/// digits of SHA-1 over the secret, the payload and those 8 digits.
fn sign(secret: &KiteSecret, payload: &str, nonce: [u8; 4]) -> String {
    let prefix = hex::encode(nonce);
    let mut hasher = Sha1::new();
    hasher.update(secret.expose());
    hasher.update(payload.as_bytes());
    hasher.update(prefix.as_bytes());
    let digest = hex::encode(hasher.finalize());
    format!("{prefix}{}", &digest[..28])
}

/// The position just past the blank line ending an answer head, if `buf` holds
/// one. pagekite accepts a bare LF too.
pub(crate) fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Reads a frontend's answer head (without the blank line after it, or with it)
/// for `kite`.
pub(crate) fn parse_answer(head: &[u8], kite: &str) -> Result<Answer, AnswerError> {
    let text = std::str::from_utf8(head).map_err(|_| AnswerError::BadHeader)?;
    let mut lines = text.lines();
    let status = lines.next().unwrap_or_default();
    let mut parts = status.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !matches!(
        version.to_ascii_uppercase().as_str(),
        "HTTP/1.0" | "HTTP/1.1"
    ) {
        return Err(AnswerError::NotHttp(printable(status)));
    }
    if parts.next() != Some("200") {
        return Err(AnswerError::Status(printable(status)));
    }

    let ours = |value: &str| {
        let mut fields = value.split(':');
        let proto = fields.next().unwrap_or_default();
        let domain = fields.next().unwrap_or_default();
        proto.eq_ignore_ascii_case(PROTO) && domain.eq_ignore_ascii_case(kite)
    };
    let mut verdict = None;
    let mut why = None;
    let mut token = None;
    let mut session_id = None;
    for line in lines {
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').ok_or(AnswerError::BadHeader)?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "x-pagekite-signthis" if ours(value) => {
                let t = value
                    .splitn(4, ':')
                    .nth(3)
                    .ok_or(AnswerError::BadChallenge)?;
                let signable = !t.is_empty()
                    && t.len() <= 128
                    && t.bytes().all(|b| b.is_ascii_graphic() && b != b':');
                if !signable {
                    return Err(AnswerError::BadChallenge);
                }
                token = Some(t.to_owned());
            }
            "x-pagekite-ok" if ours(value) => verdict = verdict.or(Some(Ok(()))),
            "x-pagekite-invalid" if ours(value) => verdict = Some(Err(None)),
            "x-pagekite-duplicate" if ours(value) => {
                verdict = Some(Err(Some(Refusal::Duplicate)));
            }
            "x-pagekite-invalid-why" if ours(value) => {
                why = value
                    .rsplit_once(';')
                    .map(|(_, w)| Refusal::from_why(w.trim()));
            }
            "x-pagekite-sessionid" if is_header_safe(value) => {
                session_id = Some(value.to_owned());
            }
            _ => {}
        }
    }
    match (verdict, token) {
        (Some(Ok(())), _) => Ok(Answer::Registered { session_id }),
        (Some(Err(Some(refusal))), _) => Ok(Answer::Refused(refusal)),
        (Some(Err(None)), _) => {
            Ok(Answer::Refused(why.unwrap_or_else(|| {
                Refusal::Other("no reason given".into())
            })))
        }
        (None, Some(token)) => Ok(Answer::SignThis { token }),
        (None, None) => Err(AnswerError::NoVerdict),
    }
}

/// Whether a value from the frontend can be sent back in a header line.
fn is_header_safe(value: &str) -> bool {
    !value.is_empty() && value.len() <= 256 && value.bytes().all(|b| b.is_ascii_graphic())
}

/// Text from the frontend made safe to show: printable ASCII, at most 100
/// characters.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_pagekite() {
        // python3: signToken(token='0123abcd'+'0'*28, secret='s3cret',
        //                    payload='https:box.example:salt1234:tokenxyz')
        let secret = KiteSecret::new("s3cret");
        let sig = sign(
            &secret,
            "https:box.example:salt1234:tokenxyz",
            [0x01, 0x23, 0xab, 0xcd],
        );
        assert_eq!(sig, "0123abcdd4f92ea65070d4c0a808044427ca");
        assert_eq!(sig.len(), 36);
    }

    #[test]
    fn request_carries_payload_and_signature() {
        let secret = KiteSecret::new("s3cret");
        let req = request(
            "box.example",
            "salt1234",
            "tokenxyz",
            &secret,
            [1, 0x23, 0xab, 0xcd],
            None,
        );
        let text = String::from_utf8(req).unwrap();
        assert!(text.starts_with("CONNECT PageKite:1 HTTP/1.0\r\n"));
        assert!(text.contains(
            "\r\nX-PageKite: https:box.example:salt1234:tokenxyz:0123abcdd4f92ea65070d4c0a808044427ca\r\n"
        ));
        assert!(text.ends_with("\r\n\r\n"));
        assert!(!text.contains("s3cret"));
        assert!(
            !text.contains("ZChunks"),
            "compressed chunks are not implemented"
        );
    }

    #[test]
    fn challenge_is_read() {
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\
            X-PageKite-SignThis: https:Box.Example:salt:t1234abcd\r\n\
            X-PageKite-SessionID: 6b1:abc\r\n\r\n";
        assert_eq!(
            parse_answer(head, "box.example"),
            Ok(Answer::SignThis {
                token: "t1234abcd".into()
            })
        );
    }

    #[test]
    fn verdicts_are_read() {
        let ok = b"HTTP/1.1 200 OK\r\nX-PageKite-OK: https:box.example:salt\r\nX-PageKite-SessionID: 6b1:abc\r\n\r\n";
        assert_eq!(
            parse_answer(ok, "box.example"),
            Ok(Answer::Registered {
                session_id: Some("6b1:abc".into())
            })
        );
        let bad = b"HTTP/1.1 200 OK\r\nX-PageKite-Invalid: https:box.example:salt\r\n\
            X-PageKite-Invalid-Why: https:box.example:salt;signature\r\n\r\n";
        assert_eq!(
            parse_answer(bad, "box.example"),
            Ok(Answer::Refused(Refusal::WrongSecret))
        );
        let dup = b"HTTP/1.1 200 OK\r\nX-PageKite-Duplicate: https:box.example:salt\r\n\r\n";
        assert_eq!(
            parse_answer(dup, "box.example"),
            Ok(Answer::Refused(Refusal::Duplicate))
        );
    }

    #[test]
    fn other_kites_and_garbage_are_not_verdicts() {
        let other = b"HTTP/1.1 200 OK\r\nX-PageKite-OK: https:other.example:salt\r\n\r\n";
        assert_eq!(
            parse_answer(other, "box.example"),
            Err(AnswerError::NoVerdict)
        );
        assert!(matches!(
            parse_answer(b"SSH-2.0-OpenSSH\r\n\r\n", "k"),
            Err(AnswerError::NotHttp(_))
        ));
        assert!(matches!(
            parse_answer(b"HTTP/1.0 503 Unavailable\r\n\r\n", "k"),
            Err(AnswerError::Status(_))
        ));
        assert_eq!(
            parse_answer(b"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", "k"),
            Err(AnswerError::BadHeader)
        );
        let evil = b"HTTP/1.1 200 OK\r\nX-PageKite-SignThis: https:k:s:\r\n\r\n";
        assert_eq!(parse_answer(evil, "k"), Err(AnswerError::BadChallenge));
    }

    #[test]
    fn head_end_finds_the_blank_line() {
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n\r\nrest"), Some(19));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\n\nrest"), Some(17));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n"), None);
    }

    proptest::proptest! {
        #[test]
        fn any_answer_parses_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_answer(&bytes, "box.example");
            let _ = head_end(&bytes);
        }
    }
}
