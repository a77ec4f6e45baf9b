//! Words from free text: split, trimmed, lowercased, bounded in length, numbers
//! reduced to their shape, CJK text cut into character pairs.

use super::{MAX_WORD_CHARS, MIN_WORD_CHARS, Sink, url};

/// Digits a number may have before only its shape is kept (`$#,###,###`).
const MAX_NUMBER_DIGITS: usize = 4;

/// Characters that separate words besides whitespace.
const SEPARATORS: &str = ",;:()[]{}<>\"|=*/\\+~^`?&";

fn is_separator(c: char) -> bool {
    c.is_whitespace() || SEPARATORS.contains(c)
}

/// Scripts written without spaces between words, tokenized as character pairs.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}'   // Hiragana, Katakana
        | '\u{3400}'..='\u{4dbf}' // CJK extension A
        | '\u{4e00}'..='\u{9fff}' // CJK unified ideographs
        | '\u{ac00}'..='\u{d7af}' // Hangul syllables
        | '\u{f900}'..='\u{faff}' // CJK compatibility ideographs
    )
}

/// Tokenizes body text: its words, unprefixed. (Pairs of adjacent words were
/// tried and dropped: in cross-validation they moved two spams from "ham" to
/// "unsure" but ranked the rest worse, and cost half the speed.)
pub(super) fn tokenize_body(text: &str, sink: &mut Sink) {
    tokenize_text(text, "", sink);
}

/// Tokenizes free text into `sink`, every token prefixed with `prefix`
/// (empty for body text). URLs and e-mail addresses become `url:` and `email:`
/// tokens instead of words.
pub(super) fn tokenize_text(text: &str, prefix: &str, sink: &mut Sink) {
    for chunk in text.split_whitespace() {
        if sink.is_full() {
            return;
        }
        if url::looks_like_url(chunk) {
            url::tokenize_url(chunk, sink);
            continue;
        }
        if let Some((_, domain)) = email_address(chunk) {
            url::push_domain(sink, "email:", domain);
            continue;
        }
        if chunk.chars().any(|c| c.is_ascii_digit()) && !chunk.chars().any(char::is_alphabetic) {
            // A number keeps its separators: `$1,000,000`, `10:30`.
            word(chunk, prefix, sink);
            continue;
        }
        for piece in chunk.split(is_separator) {
            word(piece, prefix, sink);
        }
    }
}

/// `local@domain.tld` inside a chunk, trimmed of surrounding punctuation.
fn email_address(chunk: &str) -> Option<(&str, &str)> {
    let chunk = chunk.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_'));
    let (local, domain) = chunk.rsplit_once('@')?;
    let valid_domain = domain.contains('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    (!local.is_empty() && valid_domain).then_some((local, domain))
}

/// One word: trimmed of punctuation at its ends (keeping a leading `$` and a
/// trailing `!` or `%`, which say something), then kept, summarised or dropped.
fn word(piece: &str, prefix: &str, sink: &mut Sink) {
    let piece = piece
        .trim_start_matches(|c: char| !(c.is_alphanumeric() || c == '$'))
        .trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '!' || c == '%'));
    if piece.is_empty() {
        return;
    }
    // One pass over the characters for everything the word's fate depends on.
    let (mut chars, mut digits, mut alphabetic, mut cjk) = (0, 0, false, false);
    for c in piece.chars() {
        chars += 1;
        if c.is_ascii_digit() {
            digits += 1;
        } else if c.is_ascii() {
            alphabetic |= c.is_ascii_alphabetic();
        } else {
            alphabetic |= c.is_alphabetic();
            cjk |= is_cjk(c);
        }
    }
    if cjk {
        cjk_pairs(piece, prefix, sink);
        return;
    }
    if chars < MIN_WORD_CHARS {
        return;
    }
    if chars > MAX_WORD_CHARS {
        // SpamBayes' summary of a long token: its first character and length.
        let first = piece.chars().next().unwrap_or('?').to_lowercase();
        sink.push(format!("{prefix}skip:{first} {}", chars / 10 * 10));
        return;
    }
    sink.push_with(|token| {
        token.push_str(prefix);
        if digits > MAX_NUMBER_DIGITS && !alphabetic {
            token.push_str("num:");
            token.extend(
                piece
                    .chars()
                    .map(|c| if c.is_ascii_digit() { '#' } else { c }),
            );
        } else if piece.is_ascii() {
            token.extend(piece.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            token.extend(piece.chars().flat_map(char::to_lowercase));
        }
    });
}

/// Runs of CJK characters become overlapping pairs; other runs are words.
fn cjk_pairs(piece: &str, prefix: &str, sink: &mut Sink) {
    let mut rest = piece;
    while !rest.is_empty() && !sink.is_full() {
        let cjk = rest.chars().next().is_some_and(is_cjk);
        let end = rest
            .char_indices()
            .find(|&(_, c)| is_cjk(c) != cjk)
            .map_or(rest.len(), |(i, _)| i);
        let (run, tail) = rest.split_at(end);
        if cjk {
            let chars: Vec<char> = run.chars().collect();
            if chars.len() == 1 {
                sink.push(format!("{prefix}{}", chars[0]));
            }
            for pair in chars.windows(2) {
                sink.push(format!("{prefix}{}{}", pair[0], pair[1]));
            }
        } else {
            word(run, prefix, sink);
        }
        rest = tail;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, prefix: &str) -> Vec<String> {
        let mut sink = Sink::new(1000);
        tokenize_text(text, prefix, &mut sink);
        sink.into_tokens().into_iter().collect()
    }

    #[test]
    fn words_are_trimmed_lowercased_and_bounded() {
        assert_eq!(
            words("Hello, WORLD! (it's) a an ok \"quoted\"", ""),
            ["hello", "it's", "quoted", "world!"]
        );
    }

    #[test]
    fn prefix_is_applied() {
        assert_eq!(
            words("Cheap Meds", "subject:"),
            ["subject:cheap", "subject:meds"]
        );
    }

    #[test]
    fn long_words_are_summarised() {
        let long = "x".repeat(57);
        assert_eq!(words(&long, ""), ["skip:x 50"]);
        let forty = "y".repeat(40);
        assert_eq!(words(&forty, ""), vec![forty]);
    }

    #[test]
    fn numbers_keep_their_shape_only() {
        assert_eq!(
            words("$1,000,000 2010 555-123-4567 50% abc12345 7", ""),
            [
                "2010",
                "50%",
                "abc12345",
                "num:###-###-####",
                "num:$#,###,###"
            ]
        );
    }

    #[test]
    fn cjk_text_becomes_pairs() {
        assert_eq!(words("免费发票", ""), ["免费", "发票", "费发"]);
    }

    #[test]
    fn emails_become_domains() {
        assert_eq!(
            words("write to <bob@mail.example.org>.", ""),
            ["email:example.org", "email:mail.example.org", "write"]
        );
    }
}
