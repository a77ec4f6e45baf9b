//! A tantivy [`Directory`] that encrypts every file at rest.
//!
//! Files are sealed in [`CHUNK_SIZE`] chunks with XChaCha20-Poly1305 (see the `format`
//! module for the exact layout), so a random read decrypts only the chunks it touches.
//! The tantivy path of a file is bound into every chunk and hidden behind an HMAC in
//! the on-disk name: truncating, extending, reordering, swapping chunks between files
//! or renaming a file is detected on read, and a name reveals nothing.

mod file_handle;
mod format;
mod writer;

#[cfg(test)]
mod tests;

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::Directory;
use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    DirectoryLock, FileHandle, Lock, WatchCallback, WatchCallbackList, WatchHandle, WritePtr,
};

use crate::Error;
use file_handle::EncryptedFileHandle;
pub use format::CHUNK_SIZE;
use format::{DATA_SUFFIX, Keys, MAGIC};
use writer::ChunkWriter;

/// Suffix of a file being written by [`Directory::atomic_write`] before its rename.
const TEMP_SUFFIX: &str = ".tmp";
/// Suffix of the (empty, unencrypted) files that carry advisory locks.
const LOCK_SUFFIX: &str = ".lock";
/// The file whose atomic replacement means "a new commit": watchers are told of it.
const META_FILE: &str = "meta.json";

/// A directory on disk whose files are encrypted and authenticated, for tantivy.
///
/// Clones share the keys and the watch list. The keys are wiped from memory when the
/// last clone (and the last file handle) is dropped.
///
/// [`Directory::watch`] callbacks fire when this process commits (an atomic write of
/// `meta.json` through any clone); changes made by other processes are not watched,
/// so readers of an index another process writes reload explicitly.
#[derive(Clone)]
pub struct EncryptedDirectory {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    keys: Arc<Keys>,
    watchers: WatchCallbackList,
}

impl EncryptedDirectory {
    /// Opens (creating it, private to the user, if missing) the directory at `path`,
    /// with the 256-bit index key `key`.
    pub fn open(path: &Path, key: &[u8; 32]) -> Result<Self, Error> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)?;
        if !fs::metadata(path)?.is_dir() {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", path.display()),
            )));
        }
        Ok(EncryptedDirectory {
            inner: Arc::new(Inner {
                root: path.to_path_buf(),
                keys: Arc::new(Keys::derive(key)),
                watchers: WatchCallbackList::default(),
            }),
        })
    }

    /// The directory on disk.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Where the encrypted form of tantivy's `path` lives on disk.
    pub(crate) fn disk_path(&self, path: &Path) -> PathBuf {
        self.inner.root.join(self.inner.keys.disk_name(path))
    }

    /// Every encrypted file and leftover temporary file of this directory (not the
    /// lock files, nor files that are not ours).
    pub(crate) fn index_files(&self) -> io::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.inner.root)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if is_own_data_file(name) && entry.file_type()?.is_file() {
                files.push(entry.path());
            }
        }
        Ok(files)
    }

    /// Removes every file [`index_files`](Self::index_files) lists. Used to start a
    /// fresh index in place of a damaged one; the caller must hold the index writer
    /// lock. Returns how many files were removed.
    pub(crate) fn remove_index_files(&self) -> io::Result<usize> {
        let mut removed = 0;
        for file in self.index_files()? {
            match fs::remove_file(file) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        self.sync_directory()?;
        Ok(removed)
    }
}

/// Whether `name` is one of our encrypted or temporary files: 32 hex digits, then
/// [`DATA_SUFFIX`], or a temporary name ending in [`TEMP_SUFFIX`].
fn is_own_data_file(name: &str) -> bool {
    let stem_ok = |stem: &str| stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(stem) = name.strip_suffix(DATA_SUFFIX) {
        return stem_ok(stem);
    }
    name.strip_suffix(TEMP_SUFFIX)
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(stem, _)| stem_ok(stem))
}

