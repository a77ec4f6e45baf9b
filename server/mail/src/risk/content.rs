//! What the bytes say a file is, and whether that agrees with its name and
//! declared type.

use memchr::memmem;

use super::RiskLevel;
use super::findings::Findings;
use super::name::{EXECUTABLE_EXTENSIONS, ZIP_EXTENSIONS};

/// What the first bytes say a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Content {
    /// A Windows program (PE, or a DOS `MZ` program).
    Pe,
    /// A Linux or BSD program.
    Elf,
    /// A macOS program (or a Java class: both start `CAFEBABE`).
    MachO,
    /// A script with a `#!` line.
    Shebang,
    Zip,
    /// An OLE2 compound file: legacy Office, Outlook `.msg`, `.msi`.
    Ole2,
    Pdf,
    Rtf,
    /// Markup that starts like HTML or SVG.
    Markup,
    /// Another format `infer` recognises.
    Known(Family),
    Unknown,
}

/// The kinds of file that a name, a declared type and the content are
/// compared on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    Program,
    Zip,
    Office,
    Pdf,
    Rtf,
    Image,
    Media,
    Archive,
    Text,
    Web,
}

pub(super) fn family_words(family: Option<Family>) -> &'static str {
    match family {
        Some(Family::Program) => "a program",
        Some(Family::Zip) => "a ZIP archive",
        Some(Family::Office) => "an Office document",
        Some(Family::Pdf) => "a PDF document",
        Some(Family::Rtf) => "an RTF document",
        Some(Family::Image) => "an image",
        Some(Family::Media) => "a sound or video file",
        Some(Family::Archive) => "an archive",
        Some(Family::Text) => "a text file",
        Some(Family::Web) => "a web page",
        None => "a document",
    }
}

pub(super) fn sniff(bytes: &[u8]) -> Content {
    let head = &bytes[..bytes.len().min(1024)];
    if is_pe(bytes) {
        Content::Pe
    } else if bytes.starts_with(b"\x7fELF") {
        Content::Elf
    } else if [
        &b"\xfe\xed\xfa\xce"[..],
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
    ]
    .iter()
    .any(|magic| bytes.starts_with(magic))
    {
        Content::MachO
    } else if bytes.starts_with(b"#!/") || bytes.starts_with(b"#! /") {
        Content::Shebang
    } else if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        Content::Zip
    } else if bytes.starts_with(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        Content::Ole2
    } else if memmem::find(head, b"%PDF-").is_some() {
        // Readers accept the header anywhere in the first kilobyte.
        Content::Pdf
    } else if bytes.starts_with(b"{\\rt") {
        Content::Rtf
    } else if looks_like_markup(head) {
        Content::Markup
    } else if let Some(kind) = infer::get(bytes) {
        use infer::MatcherType;
        match kind.matcher_type() {
            MatcherType::Image => Content::Known(Family::Image),
            MatcherType::Audio | MatcherType::Video => Content::Known(Family::Media),
            MatcherType::Archive => Content::Known(Family::Archive),
            // Programs are recognised above, more strictly than `infer`
            // (which takes any text starting "MZ" for one).
            _ => Content::Unknown,
        }
    } else {
        Content::Unknown
    }
}

/// `MZ` with a PE header where the DOS header points, or a DOS program
/// (binary bytes in the header, unlike a text that starts with "MZ").
fn is_pe(bytes: &[u8]) -> bool {
    if !bytes.starts_with(b"MZ") || bytes.len() < 64 {
        return false;
    }
    let offset = u32::from_le_bytes([bytes[60], bytes[61], bytes[62], bytes[63]]) as usize;
    let pe = offset
        .checked_add(4)
        .and_then(|end| bytes.get(offset..end))
        .is_some_and(|sig| sig == b"PE\0\0");
    pe || bytes[2..64]
        .iter()
        .any(|&b| b < 0x09 || (0x0e..0x20).contains(&b))
}

fn looks_like_markup(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    let start = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = start.trim_ascii_start();
    if !start.starts_with(b"<") {
        return false;
    }
    let lower = start.to_ascii_lowercase();
    [
        &b"<html"[..],
        b"<!doctype html",
        b"<svg",
        b"<script",
        b"<head",
        b"<body",
        b"<iframe",
    ]
    .iter()
    .any(|tag| memmem::find(&lower, tag).is_some())
}

/// The family a content sniff stands for.
fn content_family(content: Content) -> Option<Family> {
    match content {
        Content::Pe | Content::Elf | Content::MachO => Some(Family::Program),
        Content::Zip => Some(Family::Zip),
        Content::Ole2 => Some(Family::Office),
        Content::Pdf => Some(Family::Pdf),
        Content::Rtf => Some(Family::Rtf),
        Content::Markup => Some(Family::Web),
        Content::Known(family) => Some(family),
        Content::Shebang | Content::Unknown => None,
    }
}

