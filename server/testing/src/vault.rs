//! Test vaults: made with the insecure key derivation meant for tests (fast)
//! and one known passphrase.

use std::path::Path;

use homepost_vault::{KdfParams, Passphrase, Vault};

/// The passphrase of every vault [`create`] makes.
pub const PASSPHRASE: &str = "correct horse battery";

/// A new vault in `dir` with [`PASSPHRASE`].
pub fn create(dir: &Path) -> Vault {
    Vault::create(
        dir,
        &Passphrase::new(PASSPHRASE.into()),
        KdfParams::INSECURE_FOR_TESTS,
    )
    .expect("create a test vault")
}