impl fmt::Debug for EncryptedDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedDirectory")
            .field("root", &self.inner.root)
            .finish_non_exhaustive()
    }
}

/// Creates a new private file; fails if it exists.
fn create_new_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

impl Directory for EncryptedDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        let file = File::open(self.disk_path(path)).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => OpenReadError::FileDoesNotExist(path.to_path_buf()),
            _ => OpenReadError::wrap_io_error(e, path.to_path_buf()),
        })?;
        let handle = EncryptedFileHandle::open(file, Arc::clone(&self.inner.keys), path)
            .map_err(|e| OpenReadError::wrap_io_error(e, path.to_path_buf()))?;
        Ok(Arc::new(handle))
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        fs::remove_file(self.disk_path(path)).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => DeleteError::FileDoesNotExist(path.to_path_buf()),
            _ => DeleteError::IoError {
                io_error: Arc::new(e),
                filepath: path.to_path_buf(),
            },
        })
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        match fs::metadata(self.disk_path(path)) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(OpenReadError::wrap_io_error(e, path.to_path_buf())),
        }
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let disk_path = self.disk_path(path);
        let mut file = create_new_private(&disk_path).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => OpenWriteError::FileAlreadyExists(path.to_path_buf()),
            _ => OpenWriteError::wrap_io_error(e, path.to_path_buf()),
        })?;
        let file_id =
            format::new_file_id().map_err(|e| OpenWriteError::wrap_io_error(e, path.into()))?;
        let header = [&MAGIC[..], &file_id[..]].concat();
        file.write_all(&header)
            .map_err(|e| OpenWriteError::wrap_io_error(e, path.to_path_buf()))?;
        let writer = ChunkWriter::new(
            file,
            Arc::clone(&self.inner.keys),
            path.to_path_buf(),
            file_id,
        );
        Ok(BufWriter::new(Box::new(writer)))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        let sealed = fs::read(self.disk_path(path)).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => OpenReadError::FileDoesNotExist(path.to_path_buf()),
            _ => OpenReadError::wrap_io_error(e, path.to_path_buf()),
        })?;
        format::open_file(&self.inner.keys, path, &sealed)
            .map_err(|e| OpenReadError::wrap_io_error(e, path.to_path_buf()))
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let sealed = format::seal_file(&self.inner.keys, path, data)?;
        let target = self.disk_path(path);
        let temp = self.inner.root.join(format!(
            "{}.{}{TEMP_SUFFIX}",
            self.inner.keys.name_stem(path),
            hex::encode(format::new_file_id()?)
        ));
        let written = create_new_private(&temp).and_then(|mut file| {
            file.write_all(&sealed)?;
            file.sync_all()
        });
        if let Err(e) = written.and_then(|()| fs::rename(&temp, &target)) {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        self.sync_directory()?;
        if path == Path::new(META_FILE) {
            // Callbacks run on their own thread; nothing here waits for them.
            drop(self.inner.watchers.broadcast());
        }
        Ok(())
    }

    fn sync_directory(&self) -> io::Result<()> {
        File::open(&self.inner.root)?.sync_all()
    }

    /// Takes an OS advisory lock (`flock`) on a lock file: the kernel releases it when
    /// the holder exits, so a crash never leaves a stale lock behind.
    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        let lock_path = self.inner.root.join(format!(
            "{}{LOCK_SUFFIX}",
            self.inner.keys.name_stem(&lock.filepath)
        ));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(lock_path)
            .map_err(LockError::wrap_io_error)?;
        if lock.is_blocking {
            file.lock().map_err(LockError::wrap_io_error)?;
        } else {
            file.try_lock().map_err(|e| match e {
                fs::TryLockError::WouldBlock => LockError::LockBusy,
                fs::TryLockError::Error(e) => LockError::wrap_io_error(e),
            })?;
        }
        Ok(DirectoryLock::from(Box::new(file)))
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        Ok(self.inner.watchers.subscribe(watch_callback))
    }
}
