//! PGP/MIME (RFC 3156) both ways, and inline PGP on the way in.
//!
//! Outgoing: [`sign_message`] wraps a message's content in
//! `multipart/signed`, [`encrypt_message`] signs and encrypts it into
//! `multipart/encrypted`, both with protected headers ([`crate::protected`]).
//! Incoming: [`open_message`] decrypts and verifies whatever of PGP/MIME or
//! inline PGP a message holds, and says what it found in an [`Opened`].

use std::time::SystemTime;

use mail_parser::{MimeHeaders, PartType};

use crate::autocrypt::{AutocryptHeader, GossipUpdate};
use crate::mime::{self, ContentType, to_crlf};
use crate::protected::{self, ProtectedHeaders};
use crate::verify::{self, SignatureOutcome, SignatureState};
use crate::{Certificate, Error, Fingerprint, Result, SecretKey, sign};

/// Signs a message (RFC 5322 bytes, as built by the composer) with `key`,
/// returning it as `multipart/signed` (RFC 3156 section 5).
///
/// The message's content (its `Content-*` fields and body) becomes the
/// signed part, with CRLF line endings and copies of the protected header
/// fields; the other header fields stay outside. The signed part must be
/// 7-bit with no trailing whitespace on any line, as RFC 3156 section 3
/// requires (mail-builder's output is): otherwise [`Error::NotCanonical`].
pub fn sign_message(message: &[u8], key: &SecretKey, now: SystemTime) -> Result<Vec<u8>> {
    let split = protected::split(message, &[], false);
    check_signable(&split.inner)?;
    let (signature, hash) = sign::sign_detached(&split.inner, key, now)?;
    let boundary = boundary_for(&split.inner);

    let mut out = Vec::with_capacity(split.inner.len() + 2048);
    mime::write_fields(&split.outer, &mut out);
    out.extend_from_slice(
        format!(
            "MIME-Version: 1.0\r\nContent-Type: multipart/signed; micalg={};\r\n \
             protocol=\"application/pgp-signature\";\r\n boundary=\"{boundary}\"\r\n\r\n\
             This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n--{boundary}\r\n",
            sign::micalg(hash)
        )
        .as_bytes(),
    );
    out.extend_from_slice(&split.inner);
    out.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\
             Content-Description: OpenPGP digital signature\r\n\
             Content-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(&to_crlf(signature.as_bytes()));
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok(out)
}

/// Signs and encrypts a message into `multipart/encrypted` (RFC 3156
/// section 4) for `recipients` and for the sender's own key, so the sent
/// copy stays readable.
///
/// The encrypted part carries the real header fields (protected headers)
/// and `gossip` as `Autocrypt-Gossip` fields; the outer Subject becomes
/// "...". Fails if any recipient's key cannot be encrypted to at `now`.
pub fn encrypt_message(
    message: &[u8],
    key: &SecretKey,
    recipients: &[&Certificate],
    gossip: &[AutocryptHeader],
    now: SystemTime,
) -> Result<Vec<u8>> {
    let extra = gossip
        .iter()
        .map(AutocryptHeader::to_gossip_field)
        .collect::<Result<Vec<_>>>()?;
    let split = protected::split(message, &extra, true);
    let own = key.certificate();
    let mut to: Vec<&Certificate> = recipients.to_vec();
    if !to.iter().any(|c| c.fingerprint() == own.fingerprint()) {
        to.push(&own);
    }
    let armored = sign::encrypt(&split.inner, Some(key), &to, now)?;
    // Base64 and armor lines never contain "_", so this boundary cannot clash.
    let boundary = mime::new_boundary();

    let mut out = Vec::with_capacity(armored.len() + 1024);
    mime::write_fields(&split.outer, &mut out);
    out.extend_from_slice(
        format!(
            "MIME-Version: 1.0\r\nContent-Type: multipart/encrypted;\r\n \
             protocol=\"application/pgp-encrypted\";\r\n boundary=\"{boundary}\"\r\n\r\n\
             This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n\
             --{boundary}\r\nContent-Type: application/pgp-encrypted\r\n\
             Content-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n\
             --{boundary}\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\
             Content-Description: OpenPGP encrypted message\r\n\
             Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(&to_crlf(armored.as_bytes()));
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok(out)
}

/// RFC 3156 section 3: signed data is 7-bit and has no trailing whitespace.
fn check_signable(entity: &[u8]) -> Result<()> {
    if let Some(pos) = entity.iter().position(|b| *b >= 0x80) {
        return Err(Error::NotCanonical(format!(
            "8-bit data at byte {pos}; encode the part as quoted-printable or base64"
        )));
    }
    for (n, line) in entity.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if matches!(line.last(), Some(b' ' | b'\t')) {
            return Err(Error::NotCanonical(format!(
                "line {} ends in whitespace; encode the part as quoted-printable",
                n + 1
            )));
        }
    }
    Ok(())
}

/// A boundary that does not occur in `content`.
fn boundary_for(content: &[u8]) -> String {
    loop {
        let b = mime::new_boundary();
        let needle = format!("--{b}");
        if !content
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
        {
            return b;
        }
    }
}

/// How a message was protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// No OpenPGP found.
    None,
    /// PGP/MIME (`multipart/signed` or `multipart/encrypted`).
    PgpMime,
    /// Inline PGP in a text part (an armored message or cleartext signature).
    Inline,
}

