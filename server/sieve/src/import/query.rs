//! A small tree of Homepost query terms, simplified as it is built and printed
//! with every OR group and negation in parentheses.

/// A condition in Homepost's search language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Query {
    /// `*`: every message.
    All,
    /// No message (Sieve's `false`); never printed: a rule with it never runs.
    Never,
    /// One printed term: `subject:"x"`, `from:a@b.org`, `size:>100`, `tag:x`,
    /// and how many words and terms Homepost counts in it.
    Term(String, usize),
    /// All parts match.
    And(Vec<Query>),
    /// At least one part matches.
    Or(Vec<Query>),
    /// The part does not match.
    Not(Box<Query>),
}

impl Query {
    /// All of `parts`: `*` parts dropped, nested ANDs flattened.
    pub(crate) fn and(parts: Vec<Query>) -> Query {
        let mut flat = Vec::new();
        for part in parts {
            match part {
                Query::All => {}
                Query::Never => return Query::Never,
                Query::And(inner) => flat.extend(inner),
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => Query::All,
            1 => flat.swap_remove(0),
            _ => Query::And(flat),
        }
    }

    /// Any of `parts`: `false` parts dropped, nested ORs flattened.
    pub(crate) fn or(parts: Vec<Query>) -> Query {
        let mut flat = Vec::new();
        for part in parts {
            match part {
                Query::All => return Query::All,
                Query::Never => {}
                Query::Or(inner) => flat.extend(inner),
                other => flat.push(other),
            }
        }
        match flat.len() {
            0 => Query::Never,
            1 => flat.swap_remove(0),
            _ => Query::Or(flat),
        }
    }

    /// The negation of `part`.
    pub(crate) fn not(part: Query) -> Query {
        match part {
            Query::All => Query::Never,
            Query::Never => Query::All,
            Query::Not(inner) => *inner,
            other => Query::Not(Box::new(other)),
        }
    }

    /// A term that is not text: one term whatever its length.
    pub(crate) fn term(text: String) -> Query {
        Query::Term(text, 1)
    }

    /// How many words and terms Homepost counts in the query (it searches at most
    /// [`crate::MAX_QUERY_TERMS`] at once): each word of a text, each other term.
    pub(crate) fn terms(&self) -> usize {
        match self {
            Query::All | Query::Never => 0,
            Query::Term(_, n) => *n,
            Query::Not(inner) => inner.terms(),
            Query::And(parts) | Query::Or(parts) => parts.iter().map(Query::terms).sum(),
        }
    }

    /// The query text: a top-level AND unparenthesised, every OR group and
    /// negation parenthesised. `Never` prints as `-(*)`, matching nothing.
    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        match self {
            Query::And(parts) => self.join(parts, " ", &mut out),
            other => other.write(&mut out),
        }
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Query::All => out.push('*'),
            Query::Never => out.push_str("-(*)"),
            Query::Term(term, _) => out.push_str(term),
            Query::And(parts) => {
                out.push('(');
                self.join(parts, " ", out);
                out.push(')');
            }
            Query::Or(parts) => {
                out.push('(');
                self.join(parts, " OR ", out);
                out.push(')');
            }
            Query::Not(inner) => {
                out.push_str("-(");
                match inner.as_ref() {
                    Query::And(parts) => self.join(parts, " ", out),
                    Query::Or(parts) => self.join(parts, " OR ", out),
                    other => other.write(out),
                }
                out.push(')');
            }
        }
    }

    fn join(&self, parts: &[Query], separator: &str, out: &mut String) {
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                out.push_str(separator);
            }
            part.write(out);
        }
    }
}

/// The words of a text, as Homepost counts them (at least one).
fn words(text: &str) -> usize {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .count()
        .max(1)
}

/// `field:"value"`, with `"` and `\` escaped; a plain address (`a.b+c@example.org`)
/// is written unquoted so it is matched as that exact address.
pub(crate) fn field_term(field: &str, value: &str) -> Query {
    if is_plain_address(value) {
        return Query::Term(format!("{field}:{value}"), words(value));
    }
    let mut term = format!("{field}:\"");
    for c in value.chars() {
        if c == '"' || c == '\\' {
            term.push('\\');
        }
        term.push(c);
    }
    term.push('"');
    Query::Term(term, words(value))
}

/// Whether `value` is an address of only `[A-Za-z0-9._%+-]`, with one `@`, a
/// non-empty local part and a domain holding a dot between non-empty labels.
pub(crate) fn is_plain_address(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-');
    !local.is_empty()
        && local.chars().all(allowed)
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
        && domain.chars().all(allowed)
        && !local.starts_with('-')
}
