//! The box's backup key: made at the first backup, kept in the store, and kept
//! in the folder wrapped so that the passphrase or the recovery key opens it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use homepost_store::Store;
use homepost_vault::{Passphrase, Purpose, SecretKey, VAULT_FILE, Vault};
use zeroize::Zeroizing;

use crate::crypto::{Keys, RecoveryKey, random, seal_with};
use crate::format::{ItemKind, KEY_AD, KeysItem, Label};
use crate::remote::{Listing, Remote};
use crate::{Error, Result};

/// The backup key (hex), in the store's settings.
const KEY_SETTING: &str = "backup.key";
/// The backup key sealed under the recovery key (base64), to put in the folder
/// again when the keys item is rewritten.
const RECOVERY_SETTING: &str = "backup.recovery";
/// The recovery key itself, until the user has been shown it
/// ([`recovery_key_shown`]): a first backup that fails must not lose it.
const PENDING_SETTING: &str = "backup.recovery_pending";

/// The recovery key made by the first backup, while the user has not yet
/// confirmed seeing it.
pub async fn pending_recovery_key(store: &Store) -> Result<Option<RecoveryKey>> {
    match store.setting(PENDING_SETTING).await? {
        Some(text) => Ok(Some(RecoveryKey::parse(&Zeroizing::new(text))?)),
        None => Ok(None),
    }
}

/// Forgets the recovery key once the user has it (written down, printed).
pub async fn recovery_key_shown(store: &Store) -> Result<()> {
    Ok(store.remove_setting(PENDING_SETTING).await?)
}

/// What opens a backup on a new box.
pub enum Secret {
    /// The passphrase of the box that made it.
    Passphrase(Passphrase),
    /// The recovery key, and the passphrase the new box gets.
    Recovery {
        /// The recovery key shown at the first backup.
        key: RecoveryKey,
        /// The new box's passphrase.
        new_passphrase: Passphrase,
    },
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Secret::Passphrase(_) => "Secret::Passphrase(..)",
            Secret::Recovery { .. } => "Secret::Recovery(..)",
        })
    }
}

/// What a backup needs of the unlocked vault: where its file is (sent along,
/// so the passphrase opens the backup on a new box) and its backup sub-key.
/// Kept by the daily run while the box is unlocked; the key is wiped on drop.
#[derive(Clone)]
pub struct VaultAccess {
    dir: std::path::PathBuf,
    backup_key: SecretKey,
}

impl VaultAccess {
    /// Takes what a backup needs from `vault`.
    pub fn new(vault: &Vault) -> VaultAccess {
        VaultAccess {
            dir: vault.dir().to_path_buf(),
            backup_key: vault.subkey(Purpose::Backup),
        }
    }
}

impl std::fmt::Debug for VaultAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultAccess")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// The short public name of this backup key, in every item's label.
    pub fn owner(&self) -> String {
        hex::encode(&self.id(crate::crypto::Kind::Snapshot, b"owner")[..6])
    }
}

/// The box's backup keys from its store; `None` before the first backup.
pub async fn stored_keys(store: &Store) -> Result<Option<Keys>> {
    let Some(hex_key) = store.setting(KEY_SETTING).await? else {
        return Ok(None);
    };
    let bytes = Zeroizing::new(
        hex::decode(hex_key.trim())
            .map_err(|_| Error::Inconsistent("the stored backup key does not parse".into()))?,
    );
    let bytes: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| Error::Inconsistent("the stored backup key has the wrong length".into()))?;
    Ok(Some(Keys::from_bytes(&bytes)))
}

/// A new item name: the time in milliseconds, then random bytes, so that names
/// sort in the order items were made (two snapshots in one second included).
pub(crate) fn new_name() -> Result<String> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Ok(format!("{millis:012x}{}", hex::encode(random::<10>()?)))
}

