//! PDFs that run JavaScript, start programs or carry files, in the open or
//! in compressed streams.

use std::io::Read;

use memchr::memmem;

use super::findings::Findings;
use super::{MAX_SCAN_BYTES, RiskLevel};

/// The most PDF streams inflated to look for hidden names, and the most
/// bytes inflated from all of them together.
const MAX_PDF_STREAMS: usize = 1024;
const MAX_PDF_INFLATED_BYTES: usize = 32 << 20;

/// PDF names that make a PDF run code or carry files, looked for in the
/// file and in its compressed streams (where object streams hide them).
/// Names are compared after decoding `#xx` escapes (`/J#61vaScript`).
pub(super) fn inspect_pdf(bytes: &[u8], findings: &mut Findings) {
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
