//! The generic syntax tree of a Sieve script (RFC 5228 §8.2): commands with
//! arguments, tests and blocks, whatever their names.

/// One argument of a command or test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Argument {
    /// `:name` (lowercased).
    Tag(String),
    /// A number, its `K`/`M`/`G` quantifier applied.
    Number(u64),
    /// A single string (quoted or `text:`).
    String(String),
    /// `[ "a", "b" ]`.
    StringList(Vec<String>),
}

impl Argument {
    /// The strings of a string or string-list argument; `None` for a tag or number.
    pub fn strings(&self) -> Option<&[String]> {
        match self {
            Argument::String(s) => Some(std::slice::from_ref(s)),
            Argument::StringList(list) => Some(list),
            Argument::Tag(_) | Argument::Number(_) => None,
        }
    }
}

/// A test: `name arguments` with optional nested tests (`allof(...)`,
/// `anyof(...)`, `not TEST`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestNode {
    /// The test's name, lowercased.
    pub name: String,
    /// Its arguments, in order.
    pub args: Vec<Argument>,
    /// The nested tests: one for `not`, the list for `allof`/`anyof`.
    pub tests: Vec<TestNode>,
    /// 1-based line of its name.
    pub line: usize,
    /// 1-based column of its name.
    pub column: usize,
}

/// A command: `name arguments [test] (";" / block)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command's name, lowercased.
    pub name: String,
    /// Its arguments, in order.
    pub args: Vec<Argument>,
    /// The test of `if` and `elsif` (only they take one).
    pub test: Option<TestNode>,
    /// The commands of its `{ ... }` block, if it has one.
    pub block: Option<Vec<Command>>,
    /// 1-based line of its name.
    pub line: usize,
    /// 1-based column of its name.
    pub column: usize,
}
