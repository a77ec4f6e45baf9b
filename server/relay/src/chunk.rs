//! PageKite's tunnel framing, pure over bytes (pagekite 1.5.2,
//! `proto/selectables.py` `ChunkParser` and `proto/conns.py` `Tunnel`).
//!
//! Each chunk is its length in hex, CRLF, then that many bytes: header lines
//! (`SID`, `Proto`, `Host`, `Port`, `RIP`, `RPort`, `EOF`, `NOOP`, `PING`,
//! `PONG`, `SKB`...), a blank line, and the stream's data. There is no CRLF
//! after the data. A length ending in `R` asks to reset a decompressor; one of
//! the form `<plain>Z<compressed>` is a compressed chunk, which a frontend only
//! sends to a backend that offered `ZChunks`: this one does not.

use bytes::{Buf, Bytes, BytesMut};

/// The largest chunk accepted from a frontend. pagekite's frontend sends
/// fragments of about 1 KiB; its backend about 50 KiB.
pub(crate) const MAX_CHUNK: usize = 1024 * 1024;

/// The longest size line accepted (hex digits and a suffix).
const MAX_SIZE_LINE: usize = 16;

/// Why the frontend's bytes are not PageKite chunks. Each one ends the tunnel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The size line is not hex.
    #[error("a chunk's size line is not a hexadecimal length")]
    BadSize,
    /// A zero-length chunk (pagekite closes the tunnel on one too).
    #[error("a chunk has length zero")]
    Empty,
    /// A chunk larger than `MAX_CHUNK`.
    #[error("a chunk of {0} bytes is larger than accepted")]
    TooLarge(usize),
    /// A compressed chunk although `ZChunks` was not offered.
    #[error("a compressed chunk arrived although compression was not offered")]
    Compressed,
    /// No blank line between the headers and the data.
    #[error("a chunk has no end of headers")]
    NoHeaderEnd,
    /// A header line without a colon, or one that is not text.
    #[error("a chunk has a malformed header line")]
    BadHeader,
    /// A stream chunk whose `SID` is missing or not a number.
    #[error("a chunk has no valid stream id (SID)")]
    BadSid,
}

/// One chunk: its header lines, in order, and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chunk {
    headers: Vec<(String, String)>,
    data: Bytes,
}

impl Chunk {
    /// The first value of a header, by case-insensitive name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Takes one complete chunk off the front of `buf`, or `None` until one has
/// arrived in full.
pub(crate) fn decode(buf: &mut BytesMut) -> Result<Option<Chunk>, ChunkError> {
    let Some(eol) = buf.iter().take(MAX_SIZE_LINE + 2).position(|&b| b == b'\n') else {
        return if buf.len() > MAX_SIZE_LINE + 1 {
            Err(ChunkError::BadSize)
        } else {
            Ok(None)
        };
    };
    let line = buf[..eol].strip_suffix(b"\r").ok_or(ChunkError::BadSize)?;
    let line = line.strip_suffix(b"R").unwrap_or(line);
    if line.contains(&b'Z') {
        return Err(ChunkError::Compressed);
    }
    if line.is_empty() || !line.iter().all(u8::is_ascii_hexdigit) {
        return Err(ChunkError::BadSize);
    }
    let size = line.iter().try_fold(0usize, |n, &d| {
        let digit = char::from(d).to_digit(16)? as usize;
        n.checked_mul(16)?.checked_add(digit)
    });
    let size = size.ok_or(ChunkError::BadSize)?;
    if size == 0 {
        return Err(ChunkError::Empty);
    }
    if size > MAX_CHUNK {
        return Err(ChunkError::TooLarge(size));
    }
    if buf.len() < eol + 1 + size {
        buf.reserve(eol + 1 + size - buf.len());
        return Ok(None);
    }
    buf.advance(eol + 1);
    let body = buf.split_to(size).freeze();
    parse_body(body).map(Some)
}

fn parse_body(body: Bytes) -> Result<Chunk, ChunkError> {
    let end = body
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(ChunkError::NoHeaderEnd)?;
    let text = std::str::from_utf8(&body[..end]).map_err(|_| ChunkError::BadHeader)?;
    let mut headers = Vec::new();
    for line in text.split("\r\n") {
        let (name, value) = line.split_once(':').ok_or(ChunkError::BadHeader)?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(Chunk {
        headers,
        data: body.slice(end + 4..),
    })
}

/// What a chunk from the frontend asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A control chunk: answer `ping` with a `PONG`; `progress` is a stream's
    /// count of KiB the frontend has written to its visitor (`SKB`).
    Control {
        ping: Option<String>,
        progress: Option<(u64, u64)>,
    },
    /// The frontend closed one or both directions of a stream: `read` (`R`):
    /// its visitor sends no more, so stop writing to the box's side; `write`
    /// (`W`): it cannot deliver more to the visitor, so stop reading.
    Eof { sid: u64, read: bool, write: bool },
    /// Data for a stream; the first chunk of a stream also names where it was
    /// addressed (`Proto`, `Host`).
    Data {
        sid: u64,
        open: Option<Open>,
        data: Bytes,
    },
}

/// Where a new stream was addressed, from its first chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Open {
    pub(crate) proto: String,
    pub(crate) host: String,
}

