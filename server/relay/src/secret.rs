//! The kite's shared secret.

use std::fmt;

use zeroize::Zeroizing;

/// The secret the relay and the box share for one kite. It only ever signs the
/// relay's challenge (it is not sent), is wiped from memory when dropped and
/// prints as `..`, so it cannot reach a log through `{:?}`.
#[derive(Clone)]
pub struct KiteSecret(Zeroizing<String>);

impl KiteSecret {
    /// Takes the secret as the relay's operator gave it.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(Zeroizing::new(secret.into()))
    }

    /// The secret's bytes, for signing only.
    pub(crate) fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Whether no secret was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for KiteSecret {
    fn from(secret: String) -> Self {
        Self::new(secret)
    }
}

impl fmt::Debug for KiteSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KiteSecret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_secret() {
        let secret = KiteSecret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "KiteSecret(..)");
    }
}
