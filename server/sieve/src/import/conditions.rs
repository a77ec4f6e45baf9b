//! Sieve tests to Homepost queries.

use super::query::{Query, field_term};
use super::tags::{tag_from_keyword, tag_term};
use crate::ast::{Argument, TestNode};

/// Why a test cannot be carried over, and the line of that test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    pub(crate) line: usize,
    pub(crate) reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    Is,
    Contains,
    Matches,
}

/// The arguments of a test, sorted out.
struct Options<'a> {
    match_type: Match,
    /// `:over` (`Some(true)`) or `:under` (`Some(false)`).
    over: Option<bool>,
    strings: Vec<&'a [String]>,
    numbers: Vec<u64>,
}

/// The query for `test`, or why it cannot be carried over.
pub(crate) fn condition(test: &TestNode) -> Result<Query, Fail> {
    let fail = |reason: &str| Fail {
        line: test.line,
        reason: reason.to_string(),
    };
    match test.name.as_str() {
        "true" => Ok(Query::All),
        "false" => Ok(Query::Never),
        "allof" => Ok(Query::and(children(test)?)),
        "anyof" => Ok(Query::or(children(test)?)),
        "not" => Ok(Query::not(Query::and(children(test)?))),
        "header" => {
            let options = options(test)?;
            let [names, keys] = two_lists(test, &options, "header names and keys")?;
            let mut parts = Vec::new();
            for name in names {
                let field = match name.trim().to_ascii_lowercase().as_str() {
                    "subject" => "subject",
                    "from" => "from",
                    "to" => "to",
                    "cc" => "cc",
                    _ => {
                        return Err(fail(&format!(
                            "Homepost cannot search the {} header yet",
                            short(name.trim())
                        )));
                    }
                };
                parts.push(keys_query(test, field, keys, options.match_type)?);
            }
            Ok(Query::or(parts))
        }
        "address" | "envelope" => {
            let options = options(test)?;
            let [names, keys] = two_lists(test, &options, "address fields and keys")?;
            let mut parts = Vec::new();
            for name in names {
                let lower = name.trim().to_ascii_lowercase();
                let field = match (test.name.as_str(), lower.as_str()) {
                    (_, "from") => "from",
                    (_, "to") => "to",
                    ("address", "cc") => "cc",
                    ("address", _) => {
                        return Err(fail(&format!(
                            "Homepost cannot search the {} address yet",
                            short(name.trim())
                        )));
                    }
                    _ => {
                        return Err(fail(&format!(
                            "Homepost cannot search the envelope's {} yet",
                            short(name.trim())
                        )));
                    }
                };
                parts.push(keys_query(test, field, keys, options.match_type)?);
            }
            Ok(Query::or(parts))
        }
        "body" => {
            let options = options(test)?;
            match options.strings.as_slice() {
                [keys] if options.numbers.is_empty() && options.over.is_none() => {
                    keys_query(test, "body", keys, options.match_type)
                }
                _ => Err(fail(
                    "this test is not written correctly (expected the words to search for)",
                )),
            }
        }
        "size" => {
            let options = options(test)?;
            match (options.over, options.numbers.as_slice()) {
                (Some(over), [n]) if options.strings.is_empty() => {
                    let op = if over { '>' } else { '<' };
                    Ok(Query::term(format!("size:{op}{n}")))
                }
                _ => Err(fail(
                    "this test is not written correctly (expected `:over` or `:under` and a size)",
                )),
            }
        }
        "hasflag" => hasflag(test),
        "exists" => Err(fail("Homepost cannot check whether a header is present")),
        other => Err(fail(&unknown_test(other))),
    }
}

fn children(test: &TestNode) -> Result<Vec<Query>, Fail> {
    test.tests.iter().map(condition).collect()
}

/// The reason an unknown or unsupported test is not carried over.
fn unknown_test(name: &str) -> String {
    match name {
        "date" | "currentdate" => "conditions on dates are not supported".into(),
        "spamtest" | "spamtestplus" | "virustest" => {
            "spam and virus scores are not supported (Homepost has its own spam filter)".into()
        }
        "string" => "variables are not supported".into(),
        "duplicate" => "detecting duplicate messages is not supported".into(),
        "environment"
        | "ihave"
        | "valid_notify_method"
        | "notify_method_capability"
        | "metadata"
        | "metadataexists"
        | "servermetadata"
        | "servermetadataexists"
        | "mailboxexists"
        | "specialuse_exists"
        | "valid_ext_list" => {
            "this test asks about the mail server, which a Homepost rule cannot".into()
        }
        _ => format!("Homepost does not know the Sieve test `{}`", short(name)),
    }
}

