//! Export: Homepost rules to a Sieve script.

use crate::Actions;

/// A condition to export (built by the caller from its query tree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// Every message.
    True,
    /// `header :contains/:is/:matches NAMES KEYS`.
    Header {
        /// Header names (`subject`, `from` ...).
        names: Vec<String>,
        /// How keys are compared.
        match_type: MatchType,
        /// What is searched for; any one matching is enough.
        keys: Vec<String>,
    },
    /// `address :all/:localpart/:domain :is/:contains/:matches NAMES KEYS`.
    Address {
        /// Address headers (`from`, `to`, `cc`).
        names: Vec<String>,
        /// Which part of the address is compared.
        part: AddressPart,
        /// How keys are compared.
        match_type: MatchType,
        /// What is searched for; any one matching is enough.
        keys: Vec<String>,
    },
    /// `body :contains KEYS` (RFC 5173, needs `require "body"`).
    Body {
        /// What is searched for; any one matching is enough.
        keys: Vec<String>,
    },
    /// `size :over N`: larger than N bytes.
    SizeOver(u64),
    /// `size :under N`: smaller than N bytes.
    SizeUnder(u64),
    /// `hasflag KEYS` (RFC 5232, needs `require "imap4flags"`): Sieve flags such
    /// as `\Seen` or keywords.
    HasFlag(Vec<String>),
    /// All of the tests (an empty list: every message).
    AllOf(Vec<Test>),
    /// Any of the tests (an empty list: no message).
    AnyOf(Vec<Test>),
    /// The test does not match.
    Not(Box<Test>),
}

/// How a key is compared with a header or address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    /// `:is`: the whole value.
    Is,
    /// `:contains`: a substring.
    Contains,
    /// `:matches`: a pattern with `*` and `?` wildcards.
    Matches,
}

/// Which part of an address is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPart {
    /// `:all`: the whole address.
    All,
    /// `:localpart`: the part before `@`.
    LocalPart,
    /// `:domain`: the part after `@`.
    Domain,
}

/// A Homepost rule to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRule {
    /// The rule's name, written as a `#` comment before it.
    pub name: String,
    /// When it runs.
    pub test: Test,
    /// What it does.
    pub actions: Actions,
}

/// Tags never exported as the folder of `fileinto`: folder names
/// [`crate::import`] reads as something other than a tag, and `flagged`, which is
/// the `\Flagged` flag.
const NOT_FOLDERS: [&str; 6] = ["inbox", "junk", "spam", "trash", "archive", "flagged"];

/// Writes `rules` as a Sieve script: the `require` line it needs, then for each
/// rule a `# name` comment line and `if TEST { actions }`.
///
/// Actions: the first tag of a rule that archives is its folder (`fileinto`),
/// other tags are flags (`addflag`); archiving without a tag files into
/// `Archive`; marking read adds `\Seen`; trash files into `Trash` (not `discard`,
/// which deletes on a server); spam files into `Junk`; "not spam" has no Sieve
/// equivalent and is written as a comment. Flags are set before filing, so the
/// filed copy carries them.
pub fn export(rules: &[ExportRule]) -> String {
    let mut needs = Needs::default();
    let mut body = String::new();
    for rule in rules {
        body.push('\n');
        body.push_str("# ");
        body.push_str(&one_line(&rule.name));
        body.push('\n');
        body.push_str("if ");
        write_test(&rule.test, &mut needs, &mut body);
        body.push_str(" {\n");
        write_actions(&rule.actions, &mut needs, &mut body);
        body.push_str("}\n");
    }
    let mut extensions = Vec::new();
    if needs.body {
        extensions.push("\"body\"");
    }
    if needs.fileinto {
        extensions.push("\"fileinto\"");
    }
    if needs.imap4flags {
        extensions.push("\"imap4flags\"");
    }
    let mut script = String::from("# Sieve filter exported from Homepost\n");
    if !extensions.is_empty() {
        script.push_str(&format!("require [{}];\n", extensions.join(", ")));
    }
    script.push_str(&body);
    script
}

/// The extensions the script uses.
#[derive(Default)]
struct Needs {
    body: bool,
    fileinto: bool,
    imap4flags: bool,
}

/// `text` on one line: control characters become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `"text"` with `"` and `\` escaped.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A string list: one string alone, several in brackets.
fn string_list(items: &[String]) -> String {
    match items {
        [one] => quote(one),
        many => {
            let quoted: Vec<String> = many.iter().map(|s| quote(s)).collect();
            format!("[{}]", quoted.join(", "))
        }
    }
}

fn match_tag(match_type: MatchType) -> &'static str {
    match match_type {
        MatchType::Is => ":is",
        MatchType::Contains => ":contains",
        MatchType::Matches => ":matches",
    }
}

