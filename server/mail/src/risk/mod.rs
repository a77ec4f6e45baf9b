//! How risky an attachment is to open, and why, in words a non-technical
//! user can act on.
//!
//! [`assess`] looks at the name, the declared type and the bytes: programs
//! (by name or by content), names that disguise a file (double extensions,
//! text-direction tricks, a name that disagrees with the content), Office
//! macros, ZIP archives holding programs (one level of nesting is opened, in
//! memory), scripts in web pages and SVG images, and PDFs with JavaScript,
//! launch actions or embedded files. [`with_reputation`] then weighs in
//! whether the sender is known. The work is bounded on hostile input (bytes
//! scanned, archive entries, nesting, decompressed bytes) and never panics.
//! This is advice for the person reading the mail, not a virus scanner: a
//! Low level means no warning sign was found, not that the file is safe.

use std::io::{Cursor, Read};

use memchr::memmem;
use serde::Serialize;

use crate::text;

/// The most bytes of an attachment searched for markers (scripts, PDF
/// names, macro streams, ZIP headers).
pub const MAX_SCAN_BYTES: usize = 16 << 20;

/// The most ZIP entries whose names are checked, per archive.
pub const MAX_ZIP_ENTRIES: usize = 10_000;

/// The largest archive inside an archive that is opened (decompressed size).
const MAX_NESTED_ARCHIVE_BYTES: u64 = 16 << 20;

/// The most archives inside an archive that are opened.
const MAX_NESTED_ARCHIVES: usize = 8;

/// The most PDF streams inflated to look for hidden names, and the most
/// bytes inflated from all of them together.
const MAX_PDF_STREAMS: usize = 1024;
const MAX_PDF_INFLATED_BYTES: usize = 32 << 20;

/// How risky opening an attachment is, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// No warning sign found.
    Low,
    /// Something that calls for care, such as content that cannot be checked.
    Medium,
    /// A program, a disguised file, macros or scripts.
    High,
}

/// One reason for a risk level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskReason {
    /// A stable code for programs: `executable`, `disk_image`,
    /// `extension_mismatch`, `double_extension`, `rtl_override`,
    /// `office_macros`, `archive_with_executable`, `encrypted_archive`,
    /// `archive_unchecked`, `active_content`, `embedded_object`,
    /// `pdf_javascript`, `pdf_launch`, `pdf_embedded_file`, `first_contact`.
    pub code: &'static str,
    /// The reason in plain words for the person reading the mail.
    pub message: String,
}

/// The risk of one attachment: its level and every reason found, most
/// serious first (empty when the level is Low).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttachmentRisk {
    /// The highest level among the reasons; Low if there are none.
    pub level: RiskLevel,
    /// Why, most serious first.
    pub reasons: Vec<RiskReason>,
}

/// The risk of an attachment offered for download under `saved_as` (the name
/// [`download_name`](crate::download_name) made of the sender's `original`): its
/// content and the name it is saved under, as [`assess`] judges them, and besides
/// what the sender's own name tried (a direction override, a program behind a
/// document's extension), which the saved name no longer shows but which says
/// the sender meant to deceive.
pub fn assess_download(
    original: Option<&str>,
    saved_as: &str,
    content_type: &str,
    bytes: &[u8],
) -> AttachmentRisk {
    let risk = assess(Some(saved_as), content_type, bytes);
    let Some(original) = original.filter(|o| *o != saved_as) else {
        return risk;
    };
    let mut intent = Findings::default();
    check_name(original, &mut intent);
    let intent = intent.into_risk();
    let (first, second) = if intent.level > risk.level {
        (intent, risk)
    } else {
        (risk, intent)
    };
    let mut reasons = first.reasons;
    for r in second.reasons {
        if !reasons.iter().any(|have| have.code == r.code) {
            reasons.push(r);
        }
    }
    AttachmentRisk {
        level: first.level.max(second.level),
        reasons,
    }
}

/// What the user's mail history says about the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Reputation {
    /// No mail was ever exchanged with this sender.
    FirstContact,
    /// The user has written to or heard from this sender before.
    KnownCorrespondent,
}

/// Assesses one attachment from its file name (as the sender gave it), its
/// declared `type/subtype` and its decoded bytes.
pub fn assess(filename: Option<&str>, content_type: &str, bytes: &[u8]) -> AttachmentRisk {
    let mut findings = Findings::default();
    let name = filename.unwrap_or_default();
    let content_type = content_type.trim().to_ascii_lowercase();
    check_name(name, &mut findings);
    let ext = extension(name);
    let content = sniff(bytes);
    check_content(ext.as_deref(), &content_type, content, &mut findings);
    check_mismatch(ext.as_deref(), &content_type, content, bytes, &mut findings);

    let scanned = &bytes[..bytes.len().min(MAX_SCAN_BYTES)];
    if content == Content::Zip || has_zip_trailer(bytes) || ext_is(&ext, ZIP_EXTENSIONS) {
        // The zip crate is fuzzed, but a panic in it must not take the
        // mail view down: treat it as an archive that cannot be checked.
        let inspected = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut found = Findings::default();
            inspect_zip(bytes, 0, &mut found);
            found
        }));
        match inspected {
            Ok(found) => findings.merge(found),
            Err(_) => findings.add(
                RiskLevel::Medium,
                "archive_unchecked",
                "This archive is damaged in a way that stops it from being checked.".into(),
            ),
        }
    }
    if content == Content::Ole2 {
        inspect_ole2(scanned, &mut findings);
    }
    if content == Content::Pdf || ext_is(&ext, &["pdf"]) || content_type == "application/pdf" {
        inspect_pdf(bytes, &mut findings);
    }
    if content == Content::Rtf || ext_is(&ext, &["rtf"]) {
        inspect_rtf(scanned, &mut findings);
    }
    if let Some(kind) = markup_kind(ext.as_deref(), &content_type, content) {
        inspect_markup(scanned, kind, &mut findings);
    }
    findings.into_risk()
}