/// What [`open_message`] found in a message.
#[derive(Clone, PartialEq)]
pub struct Opened {
    /// How the message was protected.
    pub protection: Protection,
    /// Whether the message was encrypted.
    pub encrypted: bool,
    /// Whether it was encrypted and we decrypted it.
    pub decrypted: bool,
    /// Every signature found, outer layer first; empty when unsigned.
    pub signatures: Vec<SignatureOutcome>,
    /// The protected content as a MIME entity (CRLF line endings) to show
    /// instead of the message body: the decrypted part, the signed part, or
    /// for inline PGP a `text/plain` entity of the decrypted or verified
    /// text. `None` when there is nothing (or nothing readable) protected.
    pub content: Option<Vec<u8>>,
    /// The real header fields, when the content carries protected headers.
    pub protected_headers: Option<ProtectedHeaders>,
    /// Valid gossip in the decrypted root part about the message's
    /// recipients (only for encrypted messages).
    pub gossip: Vec<GossipUpdate>,
    /// Why the message could not be decrypted or checked, in plain words.
    pub problem: Option<String>,
}

impl std::fmt::Debug for Opened {
    /// Shows what was found, but neither the content nor the protected
    /// header values: they are the message's plaintext.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("protection", &self.protection)
            .field("encrypted", &self.encrypted)
            .field("decrypted", &self.decrypted)
            .field("signatures", &self.signatures)
            .field("content_len", &self.content.as_ref().map(Vec::len))
            .field("protected_headers", &self.protected_headers.is_some())
            .field("gossip", &self.gossip)
            .field("problem", &self.problem)
            .finish()
    }
}

impl Opened {
    fn plain() -> Self {
        Opened {
            protection: Protection::None,
            encrypted: false,
            decrypted: false,
            signatures: Vec::new(),
            content: None,
            protected_headers: None,
            gossip: Vec::new(),
            problem: None,
        }
    }

    /// The signature state to show: the best of the signatures found, or
    /// `NoSignature`.
    pub fn signature_state(&self) -> SignatureState {
        verify::best(&self.signatures).map_or(SignatureState::NoSignature, |s| s.state)
    }

    /// The fingerprint of the signer behind [`Opened::signature_state`].
    pub fn signer(&self) -> Option<&Fingerprint> {
        verify::best(&self.signatures).and_then(|s| s.signer.as_ref())
    }
}

/// Decrypts and verifies a received message (RFC 5322 bytes).
///
/// Handles `multipart/encrypted` (with the signature inside the OpenPGP
/// message, or a `multipart/signed` inside the encryption),
/// `multipart/signed`, inline PGP in the first `text/plain` part that
/// holds an armored message or a cleartext signature, and PGP/MIME
/// encryption that a mail server rewrapped in `multipart/mixed`. `keys` are ours to
/// decrypt with, `certs` the certificates to check signatures against
/// (include our own, to verify our sent mail). Never fails: what went wrong
/// is in [`Opened::problem`].
pub fn open_message(
    message: &[u8],
    keys: &[SecretKey],
    certs: &[Certificate],
    now: SystemTime,
) -> Opened {
    let message = to_crlf(message);
    let (head, body) = mime::split_head_body(&message);
    let fields = mime::header_fields(head);
    let ct = ContentType::of(&fields);
    let mut opened = Opened::plain();
    // Protected headers may sit on a multipart/signed inside the encryption
    // rather than on its signed part.
    let mut decrypted_root_headers = None;
    let protocol = ct
        .param("protocol")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let payload = match (ct.mime.as_str(), protocol.as_str()) {
        ("multipart/encrypted", "application/pgp-encrypted") => Some(encrypted_payload(&ct, body)),
        ("multipart/mixed", _) => mixed_up_payload(&ct, body).map(Ok),
        _ => None,
    };
    if let Some(payload) = payload {
        open_encrypted(&mut opened, payload, &message, keys, certs, now);
        if let Some(inner) = opened.content.clone() {
            decrypted_root_headers = ProtectedHeaders::from_entity(&inner);
            open_nested_signed(&mut opened, &inner, certs, now);
        }
    } else {
        match (ct.mime.as_str(), protocol.as_str()) {
            ("multipart/signed", "application/pgp-signature") => {
                opened.protection = Protection::PgpMime;
                verify_signed(&mut opened, &ct, body, certs, now);
            }
            // S/MIME and other protocols are not ours to judge.
            ("multipart/signed" | "multipart/encrypted", _) => {}
            _ => open_inline(&mut opened, &message, keys, certs, now),
        }
    }
    opened.protected_headers = opened
        .content
        .as_deref()
        .and_then(ProtectedHeaders::from_entity)
        .or(decrypted_root_headers);
    opened
}

