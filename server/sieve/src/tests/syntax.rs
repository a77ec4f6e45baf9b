//! The lexer and parser: strings, lists, numbers, comments, errors.

use super::{imported, only_rule};
use crate::{Argument, SieveError, TestNode, import, parse};

fn error_of(script: &str) -> (usize, usize, String) {
    match import(script) {
        Err(SieveError::Syntax {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn the_tree_holds_commands_arguments_tests_and_blocks() {
    let script = r#"require ["fileinto", "imap4flags"];
if allof (header :contains "Subject" "report", not size :over 100K) {
    fileinto :copy "Reports";
}
"#;
    let commands = parse(script).unwrap();
    assert_eq!(commands.len(), 2);
    assert_eq!(commands[0].name, "require");
    assert_eq!(
        commands[0].args,
        vec![Argument::StringList(vec![
            "fileinto".into(),
            "imap4flags".into()
        ])]
    );
    let test: &TestNode = commands[1].test.as_ref().unwrap();
    assert_eq!(
        (test.name.as_str(), test.line, test.column),
        ("allof", 2, 4)
    );
    assert_eq!(test.tests.len(), 2);
    assert_eq!(
        test.tests[0].args,
        vec![
            Argument::Tag("contains".into()),
            Argument::String("Subject".into()),
            Argument::String("report".into()),
        ]
    );
    assert_eq!(test.tests[1].name, "not");
    assert_eq!(test.tests[1].tests[0].args[1], Argument::Number(100 * 1024));
    let block = commands[1].block.as_ref().unwrap();
    assert_eq!(block[0].name, "fileinto");
    assert_eq!((block[0].line, block[0].column), (3, 5));
}

#[test]
fn identifiers_and_tags_ignore_case() {
    let rule = only_rule("IF Header :CONTAINS \"subject\" \"x\" { AddFlag \"y\"; }");
    assert_eq!(rule.query, "subject:\"x\"");
    assert_eq!(rule.actions.add_tags, vec!["y"]);
}

#[test]
fn quoted_strings_resolve_escapes_and_span_lines() {
    let commands = parse("fileinto \"a \\\"quoted\\\" \\\\ \\q\nnext\";").unwrap();
    assert_eq!(
        commands[0].args,
        vec![Argument::String("a \"quoted\" \\ q\nnext".into())]
    );
}

#[test]
fn numbers_take_k_m_g_quantifiers() {
    let script = "if anyof(size :over 2K, size :over 3m, size :under 1G, size :under 17) { stop; }";
    assert_eq!(
        only_rule(script).query,
        "(size:>2048 OR size:>3145728 OR size:<1073741824 OR size:<17)"
    );
    let (line, _, message) = error_of("if size :over 99999999999999999999 { stop; }");
    assert_eq!(line, 1);
    assert!(message.contains("too large"), "{message}");
    assert!(import("if size :over 17179869184G { stop; }").is_err());
}

#[test]
fn multiline_text_strings_end_at_a_lone_dot_and_undo_dot_stuffing() {
    let script = "if header :contains \"subject\" text: # the key\r\n..hidden\r\nsecond line\r\n.\r\n{ stop; }\n";
    let commands = parse(script).unwrap();
    let test = commands[0].test.as_ref().unwrap();
    assert_eq!(
        test.args[2],
        Argument::String(".hidden\r\nsecond line\r\n".into())
    );
    // The line after `text:` must be empty but for a comment.
    let (line, column, _) = error_of("vacation text: oops\nhello\n.\n;");
    assert_eq!((line, column), (1, 16));
    let (line, _, message) = error_of("vacation text:\nnever ended\n");
    assert_eq!(line, 1);
    assert!(message.contains("never ended"), "{message}");
}

#[test]
fn string_lists_give_or_over_keys() {
    let rule = only_rule(
        "if header :contains \"subject\" [ \"invoice\", \"receipt\",\n \"order\" ] { addflag \"shop\"; }",
    );
    assert_eq!(
        rule.query,
        "(subject:\"invoice\" OR subject:\"receipt\" OR subject:\"order\")"
    );
    let (line, column, message) = error_of("if header :is \"to\" [\"a\" \"b\"] { stop; }");
    assert_eq!((line, column), (1, 24));
    assert_eq!(message, "expected `,` or `]` in the list of strings");
    assert!(import("if header :is \"to\" [] { stop; }").is_err());
}

#[test]
fn comments_of_both_kinds_are_ignored() {
    let script = "/* a block comment\n   over lines */ # and a line comment\nif /* inline */ true { # here\n  stop; /* } */\n}\n";
    let rule = only_rule(script);
    assert_eq!((rule.query.as_str(), rule.line), ("*", 3));
    let (line, column, message) = error_of("stop;\n  /* never closed\n");
    assert_eq!((line, column), (2, 3));
    assert!(message.contains("never closed"), "{message}");
}

#[test]
fn a_missing_semicolon_is_reported_where_it_is_missing() {
    let script = "require \"fileinto\";\nif true {\n  fileinto \"Work\"\n  stop;\n}\n";
    let error = import(script).unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 3, column 18: expected `;` after the command"
    );
}

#[test]
fn control_structure_errors_name_what_was_expected() {
    let (line, column, message) = error_of("stop;\nelse { stop; }");
    assert_eq!((line, column), (2, 1));
    assert_eq!(message, "`else` must follow an `if` or `elsif` block");
    let (line, _, message) = error_of("if true stop;");
    assert_eq!(line, 1);
    assert_eq!(message, "expected `{` after the test of `if`");
    let (_, _, message) = error_of("if { stop; }");
    assert!(
        message.contains("expected one test after `if`"),
        "{message}"
    );
    let (_, _, message) = error_of("if anyof true { stop; }");
    assert_eq!(
        message,
        "expected a list of tests in parentheses after `anyof`"
    );
    let (_, _, message) = error_of("if not { stop; }");
    assert_eq!(message, "expected one test after `not`");
    let (line, _, message) = error_of("if true {\n  stop;\n");
    assert_eq!(line, 3);
    assert_eq!(message, "expected `}` to close the block opened on line 1");
    let (_, _, message) = error_of("stop; }");
    assert!(message.starts_with("unexpected `}`"), "{message}");
    let (line, column, message) = error_of("if header :is \"a\" \"b\" ~ { }");
    assert_eq!((line, column), (1, 23));
    assert_eq!(message, "unexpected character `~`");
}

#[test]
fn an_empty_script_or_only_comments_import_nothing() {
    for script in ["", "   \n", "# nothing here\n", "/* */"] {
        let imported = imported(script);
        assert!(imported.rules.is_empty() && imported.skipped.is_empty());
    }
}
