//! Sieve actions carried over as Homepost rule actions, and those that are not.

use super::{actions_of, imported, tags};
use crate::{Actions, Skipped};

#[test]
fn fileinto_tags_and_archives() {
    let actions = actions_of(r#"fileinto "Receipts";"#);
    assert_eq!(
        actions,
        Actions {
            add_tags: tags(&["receipts"]),
            archive: true,
            ..Actions::default()
        }
    );
    let actions = actions_of(r#"fileinto "Lists/Rust Users";"#);
    assert_eq!(actions.add_tags, tags(&["lists/rust-users"]));
    let actions = actions_of(r#"fileinto "INBOX.Projects.Homepost";"#);
    assert_eq!(actions.add_tags, tags(&["projects.homepost"]));
}

#[test]
fn fileinto_special_folders() {
    assert_eq!(actions_of(r#"fileinto "Junk";"#).spam, Some(true));
    assert_eq!(actions_of(r#"fileinto "spam";"#).spam, Some(true));
    assert_eq!(actions_of(r#"fileinto "INBOX.Spam";"#).spam, Some(true));
    let trash = actions_of(r#"fileinto "Trash";"#);
    assert!(trash.trash && !trash.archive && trash.add_tags.is_empty());
    assert_eq!(
        actions_of(r#"fileinto "Archive";"#),
        Actions {
            archive: true,
            ..Actions::default()
        }
    );
    // Filing into the inbox does nothing, so no rule is made.
    let imported = imported("require \"fileinto\";\nif true { fileinto \"INBOX\"; }");
    assert!(imported.rules.is_empty() && imported.skipped.is_empty());
}

#[test]
fn keep_or_copy_leave_the_message_in_the_inbox() {
    let actions = actions_of("fileinto \"Work\";\nkeep;");
    assert_eq!(actions.add_tags, tags(&["work"]));
    assert!(!actions.archive);
    let actions = actions_of("fileinto :copy \"Work\";");
    assert_eq!(actions.add_tags, tags(&["work"]));
    assert!(!actions.archive);
}

#[test]
fn fileinto_flags_are_added() {
    let actions = actions_of(r#"fileinto :flags ["\\Seen", "$Billing"] "Bills";"#);
    assert_eq!(actions.add_tags, tags(&["billing", "bills"]));
    assert!(actions.mark_read && actions.archive);
    let actions = actions_of(r#"keep :flags "\\Flagged";"#);
    assert_eq!(actions.add_tags, tags(&["flagged"]));
}

#[test]
fn discard_moves_to_the_trash_and_stop_stops() {
    assert_eq!(
        actions_of("discard;\nstop;"),
        Actions {
            trash: true,
            stop: true,
            ..Actions::default()
        }
    );
}

#[test]
fn addflag_and_setflag_map_system_flags_and_keywords() {
    let actions = actions_of(r#"addflag ["\\Seen", "\\Flagged"]; setflag "$Work Later";"#);
    assert!(actions.mark_read);
    assert_eq!(actions.add_tags, tags(&["flagged", "work", "later"]));
    assert!(actions_of(r#"addflag "\\Deleted";"#).trash);
}

#[test]
fn removeflag_removes_tags() {
    let actions = actions_of(r#"removeflag ["\\Seen", "\\Flagged", "$Todo"];"#);
    assert_eq!(actions.remove_tags, tags(&["read", "flagged", "todo"]));
    assert!(!actions.mark_read);
}

#[test]
fn a_later_flag_command_wins_over_an_earlier_one() {
    let actions = actions_of(
        r#"addflag ["\\Seen", "todo", "work"]; removeflag ["\\Seen", "todo"]; addflag "todo";"#,
    );
    assert!(!actions.mark_read);
    assert_eq!(actions.add_tags, tags(&["work", "todo"]));
    assert_eq!(actions.remove_tags, tags(&["read"]));
}

#[test]
fn flags_without_counterpart_are_reported_and_the_rest_kept() {
    let script = "require \"imap4flags\";\nif true {\n  addflag \"\\\\Answered\";\n  addflag \"\\\\Seen\";\n}\n";
    let imported = imported(script);
    assert_eq!(imported.rules.len(), 1);
    assert!(imported.rules[0].actions.mark_read);
    assert_eq!(
        imported.skipped,
        vec![Skipped {
            line: 3,
            text: "addflag \"\\\\Answered\";".into(),
            reason: "the Answered mark is set by mail programs, not by rules".into(),
        }]
    );
    let imported = super::imported("if true { addflag \"flags\" \"x\"; }");
    assert_eq!(imported.skipped[0].reason, "variables are not supported");
}

#[test]
fn tags_homepost_cannot_hold_are_reported() {
    let long = "x".repeat(65);
    let script = format!(
        "require [\"fileinto\"];\nif true {{\n  fileinto \"{long}\";\n  fileinto \"-odd\";\n  addflag \"a\\\"b\";\n  stop;\n}}\n"
    );
    let imported = imported(&script);
    assert_eq!(imported.rules.len(), 1);
    assert_eq!(imported.rules[0].actions.add_tags, Vec::<String>::new());
    assert!(!imported.rules[0].actions.archive);
    let lines: Vec<usize> = imported.skipped.iter().map(|s| s.line).collect();
    assert_eq!(lines, vec![3, 4, 5]);
    assert!(imported.skipped[0].reason.contains("longer than 64"));
    assert!(
        imported.skipped[1]
            .reason
            .contains("do not start with + or -")
    );
    assert!(imported.skipped[2].reason.contains("quotes"));
}

#[test]
fn a_rule_whose_actions_all_were_skipped_is_not_made() {
    let script = "if header :contains \"from\" \"boss@work.example\" {\n  redirect \"me@elsewhere.example\";\n}\n";
    let imported = imported(script);
    assert!(imported.rules.is_empty());
    assert_eq!(imported.skipped.len(), 1);
    assert_eq!(imported.skipped[0].line, 2);
}

#[test]
fn unsupported_actions_are_reported_with_their_reason() {
    let script = r#"require ["reject", "vacation", "enotify", "variables", "include", "editheader"];
redirect "other@example.net";
reject "go away";
ereject "go away";
vacation :days 7 "I am away";
notify "mailto:me@example.org";
set "name" "value";
include "other";
addheader "X-Seen" "yes";
teleport "mars";
foreverypart { stop; }
"#;
    let imported = imported(script);
    assert!(imported.rules.is_empty());
    let reasons: Vec<(usize, &str)> = imported
        .skipped
        .iter()
        .map(|s| (s.line, s.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                2,
                "Homepost never forwards mail by itself: forwarding can send decrypted mail in \
                 clear to another server"
            ),
            (
                3,
                "Homepost does not refuse mail after it arrived; mark it spam instead"
            ),
            (
                4,
                "Homepost does not refuse mail after it arrived; mark it spam instead"
            ),
            (5, "automatic replies are not supported"),
            (6, "notifications are not supported"),
            (7, "variables are not supported"),
            (8, "Homepost rules cannot include other scripts"),
            (9, "changing the message's headers is not supported"),
            (10, "Homepost does not know the Sieve command `teleport`"),
            (
                11,
                "Homepost does not know the Sieve command `foreverypart`; it and its block are \
                 skipped"
            ),
        ]
    );
    assert_eq!(imported.skipped[1].text, "reject \"go away\";");
}
