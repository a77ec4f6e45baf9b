//! The onion service's identity: a 32-byte ed25519 seed that Homepost keeps,
//! from which the `.onion` address follows.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use safelog::DisplayRedacted as _;
use tor_hscrypto::pk::{HsId, HsIdKey, HsIdKeypair};
use tor_llcrypto::pk::ed25519;
use zeroize::Zeroizing;

use crate::Error;

/// The length of the identity seed in bytes.
const SEED_LEN: usize = 32;

/// The onion service's identity key: the 32-byte ed25519 secret seed (wiped
/// from memory on drop). The address is derived from it, so the same seed is
/// the same `.onion` address on every run; it is the box's address.
pub struct OnionIdentity {
    seed: Zeroizing<[u8; SEED_LEN]>,
}

impl std::fmt::Debug for OnionIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnionIdentity")
            .field("address", &self.onion_address())
            .finish_non_exhaustive()
    }
}

impl OnionIdentity {
    /// A new random identity (a new address).
    pub fn generate() -> Result<Self, Error> {
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        getrandom::fill(seed.as_mut()).map_err(|e| {
            Error::io(
                "the system's random number generator",
                std::io::Error::other(e.to_string()),
            )
        })?;
        Ok(Self { seed })
    }

    /// The identity with this seed (for a caller that keeps the seed itself,
    /// e.g. in the vault).
    pub fn from_seed(seed: Zeroizing<[u8; SEED_LEN]>) -> Self {
        Self { seed }
    }

    /// The secret seed, for a caller that stores it elsewhere. Anyone holding
    /// it can impersonate the box's onion address.
    pub fn seed(&self) -> &[u8; SEED_LEN] {
        &self.seed
    }

    /// Reads the identity from `path`, or creates a new one there if the file
    /// does not exist.
    ///
    /// A new file is written with mode 0600 through a temporary file that is
    /// synced and then linked into place (so a crash leaves either no key or a
    /// whole one, and a concurrent creator's key is never overwritten); missing
    /// parent directories are created with mode 0700. An existing file that
    /// group or others can read, or that is not exactly 32 bytes, is refused.
    pub fn load_or_create(path: &Path) -> Result<Self, Error> {
        match Self::load(path) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
            other => return other,
        }
        let identity = Self::generate()?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io(dir, e))?;
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix)
            .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))?;
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(format!(".{}.new", data_encoding::HEXLOWER.encode(&suffix)));
        let tmp = dir.join(tmp_name);
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| {
                f.write_all(identity.seed.as_ref())?;
                f.sync_all()
            });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io(&tmp, e));
        }
        // A hard link, unlike a rename, fails if the key appeared meanwhile.
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| Error::io(dir, e))?;
                Ok(identity)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load(path),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Reads an existing identity file (see [`Self::load_or_create`]).
    pub fn load(path: &Path) -> Result<Self, Error> {
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        if !meta.is_file() {
            return Err(Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
            ));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::IdentityPermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
        if meta.len() != SEED_LEN as u64 {
            return Err(Error::IdentityLength {
                path: path.to_path_buf(),
                len: meta.len(),
            });
        }
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        file.read_exact(seed.as_mut())
            .map_err(|e| Error::io(path, e))?;
        // The file may have grown between the check and the read.
        let mut extra = [0u8; 1];
        if file.read(&mut extra).map_err(|e| Error::io(path, e))? != 0 {
            return Err(Error::IdentityLength {
                path: path.to_path_buf(),
                len: meta.len().max(SEED_LEN as u64 + 1),
            });
        }
        Ok(Self { seed })
    }

    /// The service's address: 56 base32 characters and `.onion`.
    pub fn onion_address(&self) -> String {
        self.hs_id().display_unredacted().to_string()
    }

    /// The service's identity as arti names it.
    pub(crate) fn hs_id(&self) -> HsId {
        HsIdKey::from(&self.keypair()).id()
    }

    /// The expanded keypair arti signs with. It zeroizes its secret on drop.
    pub(crate) fn keypair(&self) -> HsIdKeypair {
        let keypair = ed25519::Keypair::from_bytes(&self.seed);
        HsIdKeypair::from(ed25519::ExpandedKeypair::from(&keypair))
    }

    /// The 64-byte expanded secret (scalar and hash prefix), the form arti's
    /// keystore would store: tests look for it on disk.
    #[doc(hidden)]
    pub fn expanded_secret_for_tests(&self) -> Zeroizing<[u8; 64]> {
        let keypair = ed25519::Keypair::from_bytes(&self.seed);
        Zeroizing::new(ed25519::ExpandedKeypair::from(&keypair).to_secret_key_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_follows_from_the_seed() {
        // rend-spec-v3's address format: 56 base32 characters, version 3.
        let a = OnionIdentity::from_seed(Zeroizing::new([7u8; 32]));
        let b = OnionIdentity::from_seed(Zeroizing::new([7u8; 32]));
        let c = OnionIdentity::from_seed(Zeroizing::new([8u8; 32]));
        let addr = a.onion_address();
        assert_eq!(addr, b.onion_address());
        assert_ne!(addr, c.onion_address());
        assert_eq!(addr.len(), 56 + ".onion".len(), "{addr}");
        assert!(addr.ends_with("d.onion"), "version 3 ends in 'd': {addr}");
        assert_eq!(addr.parse::<HsId>().ok(), Some(a.hs_id()));
        assert!(!format!("{a:?}").contains("[7"), "Debug shows no seed");
    }

    #[test]
    fn load_or_create_keeps_the_key_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tor/onion.key");
        let first = OnionIdentity::load_or_create(&path).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 32);
        let parent = std::fs::metadata(path.parent().unwrap()).unwrap();
        assert_eq!(parent.permissions().mode() & 0o777, 0o700);
        let again = OnionIdentity::load_or_create(&path).unwrap();
        assert_eq!(first.onion_address(), again.onion_address());
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["onion.key"]);
    }

    #[test]
    fn a_readable_or_damaged_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("onion.key");
        OnionIdentity::load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = OnionIdentity::load_or_create(&path).unwrap_err();
        assert!(
            matches!(err, Error::IdentityPermissions { mode: 0o644, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("0600"), "{err}");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, [1u8; 31]).unwrap();
        let err = OnionIdentity::load_or_create(&path).unwrap_err();
        assert!(
            matches!(err, Error::IdentityLength { len: 31, .. }),
            "{err}"
        );

        let err = OnionIdentity::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }
}
