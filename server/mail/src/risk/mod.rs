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

mod archive;
mod content;
mod findings;
mod markup;
mod name;
mod office;
mod pdf;
#[cfg(test)]
mod tests;

use serde::Serialize;

use archive::inspect_zip;
use content::{Content, check_content, check_mismatch, has_zip_trailer, sniff};
use findings::Findings;
use markup::{inspect_markup, markup_kind};
use name::{ZIP_EXTENSIONS, check_name, ext_is, extension};
use office::{inspect_ole2, inspect_rtf};
use pdf::inspect_pdf;

/// The most bytes of an attachment searched for markers (scripts, PDF
/// names, macro streams, ZIP headers).
pub const MAX_SCAN_BYTES: usize = 16 << 20;

/// The most ZIP entries whose names are checked, per archive.
pub const MAX_ZIP_ENTRIES: usize = 10_000;

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
