//! Sieve (RFC 5228): the subset Homepost carries over into its filter rules.
//!
//! Users arrive from servers that filter mail with Sieve scripts. This crate
//!
//! 1. parses a script into a generic syntax tree ([`parse`]),
//! 2. imports the common subset as Homepost rules, "when arriving mail matches
//!    QUERY, do ACTIONS", and reports every line it could not carry over and why
//!    ([`import`]),
//! 3. exports Homepost rules back to a Sieve script ([`export`]).
//!
//! # How conditions are carried over
//!
//! Conditions become query text in Homepost's search language (`subject:"foo"`,
//! `from:alice@example.org`, `size:>1048576`, `tag:work`, `-( ... )`, `( ... OR ... )`).
//!
//! - Homepost matches **words**, ignoring case and punctuation, where Sieve's
//!   `:contains` matches any substring: `header :contains "subject" "invoice"`
//!   becomes `subject:"invoice"`, which finds "Invoice 42" but not "invoices".
//!   This is an approximation, and the only one most scripts notice.
//! - `:is` is carried as the phrase (for a whole address: that exact address);
//!   `:matches` patterns are split at `*` and `?` and the pieces must all occur.
//! - A key without a letter or digit cannot be searched by words; a rule with such
//!   a key is not carried over rather than made to match every message.
//! - The envelope sender (`envelope "from"`) is matched as the From address, the
//!   envelope recipient (`envelope "to"`) as the To address.
//! - Both comparators `i;ascii-casemap` and `i;octet` are accepted; Homepost
//!   always ignores case.
//! - `size :over N`/`:under N` become `size:>N`/`size:<N` (bytes); `hasflag`
//!   tests tags (`\Seen` is `tag:read`, `\Flagged` is `tag:flagged`, a keyword
//!   `$Label` is `tag:label`).
//! - A rule containing any condition that cannot be carried over (another header,
//!   `exists`, a date, a regular expression ...) is skipped whole and reported
//!   once, with the line of that condition; so is a rule whose query would be
//!   longer than [`MAX_QUERY_CHARS`] or hold more than [`MAX_QUERY_TERMS`] words.
//!
//! # How actions are carried over
//!
//! - `fileinto "Folder"` adds the tag `folder` (lowercase, spaces turned into `-`)
//!   and takes the message out of the inbox, unless the same block also has `keep`
//!   or the command has `:copy`. `Junk`/`Spam` mark spam, `Trash` moves to the
//!   trash, `Archive` archives without a tag, `INBOX` does nothing; a leading
//!   `INBOX.` or `INBOX/` (Courier- and Cyrus-style folder names) is dropped.
//! - `discard` moves the message to the trash: Homepost never drops mail silently.
//! - `addflag` and `setflag` both add flags (`setflag` would also remove the flags
//!   set before, which has no counterpart in a rule); `\Seen` marks read,
//!   `\Flagged` adds the tag `flagged`, `\Deleted` moves to the trash, a keyword
//!   adds it as a tag. `removeflag` removes tags (`\Seen`: marks unread). When
//!   one rule adds and removes the same tag, the later command wins.
//! - `stop` stops later rules; `keep` and `require` carry nothing.
//! - Forwarding, rejecting, automatic replies, notifications, variables and
//!   includes are not carried over, and each is reported.
//!
//! `if`/`elsif`/`else` chains become one rule per branch (a later branch's query
//! excludes the earlier conditions); an `if` nested in a block becomes its own rule
//! whose query is the outer condition AND its own, and the block's commands
//! before and after it become rules of their own, so the order is kept. Commands
//! outside any `if` become a rule matching every message (`*`). A rule is named
//! after a `#` comment on the line just before it (Roundcube's `# rule:[name]`
//! gives `name`), or "Sieve line N".

mod ast;
mod export;
mod import;
mod lexer;
mod parser;

#[cfg(test)]
mod tests;

pub use ast::{Argument, Command, TestNode};
pub use export::{AddressPart, ExportRule, MatchType, Test, export};
pub use import::import;
pub use parser::parse;

/// Longest script read, in bytes (1 MiB).
pub const MAX_SCRIPT_BYTES: usize = 1 << 20;
/// How deeply blocks and tests may nest, so a hostile script cannot exhaust the
/// stack.
pub const MAX_DEPTH: usize = 64;
/// Longest query an imported rule may have, in characters (the limit Homepost
/// keeps its rules to). A rule whose conditions would be longer is reported
/// instead.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Most words and terms an imported rule's query may hold (the limit of
/// Homepost's search language). A rule with more is reported instead.
pub const MAX_QUERY_TERMS: usize = 100;

/// What a rule does (mirrors Homepost's rule actions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actions {
    /// Tags to add (lowercase).
    pub add_tags: Vec<String>,
    /// Tags to remove (lowercase).
    pub remove_tags: Vec<String>,
    /// Mark the message read.
    pub mark_read: bool,
    /// Take the message out of the inbox.
    pub archive: bool,
    /// Move the message to the trash.
    pub trash: bool,
    /// `Some(true)` marks the message spam, `Some(false)` not spam.
    pub spam: Option<bool>,
    /// No later rule runs.
    pub stop: bool,
}

/// One rule carried over from a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedRule {
    /// The text of the `#` comment line just before the rule, or "Sieve line N".
    pub name: String,
    /// The condition, in Homepost's search language.
    pub query: String,
    /// What the rule does.
    pub actions: Actions,
    /// 1-based line of its `if` (`elsif`, `else`) or of its first command.
    pub line: usize,
}

/// A line (or construct) that was not carried over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line in the script.
    pub line: usize,
    /// The source line, trimmed, at most 200 characters.
    pub text: String,
    /// Why it was not carried over, in plain words.
    pub reason: String,
}

/// The outcome of [`import`]: the rules carried over and what was left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    /// The rules, in the order the script runs them.
    pub rules: Vec<ImportedRule>,
    /// Every line or construct not carried over, in script order.
    pub skipped: Vec<Skipped>,
}

/// A script that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SieveError {
    /// The script breaks the Sieve grammar (or nests too deeply) at this place.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong and what was expected there.
        message: String,
    },
    /// The script is longer than [`MAX_SCRIPT_BYTES`].
    #[error("the script is {size} bytes long; scripts up to 1 MiB (1,048,576 bytes) are read")]
    TooLarge {
        /// The length of the script in bytes.
        size: usize,
    },
}

impl SieveError {
    pub(crate) fn syntax(line: usize, column: usize, message: impl Into<String>) -> Self {
        SieveError::Syntax {
            line,
            column,
            message: message.into(),
        }
    }
}
