//! Sieve tests carried over as Homepost queries, and those that are not.

use super::{query_of, skip_reason};

#[test]
fn header_contains_maps_the_four_headers_to_fields() {
    assert_eq!(
        query_of(r#"header :contains "Subject" "Invoice""#),
        "subject:\"Invoice\""
    );
    assert_eq!(
        query_of(r#"header :contains "FROM" "newsletter""#),
        "from:\"newsletter\""
    );
    assert_eq!(query_of(r#"header :contains "to" "team""#), "to:\"team\"");
    assert_eq!(query_of(r#"header :contains "Cc" "boss""#), "cc:\"boss\"");
    // No match type is :is, carried as the phrase.
    assert_eq!(
        query_of(r#"header "subject" "weekly report""#),
        "subject:\"weekly report\""
    );
}

#[test]
fn several_names_and_keys_become_one_or_group() {
    assert_eq!(
        query_of(r#"header :contains ["to", "cc"] ["sales", "billing"]"#),
        "(to:\"sales\" OR to:\"billing\" OR cc:\"sales\" OR cc:\"billing\")"
    );
}

#[test]
fn whole_addresses_are_written_unquoted_and_other_keys_quoted() {
    assert_eq!(
        query_of(r#"header :is "from" "alice@example.org""#),
        "from:alice@example.org"
    );
    assert_eq!(
        query_of(r#"header :contains "from" "first.last+tag@mail.example.org""#),
        "from:first.last+tag@mail.example.org"
    );
    assert_eq!(
        query_of(r#"header :is "from" "Alice <a@b.org>""#),
        "from:\"Alice <a@b.org>\""
    );
    assert_eq!(
        query_of(r#"header :is "from" "bob@localhost""#),
        "from:\"bob@localhost\""
    );
    // Quotes and backslashes inside a key are escaped.
    assert_eq!(
        query_of(r#"header :contains "subject" "say \"hi\" \\ bye""#),
        r#"subject:"say \"hi\" \\ bye""#
    );
}

#[test]
fn matches_patterns_keep_the_pieces_between_wildcards() {
    assert_eq!(
        query_of(r#"header :matches "subject" "*[SPAM]*""#),
        "subject:\"[SPAM]\""
    );
    assert_eq!(
        query_of(r#"header :matches "subject" "Order ?? shipped*today""#),
        "subject:\"Order\" subject:\"shipped\" subject:\"today\""
    );
    assert_eq!(query_of(r#"header :matches "subject" "*""#), "*");
    assert_eq!(query_of(r#"header :matches "subject" "**?""#), "*");
    // An escaped wildcard is a literal character of the piece.
    assert_eq!(
        query_of(r#"header :matches "subject" "*a\\*b*""#),
        "subject:\"a*b\""
    );
}

#[test]
fn keys_without_words_are_not_made_to_match_everything() {
    let reason = skip_reason(r#"header :contains "subject" "!!!""#);
    assert_eq!(
        reason,
        "\"!!!\" has no letters or digits, and Homepost searches by words"
    );
    assert!(skip_reason(r#"header :matches "subject" "*-*""#).contains("no letters"));
    assert_eq!(query_of(r#"header :contains "subject" """#), "*");
    assert_eq!(
        skip_reason(r#"header :is "subject" """#),
        "Homepost cannot search for an empty value"
    );
}

#[test]
fn other_headers_skip_the_rule() {
    assert_eq!(
        skip_reason(r#"header :contains "List-Id" "<dev.lists.example.org>""#),
        "Homepost cannot search the List-Id header yet"
    );
    assert_eq!(
        skip_reason(r#"header :is ["subject", "X-Spam-Flag"] "YES""#),
        "Homepost cannot search the X-Spam-Flag header yet"
    );
}

#[test]
fn address_tests_use_the_address_fields() {
    assert_eq!(
        query_of(r#"address :is "from" "boss@work.example""#),
        "from:boss@work.example"
    );
    assert_eq!(
        query_of(r#"address :all :contains ["to", "cc"] "example.org""#),
        "(to:\"example.org\" OR cc:\"example.org\")"
    );
    assert_eq!(
        query_of(r#"address :domain :is "from" "example.org""#),
        "from:\"example.org\""
    );
    assert_eq!(
        query_of(r#"address :domain :matches "from" "*.example.org""#),
        "from:\".example.org\""
    );
    assert_eq!(
        skip_reason(r#"address :localpart :is "from" "bob""#),
        "Homepost matches whole addresses or their words, not the part before @ alone"
    );
    assert_eq!(
        skip_reason(r#"address :is "reply-to" "x@y.org""#),
        "Homepost cannot search the reply-to address yet"
    );
}

#[test]
fn envelope_from_and_to_are_the_from_and_to_addresses() {
    assert_eq!(
        query_of(r#"envelope :is "from" "bounces@lists.example.org""#),
        "from:bounces@lists.example.org"
    );
    assert_eq!(
        query_of(r#"envelope :domain :is "to" "example.net""#),
        "to:\"example.net\""
    );
    // Without `require "envelope"` it still carries.
    assert_eq!(
        super::only_rule("if envelope \"from\" \"a@b.org\" { stop; }").query,
        "from:a@b.org"
    );
    assert!(skip_reason(r#"envelope :is "auth" "me""#).contains("envelope's auth"));
}

#[test]
fn size_over_and_under_are_byte_ranges() {
    assert_eq!(query_of("size :over 1M"), "size:>1048576");
    assert_eq!(query_of("size :under 500"), "size:<500");
    assert!(skip_reason("size 100").contains("not written correctly"));
}

#[test]
fn body_contains_searches_the_body() {
    assert_eq!(
        query_of(r#"body :contains "unsubscribe""#),
        "body:\"unsubscribe\""
    );
    assert_eq!(
        query_of(r#"body :text :contains ["a b", "c"]"#),
        "(body:\"a b\" OR body:\"c\")"
    );
    assert_eq!(
        skip_reason(r#"body :content "text/html" :contains "x""#),
        "searching only some parts of the body is not supported"
    );
}

#[test]
fn allof_anyof_not_group_with_parentheses() {
    assert_eq!(
        query_of(
            r#"allof(header :contains "from" "shop", anyof(header :contains "subject" "order", header :contains "subject" "invoice"), not size :over 1M)"#
        ),
        "from:\"shop\" (subject:\"order\" OR subject:\"invoice\") -(size:>1048576)"
    );
    assert_eq!(
        query_of(r#"not anyof(header :is "from" "a@b.org", header :is "from" "c@d.org")"#),
        "-(from:a@b.org OR from:c@d.org)"
    );
    assert_eq!(
        query_of(r#"anyof(allof(header :contains "to" "a", header :contains "to" "b"), true)"#),
        "*"
    );
    assert_eq!(
        query_of(r#"anyof(allof(header :contains "to" "a", header :contains "to" "b"), false)"#),
        "to:\"a\" to:\"b\""
    );
    assert_eq!(
        query_of(r#"not allof(header :contains "to" "a", header :contains "to" "b")"#),
        "-(to:\"a\" to:\"b\")"
    );
}

#[test]
fn true_matches_everything_and_false_never_runs() {
    assert_eq!(query_of("true"), "*");
    assert_eq!(
        skip_reason("false"),
        "this rule never runs: its condition is never true"
    );
    assert_eq!(
        skip_reason("not true"),
        "this rule never runs: its condition is never true"
    );
}

#[test]
fn comparators_that_ignore_case_or_not_are_accepted() {
    assert_eq!(
        query_of(r#"header :comparator "i;octet" :contains "subject" "X""#),
        "subject:\"X\""
    );
    assert_eq!(
        query_of(r#"header :contains :comparator "i;ascii-casemap" "subject" "X""#),
        "subject:\"X\""
    );
    assert!(
        skip_reason(r#"header :comparator "i;ascii-numeric" :is "subject" "1""#)
            .contains("i;ascii-numeric")
    );
}

#[test]
fn hasflag_maps_system_flags_and_keywords_to_tags() {
    assert_eq!(query_of(r#"hasflag "\\Seen""#), "tag:read");
    assert_eq!(
        query_of(r#"hasflag ["\\Flagged", "$Label1"]"#),
        "(tag:flagged OR tag:label1)"
    );
    assert_eq!(
        query_of(r#"hasflag "work \\Seen""#),
        "(tag:work OR tag:read)"
    );
    assert_eq!(
        skip_reason(r#"hasflag "\\Answered""#),
        "Homepost has no \\Answered mark to test"
    );
    assert_eq!(
        skip_reason(r#"hasflag "myvar" "work""#),
        "variables are not supported"
    );
}

#[test]
fn other_tests_are_reported_with_a_reason() {
    assert_eq!(
        skip_reason(r#"exists "X-Mailing-List""#),
        "Homepost cannot check whether a header is present"
    );
    assert_eq!(
        skip_reason(r#"header :regex "subject" "^a.*b$""#),
        "regular expressions (`:regex`) are not supported"
    );
    assert_eq!(
        skip_reason(r#"header :count "ge" "received" "5""#),
        "comparing counts or values (`:count`, `:value`) is not supported"
    );
    assert_eq!(
        skip_reason(r#"currentdate :value "ge" "date" "2024-01-01""#),
        "conditions on dates are not supported"
    );
    assert_eq!(
        skip_reason("frobnicate \"x\""),
        "Homepost does not know the Sieve test `frobnicate`"
    );
    // Inside a group, one test that cannot be carried skips the whole rule.
    assert_eq!(
        skip_reason(r#"anyof(header :contains "subject" "x", exists "List-Id")"#),
        "Homepost cannot check whether a header is present"
    );
}
