//! Tests of the pure parser and printer. Tests of what queries match, against a real
//! index, are in `index::tests`.

use proptest::prelude::*;
use time::{Date, Month};

use super::{DateRange, Query, QueryError, SizeRange, TextField, hide_unless_named, parse};

fn text(field: TextField, t: &str) -> Query {
    Query::Text {
        field,
        text: t.into(),
    }
}

fn word(t: &str) -> Query {
    text(TextField::SubjectOrBody, t)
}

fn day(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
}

fn dates(from: Option<Date>, until: Option<Date>) -> Query {
    Query::Date(DateRange { from, until })
}

fn sizes(at_least: Option<u64>, below: Option<u64>) -> Query {
    Query::Size(SizeRange { at_least, below })
}

fn not(q: Query) -> Query {
    Query::Not(Box::new(q))
}

fn err(input: &str) -> QueryError {
    parse(input).expect_err(input)
}

#[test]
fn words_phrases_and_all() {
    assert_eq!(parse("").unwrap(), Query::All);
    assert_eq!(parse("  \t ").unwrap(), Query::All);
    assert_eq!(parse("*").unwrap(), Query::All);
    assert_eq!(parse("hello").unwrap(), word("hello"));
    assert_eq!(
        parse("hello world").unwrap(),
        Query::And(vec![word("hello"), word("world")])
    );
    assert_eq!(parse("\"hello world\"").unwrap(), word("hello world"));
    assert_eq!(
        parse(r#""say \"hi\" \\ now""#).unwrap(),
        word(r#"say "hi" \ now"#)
    );
    assert_eq!(parse(r#""C:\path""#).unwrap(), word(r"C:\path"));
    assert_eq!(parse("e-mail").unwrap(), word("e-mail"));
    assert_eq!(parse("-").unwrap(), word("-"));
}

#[test]
fn text_fields() {
    assert_eq!(parse("from:alice").unwrap(), text(TextField::From, "alice"));
    assert_eq!(
        parse("FROM:\"Alice Smith\"").unwrap(),
        text(TextField::From, "Alice Smith")
    );
    assert_eq!(
        parse("to:bob@example.org").unwrap(),
        text(TextField::To, "bob@example.org")
    );
    assert_eq!(parse("cc:carol").unwrap(), text(TextField::Cc, "carol"));
    assert_eq!(
        parse("subject:\"quarterly report\"").unwrap(),
        text(TextField::Subject, "quarterly report")
    );
    assert_eq!(
        parse("body:budget").unwrap(),
        text(TextField::Body, "budget")
    );
    assert_eq!(
        parse("att:report.pdf").unwrap(),
        text(TextField::Attachment, "report.pdf")
    );
    assert_eq!(parse("from:\"\"").unwrap(), text(TextField::From, ""));
}

#[test]
fn tags_flags_and_ids() {
    assert_eq!(parse("tag:Inbox").unwrap(), Query::Tag("inbox".into()));
    assert_eq!(parse("in:inbox").unwrap(), Query::Tag("inbox".into()));
    assert_eq!(parse("is:read").unwrap(), Query::Tag("read".into()));
    assert_eq!(parse("is:Unread").unwrap(), not(Query::Tag("read".into())));
    assert_eq!(parse("is:flagged").unwrap(), Query::Tag("flagged".into()));
    assert_eq!(parse("has:attachment").unwrap(), Query::HasAttachment);
    assert_eq!(
        parse("mid:<a1@x.org>").unwrap(),
        Query::MessageId("a1@x.org".into())
    );
    assert_eq!(
        parse("mid:a1@x.org").unwrap(),
        Query::MessageId("a1@x.org".into())
    );
    assert_eq!(
        parse("mid:\"<a b@x>\"").unwrap(),
        Query::MessageId("a b@x".into())
    );
}

#[test]
fn date_operators() {
    assert_eq!(
        parse("before:2024-03-05").unwrap(),
        dates(None, Some(day(2024, 3, 5)))
    );
    assert_eq!(
        parse("before:2024").unwrap(),
        dates(None, Some(day(2024, 1, 1)))
    );
    assert_eq!(
        parse("after:2024-03").unwrap(),
        dates(Some(day(2024, 3, 1)), None)
    );
    assert_eq!(
        parse("date:2024").unwrap(),
        dates(Some(day(2024, 1, 1)), Some(day(2025, 1, 1)))
    );
    assert_eq!(
        parse("date:2024-12").unwrap(),
        dates(Some(day(2024, 12, 1)), Some(day(2025, 1, 1)))
    );
    assert_eq!(
        parse("date:2024-02-29").unwrap(),
        dates(Some(day(2024, 2, 29)), Some(day(2024, 3, 1)))
    );
    // Months are whole: March 1 through May 31.
    assert_eq!(
        parse("date:2024-03..2024-05").unwrap(),
        dates(Some(day(2024, 3, 1)), Some(day(2024, 6, 1)))
    );
    assert_eq!(
        parse("date:2024..2024-06-15").unwrap(),
        dates(Some(day(2024, 1, 1)), Some(day(2024, 6, 16)))
    );
    assert_eq!(
        parse("date:2024-03..").unwrap(),
        dates(Some(day(2024, 3, 1)), None)
    );
    assert_eq!(
        parse("date:..2024-03").unwrap(),
        dates(None, Some(day(2024, 4, 1)))
    );
    assert_eq!(
        parse("date:9999").unwrap(),
        dates(Some(day(9999, 1, 1)), None)
    );
    assert_eq!(parse("date:..9999").unwrap(), Query::All);
}

#[test]
fn bad_dates_name_the_position() {
    for (input, position) in [
        ("date:2024-13", 5),
        ("before:2023-02-29", 7),
        ("after:24", 6),
        ("x before:2024-1-01", 9),
        ("date:2024-01..2024-1", 14),
        ("date:..", 5),
        ("after:yesterday", 6),
    ] {
        let e = err(input);
        assert_eq!(e.position, position, "{input}: {e}");
        assert!(e.message.contains("date"), "{input}: {e}");
    }
    let e = err("date:2024-05..2024-03");
    assert!(e.message.contains("ends before it starts"), "{e}");
}

#[test]
fn size_operators() {
    assert_eq!(parse("size:>1M").unwrap(), sizes(Some(1_048_577), None));
    assert_eq!(parse("size:>=1M").unwrap(), sizes(Some(1_048_576), None));
    assert_eq!(parse("size:1M").unwrap(), sizes(Some(1_048_576), None));
    assert_eq!(parse("size:<10k").unwrap(), sizes(None, Some(10_240)));
    assert_eq!(parse("size:<=10K").unwrap(), sizes(None, Some(10_241)));
    assert_eq!(parse("size:1k..2k").unwrap(), sizes(Some(1024), Some(2049)));
    assert_eq!(parse("size:..2k").unwrap(), sizes(None, Some(2049)));
    assert_eq!(parse("size:1.5k").unwrap(), sizes(Some(1536), None));
    assert_eq!(
        parse("size:>2G").unwrap(),
        sizes(Some(2 * (1 << 30) + 1), None)
    );
    assert_eq!(parse("size:500b").unwrap(), sizes(Some(500), None));
    assert_eq!(parse("size:<0").unwrap(), sizes(None, Some(0)));
    assert_eq!(parse("size:<=18446744073709551615").unwrap(), Query::All);
}

#[test]
fn bad_sizes_name_the_position() {
    for (input, position) in [
        ("size:big", 5),
        ("size:>", 6),
        ("size:>=x", 7),
        ("size:1T", 5),
        ("size:1k..x", 9),
        ("size:..", 5),
        ("size:1.k", 5),
    ] {
        let e = err(input);
        assert_eq!(e.position, position, "{input}: {e}");
    }
    assert!(err("size:99999999999G").message.contains("too large"));
    assert!(err("size:>18446744073709551615").message.contains("larger"));
    assert!(err("size:2k..1k").message.contains("ends before it starts"));
}

#[test]
fn negation_grouping_and_precedence() {
    assert_eq!(parse("-foo").unwrap(), not(word("foo")));
    assert_eq!(parse("--foo").unwrap(), not(not(word("foo"))));
    assert_eq!(parse("-\"a b\"").unwrap(), not(word("a b")));
    assert_eq!(parse("-*").unwrap(), not(Query::All));
    assert_eq!(
        parse("-(a OR b)").unwrap(),
        not(Query::Or(vec![word("a"), word("b")]))
    );
    // AND binds tighter than OR.
    assert_eq!(
        parse("a b OR c").unwrap(),
        Query::Or(vec![Query::And(vec![word("a"), word("b")]), word("c")])
    );
    assert_eq!(
        parse("a (b OR c)").unwrap(),
        Query::And(vec![word("a"), Query::Or(vec![word("b"), word("c")])])
    );
    assert_eq!(parse("((a))").unwrap(), word("a"));
    // `or` in lowercase is a word.
    assert_eq!(
        parse("a or b").unwrap(),
        Query::And(vec![word("a"), word("or"), word("b")])
    );
    assert_eq!(
        parse("-is:read -tag:work").unwrap(),
        Query::And(vec![
            not(Query::Tag("read".into())),
            not(Query::Tag("work".into()))
        ])
    );
}

#[test]
fn unknown_prefixes_are_words() {
    assert_eq!(parse("foo:bar").unwrap(), word("foo:bar"));
    assert_eq!(
        parse("http://example.com/x").unwrap(),
        word("http://example.com/x")
    );
    assert_eq!(parse("Re:").unwrap(), word("Re:"));
    assert_eq!(parse("10:30").unwrap(), word("10:30"));
    assert_eq!(parse("foo:\"a b\"").unwrap(), word("foo:a b"));
    assert_eq!(parse(":x").unwrap(), word(":x"));
}

#[test]
fn structural_errors_name_the_position() {
    for (input, position, expected) in [
        ("(a", 0, "never closed"),
        ("a (b c", 2, "never closed"),
        ("a)", 1, "no matching"),
        (")", 0, "no matching"),
        ("\"abc", 0, "quote"),
        ("a \"b", 2, "quote"),
        ("a OR", 2, "after OR"),
        ("OR a", 0, "before OR"),
        ("a OR OR b", 2, "after OR"),
        ("()", 1, "before `)`"),
        ("(a OR)", 3, "after OR"),
        ("from:", 5, "value after `from:`"),
        ("x subject: hello", 10, "value after `subject:`"),
        ("is:", 3, "value after"),
        ("has:pictures", 4, "has:attachment"),
        ("mid:\"\"", 4, "Message-ID"),
        ("-OR", 0, "after `-`"),
        ("ü (", 2, "never closed"),
    ] {
        let e = err(input);
        assert_eq!(e.position, position, "{input}: {e}");
        assert!(e.message.contains(expected), "{input}: {e}");
    }
    let e = err("(a");
    assert_eq!(
        e.to_string(),
        "unbalanced parenthesis: this `(` is never closed (at character 1)"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = "(".repeat(100) + "a" + &")".repeat(100);
    assert!(err(&deep).message.contains("deep"));
    let negations = "-".repeat(100) + "a";
    assert!(err(&negations).message.contains("deep"));
    let fine = "(".repeat(30) + "a" + &")".repeat(30);
    assert_eq!(parse(&fine).unwrap(), word("a"));
    // Far longer still: refused for its length before anything else.
    let huge = "(".repeat(10_000) + "a" + &")".repeat(10_000);
    assert!(err(&huge).message.contains("longer than"));
}

#[test]
fn queries_are_capped_in_terms_and_length() {
    use super::parser::{MAX_QUERY_CHARS, MAX_TERMS};
    let words = |n: usize| {
        (0..n)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(parse(&words(MAX_TERMS)).is_ok());
    assert!(err(&words(MAX_TERMS + 1)).message.contains("at most"));
    // A phrase counts each of its words; OR and NOT count what they hold.
    assert!(
        err(&format!("\"{}\"", words(MAX_TERMS + 1)))
            .message
            .contains("at most")
    );
    let ors = (0..=MAX_TERMS)
        .map(|i| format!("tag:t{i}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    assert!(err(&ors).message.contains("at most"));
    assert!(parse(&"x".repeat(MAX_QUERY_CHARS)).is_ok());
    let long = err(&"x".repeat(MAX_QUERY_CHARS + 1));
    assert!(long.message.contains("longer than"), "{long}");
}

#[test]
fn display_prints_canonical_syntax() {
    for (input, printed) in [
        ("hello", "hello"),
        ("\"hello world\"", "\"hello world\""),
        ("\"hello\"", "hello"),
        ("foo:bar", "\"foo:bar\""),
        ("\"OR\"", "\"OR\""),
        ("\"-x\"", "\"-x\""),
        ("FROM:Alice", "from:Alice"),
        ("in:Inbox", "tag:inbox"),
        ("is:unread", "-tag:read"),
        ("mid:a@b", "mid:<a@b>"),
        ("date:2024-03..2024-05", "date:2024-03-01..2024-05-31"),
        ("date:2024-03-05", "date:2024-03-05"),
        ("before:2024", "before:2024-01-01"),
        ("after:2024-02", "after:2024-02-01"),
        ("size:>1k", "size:>=1025"),
        ("size:<=1k", "size:<1025"),
        ("size:1k..2k", "size:1024..2048"),
        ("a b OR c", "a b OR c"),
        ("a (b OR c)", "a (b OR c)"),
        ("(a OR b) OR c", "(a OR b) OR c"),
        ("-(a b)", "-(a b)"),
        ("has:attachments", "has:attachment"),
        ("", "*"),
    ] {
        assert_eq!(parse(input).unwrap().to_string(), printed, "{input}");
    }
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9]{1,8}",
        "[a-z@.:()\"\\\\ *<>-]{0,8}",
        "OR|\\*|-|:|\"",
        any::<String>(),
    ]
}

fn arb_date() -> impl Strategy<Value = Date> {
    let min = day(0, 1, 1).to_julian_day();
    let max = day(9999, 12, 31).to_julian_day();
    (min..=max).prop_map(|j| Date::from_julian_day(j).unwrap())
}

fn arb_leaf() -> impl Strategy<Value = Query> {
    prop_oneof![
        Just(Query::All),
        (prop::sample::select(TextField::ALL.to_vec()), arb_text())
            .prop_map(|(field, text)| Query::Text { field, text }),
        arb_text()
            .prop_filter("tags are lowercase", |t| t.to_lowercase() == *t)
            .prop_map(Query::Tag),
        Just(Query::HasAttachment),
        arb_text().prop_map(Query::MessageId),
        (arb_date(), arb_date(), 0..3u8).prop_filter_map("a non-empty range", |(a, b, kind)| {
            let range = match kind {
                0 => DateRange {
                    from: Some(a),
                    until: None,
                },
                1 => DateRange {
                    from: None,
                    until: Some(b),
                },
                _ if a < b => DateRange {
                    from: Some(a),
                    until: Some(b),
                },
                _ => return None,
            };
            Some(Query::Date(range))
        }),
        (any::<u64>(), any::<u64>(), 0..3u8).prop_filter_map(
            "a non-empty range",
            |(a, b, kind)| {
                let range = match kind {
                    0 => SizeRange {
                        at_least: Some(a),
                        below: None,
                    },
                    1 => SizeRange {
                        at_least: None,
                        below: Some(b),
                    },
                    _ if a < b => SizeRange {
                        at_least: Some(a),
                        below: Some(b),
                    },
                    _ => return None,
                };
                Some(Query::Size(range))
            }
        ),
    ]
}

fn arb_query() -> impl Strategy<Value = Query> {
    arb_leaf().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|q| Query::Not(Box::new(q))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Query::And),
            prop::collection::vec(inner, 2..4).prop_map(Query::Or),
        ]
    })
}

/// Strings dense in the syntax the parser cares about.
fn syntax_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("(".to_string()),
            Just(")".to_string()),
            Just("\"".to_string()),
            Just("-".to_string()),
            Just(" ".to_string()),
            Just("OR".to_string()),
            Just("*".to_string()),
            Just("\\".to_string()),
            Just(":".to_string()),
            Just("..".to_string()),
            prop::sample::select(vec![
                "from:", "to:", "cc:", "subject:", "body:", "tag:", "in:", "is:", "has:", "att:",
                "mid:", "before:", "after:", "date:", "size:", "foo:",
            ])
            .prop_map(String::from),
            "[a-zA-Zé0-9<>@.=]{1,6}",
            "(19|20|99)[0-9]{2}(-[01][0-9](-[0-3][0-9])?)?",
            "[<>]?=?[0-9]{1,4}(\\.[0-9])?[kKmMgG]?",
        ],
        0..16,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parser_never_panics_on_any_string(input in any::<String>()) {
        let _ = parse(&input);
    }

    #[test]
    fn parser_never_panics_on_syntax_soup(input in syntax_soup()) {
        if let Err(e) = parse(&input) {
            prop_assert!(e.position <= input.chars().count());
        }
    }

    #[test]
    fn printed_queries_parse_back_equal(query in arb_query()) {
        let printed = query.to_string();
        prop_assert_eq!(parse(&printed).map_err(|e| format!("{printed}: {e}")), Ok(query));
    }

    #[test]
    fn printing_a_parsed_query_is_stable(input in syntax_soup()) {
        if let Ok(query) = parse(&input) {
            let printed = query.to_string();
            prop_assert_eq!(parse(&printed).map_err(|e| format!("{printed}: {e}")), Ok(query));
        }
    }
}

#[test]
fn normal_views_hide_spam_and_trash_unless_named() {
    let shown = |q: &str| hide_unless_named(parse(q).unwrap()).to_string();
    assert_eq!(shown("money"), "money -tag:spam -tag:trash");
    assert_eq!(shown("in:spam money"), "(tag:spam money) -tag:trash");
    assert_eq!(shown("-tag:trash"), "-tag:trash -tag:spam");
    assert_eq!(shown("tag:spam OR tag:trash"), "tag:spam OR tag:trash");
}

#[test]
fn renaming_a_tag_rewrites_only_queries_naming_it() {
    let q = parse("tag:bills (from:bank OR -in:bills) is:unread").unwrap();
    assert_eq!(q.tags(), ["bills", "read"]);
    let renamed = q.rename_tag("bills", "paid").unwrap();
    assert_eq!(
        parse(&renamed.to_string()).unwrap(),
        parse("tag:paid (from:bank OR -tag:paid) is:unread").unwrap()
    );
    assert!(q.rename_tag("work", "job").is_none());
}
