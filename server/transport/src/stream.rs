//! The connection to a mail server, guarded against hostile servers.
//!
//! Every read is bounded three ways: a byte budget for the current response (so an
//! endless or huge literal ends in an error, not in memory growth), a time limit
//! between bytes (a server that stops), and a deadline for the whole response (a
//! server that drips one byte at a time).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tokio_rustls::client::TlsStream;

/// Limits for what is read next. Shared between the stream and the protocol code.
#[derive(Debug)]
pub struct Limits {
    state: Mutex<LimitState>,
}

#[derive(Debug, Clone, Copy)]
struct LimitState {
    remaining: u64,
    budget: u64,
    idle: Duration,
    deadline: Instant,
    /// Bumped by every `set`: the time between bytes counts from the newest one.
    epoch: u64,
}

impl Limits {
    fn new() -> Arc<Limits> {
        Arc::new(Limits {
            state: Mutex::new(LimitState {
                remaining: 1 << 20,
                budget: 1 << 20,
                idle: Duration::from_secs(60),
                deadline: Instant::now() + Duration::from_secs(120),
                epoch: 0,
            }),
        })
    }

    /// Allows `bytes` more to be read within `total`, with at most `idle` between reads.
    pub fn set(&self, bytes: u64, idle: Duration, total: Duration) {
        if let Ok(mut s) = self.state.lock() {
            *s = LimitState {
                remaining: bytes,
                budget: bytes,
                idle,
                deadline: Instant::now() + total,
                epoch: s.epoch + 1,
            };
        }
    }

    fn snapshot(&self) -> Option<LimitState> {
        self.state.lock().ok().map(|s| *s)
    }

    fn consume(&self, n: usize) -> Result<(), u64> {
        let Ok(mut s) = self.state.lock() else {
            return Ok(());
        };
        if n as u64 > s.remaining {
            s.remaining = 0;
            return Err(s.budget);
        }
        s.remaining -= n as u64;
        Ok(())
    }
}

/// Marker put in the io::Error of a budget overrun, recognised by [`classify_io`].
pub(crate) const TOO_LARGE: &str = "homepost: response over budget";
/// Marker of a read time-out.
pub(crate) const TOO_SLOW: &str = "homepost: server too slow";

enum Inner {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// A plain or TLS connection with read limits.
pub struct MailStream {
    inner: Inner,
    limits: Arc<Limits>,
    timer: Pin<Box<Sleep>>,
    last_read: Instant,
    epoch: u64,
}

impl std::fmt::Debug for MailStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.inner {
            Inner::Plain(_) => "MailStream(plain)",
            Inner::Tls(_) => "MailStream(tls)",
        })
    }
}

impl MailStream {
    /// A plain connection.
    pub fn plain(tcp: TcpStream) -> MailStream {
        Self::wrap(Inner::Plain(tcp))
    }

    /// A TLS connection.
    pub fn tls(tls: TlsStream<TcpStream>) -> MailStream {
        Self::wrap(Inner::Tls(Box::new(tls)))
    }

    fn wrap(inner: Inner) -> MailStream {
        MailStream {
            inner,
            limits: Limits::new(),
            timer: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
            last_read: Instant::now(),
            epoch: 0,
        }
    }

    /// The limits handle, to set before each command.
    pub fn limits(&self) -> Arc<Limits> {
        self.limits.clone()
    }

    /// Gives back the TCP connection of a plain stream (for STARTTLS).
    pub fn into_plain(self) -> Option<TcpStream> {
        match self.inner {
            Inner::Plain(t) => Some(t),
            Inner::Tls(_) => None,
        }
    }
}

impl AsyncRead for MailStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let Some(limits) = this.limits.snapshot() else {
            return Poll::Ready(Err(std::io::Error::other("limits poisoned")));
        };
        // New limits were set since the last read: the wait counts from now.
        if limits.epoch != this.epoch {
            this.epoch = limits.epoch;
            this.last_read = Instant::now();
        }
        let before = buf.filled().len();
        let polled = match &mut this.inner {
            Inner::Plain(t) => Pin::new(t).poll_read(cx, buf),
            Inner::Tls(t) => Pin::new(t.as_mut()).poll_read(cx, buf),
        };
        match polled {
            Poll::Ready(Ok(())) => {
                let n = buf.filled().len() - before;
                this.last_read = Instant::now();
                if let Err(budget) = this.limits.consume(n) {
                    return Poll::Ready(Err(std::io::Error::other(format!(
                        "{TOO_LARGE} {budget}"
                    ))));
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let wake_at = (this.last_read + limits.idle).min(limits.deadline);
                if this.timer.deadline() != wake_at {
                    this.timer.as_mut().reset(wake_at);
                }
                if this.timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        TOO_SLOW,
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match &mut self.inner {
            Inner::Plain(t) => Pin::new(t).poll_write(cx, buf),
            Inner::Tls(t) => Pin::new(t.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.inner {
            Inner::Plain(t) => Pin::new(t).poll_flush(cx),
            Inner::Tls(t) => Pin::new(t.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.inner {
            Inner::Plain(t) => Pin::new(t).poll_shutdown(cx),
            Inner::Tls(t) => Pin::new(t.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Turns an I/O error of a guarded stream into a transport error. The server's
/// bytes are never quoted (they may be mail).
pub(crate) fn classify_io(e: &std::io::Error, what: &str) -> crate::Error {
    let text = e.to_string();
    if let Some(rest) = text.strip_prefix(TOO_LARGE) {
        return crate::Error::TooLarge(rest.trim().parse().unwrap_or(0));
    }
    // async-imap refuses a literal larger than its buffer cap before reading it.
    if text.contains("incoming data too large") {
        return crate::Error::TooLarge(512 << 20);
    }
    if text.contains(TOO_SLOW) || e.kind() == std::io::ErrorKind::TimedOut {
        return crate::Error::Timeout(what.to_owned());
    }
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::ConnectionAborted
        | std::io::ErrorKind::BrokenPipe => crate::Error::Closed(format!("{what}: {}", e.kind())),
        _ if text.contains("during parsing of") => {
            crate::Error::Protocol(format!("{what}: a response that does not parse"))
        }
        _ => crate::Error::Closed(format!("{what}: {}", crate::error::server_text(&text))),
    }
}
