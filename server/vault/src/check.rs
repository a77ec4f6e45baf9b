//! Checking `vault.json` while the box is unlocked, and writing it again from
//! the copy the vault was unlocked from when the file on disk is damaged.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::{Error, VAULT_FILE, file, parse};

/// The SHA-256 (hex) written into `vault.json` over what its wrapping binds.
pub(crate) fn checksum(aad: &[u8], nonce: &[u8], ciphertext: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(aad);
    h.update(nonce);
    h.update(ciphertext);
    hex::encode(h.finalize())
}

/// The state of `vault.json` on disk, as [`FileGuard::check`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// The same bytes the vault was unlocked from.
    AsUnlocked,
    /// Other bytes that parse and pass their checksum: the passphrase was
    /// changed by another process. They are taken as the sound copy now.
    Changed,
    /// The file is missing, unreadable or damaged; what is wrong.
    Damaged(String),
}

/// A sound copy of `vault.json` (no key in it), kept while the box is
/// unlocked to check the file on disk and write it again if it is damaged.
#[derive(Debug)]
pub struct FileGuard {
    dir: PathBuf,
    sound: std::sync::Mutex<Vec<u8>>,
}

impl FileGuard {
    pub(crate) fn new(dir: PathBuf, sound: Vec<u8>) -> FileGuard {
        FileGuard {
            dir,
            sound: std::sync::Mutex::new(sound),
        }
    }

    fn sound(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.sound
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads `vault.json` and compares it with the sound copy; bytes that
    /// differ must parse and carry a matching checksum to count as sound.
    pub fn check(&self) -> FileState {
        let path = self.dir.join(VAULT_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => return FileState::Damaged(format!("{VAULT_FILE} cannot be read: {e}")),
        };
        if bytes == *self.sound() {
            return FileState::AsUnlocked;
        }
        match parse(&path, &bytes) {
            Ok(parsed) if parsed.checksummed => {
                *self.sound() = bytes;
                FileState::Changed
            }
            Ok(_) => FileState::Damaged(format!(
                "{VAULT_FILE} differs from the copy this box was unlocked with and has no checksum"
            )),
            Err(Error::Corrupt { reason, .. }) => {
                FileState::Damaged(format!("{VAULT_FILE}: {reason}"))
            }
            Err(e) => FileState::Damaged(e.to_string()),
        }
    }

    /// Writes the sound copy over a damaged `vault.json` (atomically); does
    /// nothing when the file is sound. Returns whether it wrote.
    pub fn repair(&self) -> Result<bool, Error> {
        if !matches!(self.check(), FileState::Damaged(_)) {
            return Ok(false);
        }
        let sound = self.sound().clone();
        file::replace(&self.dir, &self.dir.join(VAULT_FILE), &sound)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KdfParams, Passphrase, Vault};

    fn pass(s: &str) -> Passphrase {
        Passphrase::new(s.to_owned())
    }

    /// Flips one bit of the base64 ciphertext's text, keeping it base64.
    fn damage_ciphertext(dir: &std::path::Path) {
        let path = dir.join(VAULT_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        let at = text.find("\"ciphertext\": \"").unwrap() + 20;
        let mut bytes = text.into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        std::fs::write(&path, bytes).unwrap();
    }

    #[test]
    fn a_damaged_file_is_not_a_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        Vault::create(dir.path(), &pass("right"), KdfParams::INSECURE_FOR_TESTS).unwrap();
        damage_ciphertext(dir.path());
        let err = Vault::unlock(dir.path(), &pass("right")).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { reason, .. } if reason.contains("checksum")),
            "{err:?}"
        );
    }

    #[test]
    fn the_guard_finds_damage_and_writes_the_sound_copy_back() {
        let dir = tempfile::tempdir().unwrap();
        let vault =
            Vault::create(dir.path(), &pass("right"), KdfParams::INSECURE_FOR_TESTS).unwrap();
        let key = vault.subkey(crate::Purpose::Index);
        let guard = vault.file_guard();
        drop(vault);
        assert_eq!(guard.check(), FileState::AsUnlocked);
        assert!(!guard.repair().unwrap());
        for damage in [
            |d: &std::path::Path| damage_ciphertext(d),
            |d: &std::path::Path| std::fs::write(d.join(VAULT_FILE), b"{\"trunc").unwrap(),
            |d: &std::path::Path| std::fs::remove_file(d.join(VAULT_FILE)).unwrap(),
        ] {
            damage(dir.path());
            assert!(matches!(guard.check(), FileState::Damaged(_)));
            assert!(guard.repair().unwrap());
            assert_eq!(guard.check(), FileState::AsUnlocked);
            let again = Vault::unlock(dir.path(), &pass("right")).unwrap();
            assert_eq!(again.subkey(crate::Purpose::Index).expose(), key.expose());
        }
    }

    #[test]
    fn a_new_passphrase_from_elsewhere_is_sound() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::create(dir.path(), &pass("old"), KdfParams::INSECURE_FOR_TESTS).unwrap();
        let guard = vault.file_guard();
        vault
            .change_passphrase(&pass("new"), KdfParams::INSECURE_FOR_TESTS)
            .unwrap();
        assert_eq!(guard.check(), FileState::Changed);
        assert_eq!(guard.check(), FileState::AsUnlocked);
        // Damage now is repaired with the new passphrase's file.
        damage_ciphertext(dir.path());
        assert!(guard.repair().unwrap());
        Vault::unlock(dir.path(), &pass("new")).unwrap();
    }
}
