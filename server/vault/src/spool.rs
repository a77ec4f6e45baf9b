//! Temporary files sealed under a key that exists only in memory.
//!
//! An upload waiting to be imported is large (a whole mailbox) and cannot be
//! held in memory on a small box, but it is mail in the clear, so it is written
//! to disk only encrypted: in chunks of [`CHUNK`] bytes, each sealed with
//! XChaCha20-Poly1305 under a random key made for this one file (nonce = the
//! chunk's index, associated data = whether it is the last chunk, so a cut-off
//! file is detected). The key is never written anywhere: after a crash what is
//! left is noise, removed by [`clear`] at the next start. Reads may seek (a zip
//! archive is read from its end).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, Tag, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

/// Plaintext bytes per sealed chunk.
pub const CHUNK: usize = 64 * 1024;
const TAG_LEN: usize = 16;
const SEALED: u64 = (CHUNK + TAG_LEN) as u64;
/// Suffix of spool files, so [`clear`] removes nothing else.
const SUFFIX: &str = ".spool";

/// Removes the spool files left in `dir` by an earlier run (unreadable
/// without the keys that went with that process). Returns how many.
pub fn clear(dir: &Path) -> io::Result<usize> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == &SUFFIX[1..]) {
            fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn cipher_for(key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.into())
}

fn nonce(index: u64) -> XNonce {
    let mut nonce = [0u8; 24];
    nonce[16..].copy_from_slice(&index.to_be_bytes());
    nonce.into()
}

/// Writes a new spool file; dropped before [`SpoolWriter::finish`], the file
/// is removed.
pub struct SpoolWriter {
    file: Option<File>,
    path: PathBuf,
    key: Zeroizing<[u8; 32]>,
    cipher: XChaCha20Poly1305,
    buf: Zeroizing<Vec<u8>>,
    index: u64,
    len: u64,
}

impl SpoolWriter {
    /// Creates a spool file in `dir` (made if missing, readable by this user only).
    pub fn create(dir: &Path) -> io::Result<SpoolWriter> {
        fs::create_dir_all(dir)?;
        let mut key = Zeroizing::new([0u8; 32]);
        let mut name = [0u8; 12];
        getrandom::fill(&mut *key)
            .and_then(|()| getrandom::fill(&mut name))
            .map_err(|e| io::Error::other(format!("no random numbers: {e}")))?;
        let name: String = name.iter().map(|b| format!("{b:02x}")).collect();
        let path = dir.join(format!("{name}{SUFFIX}"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        Ok(SpoolWriter {
            file: Some(file),
            path,
            cipher: cipher_for(&key),
            key,
            buf: Zeroizing::new(Vec::with_capacity(CHUNK + TAG_LEN)),
            index: 0,
            len: 0,
        })
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `data`.
    pub fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let take = (CHUNK - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            self.len += take as u64;
            if self.buf.len() == CHUNK {
                self.seal(false)?;
            }
        }
        Ok(())
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        let tag = self
            .cipher
            .encrypt_inout_detached(
                &nonce(self.index),
                &[u8::from(last)],
                self.buf.as_mut_slice().into(),
            )
            .map_err(|_| io::Error::other("spool chunk encryption failed"))?;
        self.buf.extend_from_slice(tag.as_slice());
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("spool file closed"))?;
        file.write_all(&self.buf)?;
        self.buf.clear();
        self.index += 1;
        Ok(())
    }

    /// Seals the last chunk and returns the finished file.
    pub fn finish(mut self) -> io::Result<Spooled> {
        self.seal(true)?;
        self.file.take();
        Ok(Spooled {
            path: std::mem::take(&mut self.path),
            key: self.key.clone(),
            len: self.len,
        })
    }
}

impl Drop for SpoolWriter {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A finished spool file; dropping it removes the file.
pub struct Spooled {
    path: PathBuf,
    key: Zeroizing<[u8; 32]>,
    len: u64,
}

impl std::fmt::Debug for Spooled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spooled")
            .field("path", &self.path)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Spooled {
    /// Its plaintext length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Opens it for reading (any number of readers at once).
    pub fn open(&self) -> io::Result<SpoolReader> {
        Ok(SpoolReader {
            file: File::open(&self.path)?,
            cipher: cipher_for(&self.key),
            len: self.len,
            pos: 0,
            chunk: None,
            plain: Zeroizing::new(Vec::with_capacity(CHUNK + TAG_LEN)),
        })
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Reads a [`Spooled`] file's plaintext, checking every chunk.
pub struct SpoolReader {
    file: File,
    cipher: XChaCha20Poly1305,
    len: u64,
    pos: u64,
    /// The index of the chunk in `plain`.
    chunk: Option<u64>,
    plain: Zeroizing<Vec<u8>>,
}

impl SpoolReader {
    fn load(&mut self, index: u64) -> io::Result<()> {
        if self.chunk == Some(index) {
            return Ok(());
        }
        self.chunk = None;
        let last_index = self.len / CHUNK as u64;
        let last = index == last_index;
        let plain_len = if last {
            (self.len % CHUNK as u64) as usize
        } else {
            CHUNK
        };
        self.plain.resize(plain_len + TAG_LEN, 0);
        self.file.seek(SeekFrom::Start(index * SEALED))?;
        self.file
            .read_exact(&mut self.plain)
            .map_err(|e| damaged(&e.to_string()))?;
        let (msg, tag) = self.plain.split_at_mut(plain_len);
        let tag = Tag::try_from(&*tag).map_err(|_| damaged("bad tag"))?;
        self.cipher
            .decrypt_inout_detached(&nonce(index), &[u8::from(last)], msg.into(), &tag)
            .map_err(|_| damaged("a chunk does not authenticate"))?;
        self.plain.truncate(plain_len);
        self.chunk = Some(index);
        Ok(())
    }
}

fn damaged(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the uploaded file's spool copy is damaged ({what}); upload it again"),
    )
}

impl Read for SpoolReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let index = self.pos / CHUNK as u64;
        self.load(index)?;
        let at = (self.pos % CHUNK as u64) as usize;
        let n = (self.plain.len() - at).min(buf.len());
        buf[..n].copy_from_slice(&self.plain[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SpoolReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )
        })?;
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn spool(dir: &Path, bytes: &[u8]) -> Spooled {
        let mut w = SpoolWriter::create(dir).unwrap();
        // Uneven pieces, as a network delivers them.
        for piece in bytes.chunks(10_007) {
            w.write(piece).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn reads_back_what_was_written_at_every_size() {
        let dir = tempfile::tempdir().unwrap();
        for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5] {
            let bytes = data(n);
            let spooled = spool(dir.path(), &bytes);
            assert_eq!(spooled.len(), n as u64);
            let mut back = Vec::new();
            spooled.open().unwrap().read_to_end(&mut back).unwrap();
            assert_eq!(back, bytes, "size {n}");
        }
    }

    #[test]
    fn seeks_anywhere() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = data(2 * CHUNK + 100);
        let spooled = spool(dir.path(), &bytes);
        let mut r = spooled.open().unwrap();
        for at in [CHUNK as u64 * 2 + 50, 3, CHUNK as u64 - 2, 0] {
            r.seek(SeekFrom::Start(at)).unwrap();
            let mut four = [0u8; 4];
            r.read_exact(&mut four).unwrap();
            assert_eq!(four, bytes[at as usize..at as usize + 4], "at {at}");
        }
        assert_eq!(r.seek(SeekFrom::End(-10)).unwrap(), bytes.len() as u64 - 10);
        assert!(r.seek(SeekFrom::Current(-(bytes.len() as i64))).is_err());
    }