/// The family a document extension claims.
pub(super) fn document_family(ext: &str) -> Option<Family> {
    Some(match ext {
        "pdf" => Family::Pdf,
        "doc" | "dot" | "xls" | "xlt" | "ppt" | "pot" | "pps" | "msg" | "pub" | "vsd" | "mpp" => {
            Family::Office
        }
        "rtf" => Family::Rtf,
        "jpg" | "jpeg" | "jpe" | "png" | "gif" | "bmp" | "webp" | "tif" | "tiff" | "ico"
        | "heic" | "heif" | "avif" => Family::Image,
        "mp3" | "wav" | "ogg" | "oga" | "flac" | "m4a" | "aac" | "mp4" | "m4v" | "mov" | "avi"
        | "mkv" | "webm" | "wmv" => Family::Media,
        "rar" | "7z" | "gz" | "tgz" | "bz2" | "xz" | "tar" | "cab" => Family::Archive,
        "txt" | "csv" | "log" | "md" | "ics" | "vcf" | "json" => Family::Text,
        "htm" | "html" | "xhtml" | "svg" => Family::Web,
        _ if ZIP_EXTENSIONS.contains(&ext) => Family::Zip,
        _ => return None,
    })
}

/// The family a declared MIME type claims.
fn declared_family(content_type: &str) -> Option<Family> {
    Some(match content_type {
        "application/pdf" => Family::Pdf,
        "application/zip" | "application/x-zip-compressed" => Family::Zip,
        "application/msword" | "application/vnd.ms-excel" | "application/vnd.ms-powerpoint" => {
            Family::Office
        }
        "application/rtf" | "text/rtf" => Family::Rtf,
        "text/plain" | "text/csv" => Family::Text,
        "text/html" | "image/svg+xml" => Family::Web,
        t if t.starts_with("application/vnd.openxmlformats-officedocument.") => Family::Zip,
        t if t.starts_with("image/") => Family::Image,
        t if t.starts_with("audio/") || t.starts_with("video/") => Family::Media,
        _ => return None,
    })
}

/// Declared types of programs, for attachments without a file name.
const EXECUTABLE_TYPES: &[&str] = &[
    "application/x-msdownload",
    "application/x-msdos-program",
    "application/x-ms-installer",
    "application/x-msi",
    "application/x-executable",
    "application/x-sh",
    "application/x-shellscript",
    "application/x-bat",
    "application/hta",
    "application/x-ms-shortcut",
    "application/java-archive",
    "application/x-java-archive",
    "application/vnd.android.package-archive",
    "application/x-apple-diskimage",
    "application/javascript",
    "text/javascript",
    "application/x-javascript",
    "text/vbscript",
];

/// Programs by content (whatever the name), and by declared type when the
/// name says nothing.
pub(super) fn check_content(
    ext: Option<&str>,
    content_type: &str,
    content: Content,
    findings: &mut Findings,
) {
    match content {
        Content::Pe | Content::Elf | Content::MachO => findings.add(
            RiskLevel::High,
            "executable",
            "This file is a program, whatever its name says. Opening it runs it on your \
             computer, with access to your files."
                .into(),
        ),
        Content::Shebang => findings.add(
            RiskLevel::Medium,
            "executable",
            "This file is a script: a small program that can run commands on your computer.".into(),
        ),
        _ if ext.is_none() && EXECUTABLE_TYPES.contains(&content_type) => findings.add(
            RiskLevel::High,
            "executable",
            "The sender says this file is a program. Opening it runs it on your computer, \
             with access to your files."
                .into(),
        ),
        _ => {}
    }
}

/// A name (or, without one, a declared type) that says one kind of file
/// while the content is another.
pub(super) fn check_mismatch(
    ext: Option<&str>,
    content_type: &str,
    content: Content,
    bytes: &[u8],
    findings: &mut Findings,
) {
    let claimed = ext
        .and_then(document_family)
        .or_else(|| declared_family(content_type));
    let Some(claimed) = claimed else {
        return;
    };
    // A program's name already says it is one.
    if ext.is_some_and(|e| EXECUTABLE_EXTENSIONS.contains(&e)) {
        return;
    }
    let actual = content_family(content);
    let mismatch = match (claimed, actual) {
        (_, None) => false,
        (claimed, Some(actual)) if claimed == actual => false,
        // Office opens legacy, OOXML and RTF files whatever the extension,
        // and names are often wrong between them; macros are checked anyway.
        (
            Family::Office | Family::Zip | Family::Rtf,
            Some(Family::Office | Family::Zip | Family::Rtf),
        ) => false,
        // Text is whatever has no magic number; images hold arbitrary bytes.
        (Family::Text, Some(Family::Web)) => false,
        (Family::Web, Some(Family::Text)) => false,
        _ => true,
    };
    if mismatch && let Some(actual) = actual {
        let level = if actual == Family::Program {
            RiskLevel::High
        } else {
            RiskLevel::Medium
        };
        findings.add(
            level,
            "extension_mismatch",
            format!(
                "The name says this is {}, but the content is {}. Disguising a file like this \
                 is a common trick.",
                family_words(Some(claimed)),
                family_words(Some(actual))
            ),
        );
    } else if matches!(
        claimed,
        Family::Image | Family::Media | Family::Pdf | Family::Text
    ) && actual != Some(Family::Zip)
        && has_zip_trailer(bytes)
    {
        findings.add(
            RiskLevel::Medium,
            "extension_mismatch",
            format!(
                "This file is {} with a ZIP archive hidden at its end.",
                family_words(Some(claimed))
            ),
        );
    }
}

/// Whether a ZIP end-of-central-directory record sits where a ZIP reader
/// looks for it: the archive can be opened whatever comes before it.
pub(super) fn has_zip_trailer(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(22 + 0xffff)..];
    memmem::rfind(tail, b"PK\x05\x06").is_some()
}
