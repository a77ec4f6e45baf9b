//! A POP3 client (RFC 1939, STLS from RFC 2595, UIDL). Written here because no
//! maintained async crate does POP3 over our guarded stream; the protocol is a
//! handful of line commands. Lines are bounded, multi-line answers are bounded by
//! the size the server announced.

use std::time::Duration;

use homepost_store::{Endpoint, Security};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::Timeouts;
use crate::error::{Error, Result, server_text};
use crate::stream::{Limits, MailStream, classify_io};
use crate::tls::{Tls, tcp};

const LINE_MAX: usize = 8192;
const SMALL: u64 = 1 << 20;

/// A logged-in POP3 session.
pub struct Pop3 {
    io: BufReader<MailStream>,
    limits: std::sync::Arc<Limits>,
    timeouts: Timeouts,
}

impl Pop3 {
    /// Connects, secures the connection as configured and logs in (USER/PASS).
    pub async fn connect(endpoint: &Endpoint, password: &str, timeouts: Timeouts) -> Result<Pop3> {
        let tcp = tcp(&endpoint.host, endpoint.port, timeouts.connect).await?;
        let stream = match endpoint.security {
            Security::Tls => {
                let tls = Tls::new(endpoint.pinned_sha256.as_deref())?;
                MailStream::tls(tls.handshake(&endpoint.host, tcp).await?)
            }
            Security::Plain | Security::Starttls => MailStream::plain(tcp),
        };
        let limits = stream.limits();
        let mut pop = Pop3 {
            io: BufReader::new(stream),
            limits,
            timeouts,
        };
        pop.small();
        pop.status_line("greeting").await?;
        if endpoint.security == Security::Starttls {
            pop.command("STLS", "STLS").await?;
            // Nothing may be buffered past the +OK: it would be a plaintext injection.
            if !pop.io.buffer().is_empty() {
                return Err(Error::Protocol("data after STLS".into()));
            }
            let plain = pop
                .io
                .into_inner()
                .into_plain()
                .ok_or_else(|| Error::Protocol("STLS on a TLS connection".into()))?;
            let tls = Tls::new(endpoint.pinned_sha256.as_deref())?;
            let stream = MailStream::tls(tls.handshake(&endpoint.host, plain).await?);
            pop = Pop3 {
                limits: stream.limits(),
                io: BufReader::new(stream),
                timeouts,
            };
            pop.small();
        }
        if endpoint.username.contains(['\r', '\n']) || password.contains(['\r', '\n']) {
            return Err(Error::Config(
                "the user name or password contains a line break".into(),
            ));
        }
        pop.command(&format!("USER {}", endpoint.username), "USER")
            .await
            .map_err(auth)?;
        pop.command(&format!("PASS {password}"), "PASS")
            .await
            .map_err(auth)?;
        Ok(pop)
    }

    fn small(&self) {
        self.limits
            .set(SMALL, self.timeouts.between_bytes, self.timeouts.command);
    }

