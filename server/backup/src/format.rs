//! What the backup folder holds, byte for byte (docs/backup.md, "Format").
//!
//! Every stored item is one message: a `keys` item (the wrapped backup key and
//! the vault file), `pack`s of sealed objects, `index`es saying which pack holds
//! which object, and `snapshot`s. Each is labelled `X-Homepost-Backup: 1 KIND
//! BOX NAME`: the format version, the kind, a short name for the backup key (so
//! two boxes writing one folder never mix) and a random name. Nothing else in
//! it can be read without the key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::crypto::{Id, Keys, Kind, open_with, seal_with};
use crate::{Error, Result};

/// The format version written in every label.
pub const VERSION: &str = "1";
/// The header line that labels an item.
pub const LABEL: &str = "X-Homepost-Backup";

/// The kinds of stored items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemKind {
    /// The wrapped backup key.
    Keys,
    /// Sealed objects.
    Pack,
    /// Which pack holds which objects.
    Index,
    /// One point in time.
    Snapshot,
}

impl ItemKind {
    /// The word in the label.
    pub fn word(self) -> &'static str {
        match self {
            ItemKind::Keys => "keys",
            ItemKind::Pack => "pack",
            ItemKind::Index => "index",
            ItemKind::Snapshot => "snapshot",
        }
    }

    fn parse(word: &str) -> Option<ItemKind> {
        Some(match word {
            "keys" => ItemKind::Keys,
            "pack" => ItemKind::Pack,
            "index" => ItemKind::Index,
            "snapshot" => ItemKind::Snapshot,
            _ => return None,
        })
    }
}

/// A label read back: what an item is, whose, and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The kind.
    pub kind: ItemKind,
    /// The short name of the backup key that wrote it.
    pub owner: String,
    /// The item's name.
    pub name: String,
}

impl Label {
    /// The label's text (after `X-Homepost-Backup: `).
    pub fn text(&self) -> String {
        format!(
            "{VERSION} {} {} {}",
            self.kind.word(),
            self.owner,
            self.name
        )
    }

    /// Reads a label; `Ok(None)` for a version this program does not know.
    pub fn parse(text: &str) -> Option<Label> {
        let mut words = text.split_whitespace();
        if words.next()? != VERSION {
            return None;
        }
        let kind = ItemKind::parse(words.next()?)?;
        let owner = words.next()?;
        let name = words.next()?;
        let ok = |s: &str| {
            !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
        };
        (ok(owner) && ok(name) && words.next().is_none()).then(|| Label {
            kind,
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }
}

/// The `keys` item: the vault file and the backup key wrapped under the vault's
/// backup sub-key and under the recovery key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeysItem {
    /// Format of this item.
    pub version: u32,
    /// The data directory's `vault.json`: the master key wrapped under the
    /// passphrase (Argon2id), as on the box.
    #[serde(with = "b64")]
    pub vault: Vec<u8>,
    /// The backup key sealed under the vault's backup sub-key.
    #[serde(with = "b64")]
    pub by_vault: Vec<u8>,
    /// The backup key sealed under the recovery key.
    #[serde(with = "b64")]
    pub by_recovery: Vec<u8>,
}

/// Associated data of the wrapped backup key.
pub(crate) const KEY_AD: &[u8] = b"homepost backup key v1";

impl KeysItem {
    /// Wraps `keys` for the folder.
    pub fn new(
        keys: &Keys,
        vault_file: Vec<u8>,
        vault_key: &[u8; 32],
        by_recovery: Vec<u8>,
    ) -> Result<KeysItem> {
        Ok(KeysItem {
            version: 1,
            vault: vault_file,
            by_vault: seal_with(vault_key, KEY_AD, keys.expose())?,
            by_recovery,
        })
    }

    /// Opens the backup key with `key` (the vault's sub-key or the recovery
    /// key's wrapping key) from `sealed`.
    pub fn open(key: &[u8; 32], sealed: &[u8]) -> Result<Keys> {
        let plain = zeroize::Zeroizing::new(
            open_with(key, KEY_AD, sealed).map_err(|_| Error::WrongSecret)?,
        );
        let bytes: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| Error::WrongSecret)?;
        Ok(Keys::from_bytes(&bytes))
    }
}

/// Where an object sits in a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// Offset of its sealed bytes in the pack.
    pub offset: u64,
    /// Length of its sealed bytes.
    pub len: u32,
}

/// An index: the objects of some packs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Index {
    /// Pack name -> (object name in hex -> slot).
    pub packs: BTreeMap<String, BTreeMap<String, Slot>>,
    /// Each piece of rows in these packs -> the messages' objects its rows name
    /// (so pruning knows what a snapshot needs without reading its rows).
    #[serde(default)]
    pub refs: BTreeMap<String, Vec<String>>,
}

