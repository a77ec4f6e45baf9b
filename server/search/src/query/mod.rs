//! Homepost's search language: a pure parser to a [`Query`] tree, its canonical
//! printed form, and the translation of a tree to a tantivy query.
//!
//! The user-facing description is `docs/search.md`. In short: bare words and
//! "quoted phrases" search subject and body; `from:` `to:` `cc:` `subject:` `body:`
//! `att:` search one field; `tag:`/`in:`, `is:`, `has:attachment`, `mid:`,
//! `before:` `after:` `date:` and `size:` filter; `-` negates, `OR` (lower precedence
//! than the implicit AND) and parentheses group; `*` matches every message.

mod display;
mod matcher;
mod parser;
mod translate;

#[cfg(test)]
mod tests;

pub use matcher::{MatchDoc, Matcher, wordless_parts};
pub use parser::parse;

/// Tags whose mail normal views leave out unless the query names them.
pub const HIDDEN_TAGS: [&str; 2] = ["spam", "trash"];

/// The query of a normal view: `query`, minus mail tagged `spam` or `trash` unless
/// the query names that tag itself (`in:spam`, `tag:trash`, `-tag:spam` ...).
pub fn hide_unless_named(query: Query) -> Query {
    fn names(q: &Query, tag: &str) -> bool {
        match q {
            Query::Tag(t) => t == tag,
            Query::Not(inner) => names(inner, tag),
            Query::And(v) | Query::Or(v) => v.iter().any(|q| names(q, tag)),
            _ => false,
        }
    }
    let hidden: Vec<Query> = HIDDEN_TAGS
        .iter()
        .filter(|tag| !names(&query, tag))
        .map(|tag| Query::Not(Box::new(Query::Tag((*tag).to_string()))))
        .collect();
    if hidden.is_empty() {
        return query;
    }
    let mut parts = vec![query];
    parts.extend(hidden);
    Query::And(parts)
}
pub(crate) use parser::strip_angle_brackets;
pub(crate) use translate::Translator;

/// A parsed search query.
///
/// [`parse`] builds it; its [`Display`](std::fmt::Display) prints syntax that
/// [`parse`] reads back as an equal tree (for every tree [`parse`] can return).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// `*` (or an empty query): every message.
    All,
    /// Words in a text field. The text is split into words the way the index splits
    /// it; one word must occur, several must occur in order (a phrase). A text with no
    /// searchable word (only punctuation) constrains nothing.
    Text {
        /// The field searched.
        field: TextField,
        /// What the user wrote (unquoted).
        text: String,
    },
    /// `tag:x`, `in:x`, `is:x`: the message has tag `x` (lowercase).
    Tag(String),
    /// `has:attachment`: the message has at least one attachment.
    HasAttachment,
    /// `mid:<id>`: the message with this Message-ID (without the angle brackets).
    MessageId(String),
    /// `before:`, `after:`, `date:`: the message date is in this range.
    Date(DateRange),
    /// `size:`: the raw message size is in this range.
    Size(SizeRange),
    /// `-x`: messages that do not match `x`.
    Not(Box<Query>),
    /// `x y`: messages matching all of the parts.
    And(Vec<Query>),
    /// `x OR y`: messages matching at least one of the parts.
    Or(Vec<Query>),
}

impl Query {
    /// The tags the query names, lowercase, each once.
    pub fn tags(&self) -> Vec<String> {
        fn walk(q: &Query, out: &mut Vec<String>) {
            match q {
                Query::Tag(t) if !out.contains(t) => out.push(t.clone()),
                Query::Not(inner) => walk(inner, out),
                Query::And(v) | Query::Or(v) => v.iter().for_each(|q| walk(q, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }

    /// The query with tag `old` renamed to `new`; `None` if it does not name `old`.
    pub fn rename_tag(&self, old: &str, new: &str) -> Option<Query> {
        fn walk(q: &Query, old: &str, new: &str, hit: &mut bool) -> Query {
            match q {
                Query::Tag(t) if t == old => {
                    *hit = true;
                    Query::Tag(new.to_owned())
                }
                Query::Not(inner) => Query::Not(Box::new(walk(inner, old, new, hit))),
                Query::And(v) => Query::And(v.iter().map(|q| walk(q, old, new, hit)).collect()),
                Query::Or(v) => Query::Or(v.iter().map(|q| walk(q, old, new, hit)).collect()),
                other => other.clone(),
            }
        }
        let mut hit = false;
        let renamed = walk(self, old, new, &mut hit);
        hit.then_some(renamed)
    }
}

/// The text fields a word can be searched in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextField {
    /// Bare words: the subject or the body.
    SubjectOrBody,
    /// `subject:`
    Subject,
    /// `body:`
    Body,
    /// `from:`: sender names and addresses.
    From,
    /// `to:`: recipient names and addresses.
    To,
    /// `cc:`: carbon-copy names and addresses.
    Cc,
    /// `att:`: attachment file names and content types.
    Attachment,
}

impl TextField {
    /// Every text field.
    pub const ALL: [TextField; 7] = [
        TextField::SubjectOrBody,
        TextField::Subject,
        TextField::Body,
        TextField::From,
        TextField::To,
        TextField::Cc,
        TextField::Attachment,
    ];

    /// The `prefix:` that selects this field, if any.
    pub fn prefix(self) -> Option<&'static str> {
        match self {
            TextField::SubjectOrBody => None,
            TextField::Subject => Some("subject"),
            TextField::Body => Some("body"),
            TextField::From => Some("from"),
            TextField::To => Some("to"),
            TextField::Cc => Some("cc"),
            TextField::Attachment => Some("att"),
        }
    }
}

/// A range of calendar days (UTC): `from` inclusive, `until` exclusive; `None` is
/// unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    /// First day included.
    pub from: Option<time::Date>,
    /// First day no longer included.
    pub until: Option<time::Date>,
}

/// A range of message sizes in bytes: `at_least` inclusive, `below` exclusive; `None`
/// is unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRange {
    /// Smallest size included.
    pub at_least: Option<u64>,
    /// Smallest size no longer included.
    pub below: Option<u64>,
}

/// A query that could not be parsed: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {})", .position + 1)]
pub struct QueryError {
    /// Where the problem is: a 0-based character (not byte) index into the query.
    pub position: usize,
    /// What is wrong and what was expected, for the user.
    pub message: String,
}

impl QueryError {
    pub(crate) fn new(position: usize, message: impl Into<String>) -> Self {
        QueryError {
            position,
            message: message.into(),
        }
    }
}
