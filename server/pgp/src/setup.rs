//! The Autocrypt Setup Message (Level 1 section 4.4): moving the secret key
//! to another client, encrypted with a 36-digit Setup Code.

use std::fmt;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use sequoia_openpgp as openpgp;

use openpgp::armor;
use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message};
use openpgp::types::SymmetricAlgorithm;
use zeroize::Zeroizing;

use crate::autocrypt::PreferEncrypt;
use crate::mime::{self, ContentType};
use crate::{Error, Password, Result, SecretKey, verify};

/// The Setup Code: 36 digits in nine blocks of four, joined by dashes
/// (`numeric9x4`). The dashes are part of the passphrase. Zeroed when
/// dropped; `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SetupCode(Zeroizing<String>);

impl SetupCode {
    /// A fresh code from the operating system's CSPRNG.
    pub fn generate() -> Result<Self> {
        let mut blocks = Vec::with_capacity(9);
        while blocks.len() < 9 {
            let mut b = [0u8; 2];
            getrandom::fill(&mut b)
                .map_err(|e| Error::OpenPgp(format!("no randomness for the setup code: {e}")))?;
            let n = u16::from_le_bytes(b);
            // Rejection sampling keeps every block uniform over 0000-9999.
            if n < 60_000 {
                blocks.push(format!("{:04}", n % 10_000));
            }
        }
        Ok(SetupCode(Zeroizing::new(blocks.join("-"))))
    }

    /// Reads a code as a person typed it: the 36 digits, with any dashes,
    /// spaces or line breaks between them.
    pub fn parse(input: &str) -> Result<Self> {
        let digits: Zeroizing<String> =
            Zeroizing::new(input.chars().filter(char::is_ascii_digit).collect());
        let others = input
            .chars()
            .any(|c| !c.is_ascii_digit() && c != '-' && !c.is_whitespace());
        if digits.len() != 36 || others {
            return Err(Error::WrongSetupCode);
        }
        let blocks: Vec<&str> = (0..9).map(|i| &digits[i * 4..i * 4 + 4]).collect();
        Ok(SetupCode(Zeroizing::new(blocks.join("-"))))
    }

    /// The code with its dashes, to show the user once.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first two digits, revealed in the message as `Passphrase-Begin`
    /// so the user can tell which code belongs to which message.
    pub fn begin(&self) -> &str {
        &self.0[..2]
    }

    fn password(&self) -> Password {
        Password::from(self.0.as_str())
    }
}

impl fmt::Debug for SetupCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SetupCode(..)")
    }
}

