//! Export, and the round trip export → import.

use super::{imported, tags};
use crate::{Actions, AddressPart, ExportRule, MatchType, Test, export};

fn header(name: &str, match_type: MatchType, key: &str) -> Test {
    Test::Header {
        names: vec![name.into()],
        match_type,
        keys: vec![key.into()],
    }
}

fn rule(name: &str, test: Test, actions: Actions) -> ExportRule {
    ExportRule {
        name: name.into(),
        test,
        actions,
    }
}

#[test]
fn export_writes_require_comments_and_rules() {
    let rules = vec![
        rule(
            "Bills",
            header("subject", MatchType::Contains, "invoice"),
            Actions {
                add_tags: tags(&["bills", "money"]),
                archive: true,
                mark_read: true,
                stop: true,
                ..Actions::default()
            },
        ),
        rule(
            "Big mail",
            Test::AllOf(vec![
                Test::SizeOver(1 << 20),
                Test::Not(Box::new(Test::Address {
                    names: vec!["from".into(), "cc".into()],
                    part: AddressPart::Domain,
                    match_type: MatchType::Is,
                    keys: vec!["example.org".into()],
                })),
            ]),
            Actions {
                trash: true,
                remove_tags: tags(&["read", "flagged", "todo"]),
                ..Actions::default()
            },
        ),
    ];
    let expected = r#"# Sieve filter exported from Homepost
require ["fileinto", "imap4flags"];

# Bills
if header :contains "subject" "invoice" {
  addflag "money";
  addflag "\\Seen";
  fileinto "bills";
  stop;
}

# Big mail
if allof(size :over 1048576, not address :domain :is ["from", "cc"] "example.org") {
  removeflag "\\Seen";
  removeflag "\\Flagged";
  removeflag "todo";
  fileinto "Trash";
}
"#;
    assert_eq!(export(&rules), expected);
}

#[test]
fn export_of_nothing_needs_no_require() {
    assert_eq!(export(&[]), "# Sieve filter exported from Homepost\n");
    let script = export(&[rule(
        "Small",
        Test::SizeUnder(1000),
        Actions {
            stop: true,
            ..Actions::default()
        },
    )]);
    assert!(!script.contains("require"), "{script}");
    assert!(
        script.contains("if size :under 1000 {\n  stop;\n}"),
        "{script}"
    );
}

