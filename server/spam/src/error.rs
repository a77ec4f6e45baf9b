//! The one error type of this crate.

/// What can go wrong in the spam filter. Tokenizing and classifying never fail;
/// only a configuration can be refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A [`Config`](crate::Config) value is out of its range; the filter would
    /// give meaningless scores with it.
    #[error("invalid spam filter setting `{name}`: {reason}")]
    InvalidConfig {
        /// The field of [`Config`](crate::Config) at fault.
        name: &'static str,
        /// The range it must be in.
        reason: &'static str,
    },
}
