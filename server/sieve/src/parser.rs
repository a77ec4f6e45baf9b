//! The parser: tokens to the generic syntax tree (RFC 5228 §8.2).
//!
//! ```text
//! commands  = *command
//! command   = identifier arguments (";" / block)
//! block     = "{" commands "}"
//! arguments = *argument [test / test-list]
//! argument  = string-list / number / tag
//! test      = identifier arguments
//! test-list = "(" test *("," test) ")"
//! ```
//!
//! Only `if` and `elsif` take a test (no other command does, in the RFC or its
//! extensions), so a missing `;` is found where it is missing. The control
//! structure is checked too: `if`/`elsif` need one test and a block, `else` a
//! block, and both `elsif` and `else` must follow an `if` or `elsif`.

use crate::ast::{Argument, Command, TestNode};
use crate::lexer::{Pos, Tok, Token, lex};
use crate::{MAX_DEPTH, MAX_SCRIPT_BYTES, SieveError};

/// Parses a script into its commands, or says where and why it cannot be read.
///
/// Scripts longer than [`MAX_SCRIPT_BYTES`] and blocks or tests nested more than
/// [`MAX_DEPTH`] deep are errors. Command and test names are not checked: unknown
/// ones are kept for the caller to judge.
pub fn parse(script: &str) -> Result<Vec<Command>, SieveError> {
    if script.len() > MAX_SCRIPT_BYTES {
        return Err(SieveError::TooLarge { size: script.len() });
    }
    let (tokens, end) = lex(script)?;
    let mut parser = Parser {
        tokens,
        next: 0,
        end,
        depth: 0,
    };
    let commands = parser.commands(None)?;
    Ok(commands)
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    /// The position just after the script.
    end: Pos,
    depth: usize,
}

/// Arguments as read: plain arguments, then the tests and whether they were a
/// parenthesised list.
struct Arguments {
    args: Vec<Argument>,
    tests: Vec<TestNode>,
    list: bool,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn peek_tok(&self) -> Option<&Tok> {
        self.peek().map(|t| &t.tok)
    }

    /// Where the next token starts (or the end of the script).
    fn here(&self) -> Pos {
        self.peek().map_or(self.end, |t| t.start)
    }

    /// Where the previous token ends (or the start of the script).
    fn after_previous(&self) -> Pos {
        self.next
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(Pos { line: 1, column: 1 }, |t| t.end)
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        if token.is_some() {
            self.next += 1;
        }
        token
    }

