//! An IMAP client on async-imap, with every response bounded (see [`crate::stream`]).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_imap::types::Flag;
use futures::TryStreamExt;
use homepost_store::{Endpoint, FLAG_FLAGGED, FLAG_READ, Security};
use tokio::sync::Notify;

use crate::Timeouts;
use crate::error::{Error, Result, server_text};
use crate::stream::{Limits, MailStream, classify_io};
use crate::tls::{Tls, tcp};

mod condstore;
mod folder;

pub use condstore::Changes;
pub use folder::Labelled;

/// Bytes allowed for a small command's whole answer.
const SMALL: u64 = 1 << 20;
/// Bytes of response overhead allowed per message besides its literal.
const PER_MESSAGE_OVERHEAD: u64 = 4096;
/// Rough bytes per message of a `UID FETCH 1:* (UID FLAGS)` answer.
const PER_FLAGS_LINE: u64 = 512;

/// A folder on the server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Folder {
    /// Its name, as the server spells it (modified UTF-7 left as it is).
    pub name: String,
    /// What the server says it is for, if anything.
    pub special: Option<SpecialUse>,
}

/// A folder's special use (RFC 6154).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpecialUse {
    /// Copies of sent mail.
    Sent,
    /// Drafts.
    Drafts,
    /// Deleted mail.
    Trash,
    /// Spam.
    Junk,
    /// Archived mail.
    Archive,
    /// Every message (a virtual folder: fetching it would duplicate the others).
    All,
}

/// A message waiting on the server: its UID, size and flags bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// UID.
    pub uid: u32,
    /// RFC822.SIZE.
    pub size: u32,
    /// `FLAG_READ | FLAG_FLAGGED` bits.
    pub flags: i64,
}

/// A selected folder.
#[derive(Debug, Clone, Copy)]
pub struct Selected {
    /// UIDVALIDITY.
    pub uidvalidity: u32,
    /// Messages in it.
    pub exists: u32,
    /// HIGHESTMODSEQ (RFC 7162), when the server has CONDSTORE and keeps
    /// mod-sequences for the folder.
    pub highest_modseq: Option<u64>,
}

/// Why an IDLE ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// The server announced a change.
    Server,
    /// Our own wake-up (sync now, local change) or the time-out.
    Local,
}

/// A logged-in IMAP session.
pub struct Imap {
    session: Option<async_imap::Session<MailStream>>,
    limits: Arc<Limits>,
    timeouts: Timeouts,
    idle: bool,
    uidplus: bool,
    condstore: bool,
    qresync: bool,
    qresync_enabled: bool,
}

fn imap_err(e: async_imap::error::Error, what: &str) -> Error {
    use async_imap::error::Error as E;
    match e {
        E::Io(io) => classify_io(&io, what),
        E::ConnectionLost => Error::Closed(what.to_owned()),
        E::No(text) | E::Bad(text) => Error::Protocol(format!("{what}: {}", server_text(&text))),
        // Parse errors carry the server's bytes, which may be mail: never quote them.
        E::Parse(_) => Error::Protocol(format!("{what}: a response that does not parse")),
        E::Validate(_) => Error::Config(format!("{what}: a name IMAP cannot carry")),
        E::Append => Error::Protocol(format!("{what}: the server refused the upload")),
        _ => Error::Protocol(format!("{what}: an unexpected answer")),
    }
}

fn flag_bits<'a>(flags: impl Iterator<Item = Flag<'a>>) -> i64 {
    flags.fold(0, |acc, f| match f {
        Flag::Seen => acc | FLAG_READ,
        Flag::Flagged => acc | FLAG_FLAGGED,
        _ => acc,
    })
}

