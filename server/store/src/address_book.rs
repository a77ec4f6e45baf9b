//! The address book: contacts made from the mail (names, addresses, when they
//! were first and last seen, how many messages came from and went to them),
//! which the user can edit, merge, delete and fill from vCards.
//!
//! What the mail says is kept per address in `correspondents`, counted as
//! each batch of messages is stored ([`mail`]), so nothing here scans the
//! per-message `addresses`. Every address belongs to one contact; a contact
//! made by the mail has one address until the user merges it with others.
//! The user's name wins over the mail's; a deleted contact stays as a hidden
//! tombstone holding its addresses, so that new mail does not bring it back.

mod edit;
pub(crate) mod mail;

use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{Error, Result, Store, to_json};

/// Most addresses one contact holds.
pub const MAX_ADDRESSES: usize = 50;
/// Most telephone numbers one contact holds.
pub const MAX_PHONES: usize = 20;
/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest notes, in characters.
pub const MAX_NOTES_CHARS: usize = 10_000;
/// Most other vCard properties kept for one contact.
pub const MAX_EXTRA: usize = 200;

/// One contact, as listed and shown.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    /// Its id.
    pub id: i64,
    /// The name shown: the user's, else the one the mail gives ('' if none).
    pub name: String,
    /// The name the user gave ('' if none: the mail's is shown).
    pub own_name: String,
    /// The name most recently seen in the mail with one of its addresses.
    pub mail_name: String,
    /// Its addresses, the preferred first.
    pub addresses: Vec<ContactAddress>,
    /// Telephone numbers.
    pub phones: Vec<String>,
    /// The user's notes.
    pub notes: String,
    /// Messages from it (not spam).
    pub from_count: i64,
    /// Messages to it (To, Cc, Bcc).
    pub to_count: i64,
    /// Unix seconds of the first and the last message with it, if any.
    pub first_seen: Option<i64>,
    /// See `first_seen`.
    pub last_seen: Option<i64>,
    /// Unix seconds of the last change by the user or by new mail.
    pub updated_at: i64,
    /// vCard properties Homepost does not show (content lines), written back on
    /// export.
    #[serde(skip)]
    pub extra: Vec<String>,
}

/// One address of a contact, with what the mail says of it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactAddress {
    /// The address, lower case.
    pub address: String,
    /// The name most recently seen with it ('' if none).
    pub mail_name: String,
    /// Messages from it and to it.
    pub from_count: i64,
    /// See `from_count`.
    pub to_count: i64,
    /// Unix seconds of its last message, if any.
    pub last_seen: Option<i64>,
}

/// What the user sets on a contact (the whole of it, on a change).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFields {
    /// The name; '' leaves it to the mail.
    pub name: String,
    /// Addresses, the preferred first; any case.
    pub addresses: Vec<String>,
    /// Telephone numbers.
    pub phones: Vec<String>,
    /// Notes.
    pub notes: String,
    /// Other vCard properties, as content lines (`None` keeps those it has).
    pub extra: Option<Vec<String>>,
}

/// The order of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContactOrder {
    /// The most messages first.
    #[default]
    Frequent,
    /// By name, case ignored.
    Name,
}

/// A candidate for an address field: one address of a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The contact's name, if it has one.
    pub name: Option<String>,
    /// The address.
    pub address: String,
    /// Messages from and to this address.
    pub count: i64,
}

/// What became of an imported card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardOutcome {
    /// A new contact.
    Created(i64),
    /// Merged into this contact (its addresses were known).
    Updated(i64),
}

/// Why an address-book change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    /// A field is not acceptable; the message says which and why.
    #[error("{0}")]
    Invalid(String),
    /// An address belongs to another contact (merge them instead).
    #[error("{address} belongs to another contact ({contact}): merge the two instead")]
    AddressTaken {
        /// The address.
        address: String,
        /// The contact it belongs to.
        contact: i64,
    },
    /// No such contact (or it was deleted).
    #[error("there is no contact {0}")]
    NotFound(i64),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] Error),
}

impl From<sqlx::Error> for ContactError {
    fn from(e: sqlx::Error) -> Self {
        ContactError::Store(e.into())
    }
}

/// An address as kept: trimmed, ASCII lower case (as SQLite's `lower()`, which
/// the migration used), one `@` with something on both sides, no spaces.
pub fn normalize_address(address: &str) -> Result<String, ContactError> {
    let a = address.trim();
    let bad = |why: &str| ContactError::Invalid(format!("{a:?} is not an e-mail address: {why}"));
    let Some((local, domain)) = a.rsplit_once('@') else {
        return Err(bad("it has no @"));
    };
    if local.is_empty() || domain.is_empty() || domain.contains('@') {
        return Err(bad("something is missing before or after the @"));
    }
    if a.len() > 254
        || a.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
    {
        return Err(bad("it is too long or has spaces or brackets"));
    }
    Ok(a.to_ascii_lowercase())
}