/// Sorts out the arguments of a header-like test, failing on options Homepost
/// cannot honour.
fn options(test: &TestNode) -> Result<Options<'_>, Fail> {
    let fail = |reason: String| Fail {
        line: test.line,
        reason,
    };
    let mut options = Options {
        match_type: Match::Is,
        over: None,
        strings: Vec::new(),
        numbers: Vec::new(),
    };
    let mut args = test.args.iter();
    while let Some(arg) = args.next() {
        let tag = match arg {
            Argument::Tag(tag) => tag.as_str(),
            Argument::Number(n) => {
                options.numbers.push(*n);
                continue;
            }
            Argument::String(_) | Argument::StringList(_) => {
                options.strings.extend(arg.strings());
                continue;
            }
        };
        match tag {
            "is" => options.match_type = Match::Is,
            "contains" => options.match_type = Match::Contains,
            "matches" => options.match_type = Match::Matches,
            // `:domain` keys are searched as words of the addresses, like whole keys.
            "all" | "domain" if test.name == "address" || test.name == "envelope" => {}
            "over" if test.name == "size" => options.over = Some(true),
            "under" if test.name == "size" => options.over = Some(false),
            "text" | "raw" if test.name == "body" => {}
            "comparator" => {
                let name = args.next().and_then(Argument::strings);
                let Some([name]) = name else {
                    return Err(fail("`:comparator` must be followed by its name".into()));
                };
                let lower = name.to_ascii_lowercase();
                if lower != "i;ascii-casemap" && lower != "i;octet" {
                    return Err(fail(format!(
                        "the comparator \"{}\" is not supported (Homepost ignores case)",
                        short(name)
                    )));
                }
            }
            "regex" => {
                return Err(fail(
                    "regular expressions (`:regex`) are not supported".into(),
                ));
            }
            "count" | "value" => {
                return Err(fail(
                    "comparing counts or values (`:count`, `:value`) is not supported".into(),
                ));
            }
            "localpart" => {
                return Err(fail(
                    "Homepost matches whole addresses or their words, not the part before @ alone"
                        .into(),
                ));
            }
            "user" | "detail" => {
                return Err(fail(
                    "Homepost matches whole addresses, not the parts around a `+`".into(),
                ));
            }
            "content" => {
                return Err(fail(
                    "searching only some parts of the body is not supported".into(),
                ));
            }
            other => {
                return Err(fail(format!(
                    "the option `:{}` is not supported",
                    short(other)
                )));
            }
        }
    }
    Ok(options)
}

/// Exactly two string lists (names and keys) and nothing else.
fn two_lists<'a>(
    test: &TestNode,
    options: &Options<'a>,
    expected: &str,
) -> Result<[&'a [String]; 2], Fail> {
    match options.strings.as_slice() {
        [names, keys] if options.numbers.is_empty() && options.over.is_none() => Ok([names, keys]),
        _ => Err(Fail {
            line: test.line,
            reason: format!("this test is not written correctly (expected {expected})"),
        }),
    }
}

/// Any of `keys` in `field`.
fn keys_query(
    test: &TestNode,
    field: &str,
    keys: &[String],
    match_type: Match,
) -> Result<Query, Fail> {
    let mut parts = Vec::new();
    for key in keys {
        parts.push(key_query(test, field, key, match_type)?);
    }
    Ok(Query::or(parts))
}

/// One key in `field`: the phrase (or address), or for `:matches` the pieces
/// between the wildcards, all of them.
fn key_query(test: &TestNode, field: &str, key: &str, match_type: Match) -> Result<Query, Fail> {
    let no_words = |text: &str| Fail {
        line: test.line,
        reason: format!(
            "\"{}\" has no letters or digits, and Homepost searches by words",
            short(text)
        ),
    };
    let searchable = |text: &str| text.chars().any(char::is_alphanumeric);
    match match_type {
        Match::Matches => {
            let mut terms = Vec::new();
            for piece in wildcard_pieces(key) {
                let piece = piece.trim();
                if piece.is_empty() {
                    continue;
                }
                if !searchable(piece) {
                    return Err(no_words(piece));
                }
                terms.push(field_term(field, piece));
            }
            Ok(Query::and(terms))
        }
        Match::Contains if key.is_empty() => Ok(Query::All),
        Match::Is | Match::Contains => {
            if key.is_empty() {
                return Err(Fail {
                    line: test.line,
                    reason: "Homepost cannot search for an empty value".into(),
                });
            }
            if !searchable(key) {
                return Err(no_words(key));
            }
            Ok(field_term(field, key.trim()))
        }
    }
}

/// The pieces of a `:matches` pattern between its `*` and `?` wildcards, with
/// `\` escapes undone.
fn wildcard_pieces(pattern: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' => pieces.push(std::mem::take(&mut piece)),
            '\\' => piece.extend(chars.next()),
            c => piece.push(c),
        }
    }
    pieces.push(piece);
    pieces
}

/// `hasflag [MATCH-TYPE] [COMPARATOR] [VARIABLES] FLAGS` (RFC 5232).
fn hasflag(test: &TestNode) -> Result<Query, Fail> {
    let fail = |reason: String| Fail {
        line: test.line,
        reason,
    };
    let options = options(test)?;
    if options.match_type != Match::Is {
        return Err(fail(
            "only whole flag names are supported in `hasflag`".into(),
        ));
    }
    let flags = match options.strings.as_slice() {
        [flags] if options.numbers.is_empty() && options.over.is_none() => *flags,
        [_, _] => return Err(fail("variables are not supported".into())),
        _ => {
            return Err(fail(
                "this test is not written correctly (expected the flags)".into(),
            ));
        }
    };
    let mut parts = Vec::new();
    for flag in flags.iter().flat_map(|f| f.split_whitespace()) {
        let tag = match flag.to_ascii_lowercase().as_str() {
            "\\seen" => "read".to_string(),
            "\\flagged" => "flagged".to_string(),
            lower if lower.starts_with('\\') => {
                return Err(fail(format!(
                    "Homepost has no {} mark to test",
                    short(flag)
                )));
            }
            _ => tag_from_keyword(flag).map_err(fail)?,
        };
        parts.push(tag_term(&tag));
    }
    if parts.is_empty() {
        return Err(fail("no flag is named".into()));
    }
    Ok(Query::or(parts))
}

/// `text`, cut to 40 characters for a reason.
pub(crate) fn short(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(40).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}