/// Decrypts a PGP/MIME payload into `opened`, with the gossip of its root part.
fn open_encrypted(
    opened: &mut Opened,
    payload: Result<Vec<u8>>,
    message: &[u8],
    keys: &[SecretKey],
    certs: &[Certificate],
    now: SystemTime,
) {
    opened.protection = Protection::PgpMime;
    opened.encrypted = true;
    match payload {
        Ok(payload) => decrypt_into(opened, &payload, keys, certs, now),
        Err(e) => opened.problem = Some(e.to_string()),
    }
    if let Some(inner) = &opened.content {
        opened.gossip = GossipUpdate::from_message(message, inner, now);
    }
}

/// A PGP/MIME encrypted message that a server rewrapped as
/// `multipart/mixed`: either the three parts of `multipart/encrypted`
/// preceded by an empty text part (some Exchange servers), or a
/// `multipart/encrypted` part beside a footer the server added (Google
/// Workspace). Only the encrypted payload is taken: text around it is not
/// protected and is not shown as if it were.
fn mixed_up_payload(ct: &ContentType, body: &[u8]) -> Option<Vec<u8>> {
    let parts = mime::multipart_parts(body, ct.param("boundary")?)?;
    let typed: Vec<(ContentType, &[u8])> = parts
        .iter()
        .map(|p| {
            let (head, body) = mime::split_head_body(p);
            (ContentType::of(&mime::header_fields(head)), body)
        })
        .collect();
    if let [(text, text_body), (version, _), (data, _)] = typed.as_slice()
        && text.mime == "text/plain"
        && text_body.iter().all(u8::is_ascii_whitespace)
        && version.mime == "application/pgp-encrypted"
        && data.mime == "application/octet-stream"
    {
        return Some(decoded_body(parts[2]));
    }
    let mut encrypted = typed.iter().filter(|(ct, _)| {
        ct.mime == "multipart/encrypted" && ct.param_is("protocol", "application/pgp-encrypted")
    });
    match (encrypted.next(), encrypted.next()) {
        (Some((ct, body)), None) => encrypted_payload(ct, body).ok(),
        _ => None,
    }
}

/// The armored OpenPGP message in a `multipart/encrypted` body.
fn encrypted_payload(ct: &ContentType, body: &[u8]) -> Result<Vec<u8>> {
    if !ct.param_is("protocol", "application/pgp-encrypted") {
        return Err(Error::Malformed(
            "multipart/encrypted with a protocol other than application/pgp-encrypted".into(),
        ));
    }
    let boundary = ct
        .param("boundary")
        .ok_or_else(|| Error::Malformed("multipart/encrypted without a boundary".into()))?;
    let parts = mime::multipart_parts(body, boundary)
        .ok_or_else(|| Error::Malformed("the encrypted message's parts are incomplete".into()))?;
    let [_version, payload, ..] = parts.as_slice() else {
        return Err(Error::Malformed(
            "multipart/encrypted needs two parts (version and data)".into(),
        ));
    };
    Ok(decoded_body(payload))
}

/// A part's body with its Content-Transfer-Encoding undone.
fn decoded_body(part: &[u8]) -> Vec<u8> {
    let (head, body) = mime::split_head_body(part);
    let fields = mime::header_fields(head);
    let cte = mime::find(&fields, "Content-Transfer-Encoding")
        .map(|f| f.value().to_ascii_lowercase())
        .unwrap_or_default();
    if (cte == "base64" || cte == "quoted-printable")
        && let Some(msg) = mime::parse_entity(part)
        && let Some(root) = msg.parts.first()
    {
        return root.contents().to_vec();
    }
    body.to_vec()
}

