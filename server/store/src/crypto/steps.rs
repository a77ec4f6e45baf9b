//! A batch's OpenPGP steps in one write transaction, kept in memory until its
//! commit: a step reads and writes a few correspondents and ends with an
//! outcome, and as statements those were half a dozen round trips to the
//! SQLite worker per message, more than the step's own work.

use std::collections::{HashMap, HashSet};

use super::{PeerRow, end_steps_on, peer_from_row, peer_on, save_peers_on};
use crate::Result;

/// The outcome (JSON), decrypted content and tag change a finished step records.
pub type StepOutcome<'a> = (
    &'a str,
    Option<&'a [u8]>,
    Option<&'a (Vec<String>, Vec<String>)>,
);

/// The OpenPGP steps of a batch of stored messages, in one write transaction
/// (see [`crate::Store::crypto_steps`]). Each message's step is all or
/// nothing: [`CryptoSteps::end_step`] keeps what it wrote,
/// [`CryptoSteps::abandon_step`] forgets it, and the message stays pending, so
/// a step is never half-counted. What the ended steps wrote is written to the
/// store at [`CryptoSteps::commit`]; dropped without it, nothing of the batch
/// is kept and its messages stay pending for the next open.
pub struct CryptoSteps {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    /// Correspondents as the ended steps left them: read from the store once
    /// (`None`: not there) or saved by a step.
    peers: HashMap<String, Option<PeerRow>>,
    /// The addresses of `peers` that ended steps saved.
    saved: HashSet<String>,
    /// What the open step saved, if a step is open.
    step: Option<HashMap<String, PeerRow>>,
    /// The ended steps' messages, with their outcome and decrypted content.
    ended: Vec<(i64, Option<Recorded>)>,
}

/// A step's outcome (JSON) and decrypted content, kept until the commit.
type Recorded = (String, Option<Vec<u8>>);

impl CryptoSteps {
    pub(crate) fn new(tx: sqlx::Transaction<'static, sqlx::Sqlite>) -> CryptoSteps {
        CryptoSteps {
            tx,
            peers: HashMap::new(),
            saved: HashSet::new(),
            step: None,
            ended: Vec::new(),
        }
    }

    /// Reads the states of `addresses` in one query, so that the steps asking
    /// for them find them read. A hint: an address left out is read when a
    /// step asks for it.
    pub async fn load_peers(&mut self, addresses: &[String]) -> Result<()> {
        let unread: Vec<&String> = addresses
            .iter()
            .filter(|a| !self.peers.contains_key(*a))
            .collect();
        if unread.is_empty() {
            return Ok(());
        }
        let rows =
            sqlx::query("SELECT * FROM peers WHERE address IN (SELECT value FROM json_each(?))")
                .bind(crate::to_json(&unread)?)
                .fetch_all(&mut *self.tx)
                .await?;
        for row in &rows {
            let peer = peer_from_row(row)?;
            self.peers.insert(peer.address.clone(), Some(peer));
        }
        for a in unread {
            self.peers.entry(a.clone()).or_insert(None);
        }
        Ok(())
    }

    /// Starts one message's step (abandoning one left open).
    pub fn begin_step(&mut self) {
        self.step = Some(HashMap::new());
    }

    /// A correspondent's state as this batch and the open step left it.
    pub async fn peer(&mut self, address: &str) -> Result<Option<PeerRow>> {
        if let Some(p) = self.step.as_ref().and_then(|s| s.get(address)) {
            return Ok(Some(p.clone()));
        }
        if let Some(p) = self.peers.get(address) {
            return Ok(p.clone());
        }
        let read = peer_on(&mut self.tx, address).await?;
        self.peers.insert(address.to_owned(), read.clone());
        Ok(read)
    }

    /// Saves a correspondent's state (insert or replace) in the open step; a
    /// save outside a step is kept as if a step of its own ended with it.
    pub fn save_peer(&mut self, p: &PeerRow) {
        match self.step.as_mut() {
            Some(step) => {
                step.insert(p.address.clone(), p.clone());
            }
            None => self.keep(p.clone()),
        }
    }

    fn keep(&mut self, p: PeerRow) {
        self.saved.insert(p.address.clone());
        self.peers.insert(p.address.clone(), Some(p));
    }

    /// Ends the open step of `message`: keeps what it saved and its outcome,
    /// or with `None` only that it had nothing OpenPGP after all. The tag
    /// change of an outcome is made now, whole or not at all.
    pub async fn end_step(&mut self, message: i64, outcome: Option<StepOutcome<'_>>) -> Result<()> {
        if let Some((add, remove)) = outcome.and_then(|(_, _, tags)| tags) {
            sqlx::query("SAVEPOINT crypto_retag")
                .execute(&mut *self.tx)
                .await?;
            let retagged =
                crate::messages::retag(&mut self.tx, &mut Default::default(), message, add, remove)
                    .await;
            let end = if retagged.is_ok() {
                "RELEASE crypto_retag"
            } else {
                "ROLLBACK TO crypto_retag; RELEASE crypto_retag"
            };
            sqlx::raw_sql(end).execute(&mut *self.tx).await?;
            // The step stays open: the caller abandons it.
            retagged?;
        }
        for (_, p) in self.step.take().unwrap_or_default() {
            self.keep(p);
        }
        self.ended.push((
            message,
            outcome.map(|(json, decrypted, _)| (json.to_owned(), decrypted.map(<[u8]>::to_vec))),
        ));
        Ok(())
    }

    /// Forgets what the open step saved; its message stays pending.
    pub fn abandon_step(&mut self) {
        self.step = None;
    }

    /// Queues a message for the index again (its decrypted content is new), in
    /// the same transaction as its step.
    pub async fn mark_unindexed(&mut self, message: i64) -> Result<()> {
        crate::index_queue::requeue_on(&mut self.tx, crate::index_queue::Requeue::Message(message))
            .await
    }

    /// Writes and commits every ended step (abandoning one left open).
    pub async fn commit(mut self) -> Result<()> {
        self.abandon_step();
        let saved: Vec<&PeerRow> = self
            .saved
            .iter()
            .filter_map(|a| self.peers.get(a).and_then(Option::as_ref))
            .collect();
        save_peers_on(&mut self.tx, &saved).await?;
        let ended: Vec<super::Ended<'_>> = self
            .ended
            .iter()
            .map(|(m, o)| (*m, o.as_ref().map(|(j, d)| (j.as_str(), d.as_deref()))))
            .collect();
        end_steps_on(&mut self.tx, &ended).await?;
        self.tx.commit().await?;
        Ok(())
    }
}
