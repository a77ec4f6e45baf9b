//! A streaming mbox splitter (mboxrd, which also reads mboxo and plain mbox).
//!
//! A message starts at a `From ` line ("From_ line") at the start of the file
//! or after an empty line; the From_ line is the envelope, not part of the
//! message. The empty line before the next From_ line separates messages and
//! belongs to neither. Body lines matching `^>+From ` lose one `>` (mboxrd
//! unquoting, which also undoes mboxo quoting). Only the current message is
//! held in memory, so a mailbox of any size reads in flat memory.

use std::io::{self, BufRead, Write};

/// The envelope line [`write_mboxrd`] puts before every message.
const ENVELOPE: &[u8] = b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n";

/// One message split out of an mbox file.
#[derive(Clone, PartialEq, Eq)]
pub struct MboxMessage {
    /// The message bytes, unquoted, without its From_ line and separator.
    pub raw: Vec<u8>,
    /// Byte offset of the message's From_ line in the mbox file.
    pub offset: u64,
    /// Byte offset just past the message's last byte in the file (the
    /// separating empty line, if any, is not included).
    pub end: u64,
}

impl std::fmt::Debug for MboxMessage {
    // Message bytes are private mail: keep them out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MboxMessage")
            .field("len", &self.raw.len())
            .field("offset", &self.offset)
            .field("end", &self.end)
            .finish()
    }
}

/// Splits an mbox stream into messages, reading it line by line.
///
/// Lines before the first From_ line (at the start or after an empty line)
/// are skipped. A last message cut off
/// mid-line is still returned. After an I/O error the reader yields nothing
/// more, because its position in the stream is no longer known.
pub struct MboxReader<R: BufRead> {
    reader: R,
    /// Bytes consumed from `reader` so far.
    pos: u64,
    /// Offset of an already consumed From_ line that begins the next message.
    next_start: Option<u64>,
    done: bool,
    /// Messages longer than this are skipped (see [`MAX_MESSAGE_BYTES`]).
    max_message: usize,
}

impl<R: BufRead> MboxReader<R> {
    /// Wraps `reader`, which must be positioned at the start of the mbox data.
    pub fn new(reader: R) -> Self {
        MboxReader {
            reader,
            pos: 0,
            next_start: None,
            done: false,
            max_message: MAX_MESSAGE_BYTES,
        }
    }

    /// Sets the largest message kept (default [`MAX_MESSAGE_BYTES`]); longer
    /// ones are skipped and reported.
    pub fn with_max_message(mut self, max: usize) -> Self {
        self.max_message = max;
        self
    }

    /// Bytes consumed from the underlying reader so far (the whole input once
    /// the iterator has ended), for progress reporting.
    pub fn bytes_read(&self) -> u64 {
        self.pos
    }

    /// Skips lines until the first From_ line at the start of the stream or
    /// after an empty line; returns its offset, or `None` at the end.
    fn find_first_message(&mut self) -> io::Result<Option<u64>> {
        let mut line = Vec::new();
        let mut after_blank = true;
        loop {
            line.clear();
            let start = self.pos;
            let n = self.reader.read_until(b'\n', &mut line)?;
            if n == 0 {
                return Ok(None);
            }
            self.pos += n as u64;
            if after_blank && is_from_line(&line) {
                return Ok(Some(start));
            }
            after_blank = line == b"\n" || line == b"\r\n";
        }
    }

