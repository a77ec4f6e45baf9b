//! Reading a file uploaded to the box: an mbox, one message, or a Maildir or
//! folder of mail packed as .zip, .tar or .tar.gz (a gzipped mbox works too).
//!
//! What the file is comes from its first bytes, not its name. Archives are read
//! member by member on a thread of their own, without unpacking anything to
//! disk: a member under a `cur/` or `new/` directory is a Maildir message (its
//! flags become tags), a member named like mail (see [`super::looks_like_mail`])
//! or starting with `From ` is an mbox or a message; everything else (indexes,
//! `__MACOSX` and `._` resource forks, Dovecot's files) is passed over.

use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::{MBOX_BUFFER_BYTES, RawMessage, SourceError};
use crate::maildir::flag_tags;
use crate::mbox::MboxReader;

/// Messages read ahead of the importer: one, so that however large each is
/// (up to [`MAX_MEMBER_BYTES`]), only a couple are in memory at once.
const READ_AHEAD: usize = 1;
/// Largest single message read from an archive member or a compressed file:
/// a few compressed kilobytes can expand to this, and an import holds a few
/// at once, so it is kept well under what a small box can spare.
pub const MAX_MEMBER_BYTES: u64 = 64 << 20;
/// Largest tar header extension (a GNU long name, a pax record set): real
/// ones are a few hundred bytes; the tar crate would read any size whole.
const MAX_TAR_EXTENSION: u64 = 64 << 10;

/// Something to read an upload from: the spooled file, or anything seekable.
pub trait UploadReader: Read + Seek + Send {}
impl<T: Read + Seek + Send> UploadReader for T {}

/// A file uploaded to the box, to import with [`super::ImportSources::uploads`].
pub struct Upload {
    /// The name the user's file had (shown in results and errors, never opened).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its contents.
    pub reader: Box<dyn UploadReader>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("name", &self.name)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// The messages of one upload, read on a thread of their own.
pub(super) struct UploadMessages {
    rx: Receiver<Result<RawMessage, SourceError>>,
    position: Arc<AtomicU64>,
    base: u64,
    size: u64,
    /// The reading thread, joined at the end to tell a finished upload from
    /// one whose reader failed.
    reader: Option<std::thread::JoinHandle<()>>,
    name: String,
}

impl UploadMessages {
    /// Starts reading `upload`; `base` is the progress before it.
    pub(super) fn start(upload: Upload, base: u64) -> UploadMessages {
        let (tx, rx) = sync_channel(READ_AHEAD);
        let position = Arc::new(AtomicU64::new(0));
        let size = upload.size;
        let reader = Tracked {
            inner: upload.reader,
            position: position.clone(),
        };
        let name = upload.name;
        let thread_name = name.clone();
        let reader = std::thread::spawn(move || {
            let name = thread_name;
            let out = Out {
                tx,
                name: name.clone(),
            };
            if let Err(source) = read_upload(reader, &out) {
                out.send(Err(SourceError::Io {
                    path: PathBuf::from(name),
                    source,
                }));
            }
        });
        UploadMessages {
            rx,
            position,
            base,
            size,
            reader: Some(reader),
            name,
        }
    }

    /// Progress after this upload: its whole size.
    pub(super) fn end(&self) -> u64 {
        self.base + self.size
    }
}

impl Iterator for UploadMessages {
    type Item = Result<RawMessage, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        let Ok(mut item) = self.rx.recv() else {
            // The end, or the reader died: then say so (once), rather than
            // let a partial read pass for the whole file.
            let failed = self.reader.take().is_some_and(|r| r.join().is_err());
            return failed.then(|| {
                Err(SourceError::Io {
                    path: PathBuf::from(&self.name),
                    source: io::Error::other(
                        "reading it stopped unexpectedly; import it again (what was stored is skipped)",
                    ),
                })
            });
        };
        if let Ok(message) = &mut item {
            message.progress_bytes =
                self.base + self.position.load(Ordering::Relaxed).min(self.size);
        }
        Some(item)
    }
}

/// Where the reading thread sends what it reads; `false` once nobody listens.
struct Out {
    tx: SyncSender<Result<RawMessage, SourceError>>,
    name: String,
}

