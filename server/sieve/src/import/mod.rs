//! Import: a parsed script to Homepost rules, and what was left behind.

mod actions;
mod conditions;
mod query;
mod tags;

use crate::ast::Command;
use crate::{
    Actions, Imported, ImportedRule, MAX_QUERY_CHARS, MAX_QUERY_TERMS, SieveError, Skipped, parse,
};
use actions::{Note, apply};
use conditions::condition;
use query::Query;

/// Longest rule name taken from a comment, in characters.
const MAX_NAME_CHARS: usize = 60;
/// Longest source line quoted in a [`Skipped`], in characters.
const MAX_TEXT_CHARS: usize = 200;

/// Parses `script` and carries over what Homepost rules can express.
///
/// Each `if`/`elsif`/`else` branch becomes a rule; commands outside any `if` become
/// a rule matching every message. Every command or condition that cannot be
/// carried over is reported in [`Imported::skipped`] with its line and a reason; a
/// rule left with no action at all is not returned. The crate documentation says
/// how conditions and actions are translated.
///
/// Fails only when the script cannot be parsed (see [`parse`]).
pub fn import(script: &str) -> Result<Imported, SieveError> {
    let commands = parse(script)?;
    let mut walker = Walker {
        lines: script.split('\n').collect(),
        out: Imported::default(),
    };
    walker.block(&commands, &Query::All, None);
    Ok(walker.out)
}

struct Walker<'a> {
    lines: Vec<&'a str>,
    out: Imported,
}

impl Walker<'_> {
    /// The source line `line` (1-based), trimmed and cut to 200 characters.
    fn text(&self, line: usize) -> String {
        let source = line
            .checked_sub(1)
            .and_then(|i| self.lines.get(i))
            .map_or("", |l| l.trim());
        source.chars().take(MAX_TEXT_CHARS).collect()
    }

    fn skip(&mut self, line: usize, reason: impl Into<String>) {
        let text = self.text(line);
        self.out.skipped.push(Skipped {
            line,
            text,
            reason: reason.into(),
        });
    }

    /// The rule name for a rule starting on `line`: the text of a `#` comment on
    /// the line just before (Roundcube's `# rule:[name]` gives `name`), or
    /// "Sieve line N".
    fn name(&self, line: usize) -> String {
        let comment = line
            .checked_sub(2)
            .and_then(|i| self.lines.get(i))
            .map(|l| l.trim())
            .and_then(|l| l.strip_prefix('#'))
            .map(|l| l.trim_start_matches('#').trim());
        let comment = comment.map(|c| {
            c.strip_prefix("rule:[")
                .and_then(|rest| rest.strip_suffix(']'))
                .map_or(c, str::trim)
        });
        match comment {
            Some(c) if !c.is_empty() => c.chars().take(MAX_NAME_CHARS).collect(),
            _ => format!("Sieve line {line}"),
        }
    }

    /// The commands of one block, all run when `outer` matches. `branch` is the
    /// line of the `if`/`elsif`/`else` that opened the block.
    fn block(&mut self, commands: &[Command], outer: &Query, branch: Option<usize>) {
        let keep_in_block = commands.iter().any(|c| c.name == "keep");
        let mut segment: Vec<&Command> = Vec::new();
        // The branch's own line names the actions before any nested `if`.
        let mut head = branch;
        let mut i = 0;
        while let Some(command) = commands.get(i) {
            i += 1;
            if command.name != "if" {
                segment.push(command);
                continue;
            }
            self.segment(&segment, keep_in_block, outer, head.take());
            segment.clear();
            let mut chain = vec![command];
            while let Some(next) = commands
                .get(i)
                .filter(|c| c.name == "elsif" || c.name == "else")
            {
                chain.push(next);
                i += 1;
            }
            self.chain(&chain, outer);
        }
        self.segment(&segment, keep_in_block, outer, head);
    }

    /// Consecutive commands other than `if`: one rule with their actions.
    fn segment(
        &mut self,
        commands: &[&Command],
        keep_in_block: bool,
        query: &Query,
        head: Option<usize>,
    ) {
        let mut actions = Actions::default();
        let mut notes: Vec<Note> = Vec::new();
        let mut first_line = None;
        for command in commands {
            if command.name != "require" {
                first_line.get_or_insert(command.line);
            }
            apply(command, keep_in_block, &mut actions, &mut notes);
        }
        for note in notes {
            self.skip(note.line, note.reason);
        }
        let Some(line) = head.or(first_line) else {
            return;
        };
        if actions != Actions::default() {
            let name = self.name(line);
            self.out.rules.push(ImportedRule {
                name,
                query: query.text(),
                actions,
                line,
            });
        }
    }

    /// `if` with its `elsif`s and `else`: a rule (or more) per branch, each
    /// excluding the conditions before it.
    fn chain(&mut self, chain: &[&Command], outer: &Query) {
        let mut before: Vec<Query> = Vec::new();
        let mut before_chars = 0;
        let mut broken: Option<usize> = None;
        for branch in chain {
            let line = branch.line;
            if let Some(bad) = broken {
                self.skip(
                    line,
                    format!(
                        "this part depends on the condition on line {bad}, which could not be \
                         carried over"
                    ),
                );
                continue;
            }
            let too_long = format!(
                "the conditions of this part are too long for one Homepost search (more than \
                 {MAX_QUERY_CHARS} characters)"
            );
            if before_chars > MAX_QUERY_CHARS {
                self.skip(line, too_long);
                continue;
            }
            let own = match &branch.test {
                Some(test) => condition(test),
                None => Ok(Query::All),
            };
            let own = match own {
                Ok(own) => own,
                Err(fail) => {
                    self.skip(fail.line, fail.reason);
                    broken = Some(fail.line);
                    continue;
                }
            };
            let mut parts = vec![outer.clone()];
            parts.extend(before.iter().cloned());
            parts.push(own.clone());
            let query = Query::and(parts);
            let negated = Query::not(own);
            before_chars += negated.text().chars().count();
            before.push(negated);
            if query == Query::Never {
                self.skip(line, "this rule never runs: its condition is never true");
                continue;
            }
            if query.text().chars().count() > MAX_QUERY_CHARS {
                self.skip(line, too_long);
                continue;
            }
            if query.terms() > MAX_QUERY_TERMS {
                self.skip(
                    line,
                    format!(
                        "the conditions of this part hold more than {MAX_QUERY_TERMS} words and \
                         terms, more than one Homepost search holds"
                    ),
                );
                continue;
            }
            let block = branch.block.as_deref().unwrap_or_default();
            self.block(block, &query, Some(line));
        }
    }
}
