//! Identities: the addresses mail is sent From, each with a display name and a
//! signature. Every account has a primary identity (its own address, kept in step
//! with the account by triggers of migration 0012) and may have aliases, sent
//! through the same account's SMTP server. Exactly one identity of the box is the
//! default whenever there is any.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::Result;

/// Longest signature, in characters.
pub const MAX_SIGNATURE_CHARS: usize = 2000;

/// Longest display name, in characters (as for accounts).
const MAX_NAME_CHARS: usize = 200;

/// A stored identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Identity {
    /// Store id.
    pub id: i64,
    /// The account whose SMTP server sends its mail.
    pub account_id: i64,
    /// The From address.
    pub address: String,
    /// The From display name (may be empty).
    pub display_name: String,
    /// Plain text put below `-- ` in new messages and replies (may be empty).
    pub signature: String,
    /// The account's own address: it goes only with the account, and its address
    /// and name change with the account's settings.
    pub is_primary: bool,
    /// The identity new messages are written from.
    pub is_default: bool,
}

/// What a person sets on an identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityFields {
    /// The From address: one address, no display name.
    pub address: String,
    /// The From display name.
    #[serde(default)]
    pub display_name: String,
    /// Plain text, without the `-- ` line (it is added).
    #[serde(default)]
    pub signature: String,
}

impl IdentityFields {
    /// Checks fields written by a user and tidies them (trimmed address and name;
    /// the signature with `\n` line ends and no trailing blank lines). The error
    /// says what to fix.
    pub fn check(&mut self) -> std::result::Result<(), String> {
        self.address = self.address.trim().to_owned();
        // No whitespace, control characters, commas or angle brackets: one bare
        // address, which cannot smuggle a header line into From.
        if !homepost_mail::compose::is_address(&self.address) {
            return Err(format!(
                "{:?} is not one e-mail address (write it without a name, like alice@example.org)",
                self.address
            ));
        }
        self.display_name = self.display_name.trim().to_owned();
        if self.display_name.chars().any(char::is_control)
            || self.display_name.chars().count() > MAX_NAME_CHARS
        {
            return Err("the name is at most 200 characters, on one line".into());
        }
        let signature = self.signature.replace("\r\n", "\n").replace('\r', "\n");
        let signature = signature.trim_end();
        // A leading separator typed by the person is dropped: it is added anyway.
        let signature = signature
            .strip_prefix("-- \n")
            .or_else(|| signature.strip_prefix("--\n"))
            .unwrap_or(signature)
            .trim_start_matches('\n');
        if signature.chars().count() > MAX_SIGNATURE_CHARS {
            return Err(format!(
                "a signature is at most {MAX_SIGNATURE_CHARS} characters"
            ));
        }
        if signature
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err("the signature contains control characters".into());
        }
        self.signature = signature.to_owned();
        Ok(())
    }
}

/// What a change of identities came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityOutcome {
    /// Done; the identity's id.
    Done(i64),
    /// No account has this id.
    NoSuchAccount,
    /// No identity has this id.
    NoSuchIdentity,
    /// The account already sends from this address.
    AddressTaken,
    /// Not for the primary identity: it is deleted only with its account, and its
    /// address changes in the account's settings.
    Primary,
}

const COLUMNS: &str = "id, account, address, display_name, signature, is_primary, is_default";

fn identity_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Identity> {
    Ok(Identity {
        id: row.try_get("id")?,
        account_id: row.try_get("account")?,
        address: row.try_get("address")?,
        display_name: row.try_get("display_name")?,
        signature: row.try_get("signature")?,
        is_primary: row.try_get("is_primary")?,
        is_default: row.try_get("is_default")?,
    })
}

