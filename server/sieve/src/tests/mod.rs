//! The crate's tests, by topic.

mod actions;
mod conditions;
mod export;
mod robustness;
mod structure;
mod syntax;

use crate::{Actions, Imported, ImportedRule, import};

/// Imports a script that must parse.
fn imported(script: &str) -> Imported {
    match import(script) {
        Ok(imported) => imported,
        Err(e) => panic!("the script should parse: {e}\n{script}"),
    }
}

/// The queries of the rules imported from `script`.
fn queries(script: &str) -> Vec<String> {
    imported(script)
        .rules
        .into_iter()
        .map(|r| r.query)
        .collect()
}

/// The only rule imported from `script`, which must skip nothing.
fn only_rule(script: &str) -> ImportedRule {
    let imported = imported(script);
    assert_eq!(
        imported.skipped,
        vec![],
        "nothing should be skipped in\n{script}"
    );
    assert_eq!(
        imported.rules.len(),
        1,
        "one rule expected: {:?}",
        imported.rules
    );
    imported.rules.into_iter().next().unwrap()
}

/// The query of `if TEST { addflag "x"; }`, with `require` for the extensions.
fn query_of(test: &str) -> String {
    let script = format!(
        "require [\"imap4flags\", \"body\", \"envelope\"];\nif {test} {{\n  addflag \"x\";\n}}\n"
    );
    only_rule(&script).query
}

/// The reason `if TEST { ... }` is skipped (exactly one skipped entry, no rule).
fn skip_reason(test: &str) -> String {
    let script = format!("if {test} {{\n  addflag \"x\";\n}}\n");
    let imported = imported(&script);
    assert_eq!(imported.rules, vec![], "no rule expected for {test}");
    assert_eq!(imported.skipped.len(), 1, "{:?}", imported.skipped);
    imported.skipped[0].reason.clone()
}

/// The actions of a block holding `commands` under `if true`.
fn actions_of(commands: &str) -> Actions {
    let script = format!("require [\"fileinto\", \"imap4flags\"];\nif true {{\n{commands}\n}}\n");
    only_rule(&script).actions
}

/// Actions with only the given tags added.
fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

/// A script in the style of the RFC 5228 examples: `text:` strings, block
/// comments, `elsif`/`else`, string lists and size quantifiers.
const RFC_STYLE: &str = r#"# Example script, in the manner of RFC 5228 section 9
require ["fileinto", "reject"];

/* Big mail first: over 100K and not from a colleague */
if allof (size :over 100K,
          not address :domain :is "From" "colleagues.example") {
    reject text:
I do not accept messages over 100K from outside.
..Please send a link instead.
.
;
} elsif header :contains ["To", "Cc"] "coyote@example.com" {
    fileinto "Coyote";
} elsif header :matches "Subject" "*make*money*fast*" {
    discard;
    stop;
} elsif address :is "From" "boss@example.com" {
    keep;
} else {
    fileinto "Unsorted";
}
"#;

/// Every full script of the tests.
fn sample_scripts() -> Vec<&'static str> {
    vec![RFC_STYLE, structure::PROVIDER_STYLE]
}

#[test]
fn an_rfc_style_script_imports_branch_by_branch() {
    let imported = imported(RFC_STYLE);
    let summary: Vec<(usize, &str)> = imported
        .rules
        .iter()
        .map(|r| (r.line, r.query.as_str()))
        .collect();
    let first = r#"-(size:>102400 -(from:"colleagues.example"))"#;
    let second = "-(to:coyote@example.com OR cc:coyote@example.com)";
    let third = r#"-(subject:"make" subject:"money" subject:"fast")"#;
    assert_eq!(
        summary,
        vec![
            (
                12,
                format!("{first} (to:coyote@example.com OR cc:coyote@example.com)").as_str()
            ),
            (
                14,
                format!(r#"{first} {second} subject:"make" subject:"money" subject:"fast""#)
                    .as_str()
            ),
            (
                19,
                format!("{first} {second} {third} -(from:boss@example.com)").as_str()
            ),
        ]
    );
    assert_eq!(imported.rules[0].actions.add_tags, tags(&["coyote"]));
    assert!(imported.rules[1].actions.trash && imported.rules[1].actions.stop);
    assert!(imported.rules[2].actions.archive);
    // `reject` is reported; `keep` carries nothing, so that branch makes no rule.
    let lines: Vec<usize> = imported.skipped.iter().map(|s| s.line).collect();
    assert_eq!(lines, vec![7]);
}