/// Builds the Setup Message for `addr` (To and From are the account's own
/// address): a `multipart/mixed` message with an explanation and an
/// `application/autocrypt-setup` part holding the armored secret key,
/// symmetrically encrypted (AES-256, iterated and salted S2K, SEIPDv1) with
/// `code`.
pub fn create_setup_message(
    key: &SecretKey,
    addr: &str,
    prefer_encrypt: PreferEncrypt,
    code: &SetupCode,
    now: SystemTime,
) -> Result<Vec<u8>> {
    let addr = crate::autocrypt::canonical_address(addr);
    if !homepost_mail::compose::is_address(&addr) {
        return Err(Error::InvalidUserId(format!("{addr:?} is not an address")));
    }
    let armored_key =
        key.to_armored_with_headers(&[("Autocrypt-Prefer-Encrypt", prefer_encrypt.as_str())])?;
    let mut sink = Vec::new();
    {
        let message = Message::new(&mut sink);
        let message = Armorer::new(message)
            .kind(armor::Kind::Message)
            .add_header("Passphrase-Format", "numeric9x4")
            .add_header("Passphrase-Begin", code.begin())
            .build()
            .map_err(Error::openpgp)?;
        let message = Encryptor::with_passwords(message, [code.password()])
            .symmetric_algo(SymmetricAlgorithm::AES256)
            .build()
            .map_err(Error::openpgp)?;
        let mut literal = LiteralWriter::new(message)
            .build()
            .map_err(Error::openpgp)?;
        literal
            .write_all(armored_key.as_bytes())
            .map_err(Error::openpgp)?;
        literal.finalize().map_err(Error::openpgp)?;
    }
    let encrypted =
        String::from_utf8(sink).map_err(|_| Error::OpenPgp("armor is not UTF-8".into()))?;

    let date = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let date = mail_builder::headers::date::Date::new(date).to_rfc822();
    let boundary = mime::new_boundary();
    let text = format!(
        "From: <{addr}>\r\nTo: <{addr}>\r\nDate: {date}\r\nSubject: Autocrypt Setup Message\r\n\
         Autocrypt-Setup-Message: v1\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n\
         This message holds your Autocrypt settings and secret key, encrypted\r\n\
         with the Setup Code your other e-mail app showed you (it begins with\r\n\
         {begin}). To use this key in another app, open this message there and\r\n\
         enter the Setup Code. Keep the message as a backup of your key only\r\n\
         if you also keep the Setup Code safe.\r\n\
         --{boundary}\r\nContent-Type: application/autocrypt-setup\r\n\
         Content-Disposition: attachment; filename=\"autocrypt-setup-message.html\"\r\n\r\n\
         <html><body>\r\n<p>This is the Autocrypt Setup File used to transfer settings and\r\n\
         keys between clients. Decrypt it with the Setup Code shown by the old\r\n\
         client, then import the key it holds.</p>\r\n<pre>\r\n{encrypted}</pre>\r\n</body></html>\r\n\
         --{boundary}--\r\n",
        begin = code.begin(),
        encrypted = String::from_utf8_lossy(&mime::to_crlf(encrypted.as_bytes())),
    );
    Ok(text.into_bytes())
}

/// What a Setup Message held.
#[derive(Debug)]
pub struct ImportedSetup {
    /// The secret key.
    pub key: SecretKey,
    /// The sending client's prefer-encrypt setting
    /// (`Autocrypt-Prefer-Encrypt`; no preference when absent).
    pub prefer_encrypt: PreferEncrypt,
}

/// The armor headers of a Setup Message's encrypted part, to choose the
/// code entry form before asking for the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupMessageInfo {
    /// `Passphrase-Format` (`numeric9x4` for a Level 1 code).
    pub passphrase_format: Option<String>,
    /// `Passphrase-Begin`: the first digits of the code.
    pub passphrase_begin: Option<String>,
}

/// Checks that `message` is a Setup Message and reads its passphrase hints.
pub fn inspect_setup_message(message: &[u8]) -> Result<SetupMessageInfo> {
    let block = encrypted_block(message)?;
    Ok(SetupMessageInfo {
        passphrase_format: armor_header(&block, "Passphrase-Format").map(str::to_owned),
        passphrase_begin: armor_header(&block, "Passphrase-Begin").map(str::to_owned),
    })
}

/// The value of an armor header (the `Name: value` lines after the BEGIN
/// line of an ASCII-armored block, up to the blank line).
fn armor_header<'a>(armored: &'a str, name: &str) -> Option<&'a str> {
    armored
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
}

/// Imports a Setup Message with the code the user typed. A wrong code is
/// [`Error::WrongSetupCode`]; a message that is not a Level 1 Setup
/// Message is [`Error::NotASetupMessage`].
pub fn import_setup_message(
    message: &[u8],
    code: &SetupCode,
    now: SystemTime,
) -> Result<ImportedSetup> {
    let block = encrypted_block(message)?;
    let decrypted = verify::decrypt_with_password(block.as_bytes(), &code.password(), now)?;
    let plaintext = Zeroizing::new(decrypted.plaintext);
    let text = std::str::from_utf8(&plaintext)
        .map_err(|_| Error::NotASetupMessage("the decrypted payload is not text".into()))?;
    const BEGIN: &str = "-----BEGIN PGP PRIVATE KEY BLOCK-----";
    const END: &str = "-----END PGP PRIVATE KEY BLOCK-----";
    let start = text
        .find(BEGIN)
        .ok_or_else(|| Error::NotASetupMessage("no secret key inside".into()))?;
    let stop = text[start..]
        .find(END)
        .map(|i| start + i + END.len())
        .ok_or_else(|| Error::NotASetupMessage("the secret key is cut short".into()))?;
    let armored = &text[start..stop];
    let prefer_encrypt = armor_header(armored, "Autocrypt-Prefer-Encrypt")
        .map(PreferEncrypt::from_attribute)
        .unwrap_or_default();
    let key = SecretKey::from_bytes(armored.as_bytes())?;
    Ok(ImportedSetup {
        key,
        prefer_encrypt,
    })
}