/// Reads what a chunk asks for. As in pagekite, a chunk with `NOOP` or `PING`
/// is control only, whatever else it carries.
pub(crate) fn interpret(chunk: Chunk) -> Result<Frame, ChunkError> {
    let sid = || -> Result<u64, ChunkError> {
        chunk
            .header("SID")
            .and_then(|s| s.parse().ok())
            .ok_or(ChunkError::BadSid)
    };
    let progress = match chunk.header("SKB").and_then(|kb| kb.parse::<u64>().ok()) {
        Some(kb) => sid().ok().map(|sid| (sid, kb)),
        None => None,
    };
    let ping = chunk
        .header("PING")
        .map(|p| p.chars().take(64).collect::<String>());
    if ping.is_some() || chunk.header("NOOP").is_some() {
        return Ok(Frame::Control { ping, progress });
    }
    let sid = sid()?;
    if let Some(eof) = chunk.header("EOF") {
        let (w, r) = (eof.contains('W'), eof.contains('R'));
        return Ok(Frame::Eof {
            sid,
            read: r || !w,
            write: w || !r,
        });
    }
    let open = match (chunk.header("Proto"), chunk.header("Host")) {
        (Some(proto), Some(host)) if !proto.is_empty() && !host.is_empty() => Some(Open {
            proto: proto.to_ascii_lowercase(),
            host: host.to_ascii_lowercase(),
        }),
        _ => None,
    };
    Ok(Frame::Data {
        sid,
        open,
        data: chunk.data,
    })
}

/// Frames `body` as one chunk.
fn frame(body: &[&[u8]]) -> Vec<u8> {
    let len: usize = body.iter().map(|b| b.len()).sum();
    let mut out = format!("{len:x}\r\n").into_bytes();
    out.reserve(len);
    for part in body {
        out.extend_from_slice(part);
    }
    out
}

/// A chunk of a stream's data from the box's side.
pub(crate) fn data(sid: u64, data: &[u8]) -> Vec<u8> {
    frame(&[format!("SID: {sid}\r\n\r\n").as_bytes(), data])
}

/// The box's side of a stream closed: `read` when it sends no more, `write`
/// when it takes no more.
pub(crate) fn eof(sid: u64, read: bool, write: bool) -> Vec<u8> {
    let w = if write || !read { "W" } else { "" };
    let r = if read || !write { "R" } else { "" };
    frame(&[format!("SID: {sid}\r\nEOF: 1{w}{r}\r\n\r\nBye!").as_bytes()])
}

/// How many KiB of a stream the box's side has taken (flow control).
pub(crate) fn progress(sid: u64, kib: u64) -> Vec<u8> {
    frame(&[format!("NOOP: 1\r\nSID: {sid}\r\nSKB: {kib}\r\n\r\n").as_bytes()])
}

