//! Rules from and to Sieve (RFC 5228): a script's common subset carried over,
//! each line that could not be named with why; the rules printed back as a
//! script where Sieve can say them.

use homepost_search::{Query, SizeRange, TextField, parse};
use homepost_sieve::{AddressPart, ExportRule, MatchType, Test};
use homepost_store::{NewRule, Rule, RuleActions, SpamAction};
use serde::Serialize;

use super::{MAX_ITEMS, Result, RuleView, RulesError, check_actions, check_name, check_rule_query};
use crate::library::Library;

/// A line of a script that was not carried over.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedLine {
    /// 1-based line number.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
    /// Why, in plain words.
    pub reason: String,
}

/// What a Sieve import gave.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SieveImport {
    /// The rules carried over (id 0 in a dry run).
    pub rules: Vec<RuleView>,
    /// What was not, and why.
    pub skipped: Vec<SkippedLine>,
}

/// A rule, or part of one, that Sieve cannot say.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotExported {
    /// The rule's name.
    pub rule: String,
    /// What was left out, and why.
    pub reason: String,
}

/// Carries a Sieve script's rules over, after the rules there are (unless
/// `dry_run`). A rule the script gives that Homepost would refuse is listed
/// with the lines left behind.
pub async fn import_sieve(lib: &Library, script: &str, dry_run: bool) -> Result<SieveImport> {
    let imported =
        homepost_sieve::import(script).map_err(|e| RulesError::BadSieve(e.to_string()))?;
    let mut skipped: Vec<SkippedLine> = imported
        .skipped
        .into_iter()
        .map(|s| SkippedLine {
            line: s.line,
            text: s.text,
            reason: s.reason,
        })
        .collect();
    let mut ready = Vec::new();
    for r in imported.rules {
        let name = check_name(&r.name).unwrap_or_else(|_| format!("Sieve line {}", r.line));
        let checked =
            check_rule_query(&r.query).and_then(|_| check_actions(&actions_from(&r.actions)));
        match checked {
            Ok(actions) => ready.push(NewRule {
                name,
                query: r.query,
                actions,
                enabled: true,
            }),
            Err(e) => skipped.push(SkippedLine {
                line: r.line,
                text: source_line(script, r.line),
                reason: e.to_string(),
            }),
        }
    }
    skipped.sort_by_key(|s| s.line);
    let ids = if dry_run {
        if lib.store().rules().await?.len() + ready.len() > MAX_ITEMS {
            return Err(RulesError::TooMany);
        }
        vec![0; ready.len()]
    } else {
        // One transaction: a script is carried over whole or not at all.
        lib.store().add_rules(&ready, MAX_ITEMS).await?
    };
    let mut rules = Vec::with_capacity(ready.len());
    for (new, id) in ready.into_iter().zip(ids) {
        let rule = Rule {
            id,
            name: new.name,
            query: new.query,
            actions: new.actions,
            enabled: new.enabled,
        };
        rules.push(lib.rule_view(rule).await?);
    }
    Ok(SieveImport { rules, skipped })
}

/// The rules as a Sieve script, and what it leaves out.
pub async fn export_sieve(lib: &Library) -> Result<(String, Vec<NotExported>)> {
    let mut out = Vec::new();
    let mut not_exported = Vec::new();
    for rule in lib.store().rules().await? {
        if !rule.enabled {
            not_exported.push(NotExported {
                rule: rule.name,
                reason: "it is turned off".into(),
            });
            continue;
        }
        let test = match parse(&rule.query) {
            Ok(q) => test_of(&q),
            Err(e) => Err(format!("its query cannot be read: {e}")),
        };
        let test = match test {
            Ok(t) => t,
            Err(reason) => {
                not_exported.push(NotExported {
                    rule: rule.name,
                    reason,
                });
                continue;
            }
        };
        if rule.actions.spam == Some(SpamAction::NotSpam) {
            not_exported.push(NotExported {
                rule: rule.name.clone(),
                reason: "\"not spam\" has no Sieve equivalent (the rest of the rule is exported)"
                    .into(),
            });
        }
        out.push(ExportRule {
            name: rule.name,
            test,
            actions: sieve_actions(&rule.actions),
        });
    }
    Ok((homepost_sieve::export(&out), not_exported))
}