/// The armored `PGP MESSAGE` in the `application/autocrypt-setup` part.
fn encrypted_block(message: &[u8]) -> Result<String> {
    let not = |why: &str| Error::NotASetupMessage(why.to_owned());
    let message = mime::to_crlf(message);
    let (head, body) = mime::split_head_body(&message);
    let fields = mime::header_fields(head);
    match mime::find(&fields, "Autocrypt-Setup-Message").map(super::mime::HeaderField::value) {
        Some(v) if v.eq_ignore_ascii_case("v1") => {}
        Some(_) => return Err(not("unknown Autocrypt-Setup-Message version")),
        None => return Err(not("no Autocrypt-Setup-Message header")),
    }
    let ct = ContentType::of(&fields);
    if ct.mime != "multipart/mixed" {
        return Err(not("not multipart/mixed"));
    }
    let boundary = ct
        .param("boundary")
        .ok_or_else(|| not("multipart without a boundary"))?;
    let parts =
        mime::multipart_parts(body, boundary).ok_or_else(|| not("the parts are incomplete"))?;
    let part = parts
        .iter()
        .find(|p| {
            let (h, _) = mime::split_head_body(p);
            ContentType::of(&mime::header_fields(h)).mime == "application/autocrypt-setup"
        })
        .ok_or_else(|| not("no application/autocrypt-setup part"))?;
    let (_, part_body) = mime::split_head_body(part);
    let text = String::from_utf8_lossy(part_body);
    const BEGIN: &str = "-----BEGIN PGP MESSAGE-----";
    const END: &str = "-----END PGP MESSAGE-----";
    let start = text
        .find(BEGIN)
        .ok_or_else(|| not("no encrypted key in the setup part"))?;
    let stop = text[start..]
        .find(END)
        .map(|i| start + i + END.len())
        .ok_or_else(|| not("the encrypted key is cut short"))?;
    Ok(text[start..stop].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_nine_blocks_of_four_digits() {
        let code = SetupCode::generate().unwrap();
        let s = code.as_str();
        assert_eq!(s.len(), 44);
        let blocks: Vec<&str> = s.split('-').collect();
        assert_eq!(blocks.len(), 9);
        assert!(
            blocks
                .iter()
                .all(|b| b.len() == 4 && b.chars().all(|c| c.is_ascii_digit()))
        );
        assert_eq!(code.begin(), &s[..2]);
        assert_ne!(SetupCode::generate().unwrap(), code);
        assert_eq!(format!("{code:?}"), "SetupCode(..)");
    }

    #[test]
    fn typed_codes_are_normalised() {
        let typed = "1742-0185-6197-\n1303-7016-8412-\n3581-4441-0597";
        let code = SetupCode::parse(typed).unwrap();
        assert_eq!(
            code.as_str(),
            "1742-0185-6197-1303-7016-8412-3581-4441-0597"
        );
        let spaced = SetupCode::parse("174201856197 1303 7016 8412 3581 4441 0597").unwrap();
        assert_eq!(spaced, code);
        assert!(SetupCode::parse("1234").is_err());
        assert!(SetupCode::parse("1742-0185-6197-1303-7016-8412-3581-4441-059x").is_err());
    }
}