    /// Reads the message whose From_ line (at `offset`) was just consumed. A message
    /// over [`MAX_MESSAGE_BYTES`] is skipped to the next From_ line and reported as
    /// an `InvalidData` error, after which reading goes on: memory stays bounded
    /// even for a file with no separators at all.
    fn read_message(&mut self, offset: u64) -> io::Result<MboxMessage> {
        let mut raw = Vec::new();
        let mut oversized = false;
        // Length of the empty line at the end of `raw` that may turn out to be
        // the separator before the next From_ line.
        let mut held_blank = 0usize;
        loop {
            let start = raw.len();
            let line_offset = self.pos;
            let n = self.reader.read_until(b'\n', &mut raw)?;
            if n == 0 {
                // An mbox ends with the empty line that follows its last message.
                raw.truncate(start - held_blank);
                self.done = true;
                if oversized {
                    return Err(oversized_error(offset));
                }
                return Ok(MboxMessage {
                    raw,
                    offset,
                    end: line_offset - held_blank as u64,
                });
            }
            self.pos += n as u64;
            let line = &raw[start..];
            if held_blank > 0 && is_from_line(line) {
                raw.truncate(start - held_blank);
                self.next_start = Some(line_offset);
                if oversized {
                    return Err(oversized_error(offset));
                }
                return Ok(MboxMessage {
                    raw,
                    offset,
                    end: line_offset - held_blank as u64,
                });
            }
            if line == b"\n" || line == b"\r\n" {
                held_blank = n;
            } else {
                held_blank = 0;
                if is_quoted_from_line(line) {
                    raw.remove(start);
                }
            }
            if raw.len() > self.max_message {
                oversized = true;
            }
            if oversized {
                // Keep only the last line: enough to recognise the separator.
                raw.drain(..start.min(raw.len()));
            }
        }
    }
}

/// The largest message an mbox may hold, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

fn oversized_error(offset: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "the message at byte {offset} is over {} MiB (or the file lacks the blank line before each \"From \" line); it was skipped",
            MAX_MESSAGE_BYTES >> 20
        ),
    )
}

impl<R: BufRead> Iterator for MboxReader<R> {
    type Item = io::Result<MboxMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = match self.next_start.take() {
            Some(offset) => offset,
            None => match self.find_first_message() {
                Ok(Some(offset)) => offset,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            },
        };
        let message = self.read_message(offset);
        // An oversized message was skipped; reading goes on after it.
        if message
            .as_ref()
            .is_err_and(|e| e.kind() != io::ErrorKind::InvalidData)
        {
            self.done = true;
        }
        Some(message)
    }
}

/// Whether `line` is a From_ line: `"From "` followed by a sender token.
fn is_from_line(line: &[u8]) -> bool {
    line.strip_prefix(b"From ")
        .is_some_and(|rest| rest.iter().any(|b| !b.is_ascii_whitespace()))
}

/// The number of `>` before `From ` if `line` matches `^>*From `.
fn from_quote_depth(line: &[u8]) -> Option<usize> {
    let depth = line.iter().take_while(|&&b| b == b'>').count();
    line[depth..].starts_with(b"From ").then_some(depth)
}

/// Whether `line` is a quoted From line that mboxrd unquoting shortens.
fn is_quoted_from_line(line: &[u8]) -> bool {
    from_quote_depth(line).is_some_and(|depth| depth > 0)
}