    async fn line(&mut self, what: &str) -> Result<String> {
        let mut buf = Vec::new();
        let read = (&mut self.io)
            .take(LINE_MAX as u64 + 1)
            .read_until(b'\n', &mut buf)
            .await
            .map_err(|e| classify_io(&e, what))?;
        if read == 0 {
            return Err(Error::Closed(format!(
                "{what}: the server closed the connection"
            )));
        }
        if !buf.ends_with(b"\n") {
            return Err(Error::Protocol(format!(
                "{what}: a line longer than {LINE_MAX} bytes"
            )));
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    async fn status_line(&mut self, what: &str) -> Result<String> {
        let line = self.line(what).await?;
        if let Some(rest) = line.strip_prefix("+OK") {
            Ok(rest.trim().to_owned())
        } else if let Some(rest) = line.strip_prefix("-ERR") {
            Err(Error::Protocol(format!("{what}: {}", server_text(rest))))
        } else {
            Err(Error::Protocol(format!("{what}: not a POP3 status line")))
        }
    }

    async fn command(&mut self, line: &str, what: &str) -> Result<String> {
        let stream = self.io.get_mut();
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .map_err(|e| classify_io(&e, what))?;
        stream.flush().await.map_err(|e| classify_io(&e, what))?;
        self.status_line(what).await
    }

    /// A multi-line answer, dot-unstuffed, at most `max` bytes.
    async fn multiline(&mut self, max: u64, what: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let mut buf = Vec::new();
            let read = (&mut self.io)
                .take(max.saturating_sub(out.len() as u64) + 3)
                .read_until(b'\n', &mut buf)
                .await
                .map_err(|e| classify_io(&e, what))?;
            if read == 0 {
                return Err(Error::Closed(format!(
                    "{what}: the connection ended inside an answer"
                )));
            }
            if !buf.ends_with(b"\n") {
                return Err(Error::TooLarge(max));
            }
            if buf == b".\r\n" || buf == b".\n" {
                return Ok(out);
            }
            let line = if buf.starts_with(b"..") {
                &buf[1..]
            } else {
                &buf[..]
            };
            out.extend_from_slice(line);
        }
    }

    /// `(message number, UIDL)` of every message.
    pub async fn uidl(&mut self) -> Result<Vec<(u32, String)>> {
        self.small();
        self.command("UIDL", "UIDL").await?;
        let body = self.multiline(SMALL, "UIDL").await?;
        parse_pairs(&body, "UIDL").map(|v| v.into_iter().map(|(n, s)| (n, s.to_owned())).collect())
    }

    /// `(message number, size)` of every message.
    pub async fn list(&mut self) -> Result<Vec<(u32, u64)>> {
        self.small();
        self.command("LIST", "LIST").await?;
        let body = self.multiline(SMALL, "LIST").await?;
        parse_pairs(&body, "LIST")?
            .into_iter()
            .map(|(n, s)| {
                s.parse::<u64>()
                    .map(|size| (n, size))
                    .map_err(|_| Error::Protocol("LIST: a size that is not a number".into()))
            })
            .collect()
    }

    /// One message, whose size LIST announced.
    pub async fn retr(&mut self, number: u32, size: u64) -> Result<Vec<u8>> {
        // Line endings may grow by a byte per line, dot-stuffing too: allow double.
        let max = size.saturating_mul(2) + 4096;
        let total = self.timeouts.command + Duration::from_secs(max / 65_536);
        self.limits
            .set(max + 4096, self.timeouts.between_bytes, total);
        self.command(&format!("RETR {number}"), "RETR").await?;
        self.multiline(max, "RETR").await
    }

    /// Marks a message for deletion (done at QUIT).
    pub async fn dele(&mut self, number: u32) -> Result<()> {
        self.small();
        self.command(&format!("DELE {number}"), "DELE")
            .await
            .map(|_| ())
    }

    /// Ends the session; deletions take effect only when this succeeds.
    pub async fn quit(mut self) -> Result<()> {
        self.small();
        self.command("QUIT", "QUIT").await.map(|_| ())
    }
}

fn auth(e: Error) -> Error {
    match e {
        Error::Protocol(text) => Error::AuthFailed(text),
        other => other,
    }
}

fn parse_pairs<'a>(body: &'a [u8], what: &str) -> Result<Vec<(u32, &'a str)>> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Error::Protocol(format!("{what}: an answer that is not text")))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split_whitespace();
            let n = parts.next().and_then(|n| n.parse::<u32>().ok());
            let v = parts.next();
            match (n, v) {
                (Some(n), Some(v)) if v.len() <= 70 => Ok((n, v)),
                _ => Err(Error::Protocol(format!(
                    "{what}: a line that does not parse"
                ))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_pairs;

    #[test]
    fn pairs_parse_and_bad_lines_are_refused() {
        let v = parse_pairs(b"1 abc\r\n2 def\r\n", "UIDL").unwrap();
        assert_eq!(v, vec![(1, "abc"), (2, "def")]);
        assert!(parse_pairs(b"x abc\r\n", "UIDL").is_err());
        assert!(parse_pairs(b"1\r\n", "UIDL").is_err());
    }
}
