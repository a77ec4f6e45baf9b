//! Whole scripts: `if`/`elsif`/`else`, nesting, top-level commands, rule names,
//! and what is reported.

use super::{imported, queries, tags};
use crate::{Actions, ImportedRule};

/// A script like the ones mail providers' filter editors write.
pub(super) const PROVIDER_STYLE: &str = r#"require ["fileinto", "imap4flags", "envelope"];

# rule:[Newsletters]
if anyof (header :contains "from" "newsletter", header :contains "subject" "[weekly]")
{
    fileinto "Newsletters";
    stop;
}
# rule:[Mailing list]
if header :contains "List-Id" "<dev.lists.example.org>"
{
    fileinto "Lists.Dev";
}
# Boss gets a flag
if address :is "from" "boss@work.example" {
    addflag "\\Flagged";
    redirect "me@phone.example";
}
if header :contains "subject" "out of office" {
    vacation "I am away until Monday.";
}
"#;

#[test]
fn a_provider_style_script_carries_what_it_can_and_reports_the_rest() {
    let imported = imported(PROVIDER_STYLE);
    assert_eq!(
        imported.rules,
        vec![
            ImportedRule {
                name: "Newsletters".into(),
                query: "(from:\"newsletter\" OR subject:\"[weekly]\")".into(),
                actions: Actions {
                    add_tags: tags(&["newsletters"]),
                    archive: true,
                    stop: true,
                    ..Actions::default()
                },
                line: 4,
            },
            ImportedRule {
                name: "Boss gets a flag".into(),
                query: "from:boss@work.example".into(),
                actions: Actions {
                    add_tags: tags(&["flagged"]),
                    ..Actions::default()
                },
                line: 15,
            },
        ]
    );
    let skipped: Vec<(usize, &str)> = imported
        .skipped
        .iter()
        .map(|s| (s.line, s.text.as_str()))
        .collect();
    assert_eq!(
        skipped,
        vec![
            (
                10,
                "if header :contains \"List-Id\" \"<dev.lists.example.org>\""
            ),
            (17, "redirect \"me@phone.example\";"),
            (20, "vacation \"I am away until Monday.\";"),
        ]
    );
    assert_eq!(
        imported.skipped[0].reason,
        "Homepost cannot search the List-Id header yet"
    );
    assert_eq!(
        imported.skipped[2].reason,
        "automatic replies are not supported"
    );
}

#[test]
fn elsif_and_else_exclude_the_conditions_before_them() {
    let script = r#"require "fileinto";
if header :contains "subject" "invoice" {
    fileinto "Bills";
} elsif address :domain :is "from" "shop.example" {
    fileinto "Shopping";
} else {
    addflag "other";
}
"#;
    let rules = imported(script).rules;
    let summary: Vec<(&str, &str, usize)> = rules
        .iter()
        .map(|r| (r.name.as_str(), r.query.as_str(), r.line))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Sieve line 2", "subject:\"invoice\"", 2),
            (
                "Sieve line 4",
                "-(subject:\"invoice\") from:\"shop.example\"",
                4
            ),
            (
                "Sieve line 6",
                "-(subject:\"invoice\") -(from:\"shop.example\")",
                6
            ),
        ]
    );
    assert_eq!(rules[2].actions.add_tags, tags(&["other"]));
}

#[test]
fn a_branch_after_a_condition_that_was_not_carried_is_skipped_too() {
    let script = "if exists \"X-Spam\" {\n  fileinto \"Junk\";\n} elsif true {\n  stop;\n} else {\n  keep;\n}\n";
    let imported = imported(script);
    assert!(imported.rules.is_empty());
    let lines: Vec<usize> = imported.skipped.iter().map(|s| s.line).collect();
    assert_eq!(lines, vec![1, 3, 5]);
    assert_eq!(
        imported.skipped[1].reason,
        "this part depends on the condition on line 1, which could not be carried over"
    );
}

#[test]
fn a_false_branch_never_runs_but_the_ones_after_it_do() {
    let script = "if false {\n  stop;\n} else {\n  addflag \"x\";\n}\n";
    let imported = imported(script);
    assert_eq!(queries(script), vec!["*"]);
    assert_eq!(imported.skipped.len(), 1);
    assert_eq!(imported.skipped[0].line, 1);
}