impl Imap {
    /// Connects, secures the connection as configured and logs in.
    pub async fn connect(endpoint: &Endpoint, password: &str, timeouts: Timeouts) -> Result<Imap> {
        let tcp = tcp(&endpoint.host, endpoint.port, timeouts.connect).await?;
        let small = |limits: &Limits| limits.set(SMALL, timeouts.between_bytes, timeouts.command);
        let stream = match endpoint.security {
            Security::Tls => {
                let tls = Tls::new(endpoint.pinned_sha256.as_deref())?;
                MailStream::tls(tls.handshake(&endpoint.host, tcp).await?)
            }
            Security::Starttls => {
                let mut client = async_imap::Client::new(MailStream::plain(tcp));
                greeting(&mut client).await?;
                client
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|e| imap_err(e, "STARTTLS"))?;
                let plain = client
                    .into_inner()
                    .into_plain()
                    .ok_or_else(|| Error::Protocol("STARTTLS on a TLS connection".into()))?;
                let tls = Tls::new(endpoint.pinned_sha256.as_deref())?;
                MailStream::tls(tls.handshake(&endpoint.host, plain).await?)
            }
            Security::Plain => MailStream::plain(tcp),
        };
        let limits = stream.limits();
        small(&limits);
        let mut client = async_imap::Client::new(stream);
        if endpoint.security != Security::Starttls {
            greeting(&mut client).await?;
        }
        small(&limits);
        let mut session =
            client
                .login(&endpoint.username, password)
                .await
                .map_err(|(e, _)| match e {
                    async_imap::error::Error::No(text) => Error::AuthFailed(server_text(&text)),
                    other => imap_err(other, "login"),
                })?;
        small(&limits);
        let caps = session
            .capabilities()
            .await
            .map_err(|e| imap_err(e, "CAPABILITY"))?;
        let idle = caps.has_str("IDLE");
        let uidplus = caps.has_str("UIDPLUS");
        let qresync = caps.has_str("QRESYNC");
        let condstore = qresync || caps.has_str("CONDSTORE");
        Ok(Imap {
            session: Some(session),
            limits,
            timeouts,
            idle,
            uidplus,
            condstore,
            qresync,
            qresync_enabled: false,
        })
    }

    fn session(&mut self) -> Result<&mut async_imap::Session<MailStream>> {
        self.session
            .as_mut()
            .ok_or_else(|| Error::Closed("the IMAP session ended".into()))
    }

    fn small(&self) {
        self.limits
            .set(SMALL, self.timeouts.between_bytes, self.timeouts.command);
    }

    /// Whether the server can push changes (IDLE).
    pub fn has_idle(&self) -> bool {
        self.idle
    }

    /// Selects a folder.
    pub async fn select(&mut self, folder: &str) -> Result<Selected> {
        self.small();
        let what = format!("SELECT {folder}");
        let mb = if self.condstore {
            match self.session()?.select_condstore(folder).await {
                Ok(mb) => Ok(mb),
                // A server that announces CONDSTORE but refuses the parameter
                // is used without it.
                Err(async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_)) => {
                    self.condstore = false;
                    self.qresync = false;
                    self.qresync_enabled = false;
                    self.small();
                    self.session()?.select(folder).await
                }
                Err(e) => Err(e),
            }
        } else {
            self.session()?.select(folder).await
        }
        .map_err(|e| imap_err(e, &what))?;
        let condstore = self.condstore;
        self.drain();
        let uidvalidity = mb
            .uid_validity
            .ok_or_else(|| Error::Protocol(format!("{folder}: the server gave no UIDVALIDITY")))?;
        Ok(Selected {
            uidvalidity,
            exists: mb.exists,
            highest_modseq: mb.highest_modseq.filter(|_| condstore),
        })
    }

    /// Messages with a UID above `after` in the selected folder.
    pub async fn pending(&mut self, after: u32, exists: u32) -> Result<Vec<Pending>> {
        let budget = SMALL + u64::from(exists) * PER_FLAGS_LINE;
        self.limits.set(
            budget,
            self.timeouts.between_bytes,
            self.timeouts.command * 4,
        );
        let range = format!("{}:*", after.saturating_add(1));
        let session = self.session()?;
        let fetches: Vec<_> = session
            .uid_fetch(&range, "(UID RFC822.SIZE FLAGS)")
            .await
            .map_err(|e| imap_err(e, "UID FETCH"))?
            .try_collect()
            .await
            .map_err(|e| imap_err(e, "UID FETCH"))?;
        self.drain();
        let mut out: Vec<Pending> = fetches
            .iter()
            .filter_map(|f| {
                let uid = f.uid?;
                // `n:*` also matches the last message when n is above every UID.
                (uid > after).then(|| Pending {
                    uid,
                    size: f.size.unwrap_or(0),
                    flags: flag_bits(f.flags()),
                })
            })
            .collect();
        out.sort_by_key(|p| p.uid);
        out.dedup_by_key(|p| p.uid);
        Ok(out)
    }

    /// The full messages with these UIDs (their sizes announced by [`Imap::pending`]),
    /// without setting `\Seen`. A message the server no longer has is left out.
    pub async fn bodies(&mut self, wanted: &[Pending]) -> Result<Vec<(u32, Vec<u8>)>> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let bytes: u64 = wanted
            .iter()
            .map(|p| u64::from(p.size) + PER_MESSAGE_OVERHEAD)
            .sum();
        // At least 64 KiB/s, and two minutes of grace.
        let total = self.timeouts.command + Duration::from_secs(bytes / 65_536);
        self.limits
            .set(bytes + SMALL, self.timeouts.between_bytes, total);
        let set = wanted
            .iter()
            .map(|p| p.uid.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let session = self.session()?;
        let fetches: Vec<_> = session
            .uid_fetch(&set, "(UID BODY.PEEK[])")
            .await
            .map_err(|e| imap_err(e, "UID FETCH BODY"))?
            .try_collect()
            .await
            .map_err(|e| imap_err(e, "UID FETCH BODY"))?;
        self.drain();
        let mut out = Vec::with_capacity(fetches.len());
        for f in &fetches {
            if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                out.push((uid, body.to_vec()));
            }
        }
        out.sort_by_key(|(uid, _)| *uid);
        out.dedup_by_key(|(uid, _)| *uid);
        Ok(out)
    }

    /// The folders the server lists, with their special use (RFC 6154), leaving
    /// out those that cannot be selected.
    pub async fn folders(&mut self) -> Result<Vec<Folder>> {
        self.limits.set(
            SMALL * 4,
            self.timeouts.between_bytes,
            self.timeouts.command,
        );
        let session = self.session()?;
        let names: Vec<_> = session
            .list(Some(""), Some("*"))
            .await
            .map_err(|e| imap_err(e, "LIST"))?
            .try_collect()
            .await
            .map_err(|e| imap_err(e, "LIST"))?;
        self.drain();
        use async_imap::types::NameAttribute as A;
        let mut out: Vec<Folder> = names
            .iter()
            .filter(|n| !n.attributes().iter().any(|a| matches!(a, A::NoSelect)))
            .map(|n| {
                let special = n.attributes().iter().find_map(|a| match a {
                    A::Sent => Some(SpecialUse::Sent),
                    A::Drafts => Some(SpecialUse::Drafts),
                    A::Trash => Some(SpecialUse::Trash),
                    A::Junk => Some(SpecialUse::Junk),
                    A::Archive => Some(SpecialUse::Archive),
                    A::All => Some(SpecialUse::All),
                    _ => None,
                });
                Folder {
                    name: n.name().to_owned(),
                    special,
                }
            })
            .collect();
        // INBOX first, then by name.
        out.sort_by(|a, b| {
            let inbox = |f: &Folder| !f.name.eq_ignore_ascii_case("INBOX");
            (inbox(a), &a.name).cmp(&(inbox(b), &b.name))
        });
        Ok(out)
    }

    /// UIDs in the selected folder (of `exists` messages) that arrived on or
    /// after the day of `unix` (UTC; the server's INTERNALDATE, by day as IMAP's
    /// SEARCH SINCE goes).
    pub async fn uids_since(&mut self, unix: i64, exists: u32) -> Result<HashSet<u32>> {
        // One UID (up to 10 digits and a space) per message at most.
        self.limits.set(
            SMALL + u64::from(exists) * 11,
            self.timeouts.between_bytes,
            self.timeouts.command * 4,
        );
        let query = format!("SINCE {}", imap_date(unix));
        let uids = self
            .session()?
            .uid_search(&query)
            .await
            .map_err(|e| imap_err(e, "UID SEARCH"))?;
        self.drain();
        Ok(uids)
    }

    /// Adds (`add`) or removes flags bits on these UIDs.
    pub async fn store_flags(&mut self, uids: &[u32], bits: i64, add: bool) -> Result<()> {
        if uids.is_empty() || bits == 0 {
            return Ok(());
        }
        let mut names = Vec::new();
        if bits & FLAG_READ != 0 {
            names.push("\\Seen");
        }
        if bits & FLAG_FLAGGED != 0 {
            names.push("\\Flagged");
        }
        let query = format!(
            "{}FLAGS.SILENT ({})",
            if add { "+" } else { "-" },
            names.join(" ")
        );
        self.small();
        let set = uid_set(uids);
        let session = self.session()?;
        let _: Vec<_> = session
            .uid_store(&set, &query)
            .await
            .map_err(|e| imap_err(e, "UID STORE"))?
            .try_collect()
            .await
            .map_err(|e| imap_err(e, "UID STORE"))?;
        self.drain();
        Ok(())
    }

    /// Deletes these UIDs from the selected folder (only them, with UIDPLUS).
    pub async fn delete(&mut self, uids: &[u32]) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        self.small();
        let set = uid_set(uids);
        let uidplus = self.uidplus;
        let session = self.session()?;
        let _: Vec<_> = session
            .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
            .await
            .map_err(|e| imap_err(e, "UID STORE \\Deleted"))?
            .try_collect()
            .await
            .map_err(|e| imap_err(e, "UID STORE \\Deleted"))?;
        if uidplus {
            let _: Vec<_> = session
                .uid_expunge(&set)
                .await
                .map_err(|e| imap_err(e, "UID EXPUNGE"))?
                .try_collect()
                .await
                .map_err(|e| imap_err(e, "UID EXPUNGE"))?;
        } else {
            let _: Vec<_> = session
                .expunge()
                .await
                .map_err(|e| imap_err(e, "EXPUNGE"))?
                .try_collect()
                .await
                .map_err(|e| imap_err(e, "EXPUNGE"))?;
        }
        self.drain();
        Ok(())
    }

    /// Uploads a message to a folder, marked read. A folder that does not exist
    /// yet is created.
    pub async fn append(&mut self, folder: &str, raw: &[u8]) -> Result<()> {
        let budget = raw.len() as u64 + SMALL;
        let total = self.timeouts.command + Duration::from_secs(budget / 65_536);
        self.limits.set(budget, self.timeouts.between_bytes, total);
        let first = self
            .session()?
            .append(folder, Some("(\\Seen)"), None, raw)
            .await;
        match first {
            Ok(()) => {}
            // async-imap answers a NO before the continuation (TRYCREATE) with
            // `Append` or `No`: create the folder and try once more.
            Err(e @ (async_imap::error::Error::No(_) | async_imap::error::Error::Append)) => {
                self.small();
                if self.session()?.create(folder).await.is_err() {
                    return Err(imap_err(e, &format!("APPEND {folder}")));
                }
                self.limits.set(budget, self.timeouts.between_bytes, total);
                self.session()?
                    .append(folder, Some("(\\Seen)"), None, raw)
                    .await
                    .map_err(|e| imap_err(e, &format!("APPEND {folder}")))?;
            }
            Err(e) => return Err(imap_err(e, &format!("APPEND {folder}"))),
        }
        self.drain();
        Ok(())
    }

    /// Waits in IDLE on the selected folder until the server announces a change,
    /// `wake` is notified, or `max` passes.
    pub async fn idle(&mut self, wake: &Notify, max: Duration) -> Result<Woken> {
        let session = self
            .session
            .take()
            .ok_or_else(|| Error::Closed("the IMAP session ended".into()))?;
        self.small();
        let mut handle = session.idle();
        handle.init().await.map_err(|e| imap_err(e, "IDLE"))?;
        // Servers send keep-alives; the wait between bytes may be the whole IDLE.
        self.limits.set(
            SMALL,
            max + self.timeouts.between_bytes,
            max + self.timeouts.command,
        );
        let outcome = {
            let (wait, stop) = handle.wait_with_timeout(max);
            tokio::pin!(wait);
            tokio::select! {
                r = &mut wait => r,
                () = wake.notified() => {
                    drop(stop);
                    wait.await
                }
            }
        };
        self.small();
        let session = handle.done().await.map_err(|e| imap_err(e, "DONE"))?;
        self.session = Some(session);
        self.drain();
        match outcome.map_err(|e| imap_err(e, "IDLE"))? {
            async_imap::extensions::idle::IdleResponse::NewData(_) => Ok(Woken::Server),
            _ => Ok(Woken::Local),
        }
    }

    /// Logs out politely (errors ignored: the connection is closed either way).
    pub async fn logout(mut self) {
        self.small();
        if let Some(mut s) = self.session.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), s.logout()).await;
        }
    }

    fn drain(&mut self) {
        if let Some(s) = self.session.as_mut() {
            while s.unsolicited_responses.try_recv().is_ok() {}
        }
    }
}

async fn greeting(client: &mut async_imap::Client<MailStream>) -> Result<()> {
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(Error::Closed(
            "the server closed the connection before greeting".into(),
        )),
        Err(e) => Err(classify_io(&e, "greeting")),
    }
}

/// A compact UID set: `1:5,7,9:10`.
pub(crate) fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// An IMAP date (`4-Dec-2026`) for the UTC day of `unix`.
fn imap_date(unix: i64) -> String {
    // Days to a civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    let z = unix.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let name = MONTHS[usize::try_from(month - 1).unwrap_or(0).min(11)];
    format!("{day}-{name}-{year}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn imap_dates() {
        assert_eq!(super::imap_date(0), "1-Jan-1970");
        assert_eq!(super::imap_date(951_782_400), "29-Feb-2000");
        assert_eq!(super::imap_date(1_796_342_400), "4-Dec-2026");
        assert_eq!(super::imap_date(1_796_428_799), "4-Dec-2026");
    }

    use super::uid_set;

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[5, 1, 2, 3, 9, 7, 8, 3]), "1:3,5,7:9");
        assert_eq!(uid_set(&[4]), "4");
        assert_eq!(uid_set(&[]), "");
    }
}
