//! Changes to the address book by the user: creating, changing, deleting and
//! merging contacts, and taking in an imported card. Each is one transaction
//! and ends by bringing the touched contacts' sums and search words up to
//! date ([`refresh`]).

use sqlx::{Sqlite, Transaction};

use super::{CardOutcome, Contact, ContactError, ContactFields, load};
use crate::{Result, Store, to_json};

type Tx = Transaction<'static, Sqlite>;

/// Recomputes the contacts `ids` from their addresses' correspondents rows
/// (counts, dates, the mail's name) and rewrites their search words: the
/// name shown, and each address with the name the mail gives it.
pub(super) async fn refresh(tx: &mut Transaction<'_, Sqlite>, ids: &[i64], now: i64) -> Result<()> {
    refresh_counts(tx, ids, now).await?;
    refresh_words(tx, ids).await
}

/// The sums, dates and mail's name of the contacts `ids`, from their
/// addresses' correspondents rows.
pub(super) async fn refresh_counts(
    tx: &mut Transaction<'_, Sqlite>,
    ids: &[i64],
    now: i64,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = to_json(&ids)?;
    sqlx::query(
        "UPDATE contacts SET
            from_count = coalesce((SELECT sum(r.from_count) FROM contact_addresses a
                JOIN correspondents r ON r.address = a.address WHERE a.contact = contacts.id), 0),
            to_count = coalesce((SELECT sum(r.to_count) FROM contact_addresses a
                JOIN correspondents r ON r.address = a.address WHERE a.contact = contacts.id), 0),
            first_seen = (SELECT min(r.first_seen) FROM contact_addresses a
                JOIN correspondents r ON r.address = a.address WHERE a.contact = contacts.id),
            last_seen = (SELECT max(r.last_seen) FROM contact_addresses a
                JOIN correspondents r ON r.address = a.address WHERE a.contact = contacts.id),
            mail_name = coalesce((SELECT r.name FROM contact_addresses a
                JOIN correspondents r ON r.address = a.address
                WHERE a.contact = contacts.id AND r.name <> ''
                ORDER BY r.last_seen DESC LIMIT 1), ''),
            updated_at = ?2
         WHERE id IN (SELECT value FROM json_each(?1))",
    )
    .bind(&list)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rewrites the search words of the contacts `ids`.
pub(super) async fn refresh_words(tx: &mut Transaction<'_, Sqlite>, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = to_json(&ids)?;
    sqlx::query("DELETE FROM contact_search WHERE rowid IN (SELECT value FROM json_each(?))")
        .bind(&list)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO contact_search (rowid, words)
         SELECT c.id, c.display || ' ' || coalesce((SELECT group_concat(a.address || ' ' || coalesce(r.name, ''), ' ')
                FROM contact_addresses a LEFT JOIN correspondents r ON r.address = a.address
                WHERE a.contact = c.id), '')
           FROM contacts c WHERE c.id IN (SELECT value FROM json_each(?))",
    )
    .bind(&list)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The contact an address belongs to, and whether that one is deleted.
async fn owner(tx: &mut Tx, address: &str) -> Result<Option<(i64, bool)>> {
    Ok(sqlx::query_as(
        "SELECT c.id, c.hidden FROM contact_addresses a JOIN contacts c ON c.id = a.contact
          WHERE a.address = ?",
    )
    .bind(address)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Gives contact `id` exactly `addresses`, in that order. An address of a
/// deleted contact is taken from it (a tombstone left with none goes); one of
/// another contact is refused unless `take` is set (an import merges them
/// first). An address it no longer has becomes a contact of its own if the
/// mail knows it, so mail does not attach it back. Returns the other contacts
/// touched.
async fn set_addresses(
    tx: &mut Tx,
    id: i64,
    addresses: &[String],
    now: i64,
) -> Result<Vec<i64>, ContactError> {
    let mut touched = Vec::new();
    for a in addresses {
        match owner(tx, a).await? {
            Some((other, true)) if other != id => touched.push(other),
            Some((other, false)) if other != id => {
                return Err(ContactError::AddressTaken {
                    address: a.clone(),
                    contact: other,
                });
            }
            _ => {}
        }
    }
    let removed: Vec<String> = sqlx::query_scalar(
        "SELECT address FROM contact_addresses
          WHERE contact = ?1 AND address NOT IN (SELECT value FROM json_each(?2))",
    )
    .bind(id)
    .bind(to_json(&addresses)?)
    .fetch_all(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM contact_addresses WHERE address IN (SELECT value FROM json_each(?))")
        .bind(to_json(&addresses)?)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM contact_addresses WHERE contact = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (position, a) in addresses.iter().enumerate() {
        sqlx::query("INSERT INTO contact_addresses (address, contact, position) VALUES (?, ?, ?)")
            .bind(a)
            .bind(id)
            .bind(position as i64)
            .execute(&mut **tx)
            .await?;
    }
    for a in removed {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM correspondents WHERE address = ?)")
                .bind(&a)
                .fetch_one(&mut **tx)
                .await?;
        if known {
            let own = insert_contact(tx, &ContactFields::default(), now).await?;
            sqlx::query(
                "INSERT INTO contact_addresses (address, contact, position) VALUES (?, ?, 0)",
            )
            .bind(&a)
            .bind(own)
            .execute(&mut **tx)
            .await?;
            touched.push(own);
        }
    }
    // Tombstones left without an address have nothing more to hold back.
    let emptied: Vec<i64> = sqlx::query_scalar(
        "SELECT value FROM json_each(?)
          WHERE NOT EXISTS (SELECT 1 FROM contact_addresses WHERE contact = value)",
    )
    .bind(to_json(&touched)?)
    .fetch_all(&mut **tx)
    .await?;
    for gone in &emptied {
        remove(tx, *gone).await?;
    }
    touched.retain(|t| !emptied.contains(t));
    Ok(touched)
}

async fn insert_contact(tx: &mut Tx, f: &ContactFields, now: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO contacts (name, notes, phones, extra, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
    )
    .bind(&f.name)
    .bind(&f.notes)
    .bind(to_json(&f.phones)?)
    .bind(to_json(&f.extra.as_deref().unwrap_or_default())?)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

async fn write_fields(tx: &mut Tx, id: i64, f: &ContactFields, extra: &[String]) -> Result<()> {
    sqlx::query(
        "UPDATE contacts SET name = ?2, notes = ?3, phones = ?4, extra = ?5, hidden = 0 WHERE id = ?1",
    )
    .bind(id)
    .bind(&f.name)
    .bind(&f.notes)
    .bind(to_json(&f.phones)?)
    .bind(to_json(&extra)?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes a contact row and its search words (its addresses go with it).
async fn remove(tx: &mut Tx, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM contact_search WHERE rowid = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM contacts WHERE id = ?")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A contact that is not deleted, inside `tx`.
async fn visible(tx: &mut Tx, id: i64) -> Result<Option<Contact>> {
    Ok(load(tx, &[id]).await?.pop())
}

/// `b` then what of `a` is not in it.
fn union(a: &[String], b: &[String]) -> Vec<String> {
    let mut out = a.to_vec();
    for x in b {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

/// Two notes as one: both, unless one holds the other.
fn join_notes(a: &str, b: &str) -> String {
    match (a.trim(), b.trim()) {
        ("", x) | (x, "") => x.to_string(),
        (x, y) if x.contains(y) => x.to_string(),
        (x, y) if y.contains(x) => y.to_string(),
        (x, y) => format!("{x}\n\n{y}"),
    }
}

/// Moves everything of contact `from` into `into` (addresses after its own,
/// the numbers and notes of both, `into`'s name unless it has none), then
/// removes `from`.
async fn merge_in(
    tx: &mut Tx,
    into: &Contact,
    from: &Contact,
    now: i64,
) -> Result<(), ContactError> {
    let mut addresses: Vec<String> = into.addresses.iter().map(|a| a.address.clone()).collect();
    addresses.extend(from.addresses.iter().map(|a| a.address.clone()));
    let fields = ContactFields {
        name: if into.own_name.is_empty() {
            from.own_name.clone()
        } else {
            into.own_name.clone()
        },
        addresses: Vec::new(),
        phones: union(&into.phones, &from.phones),
        notes: join_notes(&into.notes, &from.notes),
        extra: None,
    };
    remove(tx, from.id).await?;
    write_fields(tx, into.id, &fields, &union(&into.extra, &from.extra)).await?;
    set_addresses(tx, into.id, &addresses, now).await?;
    Ok(())
}

impl Store {
    /// Creates a contact from what the user typed. Its addresses may not
    /// belong to another contact (merge instead), except a deleted one.
    pub async fn create_contact(
        &self,
        fields: &ContactFields,
        now: i64,
    ) -> Result<Contact, ContactError> {
        let f = fields.checked()?;
        let mut tx = self.begin_write().await?;
        let id = insert_contact(&mut tx, &f, now).await?;
        let mut touched = set_addresses(&mut tx, id, &f.addresses, now).await?;
        touched.push(id);
        refresh(&mut tx, &touched, now).await?;
        let contact = visible(&mut tx, id)
            .await?
            .ok_or(ContactError::NotFound(id))?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Replaces what the user set on contact `id`. An address it gives up
    /// becomes a contact of its own again.
    pub async fn update_contact(
        &self,
        id: i64,
        fields: &ContactFields,
        now: i64,
    ) -> Result<Contact, ContactError> {
        let mut tx = self.begin_write().await?;
        let old = visible(&mut tx, id)
            .await?
            .ok_or(ContactError::NotFound(id))?;
        let f = fields.checked_against(Some(&old))?;
        let extra = f.extra.clone().unwrap_or(old.extra);
        write_fields(&mut tx, id, &f, &extra).await?;
        let mut touched = set_addresses(&mut tx, id, &f.addresses, now).await?;
        touched.push(id);
        refresh(&mut tx, &touched, now).await?;
        let contact = visible(&mut tx, id)
            .await?
            .ok_or(ContactError::NotFound(id))?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Deletes contact `id`: what the user set goes; a contact the mail knows
    /// stays as a hidden tombstone holding its addresses, so that it is not
    /// completed, listed or made again from new mail. False if there was none.
    pub async fn delete_contact(&self, id: i64, now: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let Some(old) = visible(&mut tx, id).await? else {
            return Ok(false);
        };
        if old.addresses.is_empty() {
            remove(&mut tx, id).await?;
        } else {
            sqlx::query(
                "UPDATE contacts SET hidden = 1, name = '', notes = '', phones = '[]', extra = '[]',
                        updated_at = ?2 WHERE id = ?1",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Merges contact `from` into contact `into`: one contact with the
    /// addresses, numbers and notes of both and `into`'s name (or `from`'s if
    /// `into` has none of its own).
    pub async fn merge_contacts(
        &self,
        into: i64,
        from: i64,
        now: i64,
    ) -> Result<Contact, ContactError> {
        if into == from {
            return Err(ContactError::Invalid(
                "a contact cannot be merged with itself".into(),
            ));
        }
        let mut tx = self.begin_write().await?;
        let a = visible(&mut tx, into)
            .await?
            .ok_or(ContactError::NotFound(into))?;
        let b = visible(&mut tx, from)
            .await?
            .ok_or(ContactError::NotFound(from))?;
        merge_in(&mut tx, &a, &b, now).await?;
        refresh(&mut tx, &[into], now).await?;
        let contact = visible(&mut tx, into)
            .await?
            .ok_or(ContactError::NotFound(into))?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Takes in one imported card, merging by address: the contacts that own
    /// any of its addresses (deleted ones too: an import is the user's word)
    /// become one, which takes the card's name, its other addresses, numbers,
    /// notes and properties. A card with no address updates the contact
    /// without addresses of the same name, if there is one.
    pub async fn import_card(
        &self,
        fields: &ContactFields,
        now: i64,
    ) -> Result<CardOutcome, ContactError> {
        let f = fields.checked()?;
        let mut tx = self.begin_write().await?;
        let mut owners: Vec<i64> = Vec::new();
        for a in &f.addresses {
            if let Some((id, hidden)) = owner(&mut tx, a).await? {
                if hidden {
                    sqlx::query("UPDATE contacts SET hidden = 0 WHERE id = ?")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                if !owners.contains(&id) {
                    owners.push(id);
                }
            }
        }
        if f.addresses.is_empty() && !f.name.is_empty() {
            let same: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM contacts WHERE hidden = 0 AND name = ?
                    AND NOT EXISTS (SELECT 1 FROM contact_addresses WHERE contact = contacts.id)
                  ORDER BY id LIMIT 1",
            )
            .bind(&f.name)
            .fetch_optional(&mut *tx)
            .await?;
            owners.extend(same);
        }
        owners.sort_unstable();
        let Some(&target) = owners.first() else {
            let id = insert_contact(&mut tx, &f, now).await?;
            let mut touched = set_addresses(&mut tx, id, &f.addresses, now).await?;
            touched.push(id);
            refresh(&mut tx, &touched, now).await?;
            tx.commit().await?;
            return Ok(CardOutcome::Created(id));
        };
        for &other in &owners[1..] {
            let into = visible(&mut tx, target)
                .await?
                .ok_or(ContactError::NotFound(target))?;
            let from = visible(&mut tx, other)
                .await?
                .ok_or(ContactError::NotFound(other))?;
            merge_in(&mut tx, &into, &from, now).await?;
        }
        let c = visible(&mut tx, target)
            .await?
            .ok_or(ContactError::NotFound(target))?;
        let had: Vec<String> = c.addresses.iter().map(|a| a.address.clone()).collect();
        let merged = ContactFields {
            name: if f.name.is_empty() {
                c.own_name.clone()
            } else {
                f.name.clone()
            },
            addresses: Vec::new(),
            phones: union(&c.phones, &f.phones),
            notes: join_notes(&c.notes, &f.notes),
            extra: None,
        };
        write_fields(
            &mut tx,
            target,
            &merged,
            &union(&c.extra, f.extra.as_deref().unwrap_or_default()),
        )
        .await?;
        let mut touched = set_addresses(&mut tx, target, &union(&had, &f.addresses), now).await?;
        touched.push(target);
        refresh(&mut tx, &touched, now).await?;
        tx.commit().await?;
        Ok(CardOutcome::Updated(target))
    }
}