impl crate::Store {
    /// Every identity: by account, each account's primary first.
    pub async fn identities(&self) -> Result<Vec<Identity>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM identities ORDER BY account, is_primary DESC, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(identity_from_row).collect()
    }

    /// One identity.
    pub async fn identity(&self, id: i64) -> Result<Option<Identity>> {
        self.identity_where("id = ?", id).await
    }

    /// The default identity (none only when there is no account).
    pub async fn default_identity(&self) -> Result<Option<Identity>> {
        self.identity_where("is_default = ?", 1).await
    }

    /// An account's primary identity.
    pub async fn primary_identity(&self, account: i64) -> Result<Option<Identity>> {
        self.identity_where("is_primary = 1 AND account = ?", account)
            .await
    }

    async fn identity_where(
        &self,
        condition: &'static str,
        value: i64,
    ) -> Result<Option<Identity>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM identities WHERE {condition}"
        )))
        .bind(value)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(identity_from_row).transpose()
    }

    /// Adds an alias to `account` (fields checked by the caller).
    pub async fn add_identity(
        &self,
        account: i64,
        fields: &IdentityFields,
        now: i64,
    ) -> Result<IdentityOutcome> {
        let mut tx = self.begin_write().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = ?")
            .bind(account)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Ok(IdentityOutcome::NoSuchAccount);
        }
        if address_taken(&mut tx, account, &fields.address, None).await? {
            return Ok(IdentityOutcome::AddressTaken);
        }
        let id = sqlx::query_scalar(
            "INSERT INTO identities (account, address, display_name, signature, created_at)
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(account)
        .bind(&fields.address)
        .bind(&fields.display_name)
        .bind(&fields.signature)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(IdentityOutcome::Done(id))
    }

    /// Changes an identity (fields checked by the caller). The primary's address
    /// stays the account's (any change but of letter case is refused); its name
    /// is written to the account's settings too.
    pub async fn update_identity(
        &self,
        id: i64,
        fields: &IdentityFields,
    ) -> Result<IdentityOutcome> {
        let mut tx = self.begin_write().await?;
        let row: Option<(i64, String, bool)> =
            sqlx::query_as("SELECT account, address, is_primary FROM identities WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((account, address, primary)) = row else {
            return Ok(IdentityOutcome::NoSuchIdentity);
        };
        if primary {
            if !address.eq_ignore_ascii_case(&fields.address) {
                return Ok(IdentityOutcome::Primary);
            }
            // The trigger on accounts brings the name back to the primary.
            sqlx::query(
                "UPDATE accounts SET config = json_set(config, '$.display_name', ?) WHERE id = ?",
            )
            .bind(&fields.display_name)
            .bind(account)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE identities SET signature = ? WHERE id = ?")
                .bind(&fields.signature)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        } else {
            if address_taken(&mut tx, account, &fields.address, Some(id)).await? {
                return Ok(IdentityOutcome::AddressTaken);
            }
            sqlx::query(
                "UPDATE identities SET address = ?, display_name = ?, signature = ? WHERE id = ?",
            )
            .bind(&fields.address)
            .bind(&fields.display_name)
            .bind(&fields.signature)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(IdentityOutcome::Done(id))
    }

    /// Deletes an alias. If it was the default, the first account's primary
    /// becomes the default; its drafts move to its account's primary.
    pub async fn delete_identity(&self, id: i64) -> Result<IdentityOutcome> {
        let mut tx = self.begin_write().await?;
        let primary: Option<bool> =
            sqlx::query_scalar("SELECT is_primary FROM identities WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        match primary {
            None => return Ok(IdentityOutcome::NoSuchIdentity),
            Some(true) => return Ok(IdentityOutcome::Primary),
            Some(false) => {}
        }
        sqlx::query("DELETE FROM identities WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(IdentityOutcome::Done(id))
    }

    /// Makes `id` the default identity. Returns false when there is no such identity.
    pub async fn set_default_identity(&self, id: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM identities WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Ok(false);
        }
        sqlx::query("UPDATE identities SET is_default = 0 WHERE is_default = 1 AND id <> ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE identities SET is_default = 1 WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Whether another identity of `account` (not `except`) has `address` (any case).
async fn address_taken(
    conn: &mut sqlx::SqliteConnection,
    account: i64,
    address: &str,
    except: Option<i64>,
) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM identities WHERE account = ? AND address = ? AND id IS NOT ?",
    )
    .bind(account)
    .bind(address)
    .bind(except)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests;