impl Out {
    fn send(&self, item: Result<RawMessage, SourceError>) -> bool {
        self.tx.send(item).is_ok()
    }

    fn error(&self, member: &str, source: io::Error) -> bool {
        self.send(Err(SourceError::Io {
            path: self.path(member),
            source,
        }))
    }

    fn path(&self, member: &str) -> PathBuf {
        if member.is_empty() {
            PathBuf::from(&self.name)
        } else {
            PathBuf::from(format!("{}: {member}", self.name))
        }
    }
}

/// Records how far the upload has been read, for progress.
struct Tracked<R> {
    inner: R,
    position: Arc<AtomicU64>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.position.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: Seek> Seek for Tracked<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let at = self.inner.seek(pos)?;
        self.position.store(at, Ordering::Relaxed);
        Ok(at)
    }
}

/// What the first bytes of a file say it is.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Zip,
    Gzip,
    Tar,
    Mbox,
    Message,
    /// A format Homepost does not read, by name (7-Zip, RAR, Outlook's PST...).
    Unsupported(&'static str),
}

/// Formats people export mail in that Homepost does not read, by magic bytes.
const UNSUPPORTED: &[(&[u8], &str)] = &[
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
    (b"!BDN", "an Outlook data file (PST)"),
];

fn sniff(head: &[u8]) -> Kind {
    if let Some((_, what)) = UNSUPPORTED
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
    {
        Kind::Unsupported(what)
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Kind::Zip
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Kind::Gzip
    } else if head.get(257..262) == Some(b"ustar") {
        Kind::Tar
    } else if head.starts_with(b"From ") {
        Kind::Mbox
    } else {
        Kind::Message
    }
}

/// Reads a whole upload, sending its messages; an error that ends it is returned.
fn read_upload<R: Read + Seek>(mut reader: R, out: &Out) -> io::Result<()> {
    let mut head = Vec::with_capacity(512);
    (&mut reader).take(512).read_to_end(&mut head)?;
    reader.seek(SeekFrom::Start(0))?;
    match sniff(&head) {
        Kind::Unsupported(what) => Err(unsupported(what)),
        Kind::Zip => read_zip(reader, out),
        Kind::Gzip => read_stream(
            flate2::read::MultiGzDecoder::new(reader),
            out,
            MAX_MEMBER_BYTES,
        ),
        _ => read_stream(reader, out, super::MAX_MESSAGE_FILE_BYTES),
    }
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "it is {what}, which Homepost does not read: export or unpack the mail as an mbox, .eml files, or a Maildir in a .zip or .tar.gz"
        ),
    )
}

/// A stream that is a tar, an mbox or one message (also once ungzipped);
/// one message may be at most `max` bytes.
fn read_stream<R: Read>(reader: R, out: &Out, max: u64) -> io::Result<()> {
    let (head, reader) = with_head(reader, 512)?;
    match sniff(&head) {
        Kind::Unsupported(what) => Err(unsupported(what)),
        Kind::Tar => read_tar(reader, out),
        Kind::Zip | Kind::Gzip => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "an archive inside a compressed file is not read: unpack it first",
        )),
        _ => {
            let member = Member {
                name: "",
                time: None,
                tags: Vec::new(),
                loose: false,
                max,
            };
            read_member(reader, &member, out);
            Ok(())
        }
    }
}

/// An archive member (or a whole upload, with an empty name) to read.
struct Member<'a> {
    name: &'a str,
    time: Option<i64>,
    /// Tags from its Maildir flags.
    tags: Vec<String>,
    /// Named like nothing in particular (no extension, not in a Maildir): read
    /// only if it looks like an mbox or a message.
    loose: bool,
    /// Largest single message.
    max: u64,
}

/// The first `n` bytes of a stream (fewer if it is shorter), and the whole
/// stream again to read from the start.
fn with_head<R: Read>(mut reader: R, n: u64) -> io::Result<(Vec<u8>, impl Read)> {
    let mut head = Vec::new();
    (&mut reader).take(n).read_to_end(&mut head)?;
    Ok((head.clone(), Cursor::new(head).chain(reader)))
}

