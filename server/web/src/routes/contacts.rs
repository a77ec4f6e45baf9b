//! The address book (`/contacts`): completion for address fields, the
//! contacts made from the mail and edited by the user, merging, deleting, and
//! vCard import and export.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Json, Path, Payload, Query};
use actix_web::{HttpResponse, delete, get, post, put};
use futures_util::StreamExt;
use homepost_core::address_book::{
    MAX_IMPORT_BYTES, VcardImportError, VcardImportReport, export_vcards, import_vcards,
};
use homepost_store::{Contact, ContactError, ContactFields, ContactOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{download, library, page_limit, parse_cursor, unix_now};
use crate::auth::Authed;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Registers the routes of this module (the fixed paths before `{id}`).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(complete)
        .service(list_contacts)
        .service(export)
        .service(import)
        .service(create_contact)
        .service(get_contact)
        .service(update_contact)
        .service(delete_contact)
        .service(merge_contacts);
}

impl From<ContactError> for ApiError {
    fn from(e: ContactError) -> Self {
        match e {
            ContactError::Invalid(_) => ApiError::bad_request("invalid_contact", e.to_string()),
            ContactError::AddressTaken { .. } => {
                ApiError::new(StatusCode::CONFLICT, "address_taken", e.to_string())
            }
            ContactError::NotFound(_) => ApiError::not_found(e.to_string()),
            ContactError::Store(s) => s.into(),
        }
    }
}

/// A completion query.
#[derive(Deserialize, IntoParams)]
pub struct CompletionQuery {
    /// The start of a name or address (or of words of them).
    q: String,
    /// At most this many (1-50, default 10).
    limit: Option<i64>,
}

/// A candidate for an address field.
#[derive(Serialize, ToSchema)]
pub struct AddressCandidate {
    /// The contact's name (the user's, else the mail's).
    name: Option<String>,
    address: String,
    /// Messages from and to this address.
    count: i64,
}

/// Completion candidates.
#[derive(Serialize, ToSchema)]
pub struct CandidateList {
    contacts: Vec<AddressCandidate>,
}

/// Addresses for an address field from the address book: those of contacts
/// whose name or address has words starting with the words typed, the most
/// used first; deleted contacts never.
#[utoipa::path(tag = "contacts", params(CompletionQuery), responses((status = 200, body = CandidateList), (status = 401, body = ErrorBody)))]
#[get("/contacts")]
async fn complete(
    state: Data<AppState>,
    _auth: Authed,
    q: Query<CompletionQuery>,
) -> Result<Json<CandidateList>, ApiError> {
    let limit = q.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::bad_request(
            "bad_request",
            "limit must be between 1 and 50",
        ));
    }
    let rows = library(&state)
        .await?
        .store()
        .complete_addresses(&q.q, limit)
        .await?;
    Ok(Json(CandidateList {
        contacts: rows
            .into_iter()
            .map(|c| AddressCandidate {
                name: c.name,
                address: c.address,
                count: c.count,
            })
            .collect(),
    }))
}

/// A page of the address book.
#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Words that names or addresses start with (none: everyone).
    q: Option<String>,
    /// `frequent` (most messages first, the default) or `name`.
    sort: Option<String>,
    /// From `next_cursor`.
    cursor: Option<String>,
    /// At most this many (1-200, default 50).
    limit: Option<usize>,
}

/// Contacts, and where the next page starts.
#[derive(Serialize, ToSchema)]
pub struct ContactPage {
    contacts: Vec<Contact>,
    /// Pass back as `cursor` for the next page; absent on the last.
    next_cursor: Option<String>,
}

