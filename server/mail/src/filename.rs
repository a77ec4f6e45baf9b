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
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
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
}
