//! Office and RTF documents: macros in legacy Office files, objects embedded
//! in RTF.

use memchr::memmem;

use super::RiskLevel;
use super::findings::Findings;

/// Legacy Office files: a VBA project or Word macro storage among the
/// compound file's directory entries (names in UTF-16LE).
pub(super) fn inspect_ole2(bytes: &[u8], findings: &mut Findings) {
    let markers: [&[u8]; 3] = [
        b"_\0V\0B\0A\0_\0P\0R\0O\0J\0E\0C\0T\0",
        b"V\0B\0A\0\0\0",
        b"M\0a\0c\0r\0o\0s\0\0\0",
    ];
    if markers.iter().any(|m| memmem::find(bytes, m).is_some()) {
        macros_found(findings);
    }
}

/// The finding for a document with macros (OLE2 or OOXML).
pub(super) fn macros_found(findings: &mut Findings) {
    findings.add(
        RiskLevel::High,
        "office_macros",
        "This document contains macros: small programs that run if you click \
         \u{201c}Enable content\u{201d}. Do not enable them unless you expected macros \
         from this sender."
            .into(),
    );
}

/// RTF documents with embedded OLE objects, the way exploits of word
/// processors are usually delivered.
pub(super) fn inspect_rtf(bytes: &[u8], findings: &mut Findings) {
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
