//! Matching one message against a query without the index: how filter rules
//! test arriving mail before it is stored. The answers are the index's: text
//! is split into words by the index's analyzer, a phrase is words at
//! consecutive positions within one value, a whole address matches exactly,
//! and a part without words constrains nothing, as in [`Translator`].
//!
//! [`Translator`]: super::Translator

use std::cell::{OnceCell, RefCell};

use tantivy::tokenizer::TextAnalyzer;

use super::{DateRange, Query, SizeRange, TextField};
use crate::index::IndexDoc;
use crate::index::schema::{address_of, analyzer};
use crate::query::strip_angle_brackets;

/// A query prepared for matching messages one at a time: its words split
/// once, however many messages it meets.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// `None`: the query constrains nothing and, like the index, matches nothing.
    root: Option<Node>,
}

#[derive(Debug, Clone)]
enum Node {
    All,
    Words {
        fields: &'static [Part],
        words: Vec<String>,
    },
    Address {
        part: Part,
        address: String,
    },
    Tag(String),
    HasAttachment,
    MessageId(String),
    Date {
        from: Option<i64>,
        until: Option<i64>,
    },
    Size(SizeRange),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
}

/// The parts of a message text can be searched in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Subject,
    Body,
    From,
    To,
    Cc,
    Attachment,
}

const PARTS: usize = 6;

impl Part {
    fn slot(self) -> usize {
        self as usize
    }
}

impl Matcher {
    /// Prepares `query`.
    pub fn new(query: &Query) -> Matcher {
        let mut analyzer = analyzer();
        Matcher {
            root: compile(query, &mut analyzer),
        }
    }

    /// Whether `message` matches.
    pub fn matches(&self, message: &MatchDoc<'_>) -> bool {
        self.root.as_ref().is_some_and(|n| n.eval(message))
    }
}

/// The text parts of `query` (as written after their field) that have no word
/// the index keeps: a search leaves them out, which widens what it matches.
pub fn wordless_parts(query: &Query) -> Vec<String> {
    fn walk(q: &Query, analyzer: &mut TextAnalyzer, out: &mut Vec<String>) {
        match q {
            Query::Text { field, text } => {
                let address = matches!(field, TextField::From | TextField::To | TextField::Cc)
                    && address_of(text).is_some();
                if !address && split(analyzer, text).is_empty() {
                    out.push(text.clone());
                }
            }
            Query::Not(inner) => walk(inner, analyzer, out),
            Query::And(v) | Query::Or(v) => v.iter().for_each(|q| walk(q, analyzer, out)),
            _ => {}
        }
    }
    let mut analyzer = analyzer();
    let mut out = Vec::new();
    walk(query, &mut analyzer, &mut out);
    out
}

fn compile(query: &Query, analyzer: &mut TextAnalyzer) -> Option<Node> {
    Some(match query {
        Query::All => Node::All,
        Query::Text { field, text } => return text_node(*field, text, analyzer),
        Query::Tag(tag) => Node::Tag(tag.to_lowercase()),
        Query::HasAttachment => Node::HasAttachment,
        Query::MessageId(id) => Node::MessageId(id.clone()),
        Query::Date(DateRange { from, until }) => {
            let seconds = |d: &time::Date| d.midnight().assume_utc().unix_timestamp();
            Node::Date {
                from: from.as_ref().map(seconds),
                until: until.as_ref().map(seconds),
            }
        }
        Query::Size(range) => Node::Size(*range),
        Query::Not(inner) => Node::Not(Box::new(compile(inner, analyzer)?)),
        Query::And(parts) => {
            let nodes: Vec<Node> = parts.iter().filter_map(|p| compile(p, analyzer)).collect();
            if nodes.is_empty() {
                return None;
            }
            Node::And(nodes)
        }
        Query::Or(parts) => {
            let nodes: Vec<Node> = parts.iter().filter_map(|p| compile(p, analyzer)).collect();
            if nodes.is_empty() {
                return None;
            }
            Node::Or(nodes)
        }
    })
}