    fn enter(&mut self, at: Pos) -> Result<(), SieveError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(at.error(format!(
                "blocks and tests are nested more than {MAX_DEPTH} deep"
            )));
        }
        Ok(())
    }

    /// Commands up to the `}` of the block opened at `open` (or to the end of the
    /// script when `open` is `None`).
    fn commands(&mut self, open: Option<Pos>) -> Result<Vec<Command>, SieveError> {
        let mut commands: Vec<Command> = Vec::new();
        loop {
            let Some(token) = self.peek() else {
                return match open {
                    None => Ok(commands),
                    Some(open) => Err(self.end.error(format!(
                        "expected `}}` to close the block opened on line {}",
                        open.line
                    ))),
                };
            };
            if token.tok == Tok::RBrace {
                return match open {
                    Some(_) => Ok(commands),
                    None => Err(token.start.error("unexpected `}`: no block is open here")),
                };
            }
            let after_if = commands
                .last()
                .is_some_and(|c| (c.name == "if" || c.name == "elsif") && c.block.is_some());
            let command = self.command(after_if)?;
            commands.push(command);
        }
    }

    fn command(&mut self, after_if: bool) -> Result<Command, SieveError> {
        let Some(token) = self.bump() else {
            return Err(self.end.error("expected a command"));
        };
        let Tok::Ident(name) = token.tok else {
            return Err(token
                .start
                .error("expected a command (like `if`, `fileinto` or `stop`)"));
        };
        let at = token.start;
        let control = matches!(name.as_str(), "if" | "elsif" | "else");
        if (name == "elsif" || name == "else") && !after_if {
            return Err(at.error(format!("`{name}` must follow an `if` or `elsif` block")));
        }
        let arguments = self.arguments(name == "if" || name == "elsif")?;
        let mut test = None;
        if name == "if" || name == "elsif" {
            if !arguments.args.is_empty() || arguments.tests.len() != 1 || arguments.list {
                return Err(at.error(format!(
                    "expected one test after `{name}` (combine tests with `allof` or `anyof`)"
                )));
            }
            test = arguments.tests.into_iter().next();
        } else if name == "else" && !arguments.args.is_empty() {
            return Err(at.error("expected `{` after `else`"));
        }
        let block = match self.peek_tok() {
            Some(Tok::LBrace) => {
                let open = self.here();
                self.bump();
                self.enter(open)?;
                let commands = self.commands(Some(open))?;
                self.bump();
                self.depth -= 1;
                Some(commands)
            }
            Some(Tok::Semi) if !control => {
                self.bump();
                None
            }
            _ if control => {
                let what = if name == "else" {
                    "`else`".to_string()
                } else {
                    format!("the test of `{name}`")
                };
                return Err(self
                    .after_previous()
                    .error(format!("expected `{{` after {what}")));
            }
            _ => {
                return Err(self
                    .after_previous()
                    .error("expected `;` after the command"));
            }
        };
        Ok(Command {
            name,
            args: arguments.args,
            test,
            block,
            line: at.line,
            column: at.column,
        })
    }

    /// Plain arguments, then (if `with_tests`) a test or a test list.
    fn arguments(&mut self, with_tests: bool) -> Result<Arguments, SieveError> {
        let mut args = Vec::new();
        loop {
            let argument = match self.peek_tok() {
                Some(Tok::Tag(tag)) => Argument::Tag(tag.clone()),
                Some(Tok::Number(n)) => Argument::Number(*n),
                Some(Tok::Str(s)) => Argument::String(s.clone()),
                Some(Tok::LBracket) => {
                    args.push(Argument::StringList(self.string_list()?));
                    continue;
                }
                _ => break,
            };
            self.bump();
            args.push(argument);
        }
        let mut tests = Vec::new();
        let mut list = false;
        if with_tests {
            match self.peek_tok() {
                Some(Tok::Ident(_)) => {
                    let at = self.here();
                    self.enter(at)?;
                    tests.push(self.test()?);
                    self.depth -= 1;
                }
                Some(Tok::LParen) => {
                    let at = self.here();
                    self.enter(at)?;
                    tests = self.test_list()?;
                    self.depth -= 1;
                    list = true;
                }
                _ => {}
            }
        }
        Ok(Arguments { args, tests, list })
    }

    fn string_list(&mut self) -> Result<Vec<String>, SieveError> {
        self.bump();
        let mut strings = Vec::new();
        loop {
            match self.bump() {
                Some(Token {
                    tok: Tok::Str(s), ..
                }) => strings.push(s),
                _ => {
                    return Err(self
                        .after_previous()
                        .error("expected a string in the list `[ ... ]`"));
                }
            }
            match self.peek_tok() {
                Some(Tok::Comma) => {
                    self.bump();
                }
                Some(Tok::RBracket) => {
                    self.bump();
                    return Ok(strings);
                }
                _ => {
                    return Err(self
                        .after_previous()
                        .error("expected `,` or `]` in the list of strings"));
                }
            }
        }
    }

    /// `( test, test, ... )`, the `(` not read yet.
    fn test_list(&mut self) -> Result<Vec<TestNode>, SieveError> {
        self.bump();
        let mut tests = Vec::new();
        loop {
            tests.push(self.test()?);
            match self.bump() {
                Some(Token {
                    tok: Tok::Comma, ..
                }) => {}
                Some(Token {
                    tok: Tok::RParen, ..
                }) => return Ok(tests),
                Some(token) => {
                    return Err(token
                        .start
                        .error("expected `,` or `)` in the list of tests"));
                }
                None => {
                    return Err(self.end.error("expected `)` to close the list of tests"));
                }
            }
        }
    }

    fn test(&mut self) -> Result<TestNode, SieveError> {
        let at = self.here();
        let Some(Token {
            tok: Tok::Ident(name),
            ..
        }) = self.bump()
        else {
            return Err(at.error("expected a test (like `header`, `address` or `allof`)"));
        };
        let arguments = self.arguments(true)?;
        let fine = match name.as_str() {
            "allof" | "anyof" => arguments.args.is_empty() && arguments.list,
            "not" => arguments.args.is_empty() && !arguments.list && arguments.tests.len() == 1,
            _ => true,
        };
        if !fine {
            let expected = if name == "not" {
                "one test"
            } else {
                "a list of tests in parentheses"
            };
            return Err(at.error(format!("expected {expected} after `{name}`")));
        }
        Ok(TestNode {
            name,
            args: arguments.args,
            tests: arguments.tests,
            line: at.line,
            column: at.column,
        })
    }
}