/// Weighs in the sender: from a first contact, anything above Low becomes
/// High (with the `first_contact` reason); a known correspondent changes
/// nothing.
pub fn with_reputation(mut risk: AttachmentRisk, rep: Reputation) -> AttachmentRisk {
    if rep == Reputation::FirstContact && risk.level > RiskLevel::Low {
        risk.level = RiskLevel::High;
        risk.reasons.push(RiskReason {
            code: "first_contact",
            message: "You have never exchanged mail with this sender, so be extra careful \
                      with this attachment."
                .into(),
        });
    }
    risk
}

// ---------------------------------------------------------------------------
// Collecting reasons

/// Reasons found so far, one per code, each with its level.
#[derive(Debug, Default)]
struct Findings {
    reasons: Vec<(RiskLevel, RiskReason)>,
}

impl Findings {
    /// Adds a reason; for a code already present, keeps the higher level
    /// (with its message).
    fn add(&mut self, level: RiskLevel, code: &'static str, message: String) {
        if let Some(existing) = self.reasons.iter_mut().find(|(_, r)| r.code == code) {
            if level > existing.0 {
                *existing = (level, RiskReason { code, message });
            }
        } else {
            self.reasons.push((level, RiskReason { code, message }));
        }
    }

    fn merge(&mut self, other: Findings) {
        for (level, reason) in other.reasons {
            self.add(level, reason.code, reason.message);
        }
    }

    fn into_risk(mut self) -> AttachmentRisk {
        // Stable: equal levels keep the order they were found in.
        self.reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
        AttachmentRisk {
            level: self
                .reasons
                .first()
                .map_or(RiskLevel::Low, |(level, _)| *level),
            reasons: self.reasons.into_iter().map(|(_, r)| r).collect(),
        }
    }
}

/// `name` made safe to quote in a message: no control or direction
/// characters, at most 80 characters.
fn quoted(name: &str) -> String {
    let safe = text::terminal_safe(name);
    let mut out: String = safe.chars().take(80).collect();
    if safe.chars().nth(80).is_some() {
        out.push('…');
    }
    format!("\u{201c}{out}\u{201d}")
}

// ---------------------------------------------------------------------------
// Names

/// File name extensions of programs, scripts, shortcuts and installers that
/// run when opened (Windows, macOS, Linux, Android, Java).
const EXECUTABLE_EXTENSIONS: &[&str] = &[
    "exe",
    "com",
    "scr",
    "pif",
    "bat",
    "cmd",
    "ps1",
    "psm1",
    "psd1",
    "ps1xml",
    "psc1",
    "vbs",
    "vbe",
    "vb",
    "js",
    "jse",
    "wsf",
    "wsh",
    "wsc",
    "ws",
    "hta",
    "sct",
    "msi",
    "msp",
    "mst",
    "msc",
    "msix",
    "msixbundle",
    "appx",
    "appxbundle",
    "appinstaller",
    "lnk",
    "url",
    "scf",
    "inf",
    "reg",
    "cpl",
    "dll",
    "ocx",
    "sys",
    "drv",
    "jar",
    "jnlp",
    "apk",
    "xapk",
    "ipa",
    "app",
    "dmg",
    "pkg",
    "mpkg",
    "command",
    "tool",
    "sh",
    "bash",
    "csh",
    "ksh",
    "zsh",
    "run",
    "deb",
    "rpm",
    "appimage",
    "desktop",
    "chm",
    "hlp",
    "gadget",
    "application",
    "appref-ms",
    "xbap",
    "xll",
    "iqy",
    "slk",
    "settingcontent-ms",
    "library-ms",
    "search-ms",
    "py",
    "pyw",
    "vsto",
    "workflow",
    "action",
];

/// Disk images: opening one mounts it and shows its files, programs
/// included, often without the "downloaded from the internet" warning.
const DISK_IMAGE_EXTENSIONS: &[&str] = &["iso", "img", "vhd", "vhdx", "udf"];

/// Office formats made to carry macros.
const MACRO_EXTENSIONS: &[&str] = &[
    "docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppsm", "ppam", "sldm",
];

/// Formats that are ZIP archives inside.
const ZIP_EXTENSIONS: &[&str] = &[
    "zip", "docx", "docm", "dotx", "dotm", "xlsx", "xlsm", "xltx", "xltm", "xlsb", "xlam", "pptx",
    "pptm", "potx", "potm", "ppsx", "ppsm", "ppam", "sldx", "sldm", "vsdx", "odt", "ods", "odp",
    "odg", "epub", "jar", "apk", "xapk", "ipa", "xpi", "kmz", "3mf", "nupkg", "whl", "appx",
    "msix",
];