fn text_node(field: TextField, text: &str, analyzer: &mut TextAnalyzer) -> Option<Node> {
    let (fields, address): (&'static [Part], Option<Part>) = match field {
        TextField::SubjectOrBody => (&[Part::Subject, Part::Body], None),
        TextField::Subject => (&[Part::Subject], None),
        TextField::Body => (&[Part::Body], None),
        TextField::Attachment => (&[Part::Attachment], None),
        TextField::From => (&[Part::From], Some(Part::From)),
        TextField::To => (&[Part::To], Some(Part::To)),
        TextField::Cc => (&[Part::Cc], Some(Part::Cc)),
    };
    if let Some(part) = address
        && let Some(address) = address_of(text)
    {
        return Some(Node::Address { part, address });
    }
    let words: Vec<String> = split(analyzer, text).into_iter().map(|(_, w)| w).collect();
    (!words.is_empty()).then_some(Node::Words { fields, words })
}

/// The words of `text` with their positions, as the index sees them.
fn split(analyzer: &mut TextAnalyzer, text: &str) -> Words {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        out.push((token.position, token.text.clone()));
    }
    out
}

impl Node {
    fn eval(&self, m: &MatchDoc<'_>) -> bool {
        match self {
            Node::All => true,
            Node::Words { fields, words } => fields.iter().any(|&p| m.has_phrase(p, words)),
            Node::Address { part, address } => m
                .values(*part)
                .iter()
                .any(|v| address_of(v).as_deref() == Some(address.as_str())),
            Node::Tag(tag) => m.tags.iter().any(|t| t.to_lowercase() == *tag),
            Node::HasAttachment => m.doc.has_attachment,
            Node::MessageId(id) => {
                let own = strip_angle_brackets(&m.doc.message_id);
                !own.is_empty() && own == id
            }
            Node::Date { from, until } => {
                from.is_none_or(|f| m.doc.date >= f) && until.is_none_or(|u| m.doc.date < u)
            }
            Node::Size(SizeRange { at_least, below }) => {
                at_least.is_none_or(|a| m.doc.size >= a) && below.is_none_or(|b| m.doc.size < b)
            }
            Node::Not(inner) => !inner.eval(m),
            Node::And(parts) => parts.iter().all(|p| p.eval(m)),
            Node::Or(parts) => parts.iter().any(|p| p.eval(m)),
        }
    }
}

/// The words of one value with their positions.
type Words = Vec<(usize, String)>;

/// One message as rules see it: its index document and its tags so far
/// (rules earlier in the list may have changed them). Each text part is split
/// into words the first time a rule asks for it.
pub struct MatchDoc<'a> {
    doc: &'a IndexDoc,
    /// The message's tags, lowercase.
    pub tags: Vec<String>,
    analyzer: RefCell<TextAnalyzer>,
    words: [OnceCell<Vec<Words>>; PARTS],
}

