//! Single messages read back from the backup, for `homepost repair`: a message
//! whose bytes were damaged on this box is found by its SHA-256.

use std::collections::{HashMap, VecDeque};

use sha2::{Digest, Sha256};

use crate::crypto::{Keys, Kind};
use crate::remote::Remote;
use crate::restore::{Opened, Reader};
use crate::{Error, Result};

/// The bytes of the messages with these SHA-256 digests that this box's backup
/// (its `keys`) holds, by digest. A message the backup does not hold, or whose
/// copy there does not match its digest, is left out; an error means the
/// backup could not be read at all.
pub async fn messages<R: Remote>(
    remote: &mut R,
    keys: &Keys,
    digests: &[Vec<u8>],
) -> Result<HashMap<Vec<u8>, Vec<u8>>> {
    let opened = Opened::read(remote, keys).await?;
    let mut reader = Reader {
        remote,
        opened: &opened,
        packs: VecDeque::new(),
    };
    let mut found = HashMap::new();
    for digest in digests {
        let id = opened.keys.id(Kind::Content, digest);
        if !opened.index.contains_key(&id) {
            continue;
        }
        // The object is the message as the store keeps it: compressed.
        let raw = reader.object(&id).await.and_then(|stored| {
            zstd::stream::decode_all(stored.as_slice())
                .map_err(|_| Error::Damaged("a message's copy".into()))
        });
        match raw {
            Ok(bytes) if Sha256::digest(&bytes).as_slice() == digest.as_slice() => {
                found.insert(digest.clone(), bytes);
            }
            Ok(_) => tracing::warn!("a message's copy in the backup does not match its digest"),
            Err(e) => tracing::warn!(error = %e, "a message's copy in the backup cannot be read"),
        }
    }
    Ok(found)
}