/// Line `n` (1-based) of the script, trimmed, at most 200 characters.
fn source_line(script: &str, n: usize) -> String {
    let line = script.lines().nth(n.saturating_sub(1)).unwrap_or("").trim();
    line.chars().take(200).collect()
}

fn actions_from(a: &homepost_sieve::Actions) -> RuleActions {
    RuleActions {
        add_tags: a.add_tags.clone(),
        remove_tags: a.remove_tags.clone(),
        mark_read: a.mark_read,
        archive: a.archive,
        trash: a.trash,
        spam: a.spam.map(|s| {
            if s {
                SpamAction::Spam
            } else {
                SpamAction::NotSpam
            }
        }),
        stop: a.stop,
    }
}

fn sieve_actions(a: &RuleActions) -> homepost_sieve::Actions {
    homepost_sieve::Actions {
        add_tags: a.add_tags.clone(),
        remove_tags: a.remove_tags.clone(),
        mark_read: a.mark_read,
        archive: a.archive,
        trash: a.trash,
        spam: match a.spam {
            Some(SpamAction::Spam) => Some(true),
            Some(SpamAction::NotSpam) | None => None,
        },
        stop: a.stop,
    }
}

/// The Sieve test for a query, or why there is none.
fn test_of(q: &Query) -> std::result::Result<Test, String> {
    Ok(match q {
        Query::All => Test::True,
        Query::Text { field, text } => text_test(*field, text)?,
        Query::Tag(t) => match t.as_str() {
            "inbox" => Test::True,
            "read" => Test::HasFlag(vec!["\\Seen".into()]),
            "flagged" => Test::HasFlag(vec!["\\Flagged".into()]),
            "spam" | "unsure" | "trash" | "sent" | "replied" => {
                return Err(format!(
                    "a mail server's filter cannot see Homepost's tag \"{t}\""
                ));
            }
            // The tags a rule adds are exported as keywords (addflag).
            other => Test::HasFlag(vec![other.to_owned()]),
        },
        Query::HasAttachment => return Err("Sieve cannot test for attachments".into()),
        Query::MessageId(id) => Test::Header {
            names: vec!["message-id".into()],
            match_type: MatchType::Is,
            keys: vec![format!("<{id}>")],
        },
        Query::Date(_) => return Err("dates cannot be tested in plain Sieve".into()),
        Query::Size(SizeRange { at_least, below }) => {
            let mut parts = Vec::new();
            if let Some(a) = at_least
                && *a > 0
            {
                parts.push(Test::SizeOver(a - 1));
            }
            if let Some(b) = below {
                parts.push(Test::SizeUnder(*b));
            }
            match parts.len() {
                0 => Test::True,
                1 => parts.remove(0),
                _ => Test::AllOf(parts),
            }
        }
        Query::Not(inner) => Test::Not(Box::new(test_of(inner)?)),
        Query::And(parts) => Test::AllOf(parts.iter().map(test_of).collect::<Result<_, _>>()?),
        Query::Or(parts) => Test::AnyOf(parts.iter().map(test_of).collect::<Result<_, _>>()?),
    })
}

fn text_test(field: TextField, text: &str) -> std::result::Result<Test, String> {
    let header = |name: &str| Test::Header {
        names: vec![name.into()],
        match_type: MatchType::Contains,
        keys: vec![text.to_owned()],
    };
    let is_address = text.contains('@') && !text.contains(char::is_whitespace);
    let address = |name: &str| {
        if is_address {
            Test::Address {
                names: vec![name.into()],
                part: AddressPart::All,
                match_type: MatchType::Is,
                keys: vec![text.trim_matches(['<', '>']).to_owned()],
            }
        } else {
            header(name)
        }
    };
    Ok(match field {
        TextField::SubjectOrBody => Test::AnyOf(vec![
            header("subject"),
            Test::Body {
                keys: vec![text.to_owned()],
            },
        ]),
        TextField::Subject => header("subject"),
        TextField::Body => Test::Body {
            keys: vec![text.to_owned()],
        },
        TextField::From => address("from"),
        TextField::To => address("to"),
        TextField::Cc => address("cc"),
        TextField::Attachment => return Err("Sieve cannot test attachment names".into()),
    })
}
