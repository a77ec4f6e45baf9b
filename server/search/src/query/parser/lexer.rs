//! The lexer of the search language: characters to tokens (parentheses, `-`,
//! `OR`, `*`, words, quoted phrases and `name:value` fields).

use crate::query::QueryError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    /// Character index where the token starts.
    pub(super) pos: usize,
    pub(super) kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    Open,
    Close,
    Not,
    Or,
    Star,
    /// A bare word or a quoted phrase.
    Text(String),
    /// `name:value` (the name may be unknown).
    Field {
        name: String,
        value: String,
        value_pos: usize,
        quoted: bool,
    },
}

pub(super) fn lex(chars: &[char]) -> Result<Vec<Token>, QueryError> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let pos = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token {
                    pos,
                    kind: Kind::Open,
                });
                i += 1;
            }
            ')' => {
                tokens.push(Token {
                    pos,
                    kind: Kind::Close,
                });
                i += 1;
            }
            '-' if chars
                .get(i + 1)
                .is_some_and(|&n| !n.is_whitespace() && n != ')') =>
            {
                tokens.push(Token {
                    pos,
                    kind: Kind::Not,
                });
                i += 1;
            }
            '"' => {
                let (text, next) = quoted(chars, i)?;
                tokens.push(Token {
                    pos,
                    kind: Kind::Text(text),
                });
                i = next;
            }
            _ => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|&c| !c.is_whitespace() && !matches!(c, '(' | ')' | '"'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let kind = match word.as_str() {
                    "OR" => Kind::Or,
                    "*" => Kind::Star,
                    _ => match word.split_once(':') {
                        Some((name, value)) if !name.is_empty() => {
                            let value_pos = start + name.chars().count() + 1;
                            if value.is_empty() && chars.get(i) == Some(&'"') {
                                let (value, next) = quoted(chars, i)?;
                                i = next;
                                Kind::Field {
                                    name: name.to_string(),
                                    value,
                                    value_pos,
                                    quoted: true,
                                }
                            } else {
                                Kind::Field {
                                    name: name.to_string(),
                                    value: value.to_string(),
                                    value_pos,
                                    quoted: false,
                                }
                            }
                        }
                        _ => Kind::Text(word),
                    },
                };
                tokens.push(Token { pos, kind });
            }
        }
    }
    Ok(tokens)
}

/// Reads the quoted string starting at `chars[start] == '"'`; `\"` and `\\` are
/// escapes. Returns the text and the index after the closing quote.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), QueryError> {
    let mut text = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => {
                return Err(QueryError::new(
                    start,
                    "unbalanced quote: this `\"` is never closed",
                ));
            }
            Some('"') => return Ok((text, i + 1)),
            Some('\\') if matches!(chars.get(i + 1), Some('"' | '\\')) => {
                text.extend(chars.get(i + 1));
                i += 2;
            }
            Some(&c) => {
                text.push(c);
                i += 1;
            }
        }
    }
}