/// Reads a tar's members. Extension headers (GNU long names, pax records) are
/// read here, with a size limit, rather than by the tar crate, which would
/// read any size whole into memory.
fn read_tar<R: Read>(reader: R, out: &Out) -> io::Result<()> {
    let mut archive = tar::Archive::new(reader);
    let mut long_name: Option<String> = None;
    for entry in archive.entries()?.raw(true) {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        if kind.is_gnu_longname()
            || kind.is_gnu_longlink()
            || kind.is_pax_local_extensions()
            || kind.is_pax_global_extensions()
        {
            let size = entry.header().size()?;
            if size > MAX_TAR_EXTENSION {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "a tar header extension of {size} bytes: this is not a mail archive Homepost can read"
                    ),
                ));
            }
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            if kind.is_gnu_longname() {
                long_name = Some(
                    String::from_utf8_lossy(&data)
                        .trim_end_matches('\0')
                        .to_owned(),
                );
            } else if kind.is_pax_local_extensions() {
                long_name = pax_path(&data).or(long_name);
            }
            continue;
        }
        let name = long_name.take();
        if !kind.is_file() {
            continue;
        }
        let member =
            name.unwrap_or_else(|| String::from_utf8_lossy(&entry.path_bytes()).into_owned());
        let time = entry
            .header()
            .mtime()
            .ok()
            .and_then(|t| i64::try_from(t).ok());
        if !read_archive_member(entry, &member, time, out) {
            return Ok(());
        }
    }
    Ok(())
}

/// Reads an archive member named `member` if it is mail (see [`member_tags`]);
/// `false` once nobody listens.
fn read_archive_member<R: Read>(reader: R, member: &str, time: Option<i64>, out: &Out) -> bool {
    let Some((tags, loose)) = member_tags(member) else {
        return true;
    };
    let m = Member {
        name: member,
        time,
        tags,
        loose,
        max: MAX_MEMBER_BYTES,
    };
    read_member(reader, &m, out)
}

/// The `path` of a pax extended header's records (`LEN KEY=VALUE\n` each).
fn pax_path(mut data: &[u8]) -> Option<String> {
    let mut path = None;
    while let Some(space) = data.iter().position(|&b| b == b' ') {
        let len: usize = std::str::from_utf8(&data[..space]).ok()?.parse().ok()?;
        let record = data.get(space + 1..len)?;
        if let Some(value) = record.strip_prefix(b"path=") {
            path = Some(
                String::from_utf8_lossy(value.strip_suffix(b"\n").unwrap_or(value)).into_owned(),
            );
        }
        data = data.get(len..)?;
    }
    path
}

fn read_zip<R: Read + Seek>(reader: R, out: &Out) -> io::Result<()> {
    let mut archive = zip::ZipArchive::new(reader).map_err(zip_error)?;
    for i in 0..archive.len() {
        let name = archive
            .name_for_index(i)
            .and_then(Result::ok)
            .map(std::borrow::Cow::into_owned)
            .unwrap_or_default();
        let file = match archive.by_index(i) {
            Ok(file) => file,
            Err(e) => {
                if !out.error(&name, zip_error(e)) {
                    return Ok(());
                }
                continue;
            }
        };
        if !file.is_file() {
            continue;
        }
        let member = String::from_utf8_lossy(file.name_raw()).into_owned();
        let time = file.last_modified().and_then(zip_time);
        if !read_archive_member(file, &member, time, out) {
            return Ok(());
        }
    }
    Ok(())
}

fn zip_error(e: zip::result::ZipError) -> io::Error {
    match e {
        zip::result::ZipError::Io(e) => e,
        zip::result::ZipError::UnsupportedArchive(what) => io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "unsupported zip ({what}): make a zip without encryption, compressed with deflate or stored"
            ),
        ),
        other => io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not a readable zip: {other}"),
        ),
    }
}

/// A zip time (local time of the packing machine, without zone) as Unix
/// seconds, read as UTC: a date fallback good to a few hours.
fn zip_time(t: zip::DateTime) -> Option<i64> {
    let (y, m, d) = (
        i64::from(t.year()),
        i64::from(t.month()),
        i64::from(t.day()),
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's method.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(
        days * 86_400
            + i64::from(t.hour()) * 3600
            + i64::from(t.minute()) * 60
            + i64::from(t.second()),
    )
}