/// Writes `messages` as an mboxrd file: each gets a From_ line, every line
/// matching `^>*From ` gets one more `>`, and an empty line follows each
/// message. A message not ending in a newline gets one, so it reads back with
/// that newline. Used to build test and benchmark mailboxes.
pub fn write_mboxrd(out: &mut impl Write, messages: &[&[u8]]) -> io::Result<()> {
    for message in messages {
        out.write_all(ENVELOPE)?;
        for line in message.split_inclusive(|&b| b == b'\n') {
            if from_quote_depth(line).is_some() {
                out.write_all(b">")?;
            }
            out.write_all(line)?;
        }
        if !message.ends_with(b"\n") {
            out.write_all(b"\n")?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn oversized_message_is_skipped_and_reading_goes_on() {
        let mut data = b"From a@x Mon Jan  1 00:00:00 2024\nSubject: small\n\nhi\n\n".to_vec();
        data.extend_from_slice(b"From b@x Mon Jan  1 00:00:00 2024\nSubject: big\n\n");
        for _ in 0..1000 {
            data.extend_from_slice(b"a long body line without any separator at all\n");
        }
        data.extend_from_slice(b"\nFrom c@x Mon Jan  1 00:00:00 2024\nSubject: after\n\nbye\n");
        let out: Vec<_> = MboxReader::new(&data[..]).with_max_message(4096).collect();
        assert_eq!(out.len(), 3);
        assert!(out[0].as_ref().unwrap().raw.starts_with(b"Subject: small"));
        let err = out[1].as_ref().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(out[2].as_ref().unwrap().raw.starts_with(b"Subject: after"));
    }

    use super::{MboxMessage, MboxReader, write_mboxrd};
    use proptest::prelude::*;

    fn split(data: &[u8]) -> Vec<MboxMessage> {
        MboxReader::new(data)
            .collect::<std::io::Result<Vec<_>>>()
            .unwrap_or_else(|e| panic!("reading from memory cannot fail: {e}"))
    }

    fn raws(data: &[u8]) -> Vec<Vec<u8>> {
        split(data).into_iter().map(|m| m.raw).collect()
    }

    #[test]
    fn splits_at_from_lines_after_empty_lines() {
        let data = b"From a@example.org Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody 1\n\n\
                     From b@example.org Mon Jan  1 00:00:01 2024\nSubject: two\n\nbody 2\n\n";
        let messages = split(data);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].raw, b"Subject: one\n\nbody 1\n");
        assert_eq!(messages[1].raw, b"Subject: two\n\nbody 2\n");
        assert_eq!(messages[0].offset, 0);
        let second = data
            .windows(6)
            .position(|w| w == b"From b")
            .unwrap_or_default() as u64;
        assert_eq!(messages[1].offset, second);
        assert_eq!(messages[0].end, second - 1);
        assert_eq!(messages[1].end, data.len() as u64 - 1);
        let mut reader = MboxReader::new(&data[..]);
        assert!(reader.next().is_some());
        assert_eq!(reader.bytes_read(), second + 44);
        assert!(reader.next().is_some());
        assert_eq!(reader.bytes_read(), data.len() as u64);
    }

    #[test]
    fn handles_crlf_files() {
        let data = b"From a@example.org Mon Jan  1 00:00:00 2024\r\nSubject: one\r\n\r\nbody\r\n>From here\r\n\r\n\
                     From b@example.org Mon Jan  1 00:00:01 2024\r\nSubject: two\r\n\r\nx\r\n\r\n";
        assert_eq!(
            raws(data),
            [
                &b"Subject: one\r\n\r\nbody\r\nFrom here\r\n"[..],
                &b"Subject: two\r\n\r\nx\r\n"[..]
            ]
        );
    }

    #[test]
    fn unquotes_one_level_of_from_quoting() {
        let data = b"From a Mon Jan  1 00:00:00 2024\nS: x\n\n>From me\n>>From you\n>>>From them\n> From not quoted\n>Fromage\n\n";
        assert_eq!(
            raws(data),
            [&b"S: x\n\nFrom me\n>From you\n>>From them\n> From not quoted\n>Fromage\n"[..]]
        );
    }

    #[test]
    fn from_line_without_preceding_empty_line_does_not_split() {
        let data = b"From a Mon Jan  1 00:00:00 2024\nS: x\n\nline\nFrom the top, again\nend\n\n";
        assert_eq!(
            raws(data),
            [&b"S: x\n\nline\nFrom the top, again\nend\n"[..]]
        );
    }

    #[test]
    fn from_without_sender_does_not_split() {
        let data = b"From a Mon Jan  1 00:00:00 2024\nS: x\n\nline\n\nFrom \nend\n\n";
        assert_eq!(raws(data), [&b"S: x\n\nline\n\nFrom \nend\n"[..]]);
    }

    #[test]
    fn truncated_last_message_is_yielded() {
        let data = b"From a Mon Jan  1 00:00:00 2024\nS: 1\n\none\n\nFrom b Mon Jan  1 00:00:00 2024\nS: 2\n\ncut mid-li";
        let messages = split(data);
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[1].raw, b"S: 2\n\ncut mid-li");
        assert_eq!(messages[1].end, data.len() as u64);
    }

    #[test]
    fn leading_garbage_is_skipped() {
        let data = b"\xef\xbb\xbfjunk line\nFrom b, not after an empty line\n\nFrom a Mon Jan  1 00:00:00 2024\nS: 1\n\none\n\n";
        let messages = split(data);
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].raw, b"S: 1\n\none\n");
        assert_eq!(messages[0].offset, 46);
    }

    #[test]
    fn no_from_line_yields_nothing() {
        assert!(split(b"Subject: an eml file\nFrom me, with love\n\nbye\n").is_empty());
        assert!(split(b"").is_empty());
    }

    #[test]
    fn only_the_last_of_several_empty_lines_is_the_separator() {
        let data = b"From a Mon Jan  1 00:00:00 2024\nS: 1\n\none\n\n\n\nFrom b Mon Jan  1 00:00:00 2024\nS: 2\n\n";
        assert_eq!(raws(data), [&b"S: 1\n\none\n\n\n"[..], &b"S: 2\n"[..]]);
    }

    #[test]
    fn io_errors_are_reported_once() {
        struct Failing;
        impl std::io::Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk gone"))
            }
        }
        let mut reader = MboxReader::new(std::io::BufReader::new(Failing));
        assert!(matches!(reader.next(), Some(Err(_))));
        assert!(reader.next().is_none());
    }

    #[test]
    fn writer_quotes_from_lines_and_separates_messages() -> std::io::Result<()> {
        let mut out = Vec::new();
        write_mboxrd(
            &mut out,
            &[b"S: 1\n\nFrom x\n>From y\n", b"S: 2\n\nno newline"],
        )?;
        assert_eq!(
            out,
            b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nS: 1\n\n>From x\n>>From y\n\n\
              From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nS: 2\n\nno newline\n\n"
        );
        Ok(())
    }

    /// A message line: mostly arbitrary bytes, often mbox-significant ones.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        let body = prop::collection::vec(
            any::<u8>().prop_filter("no newline", |b| *b != b'\n'),
            0..20,
        );
        let prefix = prop::sample::select(vec![
            &b""[..],
            b"",
            b"From ",
            b"From",
            b">From ",
            b">>From ",
            b"> From ",
            b"\r",
        ]);
        let ending = prop::sample::select(vec![&b"\n"[..], b"\r\n"]);
        (prefix, body, ending).prop_map(|(prefix, body, ending)| {
            let mut line = prefix.to_vec();
            // Empty lines, alone or CRLF, are the interesting case.
            if !prefix.is_empty() || body.len() % 3 != 0 {
                line.extend_from_slice(&body);
            }
            line.extend_from_slice(ending);
            line
        })
    }

    fn message() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(line(), 1..12).prop_map(|lines| lines.concat())
    }

    proptest! {
        #[test]
        fn mboxrd_round_trip(messages in prop::collection::vec(message(), 0..8)) {
            let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            let mut file = Vec::new();
            write_mboxrd(&mut file, &refs).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let read = split(&file);
            prop_assert_eq!(read.iter().map(|m| m.raw.clone()).collect::<Vec<_>>(), messages);
            for pair in read.windows(2) {
                prop_assert!(pair[0].end < pair[1].offset);
            }
        }

        #[test]
        fn reader_never_panics_and_offsets_increase(data in prop::collection::vec(
            prop_oneof![4 => any::<u8>(), 1 => Just(b'\n'), 1 => Just(b'F')], 0..600),
            lead in prop::sample::select(vec![&b""[..], b"From x\n", b"From ", b"From a\n\n"]),
        ) {
            let mut input = lead.to_vec();
            input.extend_from_slice(&data);
            let mut last_end = 0;
            for message in MboxReader::new(input.as_slice()) {
                let message = message.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(message.offset >= last_end);
                prop_assert!(message.offset < message.end);
                prop_assert!(message.end <= input.len() as u64);
                prop_assert!(message.raw.len() as u64 <= message.end - message.offset);
                last_end = message.end;
            }
        }
    }
}