/// A snapshot: the copy of the store at one point in time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// Format of this item.
    pub version: u32,
    /// When it was taken (seconds since 1970).
    pub time: i64,
    /// The store's schema version of the rows.
    pub schema: i64,
    /// The pieces of the rows, in order (hex names of `Rows` objects).
    pub rows: Vec<String>,
    /// Messages in the store.
    pub messages: u64,
    /// Bytes of the rows' copy and of the mail as received.
    pub bytes: u64,
}

/// The magic at the start of a pack.
const PACK_MAGIC: &[u8; 8] = b"HPPACK1\n";

/// Builds a pack: sealed objects back to back, then its sealed table of
/// contents and the table's length (so a pack can be read without an index).
#[derive(Debug, Default)]
pub struct PackWriter {
    bytes: Vec<u8>,
    slots: BTreeMap<String, Slot>,
}

impl PackWriter {
    /// Bytes the pack would have with one more object of `sealed` bytes,
    /// counting its table of contents at the most it can take (about 110 bytes
    /// of JSON an object, sealed uncompressed at worst).
    pub fn len_with(&self, sealed: usize) -> usize {
        PACK_MAGIC.len() + self.bytes.len() + sealed + (self.slots.len() + 1) * 120 + 64
    }

    /// Whether it holds no object.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Adds a sealed object.
    pub fn add(&mut self, id: &Id, sealed: &[u8]) {
        if self.bytes.is_empty() {
            self.bytes.extend_from_slice(PACK_MAGIC);
        }
        let slot = Slot {
            offset: self.bytes.len() as u64,
            len: sealed.len() as u32,
        };
        self.bytes.extend_from_slice(sealed);
        self.slots.insert(hex::encode(id), slot);
    }

    /// The pack's bytes, and its objects.
    pub fn finish(mut self, keys: &Keys, name: &str) -> Result<(Vec<u8>, BTreeMap<String, Slot>)> {
        let table = serde_json::to_vec(&self.slots).map_err(Error::json)?;
        let id = keys.id(Kind::PackHeader, name.as_bytes());
        let sealed = keys.seal(&id, &table)?;
        self.bytes.extend_from_slice(&sealed);
        self.bytes
            .extend_from_slice(&(sealed.len() as u32).to_le_bytes());
        Ok((self.bytes, self.slots))
    }
}

/// The sealed bytes of object `id` at `slot` of `pack`.
pub fn slice<'a>(pack: &'a [u8], slot: &Slot, id: &str) -> Result<&'a [u8]> {
    let start = usize::try_from(slot.offset).map_err(|_| Error::Damaged(id.to_owned()))?;
    pack.get(start..start + slot.len as usize)
        .filter(|_| pack.starts_with(PACK_MAGIC))
        .ok_or_else(|| Error::Damaged(id.to_owned()))
}

/// Reads a pack's own table of contents.
pub fn pack_table(keys: &Keys, name: &str, pack: &[u8]) -> Result<BTreeMap<String, Slot>> {
    let damaged = || Error::Damaged(format!("pack {name}"));
    if !pack.starts_with(PACK_MAGIC) || pack.len() < PACK_MAGIC.len() + 4 {
        return Err(damaged());
    }
    let (body, len) = pack.split_at(pack.len() - 4);
    let len = u32::from_le_bytes(len.try_into().map_err(|_| damaged())?) as usize;
    let start = body.len().checked_sub(len).ok_or_else(damaged)?;
    let id = keys.id(Kind::PackHeader, name.as_bytes());
    let table = keys
        .open(&id, &body[start..], 64 << 20)
        .map_err(|_| damaged())?;
    serde_json::from_slice(&table).map_err(|_| damaged())
}

/// Bytes as base64 in JSON.
pub(crate) mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_back_and_strangers_are_not_ours() {
        let l = Label {
            kind: ItemKind::Pack,
            owner: "0a1b2c3d".into(),
            name: "ff00".into(),
        };
        assert_eq!(Label::parse(&l.text()), Some(l));
        assert_eq!(Label::parse("2 pack 0a ff"), None);
        assert_eq!(Label::parse("1 pack 0a ff extra"), None);
        assert_eq!(Label::parse("1 pack ../x ff"), None);
    }

    #[test]
    fn a_pack_reads_back_by_slot_and_by_its_own_table() {
        let keys = Keys::generate().unwrap();
        let mut w = PackWriter::default();
        let a = keys.id(Kind::Rows, b"a");
        let sa = keys.seal(&a, b"a").unwrap();
        w.add(&a, &sa);
        let (bytes, slots) = w.finish(&keys, "p1").unwrap();
        let slot = slots[&hex::encode(a)];
        assert_eq!(slice(&bytes, &slot, "a").unwrap(), sa.as_slice());
        assert_eq!(pack_table(&keys, "p1", &bytes).unwrap(), slots);
        assert!(
            pack_table(&keys, "p2", &bytes).is_err(),
            "a pack renamed is refused"
        );
    }
}