fn decrypt_into(
    opened: &mut Opened,
    payload: &[u8],
    keys: &[SecretKey],
    certs: &[Certificate],
    now: SystemTime,
) {
    match verify::decrypt(payload, keys, certs, now) {
        Ok(d) => {
            opened.decrypted = d.encrypted;
            opened.encrypted |= d.encrypted;
            opened.signatures.extend(d.signatures);
            opened.content = Some(to_crlf(&d.plaintext));
        }
        Err(e) => opened.problem = Some(e.to_string()),
    }
}

/// A `multipart/signed` inside an encrypted message (sign, then encrypt as
/// two MIME layers): verify it and show its signed part.
fn open_nested_signed(opened: &mut Opened, inner: &[u8], certs: &[Certificate], now: SystemTime) {
    let (head, body) = mime::split_head_body(inner);
    let ct = ContentType::of(&mime::header_fields(head));
    if ct.mime == "multipart/signed" {
        verify_signed(opened, &ct, body, certs, now);
    }
}

fn verify_signed(
    opened: &mut Opened,
    ct: &ContentType,
    body: &[u8],
    certs: &[Certificate],
    now: SystemTime,
) {
    let result = (|| -> Result<(Vec<u8>, Vec<SignatureOutcome>)> {
        if !ct.param_is("protocol", "application/pgp-signature") {
            return Err(Error::Malformed(
                "multipart/signed with a protocol other than application/pgp-signature".into(),
            ));
        }
        let boundary = ct
            .param("boundary")
            .ok_or_else(|| Error::Malformed("multipart/signed without a boundary".into()))?;
        let parts = mime::multipart_parts(body, boundary)
            .ok_or_else(|| Error::Malformed("the signed message's parts are incomplete".into()))?;
        let [signed, signature, ..] = parts.as_slice() else {
            return Err(Error::Malformed(
                "multipart/signed needs two parts (content and signature)".into(),
            ));
        };
        let outcomes = verify::verify_detached(signed, &decoded_body(signature), certs, now)?;
        Ok((signed.to_vec(), outcomes))
    })();
    match result {
        Ok((signed, outcomes)) => {
            opened.content = Some(signed);
            if outcomes.is_empty() {
                opened.problem = Some("the signature part holds no signature".into());
            }
            opened.signatures.extend(outcomes);
        }
        Err(e) => {
            opened.problem = Some(e.to_string());
            opened.signatures.push(SignatureOutcome {
                state: SignatureState::Bad,
                signer: None,
                issuer: None,
                created: None,
                detail: Some(e.to_string()),
            });
        }
    }
}

const BEGIN_MESSAGE: &str = "-----BEGIN PGP MESSAGE-----";
const END_MESSAGE: &str = "-----END PGP MESSAGE-----";
const BEGIN_SIGNED: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
const END_SIGNATURE: &str = "-----END PGP SIGNATURE-----";

/// Inline PGP: the first text/plain part holding an armored message or a
/// cleartext-signed text.
fn open_inline(
    opened: &mut Opened,
    message: &[u8],
    keys: &[SecretKey],
    certs: &[Certificate],
    now: SystemTime,
) {
    let Some(parsed) = mime::parse_entity(message) else {
        return;
    };
    for part in &parsed.parts {
        let PartType::Text(text) = &part.body else {
            continue;
        };
        if part.content_type().is_some_and(|ct| {
            !ct.c_type.eq_ignore_ascii_case("text")
                || ct
                    .subtype()
                    .is_some_and(|s| !s.eq_ignore_ascii_case("plain"))
        }) {
            continue;
        }
        let block = armored_block(text, BEGIN_MESSAGE, END_MESSAGE)
            .map(|b| (b, true))
            .or_else(|| armored_block(text, BEGIN_SIGNED, END_SIGNATURE).map(|b| (b, false)));
        let Some((block, encrypted)) = block else {
            continue;
        };
        opened.protection = Protection::Inline;
        opened.encrypted = encrypted;
        match verify::decrypt(block.as_bytes(), keys, certs, now) {
            Ok(d) => {
                opened.decrypted = d.encrypted;
                opened.signatures = d.signatures;
                let mut entity =
                    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                        .to_vec();
                entity.extend_from_slice(&to_crlf(&d.plaintext));
                opened.content = Some(entity);
            }
            Err(e) => opened.problem = Some(e.to_string()),
        }
        return;
    }
}

/// The text from a `begin` line through the `end` line, if both are there.
fn armored_block<'a>(text: &'a str, begin: &str, end: &str) -> Option<&'a str> {
    let start = text
        .match_indices(begin)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || text[..i].ends_with('\n'))?;
    let stop = text[start..].find(end)? + start + end.len();
    Some(&text[start..stop])
}