    #[test]
    fn the_file_holds_no_plaintext_and_goes_away() {
        let dir = tempfile::tempdir().unwrap();
        let token = b"Subject: plaintext-token-4711";
        let bytes = token.repeat(5000);
        let spooled = spool(dir.path(), &bytes);
        let files: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        let on_disk = fs::read(&files[0]).unwrap();
        assert!(!on_disk.windows(token.len()).any(|w| w == token));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&files[0]).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        drop(spooled);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn an_unfinished_writer_leaves_nothing_and_clear_removes_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SpoolWriter::create(dir.path()).unwrap();
        w.write(&data(CHUNK * 2)).unwrap();
        drop(w);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        // A crash leaves the file; the next start clears it (and nothing else).
        let spooled = spool(dir.path(), &data(10));
        std::mem::forget(spooled);
        fs::write(dir.path().join("keep.txt"), b"x").unwrap();
        assert_eq!(clear(dir.path()).unwrap(), 1);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_eq!(clear(&dir.path().join("missing")).unwrap(), 0);
    }

    #[test]
    fn tampering_and_truncation_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = data(2 * CHUNK);
        let spooled = spool(dir.path(), &bytes);
        let path = fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut sealed = fs::read(&path).unwrap();
        sealed[10] ^= 1;
        fs::write(&path, &sealed).unwrap();
        let err = spooled
            .open()
            .unwrap()
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("upload it again"), "{err}");
        drop(spooled);
        // A file cut short (a full disk, a crash) fails where the cut is.
        let short = spool(dir.path(), &data(CHUNK + 10));
        let path = fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut sealed = fs::read(&path).unwrap();
        sealed.truncate(SEALED as usize + 5);
        fs::write(&path, &sealed).unwrap();
        let mut r = short.open().unwrap();
        let mut first = vec![0u8; CHUNK];
        r.read_exact(&mut first).unwrap();
        assert_eq!(first, data(CHUNK + 10)[..CHUNK]);
        assert_eq!(
            r.read(&mut [0u8; 4]).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
