//! Streaming writer of an encrypted index file.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use tantivy::directory::{AntiCallToken, TerminatingWrite};

use super::format::{CHUNK_SIZE, ChunkRef, FileId, Keys, SEALED_CHUNK_LEN};

/// Buffers plaintext and writes it out one sealed chunk at a time.
///
/// A full chunk is sealed only once more data follows it, so the chunk sealed by
/// [`TerminatingWrite::terminate_ref`] is always the one marked final. A writer dropped
/// without being terminated leaves a file without a final chunk, which every reader
/// rejects.
pub(crate) struct ChunkWriter {
    file: File,
    keys: Arc<Keys>,
    path: PathBuf,
    file_id: FileId,
    plaintext: Vec<u8>,
    sealed: Vec<u8>,
    next_index: u64,
    terminated: bool,
}

impl ChunkWriter {
    /// Wraps a new file whose header (magic and `file_id`) is already written.
    pub(crate) fn new(file: File, keys: Arc<Keys>, path: PathBuf, file_id: FileId) -> Self {
        ChunkWriter {
            file,
            keys,
            path,
            file_id,
            plaintext: Vec::with_capacity(CHUNK_SIZE),
            sealed: Vec::with_capacity(SEALED_CHUNK_LEN),
            next_index: 0,
            terminated: false,
        }
    }

    fn emit_chunk(&mut self, is_final: bool) -> io::Result<()> {
        let chunk = ChunkRef {
            path: &self.path,
            file_id: &self.file_id,
            index: self.next_index,
            is_final,
        };
        self.sealed.clear();
        self.keys
            .seal_chunk(chunk, &self.plaintext, &mut self.sealed)?;
        self.file.write_all(&self.sealed)?;
        self.plaintext.clear();
        self.next_index += 1;
        Ok(())
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        if self.terminated {
            return Err(io::Error::other("write to a terminated index file"));
        }
        let written = data.len();
        while !data.is_empty() {
            if self.plaintext.len() == CHUNK_SIZE {
                // More data follows, so this full chunk is not the last one.
                self.emit_chunk(false)?;
            }
            let take = (CHUNK_SIZE - self.plaintext.len()).min(data.len());
            self.plaintext.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(written)
    }

    /// Flushes what is sealed; the partial chunk stays buffered until more data or
    /// termination decide whether it is the last.
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl TerminatingWrite for ChunkWriter {
    fn terminate_ref(&mut self, _: AntiCallToken) -> io::Result<()> {
        if self.terminated {
            return Ok(());
        }
        self.emit_chunk(true)?;
        self.terminated = true;
        self.file.flush()?;
        self.file.sync_all()
    }
}
