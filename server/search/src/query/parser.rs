//! The parser of the search language: text to a [`Query`] tree, no I/O.
//!
//! ```text
//! query   = or? EOF                    (empty means every message)
//! or      = and ("OR" and)*
//! and     = unary+
//! unary   = "-" unary | primary
//! primary = "(" or ")" | "*" | word | "quoted phrase" | field ":" value
//! ```

mod lexer;

use time::{Date, Month};

use super::{DateRange, Query, QueryError, SizeRange, TextField};
use lexer::{Kind, Token, lex};

/// How deeply parentheses and negations may nest, so a hostile query cannot exhaust
/// the stack.
const MAX_DEPTH: usize = 64;
/// Most words and terms one query may hold: each is a posting list to read, and a
/// query of thousands would hold a search thread for a long time.
pub const MAX_TERMS: usize = 100;
/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 2000;

const DATE_HINT: &str = "expected a date like 2024, 2024-03 or 2024-03-15";
const SIZE_HINT: &str = "expected a size like 500, 10k, 2.5M or 1G (optionally after >, >=, < or <=, or a range like 10k..2M)";

/// Parses a search query. An empty query matches every message.
///
/// Errors name the character position and what was expected there: an unbalanced
/// parenthesis or quote, a misplaced `OR`, an empty `field:`, a bad date or size.
/// Unknown `prefix:` words are not errors: they are searched as plain text.
pub fn parse(input: &str) -> Result<Query, QueryError> {
    let chars: Vec<char> = input.chars().collect();
    if chars.len() > MAX_QUERY_CHARS {
        return Err(QueryError::new(
            MAX_QUERY_CHARS,
            format!("the query is longer than {MAX_QUERY_CHARS} characters: shorten it"),
        ));
    }
    let tokens = lex(&chars)?;
    if tokens.is_empty() {
        return Ok(Query::All);
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        depth: 0,
        open_parens: Vec::new(),
        end: chars.len(),
    };
    let query = parser.or()?;
    if let Some(token) = parser.peek() {
        return Err(QueryError::new(
            token.pos,
            "unbalanced parenthesis: this `)` has no matching `(`",
        ));
    }
    let terms = count_terms(&query);
    if terms > MAX_TERMS {
        return Err(QueryError::new(
            0,
            format!(
                "the query has {terms} words and terms; at most {MAX_TERMS} are searched at once"
            ),
        ));
    }
    Ok(query)
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    depth: usize,
    /// Positions of the `(` not closed yet.
    open_parens: Vec<usize>,
    /// Character length of the input, the position of "end of query".
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn peek_kind(&self) -> Option<&Kind> {
        self.peek().map(|t| &t.kind)
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    /// Whether the next token cannot start a search term.
    fn at_term_end(&self) -> bool {
        matches!(self.peek_kind(), None | Some(Kind::Close | Kind::Or))
    }

    fn enter(&mut self, pos: usize) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(QueryError::new(
                pos,
                format!("the query nests parentheses or `-` more than {MAX_DEPTH} deep"),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Query, QueryError> {
        let mut parts = vec![self.and()?];
        while let Some(Token {
            kind: Kind::Or,
            pos,
        }) = self.peek()
        {
            let pos = *pos;
            self.bump();
            if self.at_term_end() {
                return Err(QueryError::new(pos, "expected a search term after OR"));
            }
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.swap_remove(0)
        } else {
            Query::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Query, QueryError> {
        let mut parts = Vec::new();
        while !self.at_term_end() {
            parts.push(self.unary()?);
        }
        match parts.len() {
            0 => Err(self.missing_term()),
            1 => Ok(parts.swap_remove(0)),
            _ => Ok(Query::And(parts)),
        }
    }

    /// The error for a place where a search term should start but does not.
    fn missing_term(&self) -> QueryError {
        match self.peek() {
            Some(Token {
                kind: Kind::Or,
                pos,
            }) => QueryError::new(*pos, "expected a search term before OR"),
            Some(Token { pos, .. }) if self.depth == 0 => {
                QueryError::new(*pos, "unbalanced parenthesis: this `)` has no matching `(`")
            }
            Some(Token { pos, .. }) => QueryError::new(*pos, "expected a search term before `)`"),
            None => match self.open_parens.last() {
                Some(&open) => {
                    QueryError::new(open, "unbalanced parenthesis: this `(` is never closed")
                }
                None => QueryError::new(self.end, "expected a search term at the end of the query"),
            },
        }
    }

    fn unary(&mut self) -> Result<Query, QueryError> {
        if let Some(Token {
            kind: Kind::Not,
            pos,
        }) = self.peek()
        {
            let pos = *pos;
            self.bump();
            if self.at_term_end() {
                return Err(QueryError::new(pos, "expected a search term after `-`"));
            }
            self.enter(pos)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Query::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Query, QueryError> {
        let Some(token) = self.bump() else {
            return Err(QueryError::new(self.end, "expected a search term"));
        };
        match token.kind {
            Kind::Open => {
                self.enter(token.pos)?;
                self.open_parens.push(token.pos);
                let inner = self.or()?;
                if self.peek_kind() != Some(&Kind::Close) {
                    return Err(QueryError::new(
                        token.pos,
                        "unbalanced parenthesis: this `(` is never closed",
                    ));
                }
                self.bump();
                self.open_parens.pop();
                self.depth -= 1;
                Ok(inner)
            }
            Kind::Star => Ok(Query::All),
            Kind::Text(text) => Ok(Query::Text {
                field: TextField::SubjectOrBody,
                text,
            }),
            Kind::Field {
                name,
                value,
                value_pos,
                quoted,
            } => field(&name, value, value_pos, quoted),
            Kind::Close | Kind::Or | Kind::Not => {
                Err(QueryError::new(token.pos, "expected a search term"))
            }
        }
    }
}

/// The query for `name:value`.
fn field(name: &str, value: String, pos: usize, quoted: bool) -> Result<Query, QueryError> {
    let lower = name.to_lowercase();
    let text_field = match lower.as_str() {
        "from" => Some(TextField::From),
        "to" => Some(TextField::To),
        "cc" => Some(TextField::Cc),
        "subject" => Some(TextField::Subject),
        "body" => Some(TextField::Body),
        "att" => Some(TextField::Attachment),
        _ => None,
    };
    let known = text_field.is_some()
        || matches!(
            lower.as_str(),
            "tag" | "in" | "is" | "has" | "mid" | "before" | "after" | "date" | "size"
        );
    if !known {
        // Not a field of ours (a URL, a time, "Re:"): plain words.
        return Ok(Query::Text {
            field: TextField::SubjectOrBody,
            text: format!("{name}:{value}"),
        });
    }
    if value.is_empty() && !quoted {
        return Err(QueryError::new(
            pos,
            format!(
                "expected a value after `{name}:` (write it without a space, like {lower}:{})",
                example(&lower)
            ),
        ));
    }
    if let Some(field) = text_field {
        return Ok(Query::Text { field, text: value });
    }
    match lower.as_str() {
        "tag" | "in" => Ok(Query::Tag(value.to_lowercase())),
        "is" => match value.to_lowercase().as_str() {
            "" => Err(QueryError::new(
                pos,
                "expected read, unread, flagged or a tag after `is:`",
            )),
            "unread" => Ok(Query::Not(Box::new(Query::Tag("read".into())))),
            tag => Ok(Query::Tag(tag.to_string())),
        },
        "has" => {
            if value.eq_ignore_ascii_case("attachment") || value.eq_ignore_ascii_case("attachments")
            {
                Ok(Query::HasAttachment)
            } else {
                Err(QueryError::new(pos, "expected `has:attachment`"))
            }
        }
        "mid" => {
            if value.is_empty() {
                return Err(QueryError::new(pos, "expected a Message-ID after `mid:`"));
            }
            Ok(Query::MessageId(strip_angle_brackets(&value).to_string()))
        }
        "before" => {
            let period = period(&value, pos, name)?;
            Ok(Query::Date(DateRange {
                from: None,
                until: Some(period.start),
            }))
        }
        "after" => {
            let period = period(&value, pos, name)?;
            Ok(Query::Date(DateRange {
                from: Some(period.start),
                until: None,
            }))
        }
        "date" => date_range(&value, pos, name),
        _ => size(&value, pos),
    }
}

fn example(field: &str) -> &'static str {
    match field {
        "before" | "after" | "date" => "2024-03-15",
        "size" => ">1M",
        "has" => "attachment",
        "is" => "unread",
        "mid" => "<id@example.org>",
        "from" | "to" | "cc" => "alice@example.org",
        "att" => "pdf",
        "tag" | "in" => "inbox",
        _ => "word",
    }
}

/// `<id>` to `id`; anything else unchanged.
pub(crate) fn strip_angle_brackets(id: &str) -> &str {
    let id = id.trim();
    id.strip_prefix('<')
        .and_then(|rest| rest.strip_suffix('>'))
        .unwrap_or(id)
}

/// The days a `YYYY`, `YYYY-MM` or `YYYY-MM-DD` names.
struct Period {
    start: Date,
    /// The first day after the period; `None` past the last representable day.
    end: Option<Date>,
}

fn period(text: &str, pos: usize, name: &str) -> Result<Period, QueryError> {
    let bad = |detail: &str| {
        QueryError::new(
            pos,
            format!("`{text}` after `{name}:` is not a date{detail}: {DATE_HINT}"),
        )
    };
    let parts: Vec<&str> = text.split('-').collect();
    let number = |s: &str, len: usize| -> Option<u16> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (year, month, day) = match parts.as_slice() {
        [y] => (number(y, 4), Some(1), Some(1)),
        [y, m] => (number(y, 4), number(m, 2), Some(1)),
        [y, m, d] => (number(y, 4), number(m, 2), number(d, 2)),
        _ => (None, None, None),
    };
    let (Some(year), Some(month_number), Some(day)) = (year, month, day) else {
        return Err(bad(""));
    };
    let month = u8::try_from(month_number)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(|| bad(" (months are 01 to 12)"))?;
    let day = u8::try_from(day).map_err(|_| bad(" (no such day)"))?;
    let start =
        Date::from_calendar_date(i32::from(year), month, day).map_err(|_| bad(" (no such day)"))?;
    let end = match parts.len() {
        1 => Date::from_calendar_date(i32::from(year) + 1, Month::January, 1).ok(),
        2 => {
            let (next_year, next_month) = match month {
                Month::December => (i32::from(year) + 1, Month::January),
                m => (i32::from(year), m.next()),
            };
            Date::from_calendar_date(next_year, next_month, 1).ok()
        }
        _ => start.next_day(),
    };
    // Years stop at 9999: nothing is "after" the last day.
    let end = end.filter(|d| d.year() <= 9999);
    Ok(Period { start, end })
}

fn date_range(text: &str, pos: usize, name: &str) -> Result<Query, QueryError> {
    let Some((first, last)) = text.split_once("..") else {
        let period = period(text, pos, name)?;
        return Ok(Query::Date(DateRange {
            from: Some(period.start),
            until: period.end,
        }));
    };
    if first.is_empty() && last.is_empty() {
        return Err(QueryError::new(
            pos,
            format!("expected a date range like 2024-03..2024-05 after `{name}:`"),
        ));
    }
    let from = if first.is_empty() {
        None
    } else {
        Some(period(first, pos, name)?.start)
    };
    let until = if last.is_empty() {
        None
    } else {
        let last_pos = pos + first.chars().count() + 2;
        period(last, last_pos, name)?.end
    };
    if let (Some(from), Some(until)) = (from, until)
        && until <= from
    {
        return Err(QueryError::new(
            pos,
            format!("the date range `{text}` ends before it starts"),
        ));
    }
    if from.is_none() && until.is_none() {
        return Ok(Query::All);
    }
    Ok(Query::Date(DateRange { from, until }))
}

fn size(text: &str, pos: usize) -> Result<Query, QueryError> {
    let range = if let Some(rest) = text.strip_prefix(">=") {
        SizeRange {
            at_least: Some(size_number(rest, pos + 2)?),
            below: None,
        }
    } else if let Some(rest) = text.strip_prefix('>') {
        let n = size_number(rest, pos + 1)?;
        let Some(min) = n.checked_add(1) else {
            return Err(QueryError::new(pos, "no message is larger than that"));
        };
        SizeRange {
            at_least: Some(min),
            below: None,
        }
    } else if let Some(rest) = text.strip_prefix("<=") {
        SizeRange {
            at_least: None,
            below: size_number(rest, pos + 2)?.checked_add(1),
        }
    } else if let Some(rest) = text.strip_prefix('<') {
        SizeRange {
            at_least: None,
            below: Some(size_number(rest, pos + 1)?),
        }
    } else if let Some((first, last)) = text.split_once("..") {
        if first.is_empty() && last.is_empty() {
            return Err(QueryError::new(pos, SIZE_HINT));
        }
        let at_least = if first.is_empty() {
            None
        } else {
            Some(size_number(first, pos)?)
        };
        let below = if last.is_empty() {
            None
        } else {
            size_number(last, pos + first.chars().count() + 2)?.checked_add(1)
        };
        if let (Some(min), Some(below)) = (at_least, below)
            && below <= min
        {
            return Err(QueryError::new(
                pos,
                format!("the size range `{text}` ends before it starts"),
            ));
        }
        SizeRange { at_least, below }
    } else {
        // `size:1M` means "at least 1M", as in other mail search languages.
        SizeRange {
            at_least: Some(size_number(text, pos)?),
            below: None,
        }
    };
    if range.at_least.is_none() && range.below.is_none() {
        return Ok(Query::All);
    }
    Ok(Query::Size(range))
}

/// `500`, `10k`, `2.5M`, `1G`, optionally followed by `B`: bytes, 1024-based suffixes.
fn size_number(text: &str, pos: usize) -> Result<u64, QueryError> {
    let bad = || QueryError::new(pos, format!("`{text}` is not a size: {SIZE_HINT}"));
    let digits = text.strip_suffix(['b', 'B']).unwrap_or(text);
    let (number, multiplier) = match digits.chars().last() {
        Some('k' | 'K') => (&digits[..digits.len() - 1], 1u128 << 10),
        Some('m' | 'M') => (&digits[..digits.len() - 1], 1u128 << 20),
        Some('g' | 'G') => (&digits[..digits.len() - 1], 1u128 << 30),
        _ => (digits, 1u128),
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((_, "")) => return Err(bad()),
        Some(parts) => parts,
        None => (number, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > 18 {
        return Err(bad());
    }
    let whole: u128 = whole
        .parse()
        .map_err(|_| QueryError::new(pos, "that size is too large"))?;
    let fraction_value: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| bad())?
    };
    let scale = 10u128.pow(fraction.len() as u32);
    let bytes = whole
        .checked_mul(multiplier)
        .and_then(|b| b.checked_add(fraction_value * multiplier / scale))
        .and_then(|b| u64::try_from(b).ok())
        .ok_or_else(|| QueryError::new(pos, "that size is too large"))?;
    Ok(bytes)
}

/// Words and terms of a query: every word of a text (a phrase counts each word)
/// and every other condition.
fn count_terms(query: &Query) -> usize {
    match query {
        Query::All => 0,
        Query::Text { text, .. } => text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .count()
            .max(1),
        Query::Not(inner) => count_terms(inner),
        Query::And(parts) | Query::Or(parts) => parts.iter().map(count_terms).sum(),
        Query::Tag(_)
        | Query::HasAttachment
        | Query::MessageId(_)
        | Query::Date(_)
        | Query::Size(_) => 1,
    }
}
