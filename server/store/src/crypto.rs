//! OpenPGP state: the user's secret keys, each correspondent's Autocrypt state and
//! trust, and the outcome found in each message. The store keeps bytes and
//! times; homepost-pgp gives them meaning.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use zeroize::Zeroizing;

use crate::Result;

mod steps;
pub use steps::{CryptoSteps, StepOutcome};

/// One of the user's secret keys.
pub struct IdentityKey {
    /// Fingerprint (hex).
    pub fingerprint: String,
    /// The address it is for.
    pub address: String,
    /// The secret key (binary OpenPGP), wiped when dropped.
    pub secret: Zeroizing<Vec<u8>>,
    /// Whether it is the key used for new mail.
    pub active: bool,
    /// When it was made or imported (Unix seconds).
    pub created_at: i64,
}

/// A correspondent's Autocrypt state, TOFU pin and history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRow {
    /// Canonical address.
    pub address: String,
    /// Newest effective date of their messages.
    pub last_seen: Option<i64>,
    /// Effective date of the newest message with an Autocrypt header.
    pub autocrypt_timestamp: Option<i64>,
    /// The key from that header (binary certificate).
    #[serde(skip)]
    pub public_key: Option<Vec<u8>>,
    /// 0 no preference, 1 mutual.
    pub prefer_encrypt: i64,
    /// Key from the newest gossip about them.
    #[serde(skip)]
    pub gossip_key: Option<Vec<u8>>,
    /// Date of that gossip.
    pub gossip_timestamp: Option<i64>,
    /// TOFU: the first key fingerprint seen for them.
    pub pinned_fingerprint: Option<String>,
    /// A copy of that key (binary certificate).
    #[serde(skip)]
    pub pinned_key: Option<Vec<u8>>,
    /// Where that key came from (`autocrypt`, `gossip`, `attachment`, ...).
    pub pinned_source: Option<String>,
    /// A different key that arrived later, waiting for the user's decision.
    pub changed_fingerprint: Option<String>,
    /// When that key arrived.
    pub changed_at: Option<i64>,
    /// Signed messages from them.
    pub signed_count: i64,
    /// Encrypted messages from them.
    pub encrypted_count: i64,
    /// Messages from them with an Autocrypt header.
    pub autocrypt_count: i64,
    /// A key found outside Autocrypt (binary certificate): attached to their
    /// mail, fetched from WKD or keys.openpgp.org, or imported.
    #[serde(skip)]
    pub discovered_key: Option<Vec<u8>>,
    /// Where that key came from (`attachment`, `wkd-advanced`, ...).
    pub discovered_source: Option<String>,
    /// When it was found.
    pub discovered_at: Option<i64>,
    /// Where their `OpenPGP:` header says the key is published (https).
    pub announced_url: Option<String>,
    /// The key id or fingerprint that header names.
    pub announced_id: Option<String>,
}

