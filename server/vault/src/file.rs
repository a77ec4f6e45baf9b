//! Durable writes of the vault file: a crash leaves either the old or the new file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::Error;

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

/// Writes `bytes` to `tmp` (mode 0600), syncs it, and returns.
fn write_synced(tmp: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .map_err(io(format!("cannot create {}", tmp.display())))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io(format!("cannot write {}", tmp.display())))
}

/// A temporary name beside `path`, unique to this write, so two concurrent writers
/// never touch each other's file.
fn temp_name(path: &Path) -> Result<std::path::PathBuf, Error> {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).map_err(|_| Error::Random)?;
    let suffix: String = r.iter().map(|b| format!("{b:02x}")).collect();
    Ok(path.with_extension(format!("json.{suffix}.new")))
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(format!("cannot sync {}", dir.display())))
}

/// Creates `path` with `bytes`, failing if it exists. The data directory is created
/// (or restricted) to mode 0700: only its owner may list or open what it holds.
pub(crate) fn create_new(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(io(format!("cannot create {}", dir.display())))?;
    let tmp = temp_name(path)?;
    write_synced(&tmp, bytes)?;
    // A hard link fails if the target exists, so a concurrent `init` cannot overwrite.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => sync_dir(dir),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(Error::AlreadyInitialised(dir.to_path_buf()))
        }
        Err(e) => Err(io(format!("cannot create {}", path.display()))(e)),
    }
}

/// Atomically replaces `path` with `bytes`.
pub(crate) fn replace(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = temp_name(path)?;
    write_synced(&tmp, bytes)?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(format!("cannot replace {}", path.display()))(e));
    }
    sync_dir(dir)
}
