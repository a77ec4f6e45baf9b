//! The name an attachment is saved under. Its risk must be judged on exactly this
//! name: a check on the sender's full name and a download under a shortened one
//! disagree (`"A"*125 + ".js.txt"` was judged `.txt` and saved as `AAA….js`).

/// Longest name offered for saving, in characters.
pub const MAX_CHARS: usize = 128;
/// Longest extension kept whole when a long name is shortened, in characters.
const MAX_EXTENSION_CHARS: usize = 16;

/// The file name a download is offered under: no directories, no control or
/// bidirectional-override characters, no characters Windows refuses, not hidden,
/// no trailing dots or spaces (which Windows drops, changing the extension), and
/// at most [`MAX_CHARS`] characters, shortened in the middle so that the last
/// extension survives. `attachment-N` when nothing is left.
pub fn download_name(given: Option<&str>, index: usize) -> String {
    let base = given
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let cleaned: Vec<char> = base
        .chars()
        .filter(|&c| !c.is_control() && !is_invisible_format(c))
        .map(|c| {
            if matches!(c, '"' | ':' | '*' | '?' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = trim(&cleaned);
    let shortened = if trimmed.len() <= MAX_CHARS {
        trimmed.to_vec()
    } else {
        // Keep the last extension: cut the stem instead.
        let dot = trimmed
            .iter()
            .rposition(|&c| c == '.')
            .filter(|&d| d > 0 && trimmed.len() - d <= MAX_EXTENSION_CHARS);
        match dot {
            Some(d) => {
                let ext = &trimmed[d..];
                let mut name = trimmed[..MAX_CHARS - ext.len()].to_vec();
                name.extend_from_slice(ext);
                name
            }
            None => trimmed[..MAX_CHARS].to_vec(),
        }
    };
    // Cutting a name without an extension can leave a trailing space or dot.
    let name: String = trim(&shortened).iter().collect();
    if name.is_empty() {
        format!("attachment-{index}")
    } else {
        name
    }
}

/// Characters that format text without being seen (Unicode's "format" category:
/// direction marks and overrides, zero-width characters, the byte order mark, soft
/// hyphens, tags…): a name holding them shows as something other than what it is.
pub(crate) fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// Without leading whitespace and dots (hidden files) and trailing whitespace and
/// dots (dropped by Windows).
fn trim(chars: &[char]) -> &[char] {
    let start = chars
        .iter()
        .position(|c| !c.is_whitespace() && *c != '.')
        .unwrap_or(chars.len());
    let end = chars
        .iter()
        .rposition(|c| !c.is_whitespace() && *c != '.')
        .map_or(start, |e| e + 1);
    &chars[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_saved() {
        let long_js_txt = format!("{}.js.txt", "A".repeat(125));
        let long_plain = "B".repeat(300);
        let long_ext = format!("{}.{}", "C".repeat(130), "x".repeat(40));
        let cases: &[(Option<&str>, &str)] = &[
            (None, "attachment-3"),
            (Some(""), "attachment-3"),
            (Some("report.pdf"), "report.pdf"),
            (Some("../../etc/passwd"), "passwd"),
            (Some("C:\\Users\\x\\evil.exe"), "evil.exe"),
            (Some(".bashrc"), "bashrc"),
            (Some("invoice.pdf.exe. . "), "invoice.pdf.exe"),
            (Some("bad\u{202e}fdp.exe"), "badfdp.exe"),
            (Some("in\u{200b}voice\u{feff}.pdf\u{061c}"), "invoice.pdf"),
            (Some("a:b*c?.txt"), "a_b_c_.txt"),
            (Some(" . "), "attachment-3"),
        ];
        for (given, want) in cases {
            assert_eq!(download_name(*given, 3), *want, "{given:?}");
        }
        // Too long: the last extension is kept whole, the stem is cut.
        let saved = download_name(Some(&long_js_txt), 0);
        assert_eq!(saved.chars().count(), MAX_CHARS);
        assert!(saved.ends_with("AAAA.txt"), "{saved}");
        assert!(!saved.contains(".js"), "{saved}");
        assert_eq!(download_name(Some(&long_plain), 0), "B".repeat(MAX_CHARS));
        // An "extension" too long to be one is cut like the rest.
        let saved = download_name(Some(&long_ext), 0);
        assert_eq!(saved, "C".repeat(MAX_CHARS));
        // Cut where the name has spaces: none is left at the end.
        let spaced = format!("{}{}", "D".repeat(101), " x".repeat(60));
        let saved = download_name(Some(&spaced), 0);
        assert!(saved.len() < MAX_CHARS && saved.ends_with('x'), "{saved:?}");
    }

    #[test]
    fn what_the_senders_name_tried_is_kept_in_the_risk() {
        let original = "invoice\u{202e}fdp.exe";
        let saved = download_name(Some(original), 0);
        assert_eq!(saved, "invoicefdp.exe");
        let risk =
            crate::assess_download(Some(original), &saved, "application/octet-stream", b"MZ");
        let codes: Vec<&str> = risk.reasons.iter().map(|r| r.code).collect();
        assert!(codes.contains(&"rtl_override"), "{codes:?}");
        assert_eq!(risk.level, crate::RiskLevel::High);
        // A plain name is judged once, as saved.
        let plain = crate::assess_download(Some("notes.txt"), "notes.txt", "text/plain", b"hello");
        assert_eq!(
            plain,
            crate::assess(Some("notes.txt"), "text/plain", b"hello")
        );
    }
}