impl crate::Store {
    /// Stores a secret key for `address`; it becomes the active one for that
    /// address (earlier ones stay, to decrypt older mail).
    pub async fn add_identity_key(
        &self,
        fingerprint: &str,
        address: &str,
        secret: &[u8],
        now: i64,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE identity_keys SET active = 0 WHERE address = ?")
            .bind(address)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO identity_keys (fingerprint, address, secret, active, created_at)
             VALUES (?, ?, ?, 1, ?)
             ON CONFLICT (fingerprint, address) DO UPDATE SET
                 secret = excluded.secret, active = 1",
        )
        .bind(fingerprint)
        .bind(address)
        .bind(secret)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The active secret key of `address`.
    pub async fn active_identity_key(&self, address: &str) -> Result<Option<IdentityKey>> {
        let row = sqlx::query(
            "SELECT fingerprint, address, secret, active, created_at FROM identity_keys
             WHERE address = ? COLLATE NOCASE AND active = 1",
        )
        .bind(address)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// Every secret key (to decrypt mail sent to any of them).
    pub async fn identity_keys(&self) -> Result<Vec<IdentityKey>> {
        let rows = sqlx::query(
            "SELECT fingerprint, address, secret, active, created_at FROM identity_keys
             ORDER BY active DESC, created_at DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// A correspondent's state.
    pub async fn peer(&self, address: &str) -> Result<Option<PeerRow>> {
        peer_on(&mut *self.pool.acquire().await?, address).await
    }

    /// Saves a correspondent's state (insert or replace).
    pub async fn save_peer(&self, p: &PeerRow) -> Result<()> {
        save_peers_on(&mut *self.writer.acquire().await?, &[p]).await
    }

    /// Records the OpenPGP outcome of a message (JSON) and its decrypted form.
    pub async fn set_message_crypto(
        &self,
        message: i64,
        outcome: &str,
        decrypted: Option<&[u8]>,
        tags: Option<&(Vec<String>, Vec<String>)>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if let Some((add, remove)) = tags {
            crate::messages::retag(&mut tx, &mut Default::default(), message, add, remove).await?;
        }
        end_steps_on(&mut tx, &[(message, Some((outcome, decrypted)))]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Messages whose OpenPGP step has not finished (stored with
    /// `crypto_pending`, no outcome yet), oldest first, after `after`.
    pub async fn crypto_pending(&self, after: i64, limit: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT message FROM crypto_pending WHERE message > ? ORDER BY message LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Starts the OpenPGP steps of a batch of messages: one write transaction
    /// for all of them (one commit, one sync, instead of a few per message).
    /// Other writers wait until [`CryptoSteps::commit`].
    pub async fn crypto_steps(&self) -> Result<CryptoSteps> {
        Ok(CryptoSteps::new(self.begin_write().await?))
    }

    /// The OpenPGP outcome of a message (JSON), if it had any OpenPGP in it.
    pub async fn message_crypto(&self, message: i64) -> Result<Option<(String, Option<Vec<u8>>)>> {
        Ok(
            sqlx::query_as("SELECT outcome, decrypted FROM message_crypto WHERE message = ?")
                .bind(message)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

async fn peer_on(conn: &mut sqlx::SqliteConnection, address: &str) -> Result<Option<PeerRow>> {
    let row = sqlx::query("SELECT * FROM peers WHERE address = ?")
        .bind(address)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(peer_from_row).transpose()
}

/// Most correspondents per `INSERT` of [`save_peers_on`] (20 parameters each;
/// SQLite takes up to 32,766).
const PEERS_PER_INSERT: usize = 500;

/// Saves correspondents' states (insert or replace), a few hundred to a
/// statement: each statement is a round trip to the SQLite worker.
async fn save_peers_on(conn: &mut sqlx::SqliteConnection, peers: &[&PeerRow]) -> Result<()> {
    for share in peers.chunks(PEERS_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT OR REPLACE INTO peers (address, last_seen, autocrypt_timestamp, public_key,
                 prefer_encrypt, gossip_key, gossip_timestamp, pinned_fingerprint,
                 changed_fingerprint, changed_at, signed_count, encrypted_count, autocrypt_count,
                 discovered_key, discovered_source, discovered_at, announced_url, announced_id,
                 pinned_key, pinned_source) ",
        );
        insert.push_values(share, |mut b, p| {
            b.push_bind(&p.address)
                .push_bind(p.last_seen)
                .push_bind(p.autocrypt_timestamp)
                .push_bind(p.public_key.as_deref())
                .push_bind(p.prefer_encrypt)
                .push_bind(p.gossip_key.as_deref())
                .push_bind(p.gossip_timestamp)
                .push_bind(p.pinned_fingerprint.as_deref())
                .push_bind(p.changed_fingerprint.as_deref())
                .push_bind(p.changed_at)
                .push_bind(p.signed_count)
                .push_bind(p.encrypted_count)
                .push_bind(p.autocrypt_count)
                .push_bind(p.discovered_key.as_deref())
                .push_bind(p.discovered_source.as_deref())
                .push_bind(p.discovered_at)
                .push_bind(p.announced_url.as_deref())
                .push_bind(p.announced_id.as_deref())
                .push_bind(p.pinned_key.as_deref())
                .push_bind(p.pinned_source.as_deref());
        });
        // Kept in the statement cache only for the one-row shape.
        let one = share.len() == 1;
        insert.build().persistent(one).execute(&mut *conn).await?;
    }
    Ok(())
}

/// One ended step: its message, with the outcome (JSON) and decrypted
/// content it recorded, if it had any.
type Ended<'a> = (i64, Option<(&'a str, Option<&'a [u8]>)>);

/// Most outcomes per `INSERT` of [`end_steps_on`].
const OUTCOMES_PER_INSERT: usize = 500;

/// Records the outcomes of ended steps and takes their messages off the
/// pending list, a few hundred to a statement.
async fn end_steps_on(conn: &mut sqlx::SqliteConnection, ended: &[Ended<'_>]) -> Result<()> {
    let outcomes: Vec<(i64, &str, Option<&[u8]>)> = ended
        .iter()
        .filter_map(|&(message, o)| o.map(|(json, decrypted)| (message, json, decrypted)))
        .collect();
    for share in outcomes.chunks(OUTCOMES_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT OR REPLACE INTO message_crypto (message, outcome, decrypted) ",
        );
        insert.push_values(share, |mut b, &(message, json, decrypted)| {
            b.push_bind(message).push_bind(json).push_bind(decrypted);
        });
        let one = share.len() == 1;
        insert.build().persistent(one).execute(&mut *conn).await?;
    }
    if !ended.is_empty() {
        let messages: Vec<i64> = ended.iter().map(|&(m, _)| m).collect();
        sqlx::query("DELETE FROM crypto_pending WHERE message IN (SELECT value FROM json_each(?))")
            .bind(crate::to_json(&messages)?)
            .execute(conn)
            .await?;
    }
    Ok(())
}

fn key_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<IdentityKey> {
    Ok(IdentityKey {
        fingerprint: r.try_get("fingerprint")?,
        address: r.try_get("address")?,
        secret: Zeroizing::new(r.try_get("secret")?),
        active: r.try_get("active")?,
        created_at: r.try_get("created_at")?,
    })
}

fn peer_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<PeerRow> {
    Ok(PeerRow {
        address: r.try_get("address")?,
        last_seen: r.try_get("last_seen")?,
        autocrypt_timestamp: r.try_get("autocrypt_timestamp")?,
        public_key: r.try_get("public_key")?,
        prefer_encrypt: r.try_get("prefer_encrypt")?,
        gossip_key: r.try_get("gossip_key")?,
        gossip_timestamp: r.try_get("gossip_timestamp")?,
        pinned_fingerprint: r.try_get("pinned_fingerprint")?,
        pinned_key: r.try_get("pinned_key")?,
        pinned_source: r.try_get("pinned_source")?,
        changed_fingerprint: r.try_get("changed_fingerprint")?,
        changed_at: r.try_get("changed_at")?,
        signed_count: r.try_get("signed_count")?,
        encrypted_count: r.try_get("encrypted_count")?,
        autocrypt_count: r.try_get("autocrypt_count")?,
        discovered_key: r.try_get("discovered_key")?,
        discovered_source: r.try_get("discovered_source")?,
        discovered_at: r.try_get("discovered_at")?,
        announced_url: r.try_get("announced_url")?,
        announced_id: r.try_get("announced_id")?,
    })
}

#[cfg(test)]
mod tests;