impl<'a> MatchDoc<'a> {
    /// The message of `doc`, with its tags.
    pub fn new(doc: &'a IndexDoc) -> MatchDoc<'a> {
        MatchDoc {
            doc,
            tags: doc.tags.clone(),
            analyzer: RefCell::new(analyzer()),
            words: Default::default(),
        }
    }

    fn values(&self, part: Part) -> &[String] {
        match part {
            Part::Subject => std::slice::from_ref(&self.doc.subject),
            Part::Body => std::slice::from_ref(&self.doc.body),
            Part::From => &self.doc.from,
            Part::To => &self.doc.to,
            Part::Cc => &self.doc.cc,
            Part::Attachment => &self.doc.attachments,
        }
    }

    fn has_phrase(&self, part: Part, words: &[String]) -> bool {
        let split_values = self.words[part.slot()].get_or_init(|| {
            let mut analyzer = self.analyzer.borrow_mut();
            self.values(part)
                .iter()
                .map(|v| split(&mut analyzer, v))
                .collect()
        });
        let Some((first, rest)) = words.split_first() else {
            return false;
        };
        split_values.iter().any(|value| {
            value.iter().enumerate().any(|(i, (pos, w))| {
                w == first
                    && rest.iter().enumerate().all(|(k, want)| {
                        value
                            .get(i + k + 1)
                            .is_some_and(|(p, w)| w == want && *p == pos + k + 1)
                    })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse;

    fn doc() -> IndexDoc {
        IndexDoc {
            id: 1,
            date: 1_709_632_800, // 2024-03-05 10:00 UTC
            size: 5000,
            message_id: "<abc@example.org>".into(),
            subject: "Quarterly Report for Café".into(),
            body: "Please see the attached planning meeting notes.".into(),
            from: vec!["Alice Smith <Alice@Example.org>".into()],
            to: vec!["bob@example.com".into()],
            cc: vec![],
            tags: vec!["inbox".into(), "work".into()],
            attachments: vec!["notes.pdf".into(), "application/pdf".into()],
            has_attachment: true,
        }
    }

    fn matches(q: &str) -> bool {
        let d = doc();
        Matcher::new(&parse(q).unwrap()).matches(&MatchDoc::new(&d))
    }

    #[test]
    fn every_kind_of_term() {
        for (q, want) in [
            ("report", true),
            ("cafe", true),
            ("\"planning meeting\"", true),
            ("\"meeting planning\"", false),
            ("subject:report", true),
            ("subject:planning", false),
            ("body:planning", true),
            ("from:alice@example.org", true),
            ("from:ice@example.org", false),
            ("from:\"alice smith\"", true),
            ("from:example.org", true),
            ("to:bob@example.com", true),
            ("cc:bob", false),
            ("att:pdf", true),
            ("has:attachment", true),
            ("tag:work", true),
            ("in:Inbox", true),
            ("is:unread", true),
            ("is:read", false),
            ("mid:<abc@example.org>", true),
            ("mid:other@example.org", false),
            ("date:2024-03", true),
            ("before:2024-03-05", false),
            ("after:2024-03-05", true),
            ("size:>4k", true),
            ("size:<4k", false),
            ("report -tag:work", false),
            ("-tag:spam", true),
            ("nothing OR report", true),
            ("(nothing OR absent) report", false),
            ("*", true),
            ("...", false),
            ("report ...", true),
            ("-...", false),
        ] {
            assert_eq!(matches(q), want, "{q}");
        }
    }

    /// The matcher and the index answer alike, whatever the query.
    #[test]
    fn agrees_with_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let (mut index, _) = crate::SearchIndex::open(dir.path(), &[7; 32]).unwrap();
        index.upsert(&doc()).unwrap();
        index.commit().unwrap();
        let queries = [
            "report",
            "cafe",
            "\"planning meeting\"",
            "\"meeting planning\"",
            "subject:planning",
            "from:alice@example.org",
            "from:ice@example.org",
            "from:example.org",
            "from:\"smith alice\"",
            "to:bob@example.com",
            "to:example",
            "att:application",
            "tag:work",
            "is:unread",
            "mid:abc@example.org",
            "date:2024-03-05",
            "before:2024-03-05",
            "size:5000",
            "size:>5000",
            "-report",
            "report -tag:work",
            "nothing OR report",
            "(nothing OR absent) report",
            "-(tag:spam OR tag:trash)",
            "*",
            "...",
            "-...",
            "report ...",
            "\"see the attached\"",
            "\"the see\"",
        ];
        for q in queries {
            let want = index.count(q).unwrap() == 1;
            assert_eq!(matches(q), want, "{q}");
        }
    }

    #[test]
    fn parts_without_words_are_named() {
        let long = "x".repeat(41);
        let q = parse(&format!("subject:\"{long}\" from:a@b.org ... report")).unwrap();
        assert_eq!(wordless_parts(&q), [long, "...".to_owned()]);
        assert!(wordless_parts(&parse("from:a@b.org report").unwrap()).is_empty());
    }

    #[test]
    fn tags_changed_by_earlier_rules_count() {
        let d = doc();
        let mut m = MatchDoc::new(&d);
        let spam = Matcher::new(&parse("tag:spam").unwrap());
        assert!(!spam.matches(&m));
        m.tags.push("spam".into());
        assert!(spam.matches(&m));
    }
}