/// Lists the address book (deleted contacts are not), searched by `q`.
#[utoipa::path(tag = "contacts", params(ListQuery), responses((status = 200, body = ContactPage),
    (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[get("/contacts/list")]
async fn list_contacts(
    state: Data<AppState>,
    _auth: Authed,
    q: Query<ListQuery>,
) -> Result<Json<ContactPage>, ApiError> {
    let limit = page_limit(q.limit, 50, 200)?;
    let offset = parse_cursor(q.cursor.as_deref())?;
    let order = match q.sort.as_deref() {
        None | Some("frequent") => ContactOrder::Frequent,
        Some("name") => ContactOrder::Name,
        Some(_) => {
            return Err(ApiError::bad_request(
                "bad_request",
                "sort is frequent or name",
            ));
        }
    };
    // One more than asked: whether there is a next page.
    let mut contacts = library(&state)
        .await?
        .store()
        .contacts_page(
            q.q.as_deref().unwrap_or(""),
            order,
            offset as i64,
            limit as i64 + 1,
        )
        .await?;
    let next_cursor = (contacts.len() > limit).then(|| (offset + limit).to_string());
    contacts.truncate(limit);
    Ok(Json(ContactPage {
        contacts,
        next_cursor,
    }))
}

/// What the user sets on a contact.
#[derive(Deserialize, ToSchema)]
pub struct ContactBody {
    /// The name; empty leaves it to the mail.
    #[serde(default)]
    name: String,
    /// Addresses, the preferred first.
    #[serde(default)]
    addresses: Vec<String>,
    /// Telephone numbers.
    #[serde(default)]
    phones: Vec<String>,
    /// Notes.
    #[serde(default)]
    notes: String,
}

impl ContactBody {
    fn fields(&self) -> ContactFields {
        ContactFields {
            name: self.name.clone(),
            addresses: self.addresses.clone(),
            phones: self.phones.clone(),
            notes: self.notes.clone(),
            extra: None,
        }
    }
}

/// Adds a contact. Its addresses may not be another contact's (merge them).
#[utoipa::path(tag = "contacts", request_body = ContactBody, responses((status = 201, body = Contact),
    (status = 400, body = ErrorBody, description = "invalid_contact"),
    (status = 409, body = ErrorBody, description = "address_taken"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[post("/contacts")]
async fn create_contact(
    state: Data<AppState>,
    _auth: Authed,
    body: Json<ContactBody>,
) -> Result<HttpResponse, ApiError> {
    let contact = library(&state)
        .await?
        .store()
        .create_contact(&body.fields(), unix_now())
        .await?;
    Ok(HttpResponse::Created().json(contact))
}

/// One contact.
#[utoipa::path(tag = "contacts", params(("id" = i64, Path, description = "Contact id")),
    responses((status = 200, body = Contact), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
#[get("/contacts/{id}")]
async fn get_contact(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<Json<Contact>, ApiError> {
    library(&state)
        .await?
        .store()
        .contact(*id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("there is no contact {id}")))
}

/// Changes a contact (all its fields). An address left out becomes a contact
/// of its own again; the user's name wins over the mail's.
#[utoipa::path(tag = "contacts", params(("id" = i64, Path, description = "Contact id")),
    request_body = ContactBody, responses((status = 200, body = Contact),
    (status = 400, body = ErrorBody, description = "invalid_contact"), (status = 404, body = ErrorBody),
    (status = 409, body = ErrorBody, description = "address_taken"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[put("/contacts/{id}")]
async fn update_contact(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
    body: Json<ContactBody>,
) -> Result<Json<Contact>, ApiError> {
    let contact = library(&state)
        .await?
        .store()
        .update_contact(*id, &body.fields(), unix_now())
        .await?;
    Ok(Json(contact))
}

/// Deletes a contact: gone from the list and from completion, and not made
/// again by new mail from its addresses.
#[utoipa::path(tag = "contacts", params(("id" = i64, Path, description = "Contact id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
    (status = 403, body = ErrorBody)))]
#[delete("/contacts/{id}")]
async fn delete_contact(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
) -> Result<HttpResponse, ApiError> {
    if library(&state)
        .await?
        .store()
        .delete_contact(*id, unix_now())
        .await?
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found(format!("there is no contact {id}")))
    }
}

/// The contact merged into this one.
#[derive(Deserialize, ToSchema)]
pub struct MergeBody {
    /// Its id; it is gone afterwards.
    from: i64,
}

/// Merges contact `from` into this one: both addresses, numbers and notes;
/// this one's name (or the other's, if this one has none of its own).
#[utoipa::path(tag = "contacts", params(("id" = i64, Path, description = "The contact kept")),
    request_body = MergeBody, responses((status = 200, body = Contact),
    (status = 400, body = ErrorBody, description = "invalid_contact"), (status = 404, body = ErrorBody),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[post("/contacts/{id}/merge")]
async fn merge_contacts(
    state: Data<AppState>,
    _auth: Authed,
    id: Path<i64>,
    body: Json<MergeBody>,
) -> Result<Json<Contact>, ApiError> {
    let contact = library(&state)
        .await?
        .store()
        .merge_contacts(*id, body.from, unix_now())
        .await?;
    Ok(Json(contact))
}

/// Every contact as one vCard 4.0 file (RFC 6350), to save.
#[utoipa::path(tag = "contacts", responses(
    (status = 200, content_type = "text/vcard", body = String), (status = 401, body = ErrorBody)))]
#[get("/contacts/export.vcf")]
async fn export(state: Data<AppState>, _auth: Authed) -> Result<HttpResponse, ApiError> {
    let text = export_vcards(library(&state).await?.store()).await?;
    Ok(download(
        "text/vcard; charset=utf-8",
        "contacts.vcf".to_string(),
        text.into_bytes(),
    ))
}

/// Imports a `.vcf` file (vCard 3.0 or 4.0, UTF-8, up to 5 MB; the body is
/// the file). Each card is merged into the contact that has one of its
/// addresses, else added; cards that cannot be read are reported by
/// position, line and reason, and the others are taken.
#[utoipa::path(tag = "contacts",
    request_body(content = Vec<u8>, content_type = "text/vcard"),
    responses((status = 200, body = VcardImportReport),
    (status = 400, body = ErrorBody, description = "not vCard text, no card, too many cards"),
    (status = 413, body = ErrorBody, description = "payload_too_large"),
    (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[post("/contacts/import")]
async fn import(
    state: Data<AppState>,
    _auth: Authed,
    mut payload: Payload,
) -> Result<Json<VcardImportReport>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            VcardImportError::TooLarge.to_string(),
        )
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(
                "bad_request",
                format!("the upload was cut off ({e}): send the file again"),
            )
        })?;
        if bytes.len() + chunk.len() > MAX_IMPORT_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    let lib = library(&state).await?;
    match import_vcards(lib.store(), &bytes, unix_now()).await {
        Ok(report) => Ok(Json(report)),
        Err(VcardImportError::TooLarge) => Err(too_large()),
        Err(VcardImportError::Store(e)) => Err(e.into()),
        Err(e) => Err(ApiError::bad_request("invalid_vcard", e.to_string())),
    }
}
