//! Random-access reads of an encrypted index file.

use std::fmt;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tantivy::HasLen;
use tantivy::directory::{FileHandle, OwnedBytes};

use super::format::{
    self, CHUNK_SIZE, ChunkRef, FileId, HEADER_LEN, Keys, Layout, not_authentic, too_short,
};

/// How many decrypted chunks a handle keeps, so that sequential small reads (tantivy
/// reads postings and term blocks a few bytes at a time) and small reads repeated by
/// every query (field norms) decrypt each chunk once. Reads spanning more chunks
/// bypass the cache.
const CACHED_CHUNKS: usize = 4;

/// An open encrypted file. Reads decrypt only the chunks a range touches and return
/// only authenticated bytes.
pub(crate) struct EncryptedFileHandle {
    file: File,
    keys: Arc<Keys>,
    path: PathBuf,
    file_id: FileId,
    layout: Layout,
    len: usize,
    cache: Mutex<ChunkCache>,
}

impl EncryptedFileHandle {
    /// Opens `file`, the encrypted form of tantivy's `path`. Reads the header and
    /// authenticates the final chunk, so a truncated or extended file is refused here.
    pub(crate) fn open(file: File, keys: Arc<Keys>, path: &Path) -> io::Result<Self> {
        let disk_len = file.metadata()?.len();
        let layout = Layout::from_disk_len(disk_len).ok_or_else(|| too_short(path))?;
        let len = usize::try_from(layout.plaintext_len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "index file too large"))?;
        let mut header = [0u8; HEADER_LEN];
        file.read_exact_at(&mut header, 0)
            .map_err(|e| eof_is_truncation(e, path))?;
        let file_id = format::parse_header(path, &header)?;
        let handle = EncryptedFileHandle {
            file,
            keys,
            path: path.to_path_buf(),
            file_id,
            layout,
            len,
            cache: Mutex::new(ChunkCache::default()),
        };
        handle.chunk(layout.num_chunks - 1)?;
        Ok(handle)
    }

    /// The plaintext of chunk `index`, from the cache or decrypted.
    fn chunk(&self, index: u64) -> io::Result<OwnedBytes> {
        if let Some(bytes) = self.cache_lock().get(index) {
            return Ok(bytes);
        }
        let mut chunks = self.decrypt_chunks(index, index)?;
        let bytes = OwnedBytes::new(chunks.pop().unwrap_or_default());
        self.cache_lock().insert(index, bytes.clone());
        Ok(bytes)
    }

    /// Reads chunks `first..=last` with one positioned read and decrypts each.
    fn decrypt_chunks(&self, first: u64, last: u64) -> io::Result<Vec<Vec<u8>>> {
        let start = Layout::chunk_offset(first);
        let end = Layout::chunk_offset(last) + self.layout.sealed_len(last) as u64;
        let mut sealed = vec![0u8; (end - start) as usize];
        self.file
            .read_exact_at(&mut sealed, start)
            .map_err(|e| eof_is_truncation(e, &self.path))?;
        let mut out = Vec::with_capacity((last - first + 1) as usize);
        let mut offset = 0usize;
        for index in first..=last {
            let sealed_len = self.layout.sealed_len(index);
            let mut buf = sealed[offset..offset + sealed_len].to_vec();
            offset += sealed_len;
            let chunk = ChunkRef {
                path: &self.path,
                file_id: &self.file_id,
                index,
                is_final: self.layout.is_final(index),
            };
            if !self.keys.open_chunk(chunk, &mut buf) {
                return Err(not_authentic(&self.path, index));
            }
            out.push(buf);
        }
        Ok(out)
    }

    fn cache_lock(&self) -> std::sync::MutexGuard<'_, ChunkCache> {
        // The cache holds only authenticated plaintext; a panic elsewhere cannot leave
        // it inconsistent, so a poisoned lock is still usable.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl FileHandle for EncryptedFileHandle {
    fn read_bytes(&self, range: Range<usize>) -> io::Result<OwnedBytes> {
        if range.start > range.end || range.end > self.len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "read of {range:?} outside index file {} of {} bytes",
                    self.path.display(),
                    self.len
                ),
            ));
        }
        if range.is_empty() {
            return Ok(OwnedBytes::empty());
        }
        let first = (range.start / CHUNK_SIZE) as u64;
        let last = ((range.end - 1) / CHUNK_SIZE) as u64;
        let base = first as usize * CHUNK_SIZE;
        if first == last {
            let chunk = self.chunk(first)?;
            if range.end - base > chunk.len() {
                return Err(too_short(&self.path));
            }
            return Ok(chunk.slice(range.start - base..range.end - base));
        }
        let span = (last - first + 1) as usize;
        let chunks: Vec<OwnedBytes> = if span <= CACHED_CHUNKS {
            (first..=last)
                .map(|index| self.chunk(index))
                .collect::<io::Result<_>>()?
        } else {
            let chunks = self.decrypt_chunks(first, last)?;
            let mut chunks: Vec<OwnedBytes> = chunks.into_iter().map(OwnedBytes::new).collect();
            // Keep the last chunk: a sequential reader continues there.
            if let Some(tail) = chunks.pop() {
                self.cache_lock().insert(last, tail.clone());
                chunks.push(tail);
            }
            chunks
        };
        let mut out = Vec::with_capacity(range.len());
        for (i, chunk) in chunks.iter().enumerate() {
            let chunk_start = base + i * CHUNK_SIZE;
            let from = range.start.saturating_sub(chunk_start);
            let to = (range.end - chunk_start).min(chunk.len());
            let part = chunk.get(from..to).ok_or_else(|| too_short(&self.path))?;
            out.extend_from_slice(part);
        }
        Ok(OwnedBytes::new(out))
    }
}

impl HasLen for EncryptedFileHandle {
    fn len(&self) -> usize {
        self.len
    }
}

impl fmt::Debug for EncryptedFileHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedFileHandle")
            .field("path", &self.path)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// The most recently used decrypted chunks of one file.
#[derive(Default)]
struct ChunkCache {
    /// Most recent last.
    entries: Vec<(u64, OwnedBytes)>,
}

impl ChunkCache {
    fn get(&mut self, index: u64) -> Option<OwnedBytes> {
        let pos = self.entries.iter().position(|(i, _)| *i == index)?;
        let entry = self.entries.remove(pos);
        let bytes = entry.1.clone();
        self.entries.push(entry);
        Some(bytes)
    }

    fn insert(&mut self, index: u64, bytes: OwnedBytes) {
        self.entries.retain(|(i, _)| *i != index);
        if self.entries.len() == CACHED_CHUNKS {
            self.entries.remove(0);
        }
        self.entries.push((index, bytes));
    }
}

fn eof_is_truncation(e: io::Error, path: &Path) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        too_short(path)
    } else {
        e
    }
}
