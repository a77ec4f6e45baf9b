//! A folder used as storage (the backup's): messages found by one header line
//! of their own, fetched whole, and the folder made when it is missing.

use futures::TryStreamExt;

use super::{Imap, Pending, SMALL, Selected, imap_err};
use crate::error::{Error, Result};

/// A message of the selected folder and the value of the header line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labelled {
    /// Its UID.
    pub uid: u32,
    /// Its size in bytes.
    pub size: u32,
    /// The value of the header line (unfolded, trimmed), or `None` when the
    /// message has no such line (a message that is not ours).
    pub label: Option<String>,
}

/// Bytes allowed per message of a header listing.
const PER_HEADER: u64 = 8192;

impl Imap {
    /// Selects `folder`, creating it first when the server does not have it.
    pub async fn select_or_create(&mut self, folder: &str) -> Result<Selected> {
        match self.select(folder).await {
            Ok(s) => Ok(s),
            Err(Error::Protocol(_)) => {
                self.small();
                self.session()?
                    .create(folder)
                    .await
                    .map_err(|e| imap_err(e, &format!("CREATE {folder}")))?;
                self.drain();
                self.select(folder).await
            }
            Err(e) => Err(e),
        }
    }

    /// Every message of the selected folder (which holds `exists`) with the
    /// value of its header line `field` (case-insensitive).
    pub async fn labelled(&mut self, field: &str, exists: u32) -> Result<Vec<Labelled>> {
        if exists == 0 {
            return Ok(Vec::new());
        }
        let budget = SMALL + u64::from(exists) * PER_HEADER;
        self.limits.set(
            budget,
            self.timeouts.between_bytes,
            self.timeouts.command * 4,
        );
        let fetches: Vec<_> = self
            .session()?
            .uid_fetch("1:*", "(UID RFC822.SIZE BODY.PEEK[HEADER])")
            .await
            .map_err(|e| imap_err(e, "UID FETCH HEADER"))?
            .try_collect()
            .await
            .map_err(|e| imap_err(e, "UID FETCH HEADER"))?;
        self.drain();
        let mut out: Vec<Labelled> = fetches
            .iter()
            .filter_map(|f| {
                Some(Labelled {
                    uid: f.uid?,
                    size: f.size.unwrap_or(0),
                    label: f.header().and_then(|h| header_value(h, field)),
                })
            })
            .collect();
        out.sort_by_key(|m| m.uid);
        out.dedup_by_key(|m| m.uid);
        Ok(out)
    }

    /// Bytes the account may still store (RFC 2087 QUOTA, the storage resource
    /// of `folder`'s quota root); `None` when the server sets no limit or does
    /// not say.
    pub async fn quota_room(&mut self, folder: &str) -> Result<Option<u64>> {
        self.small();
        let answer = self.session()?.get_quota_root(folder).await;
        self.drain();
        let Ok((_, quotas)) = answer else {
            return Ok(None);
        };
        Ok(quotas
            .iter()
            .flat_map(|q| &q.resources)
            .filter(|r| r.name == async_imap::types::QuotaResourceName::Storage)
            .map(|r| r.limit.saturating_sub(r.usage).saturating_mul(1024))
            .min())
    }

    /// The UIDs of the selected folder's messages whose Message-ID header
    /// holds `message_id` (none for an id IMAP cannot quote).
    pub async fn uids_with_message_id(&mut self, message_id: &str) -> Result<Vec<u32>> {
        let quotable = !message_id.is_empty()
            && message_id.len() <= 998
            && !message_id
                .chars()
                .any(|c| c == '"' || c == '\\' || c.is_control() || !c.is_ascii());
        if !quotable {
            return Ok(Vec::new());
        }
        self.small();
        let found = self
            .session()?
            .uid_search(format!("HEADER Message-ID \"{message_id}\""))
            .await
            .map_err(|e| imap_err(e, "UID SEARCH HEADER"))?;
        self.drain();
        let mut uids: Vec<u32> = found.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// The whole message with this UID (of `size` bytes), or `None` when the
    /// server no longer has it.
    pub async fn fetch_one(&mut self, uid: u32, size: u32) -> Result<Option<Vec<u8>>> {
        let wanted = [Pending {
            uid,
            size,
            flags: 0,
        }];
        Ok(self
            .bodies(&wanted)
            .await?
            .into_iter()
            .find(|(u, _)| *u == uid)
            .map(|(_, body)| body))
    }
}

/// The value of header line `field` in a message header, unfolded.
fn header_value(header: &[u8], field: &str) -> Option<String> {
    let text = String::from_utf8_lossy(header);
    let mut value: Option<String> = None;
    for line in text.split("\r\n").flat_map(|l| l.split('\n')) {
        match &mut value {
            Some(v) if line.starts_with([' ', '\t']) => v.push_str(line),
            Some(_) => break,
            None => {
                if let Some((name, rest)) = line.split_once(':')
                    && name.trim().eq_ignore_ascii_case(field)
                {
                    value = Some(rest.to_owned());
                }
            }
        }
    }
    value.map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::header_value;

    #[test]
    fn finds_an_unfolded_header_line() {
        let h = b"Subject: x\r\nX-Homepost-Backup: 1 pack\r\n  abc\r\nFrom: y\r\n\r\n";
        assert_eq!(
            header_value(h, "x-homepost-backup").as_deref(),
            Some("1 pack abc")
        );
        assert_eq!(header_value(h, "X-Other"), None);
    }
}
