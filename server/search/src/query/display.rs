//! The canonical printed form of a [`Query`]: valid syntax that parses back to an
//! equal tree.

use std::fmt::{self, Display, Formatter, Write};

use super::{DateRange, Query, SizeRange, TextField};

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Query::All => f.write_str("*"),
            Query::Text { field, text } => match field.prefix() {
                None => write_word(f, text),
                Some(prefix) => {
                    write!(f, "{prefix}:")?;
                    write_value(f, text)
                }
            },
            Query::Tag(tag) => {
                f.write_str("tag:")?;
                write_value(f, tag)
            }
            Query::HasAttachment => f.write_str("has:attachment"),
            Query::MessageId(id) => {
                f.write_str("mid:")?;
                write_value(f, &format!("<{id}>"))
            }
            Query::Date(range) => range.fmt(f),
            Query::Size(range) => range.fmt(f),
            Query::Not(inner) => {
                f.write_char('-')?;
                write_grouped(f, inner, |q| matches!(q, Query::And(_) | Query::Or(_)))
            }
            Query::And(parts) if parts.is_empty() => f.write_str("*"),
            Query::And(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_char(' ')?;
                    }
                    write_grouped(f, part, |q| matches!(q, Query::And(_) | Query::Or(_)))?;
                }
                Ok(())
            }
            Query::Or(parts) if parts.is_empty() => f.write_str("-*"),
            Query::Or(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" OR ")?;
                    }
                    // AND binds tighter than OR, so only a nested OR needs parentheses.
                    write_grouped(f, part, |q| matches!(q, Query::Or(_)))?;
                }
                Ok(())
            }
        }
    }
}

impl Display for DateRange {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match (self.from, self.until) {
            (Some(from), None) => write!(f, "after:{}", Day(from)),
            (None, Some(until)) => write!(f, "before:{}", Day(until)),
            (Some(from), Some(until)) if from.next_day() == Some(until) => {
                write!(f, "date:{}", Day(from))
            }
            (Some(from), Some(until)) => {
                let last = until.previous_day().unwrap_or(until);
                write!(f, "date:{}..{}", Day(from), Day(last))
            }
            (None, None) => f.write_str("*"),
        }
    }
}

impl Display for SizeRange {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match (self.at_least, self.below) {
            (Some(min), None) => write!(f, "size:>={min}"),
            (None, Some(below)) => write!(f, "size:<{below}"),
            (Some(min), Some(below)) => write!(f, "size:{min}..{}", below.saturating_sub(1)),
            (None, None) => f.write_str("*"),
        }
    }
}

impl Display for TextField {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix().unwrap_or("subject or body"))
    }
}

/// A day as `YYYY-MM-DD`.
struct Day(time::Date);

impl Display for Day {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    }
}

fn write_grouped(
    f: &mut Formatter<'_>,
    query: &Query,
    needs_parens: impl Fn(&Query) -> bool,
) -> fmt::Result {
    // A one-part AND/OR prints as its part and needs no parentheses.
    let single = matches!(query, Query::And(p) | Query::Or(p) if p.len() == 1);
    if needs_parens(query) && !single {
        write!(f, "({query})")
    } else {
        write!(f, "{query}")
    }
}

/// Writes a bare search word, quoted if it would otherwise read as something else
/// (an operator, a negation, a `field:` prefix, `*`).
fn write_word(f: &mut Formatter<'_>, text: &str) -> fmt::Result {
    let plain = is_plain_value(text)
        && !text.starts_with('-')
        && !text.contains(':')
        && text != "OR"
        && text != "*";
    if plain {
        f.write_str(text)
    } else {
        write_quoted(f, text)
    }
}

/// Writes the value after a `field:` prefix, quoted if needed.
fn write_value(f: &mut Formatter<'_>, text: &str) -> fmt::Result {
    if is_plain_value(text) {
        f.write_str(text)
    } else {
        write_quoted(f, text)
    }
}

/// Whether `text` reads back as one bare word: non-empty, without whitespace, quotes or
/// parentheses.
fn is_plain_value(text: &str) -> bool {
    !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '(' | ')'))
}

fn write_quoted(f: &mut Formatter<'_>, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}
