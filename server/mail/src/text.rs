//! Making untrusted mail text safe to print on a terminal.

/// Returns `s` without the characters that could drive a terminal or disguise
/// text: C0 and C1 control characters (ESC sequences, `\r`, DEL) except `'\n'`
/// and `'\t'`, and the bidirectional override and isolate characters
/// (U+202A–U+202E, U+2066–U+2069) used in "Trojan Source" tricks.
pub fn terminal_safe(s: &str) -> String {
    if !s.chars().any(is_unsafe) {
        return s.to_owned();
    }
    s.chars().filter(|&c| !is_unsafe(c)).collect()
}

/// Whether `c` must not reach a terminal (see [`terminal_safe`]).
pub(crate) fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn removes_escape_sequences_but_keeps_newlines_and_tabs() {
        assert_eq!(
            terminal_safe("a\u{1b}[31mred\u{1b}[0m\r\nb\tc"),
            "a[31mred[0m\nb\tc"
        );
    }

    #[test]
    fn removes_c1_controls_and_del() {
        assert_eq!(terminal_safe("x\u{9b}31my\u{7f}z\u{85}"), "x31myz");
    }

    #[test]
    fn removes_bidi_overrides_and_isolates() {
        assert_eq!(
            terminal_safe("abc\u{202E}fed\u{202C} \u{2066}i\u{2069}"),
            "abcfed i"
        );
    }

    #[test]
    fn keeps_ordinary_unicode() {
        let s = "Grüße, 世界 — ok \u{200D}";
        assert_eq!(terminal_safe(s), s);
    }
}
