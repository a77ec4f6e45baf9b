//! Hostile input: truncated scripts, garbage, deep nesting, huge scripts. Nothing
//! may panic; each is either imported or refused with an error.

use super::sample_scripts;
use crate::{MAX_SCRIPT_BYTES, SieveError, import, parse};

/// A small deterministic pseudo-random generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
}

#[test]
fn every_prefix_of_real_scripts_is_imported_or_refused() {
    for script in sample_scripts() {
        let boundaries = script.char_indices().map(|(i, _)| i).chain([script.len()]);
        for end in boundaries {
            let _ = import(&script[..end]);
        }
    }
}

#[test]
fn random_token_soup_and_random_characters_do_not_panic() {
    const PIECES: [&str; 40] = [
        "if",
        "elsif",
        "else",
        "allof",
        "anyof",
        "not",
        "header",
        "address",
        "envelope",
        "size",
        "hasflag",
        "exists",
        "true",
        "false",
        "fileinto",
        "addflag",
        "removeflag",
        "keep",
        "stop",
        "discard",
        "redirect",
        ":is",
        ":contains",
        ":matches",
        ":over",
        ":domain",
        ":copy",
        ":flags",
        "\"subject\"",
        "\"a*b?\"",
        "\"\\\\Seen\"",
        "[",
        "]",
        "(",
        ")",
        "{",
        "}",
        ",",
        ";",
        "text:\nx\n.\n",
    ];
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for _ in 0..3000 {
        let mut script = String::new();
        for _ in 0..rng.below(40) {
            match rng.below(10) {
                0 => script.push(char::from_u32(rng.below(0x3000) as u32).unwrap_or('?')),
                1 => script.push_str(&rng.below(5000).to_string()),
                _ => script.push_str(PIECES[rng.below(PIECES.len())]),
            }
            script.push(if rng.below(4) == 0 { '\n' } else { ' ' });
        }
        if let Ok(imported) = import(&script) {
            for rule in imported.rules {
                assert!(!rule.query.is_empty());
                assert!(rule.line >= 1);
            }
        }
    }
}

#[test]
fn binary_garbage_is_refused() {
    let garbage: String = (0u32..512).filter_map(char::from_u32).collect();
    assert!(import(&garbage).is_err());
    assert!(import("\u{0}\u{1}\u{7f}").is_err());
    assert!(import("if header :is \"a\" \"b").is_err());
    assert!(import("if header :is \"a\" \"b\\").is_err());
    assert!(import("if ").is_err());
    assert!(import(":").is_err());
    assert!(import("text:").is_err());
}

fn nested_ifs(depth: usize) -> String {
    let mut script = String::new();
    for _ in 0..depth {
        script.push_str("if true {\n");
    }
    script.push_str("stop;\n");
    for _ in 0..depth {
        script.push_str("}\n");
    }
    script
}

#[test]
fn nesting_deeper_than_64_is_an_error() {
    let imported = import(&nested_ifs(64)).unwrap();
    assert_eq!(imported.rules.len(), 1);
    assert_eq!(imported.rules[0].line, 64);
    match import(&nested_ifs(65)) {
        Err(SieveError::Syntax { line, message, .. }) => {
            assert_eq!(line, 65);
            assert_eq!(message, "blocks and tests are nested more than 64 deep");
        }
        other => panic!("expected a nesting error, got {other:?}"),
    }
    let nots = format!("if {} true {{ stop; }}", "not ".repeat(100_000));
    assert!(import(&nots).is_err());
    let groups = format!(
        "if {}true{} {{ stop; }}",
        "allof(".repeat(100_000),
        ")".repeat(100_000)
    );
    assert!(import(&groups).is_err());
    assert!(import(&"if true {".repeat(100_000)).is_err());
    assert!(import(&"[".repeat(100_000)).is_err());
}

#[test]
fn scripts_over_one_mebibyte_are_refused_before_parsing() {
    let big = "#".repeat(MAX_SCRIPT_BYTES + 1);
    assert_eq!(
        import(&big),
        Err(SieveError::TooLarge {
            size: MAX_SCRIPT_BYTES + 1
        })
    );
    assert_eq!(
        import(&big).unwrap_err().to_string(),
        "the script is 1048577 bytes long; scripts up to 1 MiB (1,048,576 bytes) are read"
    );
    let just_fits = "#".repeat(MAX_SCRIPT_BYTES);
    assert!(parse(&just_fits).unwrap().is_empty());
}

#[test]
fn a_mebibyte_of_rules_imports_quickly() {
    let one = "if header :contains \"subject\" \"offer\" { fileinto \"Deals\"; }\n";
    let script = one.repeat(MAX_SCRIPT_BYTES / one.len());
    let imported = import(&script).unwrap();
    assert_eq!(imported.rules.len(), MAX_SCRIPT_BYTES / one.len());
    let chain = format!(
        "if true {{ stop; }}\n{}",
        "elsif header :is \"to\" \"a@b.org\" { stop; }\n".repeat(20_000)
    );
    let imported = import(&chain).unwrap();
    assert_eq!(imported.rules.len() + imported.skipped.len(), 20_001);
}