impl ContactFields {
    /// The fields checked and tidied: addresses normalised without
    /// repeats, empty numbers dropped, the limits applied.
    pub fn checked(&self) -> Result<ContactFields, ContactError> {
        self.checked_against(None)
    }

    /// As [`ContactFields::checked`], for an edit of contact `old`: the
    /// addresses it already has pass as they are (the mail may have brought
    /// ones the form would refuse, such as a quoted local part), and its limits
    /// are at least what it already holds (a merge may have gone past them), so
    /// any contact can still be renamed.
    pub fn checked_against(&self, old: Option<&Contact>) -> Result<ContactFields, ContactError> {
        let owned = |a: &str| {
            old.and_then(|c| {
                let a = a.trim().to_ascii_lowercase();
                c.addresses
                    .iter()
                    .find(|o| o.address == a)
                    .map(|o| o.address.clone())
            })
        };
        let max_addresses = MAX_ADDRESSES.max(old.map_or(0, |c| c.addresses.len()));
        let max_phones = MAX_PHONES.max(old.map_or(0, |c| c.phones.len()));
        let max_notes = MAX_NOTES_CHARS.max(old.map_or(0, |c| c.notes.chars().count()));
        let name = self.name.trim().to_string();
        if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(ContactError::Invalid(format!(
                "the name is longer than {MAX_NAME_CHARS} characters or has control characters"
            )));
        }
        let mut addresses: Vec<String> = Vec::new();
        for a in &self.addresses {
            let a = match owned(a) {
                Some(kept) => kept,
                None => normalize_address(a)?,
            };
            if !addresses.contains(&a) {
                addresses.push(a);
            }
        }
        let mut phones: Vec<String> = Vec::new();
        for p in &self.phones {
            let p = p.trim();
            if p.chars().count() > 64 || p.chars().any(char::is_control) {
                return Err(ContactError::Invalid(format!(
                    "{p:?} is not a telephone number"
                )));
            }
            if !p.is_empty() && !phones.iter().any(|q| q == p) {
                phones.push(p.to_string());
            }
        }
        let notes = self.notes.trim().replace("\r\n", "\n");
        let too_many = addresses.len() > max_addresses
            || phones.len() > max_phones
            || notes.chars().count() > max_notes
            || self.extra.as_ref().is_some_and(|x| x.len() > MAX_EXTRA);
        if too_many {
            return Err(ContactError::Invalid(format!(
                "a contact holds at most {MAX_ADDRESSES} addresses, {MAX_PHONES} numbers and {MAX_NOTES_CHARS} characters of notes"
            )));
        }
        Ok(ContactFields {
            name,
            addresses,
            phones,
            notes,
            extra: self.extra.clone(),
        })
    }
}

/// The FTS5 query for what was typed: every word must start a word of the
/// contact's name or addresses (each quoted, so nothing typed is syntax), or
/// `None` when nothing searchable was typed.
fn match_query(q: &str) -> Option<String> {
    let terms: Vec<String> = q
        .split_whitespace()
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .take(8)
        .map(|t| {
            let t: String = t.chars().take(100).collect();
            format!("\"{}\"*", t.replace('"', "\"\""))
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// A condition on contact `c`: none of its addresses is one of ours (an
/// identity's), so the user is not their own first contact.
const NOT_OWN: &str = "NOT EXISTS (SELECT 1 FROM contact_addresses own
    JOIN identities i ON i.address = own.address WHERE own.contact = c.id)";

fn order_by(order: ContactOrder) -> &'static str {
    match order {
        ContactOrder::Frequent => "c.from_count + c.to_count DESC, c.id",
        ContactOrder::Name => "c.display COLLATE NOCASE, c.id",
    }
}

impl Store {
    /// One contact, unless there is none with that id or it was deleted.
    pub async fn contact(&self, id: i64) -> Result<Option<Contact>> {
        let mut conn = self.pool.acquire().await?;
        Ok(load(&mut conn, &[id]).await?.pop())
    }

    /// A page of contacts (not deleted ones, nor the user's own addresses) whose name or address has words
    /// starting with the words of `q` (all of them, with or without accents;
    /// every contact when `q` has none), in `order`.
    pub async fn contacts_page(
        &self,
        q: &str,
        order: ContactOrder,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Contact>> {
        let mut conn = self.pool.acquire().await?;
        let ids: Vec<i64> = match match_query(q) {
            Some(m) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT c.id FROM contact_search JOIN contacts c ON c.id = contact_search.rowid
                     WHERE contact_search MATCH ?1 AND c.hidden = 0 AND {NOT_OWN}
                     ORDER BY {} LIMIT ?2 OFFSET ?3",
                    order_by(order)
                )))
                .bind(m)
                .bind(limit)
                .bind(offset)
                .fetch_all(&mut *conn)
                .await?
            }
            None if q.trim().is_empty() => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT c.id FROM contacts c WHERE c.hidden = 0 AND {NOT_OWN}
                     ORDER BY {} LIMIT ?1 OFFSET ?2",
                    order_by(order)
                )))
                .bind(limit)
                .bind(offset)
                .fetch_all(&mut *conn)
                .await?
            }
            None => Vec::new(),
        };
        load(&mut conn, &ids).await
    }

    /// Every contact that is not deleted, by name (for an export).
    pub async fn all_contacts(&self) -> Result<Vec<Contact>> {
        let mut conn = self.pool.acquire().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM contacts WHERE hidden = 0 ORDER BY display COLLATE NOCASE, id",
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            out.extend(load(&mut conn, chunk).await?);
        }
        Ok(out)
    }

    /// Candidates for an address field: the addresses of the contacts found
    /// by `q` as [`contacts_page`](Self::contacts_page) finds them, the most
    /// used contact first and, within it, its most used address; when `q`
    /// has an `@`, only the addresses containing that word.
    pub async fn complete_addresses(&self, q: &str, limit: i64) -> Result<Vec<Completion>> {
        let Some(m) = match_query(q) else {
            return Ok(Vec::new());
        };
        let rows: Vec<(String, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT c.display, a.address, coalesce(r.from_count + r.to_count, 0) AS n
             FROM (SELECT c.id, c.from_count + c.to_count AS total
                     FROM contact_search JOIN contacts c ON c.id = contact_search.rowid
                    WHERE contact_search MATCH ?1 AND c.hidden = 0 AND {NOT_OWN}
                    ORDER BY total DESC, c.id LIMIT ?2) AS found
             JOIN contacts c ON c.id = found.id
             JOIN contact_addresses a ON a.contact = c.id
             LEFT JOIN correspondents r ON r.address = a.address
             ORDER BY found.total DESC, c.id, n DESC, a.position"
        )))
        .bind(m)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let wanted: Vec<String> = q
            .split_whitespace()
            .filter(|t| t.contains('@'))
            .map(str::to_ascii_lowercase)
            .collect();
        Ok(rows
            .into_iter()
            .filter(|(_, a, _)| wanted.iter().all(|w| a.contains(w.as_str())))
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|(name, address, count)| Completion {
                name: (!name.is_empty()).then_some(name),
                address,
                count,
            })
            .collect())
    }
}