/// What is left to write of a test: a test, or punctuation after its parts.
enum Piece<'a> {
    Test(&'a Test),
    Text(&'static str),
}

/// Writes `test`, iteratively so a deep tree cannot exhaust the stack.
fn write_test(test: &Test, needs: &mut Needs, out: &mut String) {
    let mut stack = vec![Piece::Test(test)];
    while let Some(piece) = stack.pop() {
        let test = match piece {
            Piece::Text(text) => {
                out.push_str(text);
                continue;
            }
            Piece::Test(test) => test,
        };
        match test {
            Test::True => out.push_str("true"),
            Test::Header {
                names,
                match_type,
                keys,
            } => {
                if names.is_empty() || keys.is_empty() {
                    out.push_str("false");
                } else {
                    out.push_str(&format!(
                        "header {} {} {}",
                        match_tag(*match_type),
                        string_list(names),
                        string_list(keys)
                    ));
                }
            }
            Test::Address {
                names,
                part,
                match_type,
                keys,
            } => {
                if names.is_empty() || keys.is_empty() {
                    out.push_str("false");
                } else {
                    let part = match part {
                        AddressPart::All => "",
                        AddressPart::LocalPart => ":localpart ",
                        AddressPart::Domain => ":domain ",
                    };
                    out.push_str(&format!(
                        "address {part}{} {} {}",
                        match_tag(*match_type),
                        string_list(names),
                        string_list(keys)
                    ));
                }
            }
            Test::Body { keys } => {
                if keys.is_empty() {
                    out.push_str("false");
                } else {
                    needs.body = true;
                    out.push_str(&format!("body :contains {}", string_list(keys)));
                }
            }
            Test::SizeOver(n) => out.push_str(&format!("size :over {n}")),
            Test::SizeUnder(n) => out.push_str(&format!("size :under {n}")),
            Test::HasFlag(flags) => {
                if flags.is_empty() {
                    out.push_str("false");
                } else {
                    needs.imap4flags = true;
                    out.push_str(&format!("hasflag {}", string_list(flags)));
                }
            }
            Test::AllOf(tests) | Test::AnyOf(tests) => {
                let all = matches!(test, Test::AllOf(_));
                if tests.is_empty() {
                    out.push_str(if all { "true" } else { "false" });
                    continue;
                }
                out.push_str(if all { "allof(" } else { "anyof(" });
                stack.push(Piece::Text(")"));
                for (i, inner) in tests.iter().enumerate().rev() {
                    stack.push(Piece::Test(inner));
                    if i > 0 {
                        stack.push(Piece::Text(", "));
                    }
                }
            }
            Test::Not(inner) => {
                out.push_str("not ");
                stack.push(Piece::Test(inner));
            }
        }
    }
}

/// Writes the commands for `actions`, each on its own indented line.
fn write_actions(actions: &Actions, needs: &mut Needs, out: &mut String) {
    let mut line = |text: String| {
        out.push_str("  ");
        out.push_str(&text);
        out.push('\n');
    };
    // The folder: the first tag that import would not read as something else.
    let folder = actions
        .archive
        .then(|| {
            actions.add_tags.iter().find(|t| {
                let lower = t.to_lowercase();
                !NOT_FOLDERS.contains(&lower.as_str())
                    && !lower.starts_with("inbox.")
                    && !lower.starts_with("inbox/")
            })
        })
        .flatten();
    for tag in &actions.add_tags {
        if Some(tag) == folder {
            continue;
        }
        needs.imap4flags = true;
        let flag = if tag == "flagged" { "\\Flagged" } else { tag };
        line(format!("addflag {};", quote(flag)));
    }
    if actions.mark_read {
        needs.imap4flags = true;
        line(format!("addflag {};", quote("\\Seen")));
    }
    for tag in &actions.remove_tags {
        needs.imap4flags = true;
        let flag = match tag.as_str() {
            "read" => "\\Seen",
            "flagged" => "\\Flagged",
            other => other,
        };
        line(format!("removeflag {};", quote(flag)));
    }
    if let Some(folder) = folder {
        needs.fileinto = true;
        line(format!("fileinto {};", quote(folder)));
    } else if actions.archive && !actions.trash && actions.spam != Some(true) {
        needs.fileinto = true;
        line(format!("fileinto {};", quote("Archive")));
    }
    if actions.trash {
        needs.fileinto = true;
        line(format!("fileinto {};", quote("Trash")));
    }
    match actions.spam {
        Some(true) => {
            needs.fileinto = true;
            line(format!("fileinto {};", quote("Junk")));
        }
        Some(false) => line("# not spam: no Sieve equivalent".to_string()),
        None => {}
    }
    if actions.stop {
        line("stop;".to_string());
    }
}