/// The box's backup keys, made (with a recovery key, kept until it is shown:
/// [`pending_recovery_key`]) if this is the first backup; and the folder's keys
/// item brought up to date with the vault file (a new passphrase rewrites it,
/// and the old one goes).
pub(crate) async fn ensure<R: Remote>(
    store: &Store,
    vault: &VaultAccess,
    remote: &mut R,
    listing: &Listing,
) -> Result<Keys> {
    let stored = stored_keys(store).await?;
    if stored.is_none()
        && let Some(other) = listing.items.first()
    {
        // A box without a backup key meets items: they are another box's.
        return Err(Error::Foreign(remote.describe(), other.label.owner.clone()));
    }
    let keys = match stored {
        Some(keys) => keys,
        None => {
            let keys = Keys::generate()?;
            let recovery = RecoveryKey::generate()?;
            let wrapped = seal_with(&recovery.wrapping_key(), KEY_AD, keys.expose())?;
            store
                .set_setting(RECOVERY_SETTING, &STANDARD.encode(wrapped))
                .await?;
            store
                .set_setting(PENDING_SETTING, &recovery.display())
                .await?;
            store
                .set_setting(KEY_SETTING, &Zeroizing::new(hex::encode(keys.expose())))
                .await?;
            keys
        }
    };
    let owner = keys.owner();
    if let Some(other) = listing.items.iter().find(|i| i.label.owner != owner) {
        return Err(Error::Foreign(remote.describe(), other.label.owner.clone()));
    }
    let vault_file = std::fs::read(vault.dir.join(VAULT_FILE))
        .map_err(|e| Error::io(format!("reading {}", VAULT_FILE), e))?;
    let by_recovery = match store.setting(RECOVERY_SETTING).await? {
        Some(b) => STANDARD.decode(b).map_err(|_| {
            Error::Inconsistent("the stored recovery wrapping does not parse".into())
        })?,
        None => Vec::new(),
    };
    let current: Vec<_> = listing
        .items
        .iter()
        .filter(|i| i.label.kind == ItemKind::Keys)
        .cloned()
        .collect();
    let mut up_to_date = false;
    for item in &current {
        if let Ok(bytes) = remote.get(item).await
            && let Ok(old) = serde_json::from_slice::<KeysItem>(&bytes)
            && old.vault == vault_file
            && old.by_recovery == by_recovery
        {
            up_to_date = true;
        }
    }
    if !up_to_date {
        let item = KeysItem::new(&keys, vault_file, vault.backup_key.expose(), by_recovery)?;
        let label = Label {
            kind: ItemKind::Keys,
            owner,
            name: new_name()?,
        };
        remote
            .put(&label, &serde_json::to_vec(&item).map_err(Error::json)?)
            .await?;
        // The old item opens with the old passphrase only: once the new one is
        // there, it goes.
        remote.delete(&current).await?;
    }
    Ok(keys)
}

/// Opens the backup key of the keys item `bytes` with `secret`, writing the
/// new box's vault into `dir` (the old box's vault file for its passphrase, a
/// new vault for a recovery key). Returns the keys and the open vault.
pub(crate) fn open(bytes: &[u8], secret: &Secret, dir: &std::path::Path) -> Result<(Keys, Vault)> {
    let item: KeysItem =
        serde_json::from_slice(bytes).map_err(|_| Error::Damaged("keys".into()))?;
    match secret {
        Secret::Passphrase(p) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
            let path = dir.join(VAULT_FILE);
            std::fs::write(&path, &item.vault)
                .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
            let vault = match Vault::unlock(dir, p) {
                Ok(v) => v,
                Err(homepost_vault::Error::WrongPassphrase) => return Err(Error::WrongSecret),
                Err(e) => return Err(e.into()),
            };
            let keys = KeysItem::open(vault.subkey(Purpose::Backup).expose(), &item.by_vault)?;
            Ok((keys, vault))
        }
        Secret::Recovery {
            key,
            new_passphrase,
        } => {
            let keys = KeysItem::open(&key.wrapping_key(), &item.by_recovery)?;
            let vault = Vault::create(dir, new_passphrase, homepost_vault::KdfParams::DEFAULT)?;
            Ok((keys, vault))
        }
    }
}