/// The contacts `ids` (not deleted ones), in that order.
async fn load(conn: &mut sqlx::SqliteConnection, ids: &[i64]) -> Result<Vec<Contact>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = to_json(&ids)?;
    let rows = sqlx::query(
        "SELECT id, name, mail_name, display, notes, phones, extra, from_count, to_count,
                first_seen, last_seen, updated_at
           FROM contacts WHERE hidden = 0 AND id IN (SELECT value FROM json_each(?))",
    )
    .bind(&list)
    .fetch_all(&mut *conn)
    .await?;
    let mut addresses: std::collections::HashMap<i64, Vec<ContactAddress>> =
        std::collections::HashMap::new();
    for r in sqlx::query(
        "SELECT a.contact, a.address, coalesce(r.name, '') AS mail_name,
                coalesce(r.from_count, 0) AS from_count, coalesce(r.to_count, 0) AS to_count,
                r.last_seen
           FROM contact_addresses a LEFT JOIN correspondents r ON r.address = a.address
          WHERE a.contact IN (SELECT value FROM json_each(?)) ORDER BY a.contact, a.position",
    )
    .bind(&list)
    .fetch_all(&mut *conn)
    .await?
    {
        addresses
            .entry(r.try_get("contact")?)
            .or_default()
            .push(ContactAddress {
                address: r.try_get("address")?,
                mail_name: r.try_get("mail_name")?,
                from_count: r.try_get("from_count")?,
                to_count: r.try_get("to_count")?,
                last_seen: r.try_get("last_seen")?,
            });
    }
    let mut by_id = std::collections::HashMap::with_capacity(rows.len());
    for r in &rows {
        let c = contact_from_row(r, &mut addresses)?;
        by_id.insert(c.id, c);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

fn contact_from_row(
    r: &SqliteRow,
    addresses: &mut std::collections::HashMap<i64, Vec<ContactAddress>>,
) -> Result<Contact> {
    let id: i64 = r.try_get("id")?;
    let json_list = |column: &str| -> Result<Vec<String>> {
        let text: String = r.try_get(column)?;
        serde_json::from_str(&text).map_err(|e| Error::Sql(sqlx::Error::Decode(Box::new(e))))
    };
    Ok(Contact {
        id,
        name: r.try_get("display")?,
        own_name: r.try_get("name")?,
        mail_name: r.try_get("mail_name")?,
        addresses: addresses.remove(&id).unwrap_or_default(),
        phones: json_list("phones")?,
        notes: r.try_get("notes")?,
        from_count: r.try_get("from_count")?,
        to_count: r.try_get("to_count")?,
        first_seen: r.try_get("first_seen")?,
        last_seen: r.try_get("last_seen")?,
        updated_at: r.try_get("updated_at")?,
        extra: json_list("extra")?,
    })
}

#[cfg(test)]
mod tests;