/// Files a mail program keeps beside the mail, never mail themselves.
const NOT_MAIL: &[&str] = &[
    "maildirfolder",
    "maildirsize",
    "subscriptions",
    "table_of_contents",
    "courierimapuiddb",
    "courierimapkeywords",
    "courierimapacl",
];

/// The tags of an archive member that is mail (its Maildir flags) and whether
/// it is only loosely named like mail (no extension, outside a Maildir), or
/// `None` for a member that is not mail.
fn member_tags(member: &str) -> Option<(Vec<String>, bool)> {
    let path = Path::new(member);
    let name = path.file_name()?.to_str()?;
    // Resource forks and Finder files from a Mac, and hidden files; hidden
    // directories are Maildir++ folders (`.Sent`) and are read.
    let skipped = path.components().any(|c| c.as_os_str() == "__MACOSX");
    if skipped || name.starts_with('.') || name.starts_with("dovecot") || NOT_MAIL.contains(&name) {
        return None;
    }
    let parent = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|p| p.to_str());
    match parent {
        Some(sub @ ("cur" | "new")) => Some((
            flag_tags(name)
                .into_iter()
                // Messages in new/ have not been seen by any client yet.
                .filter(|&tag| sub == "cur" || tag != "read")
                .map(str::to_owned)
                .collect(),
            false,
        )),
        Some("tmp") => None,
        _ => super::looks_like_mail(name).then(|| (Vec::new(), path.extension().is_none())),
    }
}

/// Whether a loosely named file starts like a message: a header field name
/// (printable ASCII but `:`) and a colon on its first line.
fn looks_like_message(head: &[u8]) -> bool {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    line.iter()
        .position(|&b| b == b':')
        .is_some_and(|colon| colon > 0 && line[..colon].iter().all(|&b| (b'!'..=b'~').contains(&b)))
}

/// Reads one member (or a whole non-archive upload): an mbox message by
/// message, or one message. Errors are sent on; `false` once nobody listens.
fn read_member<R: Read>(reader: R, member: &Member<'_>, out: &Out) -> bool {
    let (name, file_time, tags) = (member.name, member.time, member.tags.clone());
    let origin = if name.is_empty() {
        out.name.clone()
    } else {
        format!("{}: {name}", out.name)
    };
    let (head, mut reader) = match with_head(reader, 1024) {
        Ok(read) => read,
        Err(e) => return out.error(name, e),
    };
    if member.loose && !head.starts_with(b"From ") && !looks_like_message(&head) {
        return true; // an index or a note beside the mail
    }
    if head.starts_with(b"From ") {
        let mut number = 0;
        let reader = BufReader::with_capacity(MBOX_BUFFER_BYTES, reader);
        let max = usize::try_from(member.max).unwrap_or(usize::MAX);
        for message in MboxReader::new(reader).with_max_message(max) {
            let item = match message {
                Ok(message) if message.raw.is_empty() => continue,
                Ok(message) => {
                    number += 1;
                    Ok(RawMessage {
                        raw: message.raw,
                        origin: format!("{origin}@{}", message.offset),
                        mbox_number: Some(number),
                        tags: tags.clone(),
                        progress_bytes: 0,
                        file_time: None,
                    })
                }
                Err(source) => Err(SourceError::Io {
                    path: out.path(name),
                    source,
                }),
            };
            if !out.send(item) {
                return false;
            }
        }
        return true;
    }
    let mut raw = Vec::new();
    if let Err(e) = reader.by_ref().take(member.max + 1).read_to_end(&mut raw) {
        return out.error(name, e);
    }
    if raw.len() as u64 > member.max {
        return out.send(Err(SourceError::TooLarge {
            path: out.path(name),
            size: raw.len() as u64,
        }));
    }
    if raw.is_empty() {
        return true;
    }
    out.send(Ok(RawMessage {
        raw,
        origin,
        mbox_number: None,
        tags,
        progress_bytes: 0,
        file_time,
    }))
}

#[cfg(test)]
mod tests;
