//! What changed in a folder: every message's flags (the plain way), or with
//! CONDSTORE and QRESYNC (RFC 7162) only the flags changed and the messages
//! expunged since a mod-sequence, so that a pass over a large folder with
//! nothing new costs as much as what changed.

use std::collections::{HashMap, HashSet};

use async_imap::imap_proto::Response;
use async_imap::types::UnsolicitedResponse;
use futures::TryStreamExt;

use super::{Imap, PER_FLAGS_LINE, SMALL, flag_bits, imap_err};
use crate::error::{Error, Result};

/// What changed in the selected folder since a mod-sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// The read/flagged bits of each message whose flags changed, by UID.
    pub flags: HashMap<u32, i64>,
    /// UID ranges (inclusive) expunged since, which may name UIDs the client
    /// never saw (RFC 7162 §3.2.10); `None` when the server did not say
    /// (no QRESYNC), and the caller must list the UIDs to find them.
    pub vanished: Option<Vec<(u32, u32)>>,
}

/// Unsolicited responses async-imap queues before dropping more (its channel's
/// capacity): a VANISHED line among that many may have been lost.
const QUEUED: usize = 100;

impl Imap {
    /// Whether the server keeps mod-sequences (CONDSTORE, or QRESYNC which
    /// implies it).
    pub fn has_condstore(&self) -> bool {
        self.condstore
    }

    /// Whether QRESYNC is on for this session ([`Imap::enable_qresync`]).
    pub fn has_qresync(&self) -> bool {
        self.qresync_enabled
    }

    /// Turns QRESYNC on (`ENABLE QRESYNC`, RFC 5161) when the server offers it:
    /// from then on [`Imap::changes_since`] also reports expunged messages.
    /// Returns whether it is on.
    pub async fn enable_qresync(&mut self) -> Result<bool> {
        if !self.qresync || self.qresync_enabled {
            return Ok(self.qresync_enabled);
        }
        self.small();
        match self
            .session()?
            .run_command_and_check_ok("ENABLE QRESYNC")
            .await
        {
            Ok(()) => {}
            // Refused: the session goes on without it.
            Err(async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_)) => {
                self.drain();
                return Ok(false);
            }
            Err(e) => return Err(imap_err(e, "ENABLE QRESYNC")),
        }
        let mut enabled = false;
        if let Some(s) = self.session.as_mut() {
            while let Ok(r) = s.unsolicited_responses.try_recv() {
                if let UnsolicitedResponse::Other(data) = r
                    && let Response::Capabilities(caps) = data.parsed()
                {
                    enabled |= caps.iter().any(|c| {
                        matches!(c, async_imap::imap_proto::Capability::Atom(a)
                            if a.eq_ignore_ascii_case("QRESYNC"))
                    });
                }
            }
        }
        self.qresync_enabled = enabled;
        Ok(enabled)
    }

    /// The read/flagged bits of every message in the selected folder, by UID.
    pub async fn all_flags(&mut self, exists: u32) -> Result<HashMap<u32, i64>> {
        if exists == 0 {
            return Ok(HashMap::new());
        }
        Ok(self.flag_fetch("1:*", "(UID FLAGS)", exists).await?.0)
    }

    /// The flags changed in the selected folder (of `exists` messages) since
    /// mod-sequence `modseq` and, with QRESYNC on, the UIDs expunged since
    /// (`UID FETCH 1:* (FLAGS) (CHANGEDSINCE modseq VANISHED)`).
    pub async fn changes_since(&mut self, modseq: u64, exists: u32) -> Result<Changes> {
        if !self.condstore {
            return Err(Error::Protocol(
                "the server has no CONDSTORE: there are no mod-sequences to ask about".into(),
            ));
        }
        let modifier = if self.qresync_enabled {
            format!("(CHANGEDSINCE {modseq} VANISHED)")
        } else {
            format!("(CHANGEDSINCE {modseq})")
        };
        let (flags, others) = self
            .flag_fetch("1:*", &format!("(UID FLAGS) {modifier}"), exists)
            .await?;
        let vanished = self.qresync_enabled.then(|| {
            // VANISHED (EARLIER) answers the command; a VANISHED without it
            // is an expunge happening meanwhile: both are gone.
            let mut ranges = Vec::new();
            for r in &others {
                if let UnsolicitedResponse::Other(data) = r
                    && let Response::Vanished { uids, .. } = data.parsed()
                {
                    ranges.extend(uids.iter().map(|u| (*u.start(), *u.end())));
                }
            }
            (others.len() < QUEUED).then_some(ranges)
        });
        Ok(Changes {
            flags,
            vanished: vanished.flatten(),
        })
    }

    /// Every UID in the selected folder (of `exists` messages).
    pub async fn uids(&mut self, exists: u32) -> Result<HashSet<u32>> {
        self.limits.set(
            SMALL + u64::from(exists) * 11,
            self.timeouts.between_bytes,
            self.timeouts.command * 4,
        );
        let uids = self
            .session()?
            .uid_search("ALL")
            .await
            .map_err(|e| imap_err(e, "UID SEARCH ALL"))?;
        self.drain();
        Ok(uids)
    }

    /// A `UID FETCH set query` for flags, with what else the server said meanwhile.
    async fn flag_fetch(
        &mut self,
        set: &str,
        query: &str,
        exists: u32,
    ) -> Result<(HashMap<u32, i64>, Vec<UnsolicitedResponse>)> {
        let budget = SMALL + u64::from(exists) * PER_FLAGS_LINE;
        self.limits.set(
            budget,
            self.timeouts.between_bytes,
            self.timeouts.command * 4,
        );
        self.drain();
        let session = self.session()?;
        let fetches: Vec<_> = session
            .uid_fetch(set, query)
            .await
            .map_err(|e| imap_err(e, "UID FETCH FLAGS"))?
            .try_collect()
            .await
            .map_err(|e| imap_err(e, "UID FETCH FLAGS"))?;
        let mut others = Vec::new();
        while let Ok(r) = session.unsolicited_responses.try_recv() {
            others.push(r);
        }
        Ok((
            fetches
                .iter()
                .filter_map(|f| Some((f.uid?, flag_bits(f.flags()))))
                .collect(),
            others,
        ))
    }
}
