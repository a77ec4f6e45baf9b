//! What discovery hands back: the candidates, the hints and a log of every
//! source tried, for the wizard to show.

use crate::address::EmailAddress;
use crate::config::{AutoconfigKind, Candidate};
use crate::hints::Hint;

/// The result of discovery.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// The address, as parsed.
    pub address: EmailAddress,
    /// Configurations found, by precedence of their source (see
    /// [`crate::Source`]); no two alike.
    pub candidates: Vec<Candidate>,
    /// Notes about the provider (app passwords, OAuth2, access to turn on).
    pub hints: Vec<Hint>,
    /// Every source tried or skipped, in precedence order.
    pub log: Vec<Attempt>,
}

impl Discovery {
    /// The first candidate with both an incoming and an outgoing server.
    pub fn best(&self) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.is_complete())
    }
}

/// Which source an [`Attempt`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// A clientConfig file for the address's domain.
    Autoconfig(AutoconfigKind),
    /// An SRV lookup.
    Srv,
    /// The MX lookup, and clientConfig files for the mail exchanger's domain.
    Mx,
    /// A connection to a guessed server.
    Probe,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Autoconfig(kind) => f.write_str(kind.as_str()),
            Step::Srv => f.write_str("SRV"),
            Step::Mx => f.write_str("MX"),
            Step::Probe => f.write_str("probe"),
        }
    }
}

/// One thing tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The source.
    pub step: Step,
    /// What was asked: a URL, a DNS name, or `host:port (security)`.
    pub target: String,
    /// What came of it.
    pub outcome: Outcome,
    /// Details: server entries skipped or refused (plain without TLS).
    pub notes: Vec<String>,
}

impl Attempt {
    pub(crate) fn new(step: Step, target: impl Into<String>, outcome: Outcome) -> Self {
        Attempt {
            step,
            target: target.into(),
            outcome,
            notes: Vec::new(),
        }
    }
}

impl std::fmt::Display for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.step, self.target, self.outcome)?;
        for note in &self.notes {
            write!(f, "; {note}")?;
        }
        Ok(())
    }
}

/// What one attempt gave. `Display` is the plain words the wizard shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Something usable, summed up.
    Found(String),
    /// Nothing there (no file, no records).
    Nothing(String),
    /// The domain says it does not offer this (an SRV target of `.`).
    NotOffered,
    /// Not tried, and why.
    Skipped(String),
    /// Tried and failed, and why (timeout, refused redirect, bad XML...).
    Failed(String),
}

impl Outcome {
    /// Whether it found something.
    pub fn is_found(&self) -> bool {
        matches!(self, Outcome::Found(_))
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Found(what) => write!(f, "found {what}"),
            Outcome::Nothing(why) => write!(f, "nothing there ({why})"),
            Outcome::NotOffered => f.write_str("the domain says it does not offer this service"),
            Outcome::Skipped(why) => write!(f, "not asked: {why}"),
            Outcome::Failed(why) => f.write_str(why),
        }
    }
}