#[test]
fn export_special_cases() {
    let script = export(&[
        rule(
            "Line\nbreak \"quoted\"",
            Test::Body {
                keys: vec!["a \"b\" \\ c".into()],
            },
            Actions {
                archive: true,
                spam: Some(false),
                ..Actions::default()
            },
        ),
        rule(
            "Empty groups",
            Test::AnyOf(vec![Test::AllOf(vec![]), Test::AnyOf(vec![])]),
            Actions {
                add_tags: tags(&["trash", "flagged"]),
                archive: true,
                spam: Some(true),
                ..Actions::default()
            },
        ),
    ]);
    assert!(
        script.contains("require [\"body\", \"fileinto\", \"imap4flags\"];"),
        "{script}"
    );
    assert!(script.contains("# Line break \"quoted\"\n"), "{script}");
    assert!(
        script.contains(r#"if body :contains "a \"b\" \\ c" {"#),
        "{script}"
    );
    assert!(script.contains("  fileinto \"Archive\";\n  # not spam: no Sieve equivalent\n"));
    assert!(script.contains("if anyof(true, false) {"), "{script}");
    // A tag named like a special folder is a flag, never the folder.
    assert!(
        script.contains("  addflag \"trash\";\n  addflag \"\\\\Flagged\";\n  fileinto \"Junk\";")
    );
    // The exported script reads back.
    assert_eq!(imported(&script).rules.len(), 2);
}

#[test]
fn export_of_a_deep_test_does_not_recurse() {
    let mut test = Test::True;
    for _ in 0..100_000 {
        test = Test::Not(Box::new(test));
    }
    let rules = [rule("Deep", test, Actions::default())];
    let script = export(&rules);
    assert_eq!(script.matches("not ").count(), 100_000);
    // Dropping the caller's tree is the caller's business; unwind it gently here.
    let [ExportRule { mut test, .. }] = rules;
    while let Test::Not(inner) = test {
        test = *inner;
    }
}

/// Rules built from the supported tests and every action that round-trips.
fn round_trip_rules() -> Vec<(ExportRule, &'static str)> {
    vec![
        (
            rule(
                "Invoices",
                Test::AnyOf(vec![
                    header("subject", MatchType::Contains, "invoice"),
                    header("subject", MatchType::Is, "your receipt"),
                ]),
                Actions {
                    add_tags: tags(&["bills"]),
                    archive: true,
                    stop: true,
                    ..Actions::default()
                },
            ),
            "(subject:\"invoice\" OR subject:\"your receipt\")",
        ),
        (
            rule(
                "Boss",
                Test::AllOf(vec![
                    Test::Address {
                        names: vec!["from".into()],
                        part: AddressPart::All,
                        match_type: MatchType::Is,
                        keys: vec!["boss@work.example".into()],
                    },
                    Test::Not(Box::new(Test::HasFlag(vec!["\\Seen".into()]))),
                ]),
                Actions {
                    add_tags: tags(&["flagged", "work"]),
                    ..Actions::default()
                },
            ),
            "from:boss@work.example -(tag:read)",
        ),
        (
            rule(
                "Lists",
                Test::Header {
                    names: vec!["to".into(), "cc".into()],
                    match_type: MatchType::Matches,
                    keys: vec!["*@lists.example.org".into()],
                },
                Actions {
                    mark_read: true,
                    remove_tags: tags(&["flagged", "todo"]),
                    ..Actions::default()
                },
            ),
            "(to:\"@lists.example.org\" OR cc:\"@lists.example.org\")",
        ),
        (
            rule(
                "Huge or tiny",
                Test::AnyOf(vec![
                    Test::SizeOver(10 << 20),
                    Test::AllOf(vec![
                        Test::SizeUnder(100),
                        Test::HasFlag(vec!["$Junk".into()]),
                    ]),
                ]),
                Actions {
                    trash: true,
                    ..Actions::default()
                },
            ),
            "(size:>10485760 OR (size:<100 tag:junk))",
        ),
        (
            rule(
                "Everything",
                Test::True,
                Actions {
                    spam: Some(true),
                    archive: true,
                    add_tags: tags(&["x.y/z"]),
                    ..Actions::default()
                },
            ),
            "*",
        ),
    ]
}

#[test]
fn round_trip_keeps_names_queries_and_actions() {
    let cases = round_trip_rules();
    let rules: Vec<ExportRule> = cases.iter().map(|(r, _)| r.clone()).collect();
    let script = export(&rules);
    let imported = imported(&script);
    assert_eq!(imported.skipped, vec![], "{script}");
    assert_eq!(imported.rules.len(), cases.len(), "{script}");
    let normal = |q: &str| q.split_whitespace().collect::<Vec<_>>().join(" ");
    for ((rule, query), back) in cases.iter().zip(&imported.rules) {
        assert_eq!(back.name, rule.name);
        assert_eq!(normal(&back.query), normal(query), "{script}");
        let mut expected = rule.actions.clone();
        let mut actual = back.actions.clone();
        expected.add_tags.sort();
        actual.add_tags.sort();
        expected.remove_tags.sort();
        actual.remove_tags.sort();
        assert_eq!(actual, expected, "{}\n{script}", rule.name);
    }
    // And once more: export(import(export)) is stable.
    let again: Vec<ExportRule> = imported
        .rules
        .iter()
        .zip(&rules)
        .map(|(back, original)| rule(&back.name, original.test.clone(), back.actions.clone()))
        .collect();
    assert_eq!(imported_actions(&export(&again)), imported_actions(&script));
}

fn imported_actions(script: &str) -> Vec<Actions> {
    imported(script)
        .rules
        .into_iter()
        .map(|r| r.actions)
        .collect()
}
