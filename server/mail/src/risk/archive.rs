//! ZIP archives: the names of the files inside, with archives inside them
//! opened one level deep, in memory.

use std::io::{Cursor, Read};

use memchr::memmem;

use super::findings::{Findings, quoted};
use super::name::{
    DISK_IMAGE_EXTENSIONS, EXECUTABLE_EXTENSIONS, MACRO_EXTENSIONS, ZIP_EXTENSIONS, extension,
    is_direction_control, normalized,
};
use super::{MAX_SCAN_BYTES, MAX_ZIP_ENTRIES, RiskLevel};

/// The largest archive inside an archive that is opened (decompressed size).
const MAX_NESTED_ARCHIVE_BYTES: u64 = 16 << 20;

/// The most archives inside an archive that are opened.
const MAX_NESTED_ARCHIVES: usize = 8;

/// Checks the entry names of a ZIP archive (central directory and local
/// headers, in case they disagree), and opens archives inside it one level
/// deep, in memory. `depth` is 0 for the attachment itself.
pub(super) fn inspect_zip(bytes: &[u8], depth: usize, findings: &mut Findings) {
    let mut names: Vec<String> = Vec::new();
    let mut encrypted = false;
    let mut nested: Vec<usize> = Vec::new();
    let archive = zip::ZipArchive::new(Cursor::new(bytes));
    let mut archive = match archive {
        Ok(archive) => Some(archive),
        Err(error) => {
            if bytes.starts_with(b"PK") {
                findings.add(
                    RiskLevel::Medium,
                    "archive_unchecked",
                    format!("This archive is damaged ({error}), so what it holds is unknown."),
                );
            }
            None
        }
    };
    if let Some(archive) = &archive {
        for index in 0..archive.len().min(MAX_ZIP_ENTRIES) {
            let Ok(entry) = archive.by_index_data(index) else {
                continue;
            };
            let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
            encrypted |= entry.encrypted();
            if !entry.encrypted()
                && extension(&name).is_some_and(|e| ZIP_EXTENSIONS.contains(&e.as_str()))
                && entry.size() <= MAX_NESTED_ARCHIVE_BYTES
                && nested.len() < MAX_NESTED_ARCHIVES
            {
                nested.push(index);
            }
            names.push(name);
        }
        if archive.len() > MAX_ZIP_ENTRIES {
            findings.add(
                RiskLevel::Medium,
                "archive_unchecked",
                format!(
                    "This archive holds {} files; only the first {MAX_ZIP_ENTRIES} were checked.",
                    archive.len()
                ),
            );
        }
    }
    let (local_names, local_encrypted) = local_header_names(bytes);
    encrypted |= local_encrypted;
    for name in local_names {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    check_entry_names(&names, findings);
    if encrypted {
        findings.add(
            RiskLevel::Medium,
            "encrypted_archive",
            "This archive is locked with a password, so what it holds cannot be checked. \
             Password-protected archives are a common way to slip harmful files past checks."
                .into(),
        );
    }
    let Some(archive) = &mut archive else {
        return;
    };
    for index in nested {
        if depth > 0 {
            findings.add(
                RiskLevel::Medium,
                "archive_unchecked",
                "This archive holds archives inside archives, too deep to be checked.".into(),
            );
            return;
        }
        let mut inner = Vec::new();
        let read = archive.by_index(index).and_then(|file| {
            file.take(MAX_NESTED_ARCHIVE_BYTES)
                .read_to_end(&mut inner)
                .map_err(zip::result::ZipError::from)
        });
        match read {
            Ok(_) => inspect_zip(&inner, depth + 1, findings),
            Err(error) => findings.add(
                RiskLevel::Medium,
                "archive_unchecked",
                format!("An archive inside this archive could not be opened ({error})."),
            ),
        }
    }
}

/// The names in the ZIP local file headers of `bytes` (as far as
/// [`MAX_SCAN_BYTES`] and [`MAX_ZIP_ENTRIES`]), and whether any is
/// encrypted. Some unpackers read these instead of the central directory,
/// so a name hidden from one must still be seen.
fn local_header_names(bytes: &[u8]) -> (Vec<String>, bool) {
    let scanned = &bytes[..bytes.len().min(MAX_SCAN_BYTES)];
    let mut names = Vec::new();
    let mut encrypted = false;
    for at in memmem::find_iter(scanned, b"PK\x03\x04").take(MAX_ZIP_ENTRIES) {
        let field = |offset: usize| {
            let start = at + offset;
            scanned
                .get(start..start + 2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
        };
        let (Some(flags), Some(name_len)) = (field(6), field(26)) else {
            continue;
        };
        let Some(name) = scanned.get(at + 30..at + 30 + name_len) else {
            continue;
        };
        encrypted |= flags & 1 == 1;
        names.push(String::from_utf8_lossy(name).into_owned());
    }
    (names, encrypted)
}

/// Checks the names of archive entries: programs, disk images, macros.
fn check_entry_names(names: &[String], findings: &mut Findings) {
    let mut programs = Vec::new();
    for name in names {
        let lower = name.to_lowercase();
        if lower.ends_with("vbaproject.bin") || lower.starts_with("xl/macrosheets/") {
            super::office::macros_found(findings);
        }
        if name.chars().any(is_direction_control) {
            programs.push((RiskLevel::High, name));
            continue;
        }
        match extension(name) {
            Some(e) if EXECUTABLE_EXTENSIONS.contains(&e.as_str()) => {
                programs.push((RiskLevel::High, name));
            }
            Some(e) if DISK_IMAGE_EXTENSIONS.contains(&e.as_str()) => {
                programs.push((RiskLevel::Medium, name));
            }
            Some(e) if MACRO_EXTENSIONS.contains(&e.as_str()) => findings.add(
                RiskLevel::Medium,
                "office_macros",
                format!(
                    "This archive holds a document made to carry macros ({}).",
                    quoted(&normalized(name))
                ),
            ),
            _ => {}
        }
    }
    programs.sort_by_key(|p| std::cmp::Reverse(p.0));
    if let Some(&(level, first)) = programs.first() {
        let more = match programs.len() {
            1 => String::new(),
            2 => " and 1 more".to_owned(),
            n => format!(" and {} more", n - 1),
        };
        findings.add(
            level,
            "archive_with_executable",
            format!(
                "This archive contains a program or disk image ({}{more}). Opening it from the \
                 archive runs it.",
                quoted(&normalized(first))
            ),
        );
    }
}