/// Extensions that make a file look like a harmless document when a program
/// extension hides behind them (`invoice.pdf.exe`).
const DOCUMENT_EXTENSIONS: &[&str] = &[
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "rtf", "txt", "csv", "odt", "ods", "jpg",
    "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp", "heic", "mp3", "mp4", "wav", "mov", "avi",
    "zip", "rar", "7z", "htm", "html", "xml", "eml", "msg", "ics", "vcf",
];

/// Characters that reverse or isolate the direction of text, used to make
/// `exe.pdf` look like `fdp.exe` (U+202E RIGHT-TO-LEFT OVERRIDE above all).
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `name` as a file system would take it: without invisible formatting
/// characters (the ones [`download_name`](crate::download_name) drops too), without
/// the path and trailing dots and spaces (which Windows drops).
fn normalized(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base
        .chars()
        .filter(|&c| !crate::filename::is_invisible_format(c))
        .collect();
    clean
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace())
        .to_owned()
}

/// The lowercase extension of `name` after [`normalized`], if any.
fn extension(name: &str) -> Option<String> {
    let name = normalized(name);
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty() && ext.len() <= 24 && !ext.contains(char::is_whitespace))
        .then(|| ext.to_lowercase())
}

fn ext_is(ext: &Option<String>, list: &[&str]) -> bool {
    ext.as_deref().is_some_and(|e| list.contains(&e))
}

/// Checks the name alone: direction tricks, program extensions, double
/// extensions, disk images and macro formats.
fn check_name(name: &str, findings: &mut Findings) {
    if name.chars().any(is_direction_control) {
        findings.add(
            RiskLevel::High,
            "rtl_override",
            "The file name contains invisible characters that reverse the direction of the \
             text, so the name you see is not its real name."
                .into(),
        );
    }
    let Some(ext) = extension(name) else {
        return;
    };
    let ext = ext.as_str();
    if EXECUTABLE_EXTENSIONS.contains(&ext) {
        findings.add(
            RiskLevel::High,
            "executable",
            format!(
                "{} is a program. Opening it runs it on your computer, with access to your \
                 files.",
                quoted(&normalized(name))
            ),
        );
        if let Some(inner) = hidden_extension(name) {
            findings.add(
                RiskLevel::High,
                "double_extension",
                format!(
                    "The name ends in \u{201c}.{ext}\u{201d} after \u{201c}.{inner}\u{201d}. \
                     Many computers hide the last part, so this program looks like {}.",
                    family_words(document_family(&inner))
                ),
            );
        }
    } else if DISK_IMAGE_EXTENSIONS.contains(&ext) {
        findings.add(
            RiskLevel::Medium,
            "disk_image",
            format!(
                "{} is a disk image. Opening it shows the files inside, programs included, \
                 often without the usual warning for downloaded files.",
                quoted(&normalized(name))
            ),
        );
    } else if MACRO_EXTENSIONS.contains(&ext) {
        findings.add(
            RiskLevel::Medium,
            "office_macros",
            format!(
                "This kind of document (\u{201c}.{ext}\u{201d}) is made to carry macros: small \
                 programs that run if you click \u{201c}Enable content\u{201d}."
            ),
        );
    }
}

/// The document extension a program extension hides behind, as in
/// `invoice.pdf.exe` or `invoice.pdf      .exe`.
fn hidden_extension(name: &str) -> Option<String> {
    let name = normalized(name);
    let (stem, _) = name.rsplit_once('.')?;
    let stem = stem.trim_end_matches(|c: char| c.is_whitespace() || c == '_' || c == '.');
    let (_, inner) = stem.rsplit_once('.')?;
    let inner = inner.trim().to_lowercase();
    DOCUMENT_EXTENSIONS
        .contains(&inner.as_str())
        .then_some(inner)
}

// ---------------------------------------------------------------------------
// Content