#[test]
fn nested_ifs_and_the_outer_block_keep_their_order() {
    let script = r#"require ["fileinto", "imap4flags"];
if header :contains "to" "team" {
    addflag "team";
    if header :contains "subject" "urgent" {
        addflag "\\Flagged";
    } else {
        addflag "later";
    }
    stop;
}
"#;
    let rules = imported(script).rules;
    let summary: Vec<(&str, &str, usize)> = rules
        .iter()
        .map(|r| (r.name.as_str(), r.query.as_str(), r.line))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Sieve line 2", "to:\"team\"", 2),
            ("Sieve line 4", "to:\"team\" subject:\"urgent\"", 4),
            ("Sieve line 6", "to:\"team\" -(subject:\"urgent\")", 6),
            ("Sieve line 9", "to:\"team\"", 9),
        ]
    );
    assert_eq!(rules[0].actions.add_tags, tags(&["team"]));
    assert_eq!(rules[1].actions.add_tags, tags(&["flagged"]));
    assert_eq!(rules[2].actions.add_tags, tags(&["later"]));
    assert_eq!(
        rules[3].actions,
        Actions {
            stop: true,
            ..Actions::default()
        }
    );
}

#[test]
fn top_level_commands_become_rules_for_every_message() {
    let script = r#"require ["fileinto", "imap4flags"];
# Everything is flagged first
addflag "$seen-by-filter";
if header :contains "subject" "lottery" {
    discard;
    stop;
}
fileinto "Everything";
"#;
    let rules = imported(script).rules;
    let summary: Vec<(&str, &str, usize)> = rules
        .iter()
        .map(|r| (r.name.as_str(), r.query.as_str(), r.line))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Everything is flagged first", "*", 3),
            ("Sieve line 4", "subject:\"lottery\"", 4),
            ("Sieve line 8", "*", 8),
        ]
    );
    assert_eq!(rules[0].actions.add_tags, tags(&["seen-by-filter"]));
    assert!(rules[1].actions.trash && rules[1].actions.stop);
    assert!(rules[2].actions.archive);
}

#[test]
fn rule_names_come_from_a_comment_just_before_and_are_cut_to_60_characters() {
    let long = "n".repeat(80);
    let script = format!(
        "#   Friends  \nif true {{ addflag \"a\"; }}\n\n# {long}\nif true {{ addflag \"b\"; }}\n#\nif true {{ addflag \"c\"; }}\n# not just before\n\nif true {{ addflag \"d\"; }}\n"
    );
    let names: Vec<String> = imported(&script)
        .rules
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        names,
        vec![
            "Friends".to_string(),
            "n".repeat(60),
            "Sieve line 7".to_string(),
            "Sieve line 10".to_string(),
        ]
    );
}

#[test]
fn skipped_text_is_the_trimmed_line_cut_to_200_characters() {
    let key = "k".repeat(300);
    let script = format!("   if header :contains \"X-Long\" \"{key}\" {{ stop; }}\n");
    let imported = imported(&script);
    let text = &imported.skipped[0].text;
    assert_eq!(text.chars().count(), 200);
    assert!(text.starts_with("if header :contains \"X-Long\""));
}

#[test]
fn a_too_long_chain_of_conditions_is_reported_not_built() {
    let mut script = String::from("if header :contains \"subject\" \"w0\" { stop; }\n");
    for i in 1..400 {
        script.push_str(&format!(
            "elsif header :contains \"subject\" \"word{i}\" {{ addflag \"t{i}\"; }}\n"
        ));
    }
    let imported = imported(&script);
    assert!(!imported.rules.is_empty());
    assert!(
        imported
            .rules
            .iter()
            .all(|r| r.query.chars().count() <= 2000)
    );
    assert_eq!(imported.rules.len() + imported.skipped.len(), 400);
    assert!(imported.skipped[0].reason.contains("too long"));
}

#[test]
fn a_rule_with_more_words_than_one_search_holds_is_reported() {
    let script = |words: usize| {
        let key = vec!["w"; words].join(" ");
        format!("if anyof(size :over 1M, header :contains \"subject\" \"{key}\") {{ stop; }}\n")
    };
    let imported = imported(&script(100));
    assert!(imported.rules.is_empty());
    assert!(imported.skipped[0].reason.contains("more than 100 words"));
    assert!(
        super::only_rule(&script(99))
            .query
            .starts_with("(size:>1048576 OR subject:\"w w ")
    );
}
