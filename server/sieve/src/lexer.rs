//! The lexer: script text to tokens, each with the line and column where it
//! starts and where it ends (RFC 5228 §2.2-2.4).

use crate::SieveError;

/// The kinds of token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// An identifier, lowercased (Sieve identifiers ignore case).
    Ident(String),
    /// `:name`, the name lowercased.
    Tag(String),
    /// A number, its `K`/`M`/`G` quantifier applied.
    Number(u64),
    /// A quoted or `text:` string, escapes resolved.
    Str(String),
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Semi,
}

/// A position in the script: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl Pos {
    pub(crate) fn error(self, message: impl Into<String>) -> SieveError {
        SieveError::syntax(self.line, self.column, message)
    }
}

/// A token and where it starts and ends (the position just after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) start: Pos,
    pub(crate) end: Pos,
}

struct Lexer {
    chars: Vec<char>,
    i: usize,
    pos: Pos,
}

/// Splits a script into tokens, or says where it cannot be read. Returns the
/// tokens and the position of the end of the script.
pub(crate) fn lex(script: &str) -> Result<(Vec<Token>, Pos), SieveError> {
    let mut lexer = Lexer {
        chars: script.chars().collect(),
        i: 0,
        pos: Pos { line: 1, column: 1 },
    };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token()? {
        tokens.push(token);
    }
    Ok((tokens, lexer.pos))
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    /// Skips white space and comments.
    fn skip_blank(&mut self) -> Result<(), SieveError> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('#') => self.skip_line(),
                Some('/') if self.peek_at(1) == Some('*') => {
                    let start = self.pos;
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            None => {
                                return Err(
                                    start.error("this `/*` comment is never closed by `*/`")
                                );
                            }
                            Some('*') if self.peek() == Some('/') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// Skips to the start of the next line.
    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    fn next_token(&mut self) -> Result<Option<Token>, SieveError> {
        self.skip_blank()?;
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        let tok = match c {
            '[' | ']' | '{' | '}' | '(' | ')' | ',' | ';' => {
                self.bump();
                match c {
                    '[' => Tok::LBracket,
                    ']' => Tok::RBracket,
                    '{' => Tok::LBrace,
                    '}' => Tok::RBrace,
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    ',' => Tok::Comma,
                    _ => Tok::Semi,
                }
            }
            '"' => self.quoted(start)?,
            ':' => {
                self.bump();
                match self.peek() {
                    Some(c) if is_ident_start(c) => Tok::Tag(self.identifier()),
                    _ => return Err(start.error("expected a name after `:` (like `:is`)")),
                }
            }
            c if c.is_ascii_digit() => self.number(start)?,
            c if is_ident_start(c) => {
                let name = self.identifier();
                if name == "text" && self.peek() == Some(':') {
                    self.bump();
                    self.multiline(start)?
                } else {
                    Tok::Ident(name)
                }
            }
            c => {
                return Err(start.error(format!("unexpected character `{}`", c.escape_debug())));
            }
        };
        Ok(Some(Token {
            tok,
            start,
            end: self.pos,
        }))
    }

    fn identifier(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek().filter(|&c| is_ident_char(c)) {
            name.push(c.to_ascii_lowercase());
            self.bump();
        }
        name
    }

    fn number(&mut self, start: Pos) -> Result<Tok, SieveError> {
        let too_large = || start.error("this number is too large");
        let mut value: u64 = 0;
        while let Some(digit) = self.peek().and_then(|c| c.to_digit(10)) {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(digit)))
                .ok_or_else(too_large)?;
            self.bump();
        }
        let shift = match self.peek() {
            Some('k' | 'K') => 10,
            Some('m' | 'M') => 20,
            Some('g' | 'G') => 30,
            _ => 0,
        };
        if shift > 0 {
            self.bump();
            value = value.checked_mul(1 << shift).ok_or_else(too_large)?;
        }
        Ok(Tok::Number(value))
    }

    /// A `"quoted string"`: `\"` and `\\` are escapes, and any other backslash is
    /// dropped (RFC 5228 §2.4.2). It may span lines.
    fn quoted(&mut self, start: Pos) -> Result<Tok, SieveError> {
        self.bump();
        let mut text = String::new();
        loop {
            match self.bump() {
                None => return Err(start.error("this string is never closed by a `\"`")),
                Some('"') => return Ok(Tok::Str(text)),
                Some('\\') => match self.bump() {
                    Some(c) => text.push(c),
                    None => return Err(start.error("this string is never closed by a `\"`")),
                },
                Some(c) => text.push(c),
            }
        }
    }

    /// A `text:` string, after the `text:`: the rest of the line may only hold
    /// blanks and a `#` comment; the lines that follow, up to one holding only `.`,
    /// are the text, with a doubled leading dot undone.
    fn multiline(&mut self, start: Pos) -> Result<Tok, SieveError> {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
        match self.peek() {
            Some('#') => self.skip_line(),
            Some('\r') if self.peek_at(1) == Some('\n') => {
                self.bump();
                self.bump();
            }
            Some('\n') => {
                self.bump();
            }
            _ => {
                return Err(self.pos.error("expected the end of the line after `text:`"));
            }
        }
        let mut text = String::new();
        loop {
            if self.peek().is_none() {
                return Err(
                    start.error("this `text:` string is never ended by a line holding only `.`")
                );
            }
            let mut line = String::new();
            let mut ending = "";
            while let Some(c) = self.bump() {
                if c == '\n' {
                    ending = "\n";
                    break;
                }
                line.push(c);
            }
            let content = line.strip_suffix('\r').unwrap_or(&line);
            if content == "." {
                return Ok(Tok::Str(text));
            }
            let content = match line.strip_prefix('.') {
                Some(rest) if rest.starts_with('.') => rest,
                _ => &line,
            };
            text.push_str(content);
            text.push_str(ending);
        }
    }
}