/// A ping to the frontend, to learn whether the tunnel still works.
pub(crate) fn ping(stamp: &str) -> Vec<u8> {
    frame(&[format!("NOOP: 1\r\nPING: {stamp}\r\n\r\n!").as_bytes()])
}

/// The answer to a frontend's ping.
pub(crate) fn pong(stamp: &str) -> Vec<u8> {
    frame(&[format!("NOOP: 1\r\nPONG: {stamp}\r\n\r\n!").as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Result<Vec<Frame>, ChunkError> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(chunk) = decode(&mut buf)? {
            out.push(interpret(chunk)?);
        }
        Ok(out)
    }

    #[test]
    fn a_new_stream_and_its_data() {
        let body = b"SID: 7\r\nProto: https\r\nHost: Box.Example\r\nPort: 443\r\nRIP: ::1\r\nRPort: 5\r\n\r\n\x16\x03\x01";
        let mut bytes = format!("{:x}\r\n", body.len()).into_bytes();
        bytes.extend_from_slice(body);
        bytes.extend_from_slice(&data(7, b"more"));
        let frames = decode_all(&bytes).unwrap();
        assert_eq!(
            frames[0],
            Frame::Data {
                sid: 7,
                open: Some(Open {
                    proto: "https".into(),
                    host: "box.example".into()
                }),
                data: Bytes::from_static(b"\x16\x03\x01"),
            }
        );
        assert_eq!(
            frames[1],
            Frame::Data {
                sid: 7,
                open: None,
                data: Bytes::from_static(b"more")
            }
        );
    }

    #[test]
    fn control_chunks() {
        let mut bytes = ping("123.5");
        bytes.extend_from_slice(&progress(3, 40));
        bytes.extend_from_slice(&eof(3, true, false));
        bytes.extend_from_slice(&eof(4, false, false));
        let frames = decode_all(&bytes).unwrap();
        assert_eq!(
            frames[0],
            Frame::Control {
                ping: Some("123.5".into()),
                progress: None
            }
        );
        assert_eq!(
            frames[1],
            Frame::Control {
                ping: None,
                progress: Some((3, 40))
            }
        );
        assert_eq!(
            frames[2],
            Frame::Eof {
                sid: 3,
                read: true,
                write: false
            }
        );
        assert_eq!(
            frames[3],
            Frame::Eof {
                sid: 4,
                read: true,
                write: true
            }
        );
    }

    #[test]
    fn partial_chunks_wait_for_more() {
        let whole = data(1, b"hello");
        for cut in 0..whole.len() {
            let mut buf = BytesMut::from(&whole[..cut]);
            assert_eq!(decode(&mut buf), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn malformed_chunks_are_errors() {
        assert_eq!(
            decode_all(b"zz\r\nSID: 1\r\n\r\n"),
            Err(ChunkError::BadSize)
        );
        assert_eq!(decode_all(b"0\r\n"), Err(ChunkError::Empty));
        assert_eq!(decode_all(b"5Z9\r\n"), Err(ChunkError::Compressed));
        assert_eq!(
            decode_all(b"fffffffffffffffffffff\r\n"),
            Err(ChunkError::BadSize)
        );
        assert_eq!(
            decode_all(b"200000\r\n"),
            Err(ChunkError::TooLarge(0x200000))
        );
        assert_eq!(decode_all(b"5\r\nhello"), Err(ChunkError::NoHeaderEnd));
        assert_eq!(
            decode_all(b"9\r\nSID\r\n\r\nab"),
            Err(ChunkError::BadHeader)
        );
        assert_eq!(
            decode_all(b"a\r\nSID: x\r\n\r\nab"),
            Err(ChunkError::BadSid)
        );
        assert_eq!(
            decode_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Err(ChunkError::BadSize)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_without_panicking(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = decode_all(&bytes);
        }

        #[test]
        fn data_chunks_round_trip(sid in 0u64..1_000_000, payload in proptest::collection::vec(proptest::num::u8::ANY, 1..2000)) {
            let frames = decode_all(&data(sid, &payload)).unwrap();
            proptest::prop_assert_eq!(frames, vec![Frame::Data { sid, open: None, data: Bytes::from(payload) }]);
        }
    }
}
