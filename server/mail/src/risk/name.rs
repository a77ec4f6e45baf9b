//! Checks on the file name alone: programs, disguised names, disk images and
//! macro formats.

use super::RiskLevel;
use super::content::{document_family, family_words};
use super::findings::{Findings, quoted};

/// File name extensions of programs, scripts, shortcuts and installers that
/// run when opened (Windows, macOS, Linux, Android, Java).
pub(super) const EXECUTABLE_EXTENSIONS: &[&str] = &[
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
pub(super) const DISK_IMAGE_EXTENSIONS: &[&str] = &["iso", "img", "vhd", "vhdx", "udf"];

/// Office formats made to carry macros.
pub(super) const MACRO_EXTENSIONS: &[&str] = &[
    "docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppsm", "ppam", "sldm",
];

/// Formats that are ZIP archives inside.
pub(super) const ZIP_EXTENSIONS: &[&str] = &[
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
pub(super) fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `name` as a file system would take it: without invisible formatting
/// characters (the ones [`download_name`](crate::download_name) drops too), without
/// the path and trailing dots and spaces (which Windows drops).
pub(super) fn normalized(name: &str) -> String {
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
pub(super) fn extension(name: &str) -> Option<String> {
    let name = normalized(name);
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty() && ext.len() <= 24 && !ext.contains(char::is_whitespace))
        .then(|| ext.to_lowercase())
}

pub(super) fn ext_is(ext: &Option<String>, list: &[&str]) -> bool {
    ext.as_deref().is_some_and(|e| list.contains(&e))
}

/// Checks the name alone: direction tricks, program extensions, double
/// extensions, disk images and macro formats.
pub(super) fn check_name(name: &str, findings: &mut Findings) {
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
