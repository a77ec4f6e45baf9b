//! Translation of a [`Query`] tree to a tantivy query over the index schema.

use std::ops::Bound;

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query as TantivyQuery, RangeQuery,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

use super::{DateRange, Query, SizeRange, TextField};
use crate::index::schema::{Fields, HAS_ATTACHMENT, address_of};

type Boxed = Box<dyn TantivyQuery>;

/// Turns query trees into tantivy queries, splitting text into words with the same
/// analyzer the index uses.
pub(crate) struct Translator {
    fields: Fields,
    analyzer: TextAnalyzer,
}

impl Translator {
    /// A translator for an index with `fields`, whose text fields use `analyzer`.
    pub(crate) fn new(fields: Fields, analyzer: TextAnalyzer) -> Self {
        Translator { fields, analyzer }
    }

    /// The tantivy query for `query`. A query without any searchable word (only
    /// punctuation, say) matches nothing.
    pub(crate) fn translate(&mut self, query: &Query) -> Boxed {
        self.node(query).unwrap_or_else(|| Box::new(EmptyQuery))
    }

    /// `None` for a part that constrains nothing (text without words): it is left out
    /// of the AND or OR around it.
    fn node(&mut self, query: &Query) -> Option<Boxed> {
        match query {
            Query::All => Some(Box::new(AllQuery)),
            Query::Text { field, text } => self.text(*field, text),
            Query::Tag(tag) => Some(keyword(self.fields.tag, &tag.to_lowercase())),
            Query::HasAttachment => Some(keyword(self.fields.has, HAS_ATTACHMENT)),
            Query::MessageId(id) => Some(keyword(self.fields.message_id, id)),
            Query::Date(range) => Some(self.date(range)),
            Query::Size(range) => Some(self.size(range)),
            Query::Not(inner) => {
                let inner = self.node(inner)?;
                Some(Box::new(BooleanQuery::new(vec![
                    (Occur::Must, Box::new(AllQuery)),
                    (Occur::MustNot, inner),
                ])))
            }
            Query::And(parts) => self.and(parts),
            Query::Or(parts) => {
                let mut clauses: Vec<(Occur, Boxed)> = parts
                    .iter()
                    .filter_map(|p| self.node(p))
                    .map(|q| (Occur::Should, q))
                    .collect();
                match clauses.len() {
                    0 => None,
                    1 => clauses.pop().map(|(_, q)| q),
                    _ => Some(Box::new(BooleanQuery::new(clauses))),
                }
            }
        }
    }

    /// Negated parts become exclusions; if only exclusions remain, they apply to every
    /// message ("everything except").
    fn and(&mut self, parts: &[Query]) -> Option<Boxed> {
        let mut clauses: Vec<(Occur, Boxed)> = Vec::new();
        for part in parts {
            match part {
                Query::Not(inner) => {
                    if let Some(q) = self.node(inner) {
                        clauses.push((Occur::MustNot, q));
                    }
                }
                _ => {
                    if let Some(q) = self.node(part) {
                        clauses.push((Occur::Must, q));
                    }
                }
            }
        }
        if clauses.is_empty() {
            return None;
        }
        if !clauses.iter().any(|(occur, _)| *occur == Occur::Must) {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        if clauses.len() == 1 {
            return clauses.pop().map(|(_, q)| q);
        }
        Some(Box::new(BooleanQuery::new(clauses)))
    }

    fn text(&mut self, field: TextField, text: &str) -> Option<Boxed> {
        let f = self.fields;
        let (text_field, addr_field) = match field {
            TextField::SubjectOrBody => {
                let subject = self.words(f.subject, text)?;
                let body = self.words(f.body, text)?;
                return Some(Box::new(BooleanQuery::new(vec![
                    (Occur::Should, subject),
                    (Occur::Should, body),
                ])));
            }
            TextField::Subject => (f.subject, None),
            TextField::Body => (f.body, None),
            TextField::Attachment => (f.attachment, None),
            TextField::From => (f.from, Some(f.from_addr)),
            TextField::To => (f.to, Some(f.to_addr)),
            TextField::Cc => (f.cc, Some(f.cc_addr)),
        };
        // A whole address matches exactly that address, not a longer one that
        // contains its words (bob.alice@example.org for alice@example.org).
        if let Some(addr_field) = addr_field
            && let Some(addr) = address_of(text)
        {
            return Some(keyword(addr_field, &addr));
        }
        self.words(text_field, text)
    }

    /// One word: that word in `field`; several: the phrase.
    fn words(&mut self, field: Field, text: &str) -> Option<Boxed> {
        let mut terms = Vec::new();
        let mut stream = self.analyzer.token_stream(text);
        while let Some(token) = stream.next() {
            terms.push(Term::from_field_text(field, &token.text));
        }
        match terms.len() {
            0 => None,
            1 => terms
                .pop()
                .map(|t| Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs)) as Boxed),
            _ => Some(Box::new(PhraseQuery::new(terms))),
        }
    }

    fn date(&self, range: &DateRange) -> Boxed {
        let seconds = |d: time::Date| d.midnight().assume_utc().unix_timestamp();
        let field = self.fields.date;
        let lower = range.from.map_or(Bound::Unbounded, |d| {
            Bound::Included(Term::from_field_i64(field, seconds(d)))
        });
        let upper = range.until.map_or(Bound::Unbounded, |d| {
            Bound::Excluded(Term::from_field_i64(field, seconds(d)))
        });
        range_query(lower, upper)
    }

    fn size(&self, range: &SizeRange) -> Boxed {
        let field = self.fields.size;
        let lower = range.at_least.map_or(Bound::Unbounded, |n| {
            Bound::Included(Term::from_field_u64(field, n))
        });
        let upper = range.below.map_or(Bound::Unbounded, |n| {
            Bound::Excluded(Term::from_field_u64(field, n))
        });
        range_query(lower, upper)
    }
}

fn range_query(lower: Bound<Term>, upper: Bound<Term>) -> Boxed {
    if matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded)) {
        return Box::new(AllQuery);
    }
    Box::new(RangeQuery::new(lower, upper))
}

fn keyword(field: Field, value: &str) -> Boxed {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}