/// What the first bytes say a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Content {
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
enum Family {
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

fn family_words(family: Option<Family>) -> &'static str {
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

fn sniff(bytes: &[u8]) -> Content {
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
fn document_family(ext: &str) -> Option<Family> {
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
fn check_content(ext: Option<&str>, content_type: &str, content: Content, findings: &mut Findings) {
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
fn check_mismatch(
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
fn has_zip_trailer(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(22 + 0xffff)..];
    memmem::rfind(tail, b"PK\x05\x06").is_some()
}

// ---------------------------------------------------------------------------
// Archives

/// Checks the entry names of a ZIP archive (central directory and local
/// headers, in case they disagree), and opens archives inside it one level
/// deep, in memory. `depth` is 0 for the attachment itself.
fn inspect_zip(bytes: &[u8], depth: usize, findings: &mut Findings) {
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
            findings.add(
                RiskLevel::High,
                "office_macros",
                "This document contains macros: small programs that run if you click \
                 \u{201c}Enable content\u{201d}. Do not enable them unless you expected macros \
                 from this sender."
                    .into(),
            );
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

// ---------------------------------------------------------------------------
// Office, PDF, RTF, web pages

/// Legacy Office files: a VBA project or Word macro storage among the
/// compound file's directory entries (names in UTF-16LE).
fn inspect_ole2(bytes: &[u8], findings: &mut Findings) {
    let markers: [&[u8]; 3] = [
        b"_\0V\0B\0A\0_\0P\0R\0O\0J\0E\0C\0T\0",
        b"V\0B\0A\0\0\0",
        b"M\0a\0c\0r\0o\0s\0\0\0",
    ];
    if markers.iter().any(|m| memmem::find(bytes, m).is_some()) {
        findings.add(
            RiskLevel::High,
            "office_macros",
            "This document contains macros: small programs that run if you click \
             \u{201c}Enable content\u{201d}. Do not enable them unless you expected macros \
             from this sender."
                .into(),
        );
    }
}

/// PDF names that make a PDF run code or carry files, looked for in the
/// file and in its compressed streams (where object streams hide them).
/// Names are compared after decoding `#xx` escapes (`/J#61vaScript`).
fn inspect_pdf(bytes: &[u8], findings: &mut Findings) {
    let scanned = &bytes[..bytes.len().min(MAX_SCAN_BYTES)];
    let mut found = PdfNames::default();
    found.scan(scanned);
    let mut inflated_total = 0;
    let mut streams = 0;
    for at in memmem::find_iter(scanned, b"stream") {
        if streams == MAX_PDF_STREAMS || inflated_total >= MAX_PDF_INFLATED_BYTES {
            break;
        }
        if at >= 3 && &scanned[at - 3..at] == b"end" {
            continue;
        }
        let mut start = at + b"stream".len();
        if scanned.get(start) == Some(&b'\r') {
            start += 1;
        }
        if scanned.get(start) != Some(&b'\n') {
            continue;
        }
        start += 1;
        let Some(data) = scanned.get(start..) else {
            continue;
        };
        let end = memmem::find(data, b"endstream").unwrap_or(data.len());
        streams += 1;
        let mut inflated = Vec::new();
        let limit = (MAX_PDF_INFLATED_BYTES - inflated_total) as u64;
        // A stream that is not zlib, or is cut short, yields what it can.
        let _ = flate2::read::ZlibDecoder::new(&data[..end])
            .take(limit)
            .read_to_end(&mut inflated);
        inflated_total += inflated.len();
        found.scan(&inflated);
    }
    if found.javascript {
        findings.add(
            RiskLevel::High,
            "pdf_javascript",
            "This PDF contains JavaScript: code that runs when it is opened. Ordinary documents \
             rarely need it."
                .into(),
        );
    }
    if found.launch {
        findings.add(
            RiskLevel::High,
            "pdf_launch",
            "This PDF tries to start other programs or open other files when you use it.".into(),
        );
    }
    if found.embedded_file {
        findings.add(
            RiskLevel::Medium,
            "pdf_embedded_file",
            "This PDF carries other files inside it, which could be harmful if opened.".into(),
        );
    }
}

/// The PDF names [`inspect_pdf`] looks for.
#[derive(Debug, Default)]
struct PdfNames {
    javascript: bool,
    launch: bool,
    embedded_file: bool,
}

impl PdfNames {
    fn scan(&mut self, data: &[u8]) {
        for at in memchr::memchr_iter(b'/', data) {
            let raw = &data[at + 1..];
            let len = raw
                .iter()
                .take(64)
                .position(|&b| is_pdf_delimiter(b))
                .unwrap_or(raw.len().min(64));
            let name = decode_pdf_name(&raw[..len]);
            match name.as_slice() {
                b"JavaScript" | b"JS" => self.javascript = true,
                b"Launch" => self.launch = true,
                b"EmbeddedFile" | b"EmbeddedFiles" | b"GoToE" => self.embedded_file = true,
                _ => {}
            }
        }
    }
}

fn is_pdf_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace()
        || b == 0
        || matches!(
            b,
            b'/' | b'[' | b']' | b'<' | b'>' | b'(' | b')' | b'{' | b'}' | b'%'
        )
}

/// A PDF name with its `#xx` escapes decoded.
fn decode_pdf_name(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if raw[i] == b'#'
            && let (Some(&h), Some(&l)) = (raw.get(i + 1), raw.get(i + 2))
            && let (Some(h), Some(l)) = (hex(h), hex(l))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

/// RTF documents with embedded OLE objects, the way exploits of word
/// processors are usually delivered.
fn inspect_rtf(bytes: &[u8], findings: &mut Findings) {
    if memmem::find(bytes, b"\\objdata").is_some() || memmem::find(bytes, b"\\object").is_some() {
        findings.add(
            RiskLevel::Medium,
            "embedded_object",
            "This document has other objects embedded in it, a common way to deliver attacks \
             on word processors."
                .into(),
        );
    }
}

/// What kind of markup an attachment is, if it is a web page or SVG image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Markup {
    Html,
    Svg,
}

fn markup_kind(ext: Option<&str>, content_type: &str, content: Content) -> Option<Markup> {
    match (ext, content_type) {
        (Some("svg" | "svgz"), _) | (_, "image/svg+xml") => Some(Markup::Svg),
        (Some("htm" | "html" | "xhtml" | "shtml" | "mht" | "mhtml" | "xht"), _)
        | (_, "text/html" | "application/xhtml+xml") => Some(Markup::Html),
        _ if content == Content::Markup => Some(Markup::Html),
        _ => None,
    }
}

/// Scripts, event handlers and `javascript:` URLs in a web page or SVG
/// image (High), and forms or automatic redirects in a web page (Medium):
/// the tree is parsed as a browser would, so entity-encoded tricks count,
/// and the raw bytes are searched as well.
fn inspect_markup(bytes: &[u8], kind: Markup, findings: &mut Findings) {
    let what = match kind {
        Markup::Html => "web page",
        Markup::Svg => "SVG image",
    };
    let markup = String::from_utf8_lossy(bytes);
    let lower = bytes.to_ascii_lowercase();
    let mut scripts = memmem::find(&lower, b"<script").is_some()
        || memmem::find(&lower, b"javascript:").is_some()
        || memmem::find(&lower, b"vbscript:").is_some();
    let mut forms = false;
    let capped = &markup[..markup.floor_char_boundary(crate::html::MAX_HTML_BYTES)];
    let Some(document) = crate::html::parse_bounded(capped) else {
        findings.add(
            RiskLevel::Medium,
            "active_content",
            format!("This {what} is built in an unusual way that stops it from being checked."),
        );
        return;
    };
    for node in document.tree.nodes() {
        let Some(element) = node.value().as_element() else {
            continue;
        };
        match element.name() {
            "script" => scripts = true,
            "form" | "iframe" | "frame" | "object" | "embed" => forms = true,
            "meta" => {
                forms |= element
                    .attr("http-equiv")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("refresh"));
            }
            _ => {}
        }
        for (name, value) in element.attrs() {
            let value: String = value
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect::<String>()
                .to_ascii_lowercase();
            if name.starts_with("on")
                || value.starts_with("javascript:")
                || value.starts_with("vbscript:")
                || value.starts_with("data:text/html")
            {
                scripts = true;
            }
        }
    }
    if scripts {
        findings.add(
            RiskLevel::High,
            "active_content",
            format!("This {what} contains scripts: code that runs if you open it in a browser."),
        );
    } else if forms {
        findings.add(
            RiskLevel::Medium,
            "active_content",
            format!(
                "This {what} contains a form or sends you elsewhere on its own. Never type a \
                 password into a page that came as an attachment."
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;

    use super::*;

    /// A minimal PE file: DOS header pointing at a PE signature.
    fn pe() -> Vec<u8> {
        let mut bytes = vec![0u8; 256];
        bytes[..2].copy_from_slice(b"MZ");
        bytes[2] = 0x90;
        bytes[60..64].copy_from_slice(&128u32.to_le_bytes());
        bytes[128..132].copy_from_slice(b"PE\0\0");
        bytes
    }

    const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
    const OLE2: &[u8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            let options =
                SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            writer.start_file(*name, options).expect("start entry");
            writer.write_all(data).expect("write entry");
        }
        writer.finish().expect("finish zip").into_inner()
    }

    fn codes(risk: &AttachmentRisk) -> Vec<&'static str> {
        risk.reasons.iter().map(|r| r.code).collect()
    }

    #[track_caller]
    fn assert_risk(risk: &AttachmentRisk, level: RiskLevel, code: &str) {
        assert_eq!(risk.level, level, "{risk:#?}");
        assert!(codes(risk).contains(&code), "no {code}: {risk:#?}");
        for reason in &risk.reasons {
            assert!(!reason.message.is_empty() && reason.message.len() < 400);
        }
    }

    #[test]
    fn ordinary_files_are_low() {
        for (name, ctype, bytes) in [
            ("photo.png", "image/png", PNG),
            ("notes.txt", "text/plain", &b"Hello,\nsee you.\n"[..]),
            ("report.pdf", "application/pdf", b"%PDF-1.7\n1 0 obj <</Type/Catalog>> endobj\n%%EOF"),
            ("MZ notes.txt", "text/plain", b"MZ is a town; this text starts with MZ and is long enough to not be a header at all."),
        ] {
            let risk = assess(Some(name), ctype, bytes);
            assert_eq!(risk, AttachmentRisk { level: RiskLevel::Low, reasons: vec![] }, "{name}");
        }
        let docx = zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", b"<w:document/>"),
        ]);
        assert_eq!(
            assess(Some("letter.docx"), "application/octet-stream", &docx).level,
            RiskLevel::Low
        );
        assert_eq!(
            assess(None, "application/octet-stream", b"").level,
            RiskLevel::Low
        );
    }

    #[test]
    fn programs_by_name() {
        for name in [
            "setup.exe",
            "RUN.BAT",
            "x.ps1",
            "a.js",
            "b.vbs",
            "c.hta",
            "d.lnk",
            "e.jar",
            "f.apk",
            "g.scr",
            "h.msi",
            "i.reg",
            "j.cpl",
            "k.sh",
            "l.dmg",
            "m.app",
            "n.pif",
            "o.wsf",
        ] {
            assert_risk(
                &assess(Some(name), "application/octet-stream", b"data"),
                RiskLevel::High,
                "executable",
            );
        }
        assert_risk(
            &assess(Some("disk.iso"), "application/octet-stream", b""),
            RiskLevel::Medium,
            "disk_image",
        );
        assert_risk(
            &assess(Some("disk.IMG"), "application/octet-stream", b""),
            RiskLevel::Medium,
            "disk_image",
        );
        // Windows drops trailing dots and spaces.
        assert_risk(
            &assess(Some("setup.exe. . "), "application/octet-stream", b""),
            RiskLevel::High,
            "executable",
        );
    }

    #[test]
    fn programs_by_content() {
        let risk = assess(Some("tool.exe"), "application/octet-stream", &pe());
        assert_eq!(codes(&risk), ["executable"]);
        for bytes in [pe(), ELF.to_vec(), b"\xcf\xfa\xed\xfe\x07\0\0\x01".to_vec()] {
            assert_risk(
                &assess(None, "application/octet-stream", &bytes),
                RiskLevel::High,
                "executable",
            );
        }
        assert_risk(
            &assess(Some("run"), "text/plain", b"#!/bin/sh\nrm -rf ~\n"),
            RiskLevel::Medium,
            "executable",
        );
        assert_risk(
            &assess(None, "application/x-msdownload", b"??"),
            RiskLevel::High,
            "executable",
        );
    }

    #[test]
    fn names_that_disagree_with_content() {
        let risk = assess(Some("invoice.pdf"), "application/pdf", &pe());
        assert_risk(&risk, RiskLevel::High, "extension_mismatch");
        assert!(codes(&risk).contains(&"executable"));
        let zip = zip_of(&[("a.txt", b"a")]);
        assert_risk(
            &assess(Some("cat.jpg"), "image/jpeg", &zip),
            RiskLevel::Medium,
            "extension_mismatch",
        );
        assert_risk(
            &assess(None, "image/png", b"%PDF-1.4\n"),
            RiskLevel::Medium,
            "extension_mismatch",
        );
        // An image with an archive appended (a "polyglot").
        let polyglot = [PNG, &zip].concat();
        assert_risk(
            &assess(Some("cat.png"), "image/png", &polyglot),
            RiskLevel::Medium,
            "extension_mismatch",
        );
        // Office names swapped between formats are common and harmless.
        let docx = zip_of(&[("[Content_Types].xml", b"<Types/>")]);
        assert_eq!(
            assess(Some("old.doc"), "application/msword", &docx).level,
            RiskLevel::Low
        );
        assert_eq!(
            assess(Some("pic.jpg"), "image/jpeg", PNG).level,
            RiskLevel::Low
        );
    }

    #[test]
    fn double_extensions_and_direction_tricks() {
        for name in [
            "invoice.pdf.exe",
            "invoice.pdf        .exe",
            "scan.JPG.scr",
            "a.docx_.js",
        ] {
            assert_risk(
                &assess(Some(name), "application/octet-stream", b""),
                RiskLevel::High,
                "double_extension",
            );
        }
        assert!(!codes(&assess(Some("setup.v2.exe"), "", b"")).contains(&"double_extension"));
        // "invoice\u{202E}fdp.exe" shows as "invoiceexe.pdf".
        let risk = assess(Some("invoice\u{202E}fdp.exe"), "application/pdf", b"");
        assert_risk(&risk, RiskLevel::High, "rtl_override");
        assert!(codes(&risk).contains(&"executable"));
        // On its own, with a harmless real extension, still High.
        assert_risk(
            &assess(Some("photo\u{202E}gnp.txt"), "text/plain", b"hi"),
            RiskLevel::High,
            "rtl_override",
        );
        // The message never carries the control character itself.
        assert!(risk.reasons.iter().all(|r| !r.message.contains('\u{202E}')));
    }

    #[test]
    fn office_macros() {
        let docm = zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/vbaProject.bin", OLE2),
        ]);
        assert_risk(
            &assess(Some("order.docx"), "application/octet-stream", &docm),
            RiskLevel::High,
            "office_macros",
        );
        let plain = zip_of(&[("[Content_Types].xml", b"<Types/>")]);
        assert_risk(
            &assess(Some("sheet.xlsm"), "application/octet-stream", &plain),
            RiskLevel::Medium,
            "office_macros",
        );
        let xlm = zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("xl/macrosheets/sheet1.xml", b"<x/>"),
        ]);
        assert_risk(
            &assess(Some("sheet.xlsx"), "", &xlm),
            RiskLevel::High,
            "office_macros",
        );

        let mut doc = OLE2.to_vec();
        doc.extend_from_slice(&[0; 504]);
        assert_eq!(
            assess(Some("old.doc"), "application/msword", &doc).level,
            RiskLevel::Low
        );
        doc.extend_from_slice(
            "_VBA_PROJECT"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<_>>()
                .as_slice(),
        );
        assert_risk(
            &assess(Some("old.doc"), "application/msword", &doc),
            RiskLevel::High,
            "office_macros",
        );
        let mut xls = OLE2.to_vec();
        xls.extend_from_slice(b"\0\0V\0B\0A\0\0\0\0\0");
        assert_risk(
            &assess(Some("old.xls"), "", &xls),
            RiskLevel::High,
            "office_macros",
        );
    }

    #[test]
    fn archives_holding_programs() {
        let zip = zip_of(&[("docs/readme.txt", b"hi"), ("docs/invoice.pdf.exe", &pe())]);
        let risk = assess(Some("docs.zip"), "application/zip", &zip);
        assert_risk(&risk, RiskLevel::High, "archive_with_executable");
        assert!(
            risk.reasons[0].message.contains("invoice.pdf.exe"),
            "{risk:#?}"
        );

        let image = zip_of(&[("disk.iso", b"")]);
        assert_risk(
            &assess(Some("a.zip"), "application/zip", &image),
            RiskLevel::Medium,
            "archive_with_executable",
        );

        let inner = zip_of(&[("run.js", b"WScript.Echo(1)")]);
        let outer = zip_of(&[("inner.zip", &inner), ("note.txt", b"x")]);
        assert_risk(
            &assess(Some("outer.zip"), "application/zip", &outer),
            RiskLevel::High,
            "archive_with_executable",
        );

        // Three levels: the third is not opened, and says so.
        let outermost = zip_of(&[("outer.zip", &outer)]);
        assert_risk(
            &assess(Some("x.zip"), "application/zip", &outermost),
            RiskLevel::Medium,
            "archive_unchecked",
        );

        let clean = zip_of(&[("a.txt", b"a"), ("b/c.png", PNG)]);
        assert_eq!(
            assess(Some("pics.zip"), "application/zip", &clean).level,
            RiskLevel::Low
        );
    }

    #[test]
    fn encrypted_and_broken_archives_cannot_be_checked() {
        let mut zip = zip_of(&[("secret.docx", b"x")]);
        // Set the "encrypted" flag in the local and central headers.
        for magic in [&b"PK\x03\x04"[..], b"PK\x01\x02"] {
            let at = memmem::find(&zip, magic).expect("header");
            let flags = if magic[2] == 3 { at + 6 } else { at + 8 };
            zip[flags] |= 1;
        }
        assert_risk(
            &assess(Some("secret.zip"), "application/zip", &zip),
            RiskLevel::Medium,
            "encrypted_archive",
        );

        let broken = b"PK\x03\x04 this is not really a zip".to_vec();
        assert_risk(
            &assess(Some("broken.zip"), "application/zip", &broken),
            RiskLevel::Medium,
            "archive_unchecked",
        );
    }

    #[test]
    fn names_hidden_from_the_central_directory_are_seen() {
        // Two archives back to back: a ZIP reader sees only the last one,
        // other unpackers the first.
        let hidden = zip_of(&[("payload.exe", b"MZ")]);
        let shown = zip_of(&[("readme.txt", b"hi")]);
        let both = [hidden, shown].concat();
        assert_risk(
            &assess(Some("a.zip"), "application/zip", &both),
            RiskLevel::High,
            "archive_with_executable",
        );
    }

    #[test]
    fn scripts_in_web_pages_and_svg() {
        for (name, page) in [
            ("a.html", &b"<html><body><script>alert(1)</script></body></html>"[..]),
            ("b.htm", b"<p><img src=x onerror=alert(1)></p>"),
            ("c.html", b"<a href=\"jav&#x61;script:alert(1)\">x</a>"),
            ("d.svg", b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>"),
            ("e.svg", b"<svg><script>alert(1)</script></svg>"),
        ] {
            assert_risk(&assess(Some(name), "application/octet-stream", page), RiskLevel::High, "active_content");
        }
        let form = b"<html><form action=https://evil.example/><input type=password></form></html>";
        assert_risk(
            &assess(Some("login.html"), "text/html", form),
            RiskLevel::Medium,
            "active_content",
        );
        // Markup found by content, whatever the name.
        let sniffed = b"\xef\xbb\xbf  <!DOCTYPE html><html><script>x</script>";
        assert_risk(
            &assess(Some("invoice"), "application/octet-stream", sniffed),
            RiskLevel::High,
            "active_content",
        );
        let plain = b"<html><body><p>Menu for <b>Friday</b></p></body></html>";
        assert_eq!(
            assess(Some("menu.html"), "text/html", plain).level,
            RiskLevel::Low
        );
        let logo = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><circle r=\"4\"/></svg>";
        assert_eq!(
            assess(Some("logo.svg"), "image/svg+xml", logo).level,
            RiskLevel::Low
        );
    }

    #[test]
    fn pdf_actions() {
        let js = b"%PDF-1.4\n1 0 obj <</Type/Catalog/OpenAction 2 0 R>> endobj\n2 0 obj <</S/JavaScript/JS(app.alert(1))>> endobj\n";
        assert_risk(
            &assess(Some("a.pdf"), "application/pdf", js),
            RiskLevel::High,
            "pdf_javascript",
        );
        let escaped = b"%PDF-1.4\n2 0 obj <</S/J#61vaScript/J#53 (x)>> endobj\n";
        assert_risk(
            &assess(Some("a.pdf"), "application/pdf", escaped),
            RiskLevel::High,
            "pdf_javascript",
        );
        let launch = b"%PDF-1.4\n2 0 obj <</S/Launch/F(cmd.exe)>> endobj\n";
        assert_risk(
            &assess(Some("a.pdf"), "application/pdf", launch),
            RiskLevel::High,
            "pdf_launch",
        );
        let embedded = b"%PDF-1.4\n2 0 obj <</Type/EmbeddedFile/Length 3>> endobj\n";
        assert_risk(
            &assess(Some("a.pdf"), "application/pdf", embedded),
            RiskLevel::Medium,
            "pdf_embedded_file",
        );
        let json = b"%PDF-1.4\n2 0 obj <</JSON 1/JSX 2>> endobj\n";
        assert_eq!(
            assess(Some("a.pdf"), "application/pdf", json).level,
            RiskLevel::Low
        );

        // JavaScript hidden in a compressed object stream.
        let mut deflated =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        deflated
            .write_all(b"<</S/JavaScript/JS(app.alert(1))>>")
            .expect("deflate");
        let deflated = deflated.finish().expect("deflate");
        let mut pdf =
            b"%PDF-1.5\n5 0 obj <</Type/ObjStm/Filter/FlateDecode/Length 99>>\nstream\r\n".to_vec();
        pdf.extend_from_slice(&deflated);
        pdf.extend_from_slice(b"\nendstream\nendobj\n");
        assert_risk(
            &assess(Some("a.pdf"), "application/pdf", &pdf),
            RiskLevel::High,
            "pdf_javascript",
        );
    }

    #[test]
    fn rtf_with_objects() {
        let rtf = b"{\\rtf1{\\object\\objemb{\\*\\objdata 0105000002000000}}}";
        assert_risk(
            &assess(Some("a.rtf"), "application/rtf", rtf),
            RiskLevel::Medium,
            "embedded_object",
        );
        assert_eq!(
            assess(Some("a.rtf"), "application/rtf", b"{\\rtf1 Hello}").level,
            RiskLevel::Low
        );
    }

    #[test]
    fn reputation_raises_only_what_is_already_a_concern() {
        let medium = assess(Some("disk.iso"), "", b"");
        let raised = with_reputation(medium.clone(), Reputation::FirstContact);
        assert_eq!(raised.level, RiskLevel::High);
        assert_eq!(codes(&raised), ["disk_image", "first_contact"]);
        assert_eq!(
            with_reputation(medium.clone(), Reputation::KnownCorrespondent),
            medium
        );
        let low = assess(Some("a.txt"), "text/plain", b"hi");
        assert_eq!(with_reputation(low.clone(), Reputation::FirstContact), low);
        let high = assess(Some("a.exe"), "", b"");
        assert_eq!(
            with_reputation(high, Reputation::FirstContact).level,
            RiskLevel::High
        );
    }

    #[test]
    fn serializes_in_snake_case() {
        let risk = with_reputation(assess(Some("a.iso"), "", b""), Reputation::FirstContact);
        let json = serde_json::to_value(&risk).expect("serialize");
        assert_eq!(json["level"], "high");
        assert_eq!(json["reasons"][0]["code"], "disk_image");
        assert_eq!(json["reasons"][1]["code"], "first_contact");
        assert_eq!(
            serde_json::to_value(Reputation::KnownCorrespondent).expect("serialize"),
            "known_correspondent"
        );
        assert!(RiskLevel::Low < RiskLevel::Medium && RiskLevel::Medium < RiskLevel::High);
    }

    #[test]
    fn corpus_attachments_are_assessed() {
        let corpus = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../../shared/corpus");
        let raw = std::fs::read(corpus.join("xss/h5sc/test.eml")).expect("h5sc test.eml");
        for (info, bytes) in crate::attachments(&raw) {
            let _ = assess(info.filename.as_deref(), &info.content_type, &bytes);
        }
        let svg = std::fs::read(corpus.join("xss/h5sc/test.svg")).expect("h5sc test.svg");
        assert_risk(
            &assess(Some("test.svg"), "image/svg+xml", &svg),
            RiskLevel::High,
            "active_content",
        );
        // An MHTML vector for old Internet Explorer: its script is base64 in
        // the text, so nothing active is visible without that browser's
        // confusion; it must just be read without trouble.
        let html = std::fs::read(corpus.join("xss/h5sc/test.html")).expect("h5sc test.html");
        let _ = assess(Some("test.html"), "text/html", &html);
    }

    proptest::proptest! {
        #[test]
        fn assess_never_panics(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            name in proptest::option::of(".{0,40}"),
            ctype in proptest::sample::select(vec!["application/octet-stream", "application/pdf", "text/html", "image/svg+xml", "application/zip", ""]),
        ) {
            let risk = assess(name.as_deref(), ctype, &bytes);
            proptest::prop_assert_eq!(risk.level == RiskLevel::Low, risk.reasons.is_empty());
        }

        #[test]
        fn assess_never_panics_on_damaged_archives(
            cut in 0usize..400,
            flips in proptest::collection::vec((0usize..400, proptest::prelude::any::<u8>()), 0..8),
        ) {
            let inner = zip_of(&[("x.exe", b"MZ")]);
            let mut zip = zip_of(&[("a.txt", b"a"), ("in.zip", &inner), ("word/vbaProject.bin", b"")]);
            for (at, byte) in flips {
                if let Some(b) = zip.get_mut(at) {
                    *b = byte;
                }
            }
            zip.truncate(zip.len().saturating_sub(cut));
            let _ = assess(Some("a.zip"), "application/zip", &zip);
        }
    }
}
