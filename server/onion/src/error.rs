//! The crate's one error type.

use std::path::PathBuf;

/// What can go wrong starting Tor, launching the onion service or handling
/// its keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read, written or created.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },

    /// The identity file can be read by others than its owner: the onion
    /// address's key may have leaked, so it is not used.
    #[error(
        "{}: the onion service key is readable by group or others (mode {mode:03o}); \
         it must be 0600. If others could read it, create a new one (a new .onion address).",
        path.display()
    )]
    IdentityPermissions {
        /// The identity file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// The identity file is not a 32-byte seed.
    #[error(
        "{}: not an onion service key (expected 32 bytes, found {len})",
        path.display()
    )]
    IdentityLength {
        /// The identity file.
        path: PathBuf,
        /// Its length in bytes.
        len: u64,
    },

    /// The Tor configuration (the network fragment, a nickname, a client key
    /// list) is invalid.
    #[error("Tor configuration: {0}")]
    Config(String),

    /// A client key is not in the expected text format.
    #[error("client authorization key: {0}")]
    ClientAuth(String),

    /// The onion service's nickname was used with a different identity
    /// earlier in this process.
    #[error("the onion service {0:?} was launched with another identity in this process")]
    NicknameInUse(String),

    /// arti refused or failed (creating the client, bootstrapping, launching
    /// the service).
    #[error("Tor: {0}")]
    Tor(#[from] arti_client::Error),
}

impl Error {
    /// An I/O error about `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
