//! The address book's files: importing the cards of a `.vcf` file (vCard 3.0
//! or 4.0) into the store, merged by address, with a report of every card
//! that was not taken and why; and exporting every contact as vCard 4.0.

use homepost_mail::vcard::{Card, CardProblem, parse_cards, write_card};
use homepost_store::{CardOutcome, Contact, ContactError, ContactFields, Store};
use serde::Serialize;

/// Largest `.vcf` file taken, in bytes (a phone's address book without
/// photos is well under a megabyte).
pub const MAX_IMPORT_BYTES: usize = 5 * 1024 * 1024;
/// Most cards taken from one file.
pub const MAX_IMPORT_CARDS: usize = 10_000;

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VcardImportReport {
    /// Cards that became new contacts.
    pub created: usize,
    /// Cards merged into contacts that had one of their addresses.
    pub updated: usize,
    /// Cards (or text outside cards) not taken, with where and why.
    pub problems: Vec<CardProblem>,
    /// Parts of cards that were taken but not kept (pictures, sounds and
    /// keys inlined in the card).
    pub not_kept: Vec<CardProblem>,
}

/// Why a file was not imported at all.
#[derive(Debug, thiserror::Error)]
pub enum VcardImportError {
    /// Larger than [`MAX_IMPORT_BYTES`].
    #[error("the file is larger than {} MB: export without photos, or in parts", MAX_IMPORT_BYTES / (1024 * 1024))]
    TooLarge,
    /// More cards than [`MAX_IMPORT_CARDS`].
    #[error("the file has more than {MAX_IMPORT_CARDS} cards: import it in parts")]
    TooManyCards,
    /// Not UTF-8 text (vCard 4.0 is always UTF-8; 3.0 exporters write UTF-8 too).
    #[error("the file is not UTF-8 text: export it again as vCard 3.0 or 4.0 (UTF-8)")]
    NotText,
    /// Nothing in it looks like a card.
    #[error("no card was found in the file (a card starts with BEGIN:VCARD)")]
    NoCards,
    /// The store failed; cards before this one were imported.
    #[error(transparent)]
    Store(#[from] homepost_store::Error),
}

/// Imports the cards of `bytes`, each in its own transaction: a bad card is
/// reported and skipped, the others are taken.
pub async fn import_vcards(
    store: &Store,
    bytes: &[u8],
    now: i64,
) -> Result<VcardImportReport, VcardImportError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(VcardImportError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| VcardImportError::NotText)?;
    let read = parse_cards(text);
    if read.len() > MAX_IMPORT_CARDS {
        return Err(VcardImportError::TooManyCards);
    }
    if !read
        .iter()
        .any(|r| r.is_ok() || r.as_ref().is_err_and(|p| p.card > 0))
    {
        return Err(VcardImportError::NoCards);
    }
    let mut report = VcardImportReport::default();
    for r in read {
        let card = match r {
            Ok(card) => card,
            Err(problem) => {
                report.problems.push(problem);
                continue;
            }
        };
        let problem = |reason: String| CardProblem {
            card: card.position,
            line: card.line,
            reason,
        };
        for name in &card.card.dropped {
            report.not_kept.push(problem(format!(
                "{name} was not kept (Homepost keeps no pictures, sounds or keys from cards)"
            )));
        }
        match store.import_card(&fields_of(&card.card), now).await {
            Ok(CardOutcome::Created(_)) => report.created += 1,
            Ok(CardOutcome::Updated(_)) => report.updated += 1,
            Err(ContactError::Store(e)) => return Err(e.into()),
            Err(e) => report.problems.push(problem(e.to_string())),
        }
    }
    Ok(report)
}

/// What the store keeps of a card. A name that is only one of its
/// addresses (as an export writes for a contact without a name) is no name.
fn fields_of(card: &Card) -> ContactFields {
    let name_is_address = card
        .emails
        .iter()
        .any(|e| e.trim().eq_ignore_ascii_case(card.name.trim()));
    ContactFields {
        name: if name_is_address {
            String::new()
        } else {
            card.name.clone()
        },
        addresses: card.emails.clone(),
        phones: card.phones.clone(),
        notes: card.note.clone(),
        extra: Some(card.extra.clone()),
    }
}

/// A contact as a card: the name shown, its addresses (preferred first),
/// numbers, notes and the properties it came with.
pub fn card_of(contact: &Contact) -> Card {
    Card {
        name: contact.name.clone(),
        emails: contact
            .addresses
            .iter()
            .map(|a| a.address.clone())
            .collect(),
        phones: contact.phones.clone(),
        note: contact.notes.clone(),
        extra: contact.extra.clone(),
        dropped: Vec::new(),
    }
}

/// Every contact (not deleted ones) as one vCard 4.0 file, by name.
pub async fn export_vcards(store: &Store) -> Result<String, homepost_store::Error> {
    let contacts = store.all_contacts().await?;
    Ok(contacts.iter().map(|c| write_card(&card_of(c))).collect())
}

#[cfg(test)]
mod tests;
