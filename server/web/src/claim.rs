//! Claiming a new box: the one-time setup code printed at start, and the claim
//! that binds the rest of the setup to the one browser that gave it.
//!
//! While there is no vault, a browser that is not on the box itself must give
//! the setup code. `POST /claim` checks it and hands that browser a claim cookie
//! (HttpOnly, one hour); from then on the same code is refused to any other
//! browser (`claimed`), so a second device cannot take over a setup in
//! progress, and the first can reload or come back within the hour. The code
//! and the claim are spent when the vault is created.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

/// How long a claim holds without a vault being created.
pub const CLAIM_TTL: Duration = Duration::from_secs(60 * 60);

/// The claim cookie's name without and with TLS.
pub const COOKIE: &str = "hp_claim";
/// With TLS (`__Host-`: this host only, Secure, Path=/).
pub const COOKIE_TLS: &str = "__Host-hp_claim";

/// Why a claim was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimError {
    /// No code, or not this box's.
    Wrong,
    /// Another browser holds the claim.
    Taken,
    /// No code exists (a vault exists, or there was no randomness at start).
    NoCode,
}

/// The setup code and who holds the claim.
pub struct Claim {
    inner: Mutex<Inner>,
}

struct Inner {
    code: Option<SetupCode>,
    holder: Option<(Zeroizing<String>, Instant)>,
}

impl Claim {
    /// A fresh code for a box without a vault, none for one with a vault.
    pub fn new(has_vault: bool) -> Claim {
        Claim {
            inner: Mutex::new(Inner {
                code: if has_vault {
                    None
                } else {
                    SetupCode::generate()
                },
                holder: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The code, to print on the console (whoever reads it owns the box).
    pub fn code(&self) -> Option<Zeroizing<String>> {
        self.lock().code.as_ref().map(|c| c.0.clone())
    }

    /// Whether `typed` is the code.
    pub fn code_matches(&self, typed: &str) -> bool {
        self.lock().code.as_ref().is_some_and(|c| c.matches(typed))
    }

    /// Claims the box for the browser that typed the code, or renews the claim
    /// of the browser already holding it. Returns the claim cookie's value.
    pub fn claim(
        &self,
        typed: &str,
        cookie: Option<&str>,
        now: Instant,
    ) -> Result<Zeroizing<String>, ClaimError> {
        let mut inner = self.lock();
        let Some(code) = inner.code.as_ref() else {
            return Err(ClaimError::NoCode);
        };
        if !code.matches(typed) {
            return Err(ClaimError::Wrong);
        }
        if let Some((holder, at)) = &inner.holder
            && now.duration_since(*at) < CLAIM_TTL
            && !cookie.is_some_and(|c| same(c, holder))
        {
            return Err(ClaimError::Taken);
        }
        let id = random_id().ok_or(ClaimError::NoCode)?;
        inner.holder = Some((id.clone(), now));
        Ok(id)
    }

    /// Whether `cookie` holds a live claim.
    pub fn held_by(&self, cookie: Option<&str>, now: Instant) -> bool {
        let inner = self.lock();
        match (&inner.holder, cookie) {
            (Some((holder, at)), Some(c)) => now.duration_since(*at) < CLAIM_TTL && same(c, holder),
            _ => false,
        }
    }

    /// Whether another browser than `cookie`'s holds a live claim.
    pub fn taken_by_other(&self, cookie: Option<&str>, now: Instant) -> bool {
        let inner = self.lock();
        match &inner.holder {
            Some((holder, at)) => {
                now.duration_since(*at) < CLAIM_TTL && !cookie.is_some_and(|c| same(c, holder))
            }
            None => false,
        }
    }

    /// The vault exists: the code and the claim are spent.
    pub fn spend(&self) {
        let mut inner = self.lock();
        inner.code = None;
        inner.holder = None;
    }
}

fn same(a: &str, b: &str) -> bool {
    crate::session::csrf_matches(a.as_bytes(), b)
}

/// 32 random bytes as hex.
fn random_id() -> Option<Zeroizing<String>> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut()).ok()?;
    let mut out = Zeroizing::new(String::with_capacity(64));
    for b in bytes.iter() {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    Some(out)
}

/// The first-run setup code: 100 random bits as 20 characters of Crockford's
/// base32 in four groups (`7K2QD-…`), easy to read off a screen and type.
struct SetupCode(Zeroizing<String>);

impl SetupCode {
    const ALPHABET: &'static [u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    fn generate() -> Option<SetupCode> {
        let mut bytes = Zeroizing::new([0u8; 20]);
        if getrandom::fill(bytes.as_mut()).is_err() {
            tracing::error!(
                "no randomness for a setup code: the vault can be created only on the box itself"
            );
            return None;
        }
        let mut code = Zeroizing::new(String::with_capacity(23));
        for (i, b) in bytes.iter().enumerate() {
            if i > 0 && i % 5 == 0 {
                code.push('-');
            }
            code.push(char::from(Self::ALPHABET[usize::from(b & 31)]));
        }
        Some(SetupCode(code))
    }

    /// Whether `typed` is this code, ignoring case, spaces and dashes, and reading
    /// O as 0 and I or L as 1 (Crockford); compared in constant time.
    fn matches(&self, typed: &str) -> bool {
        let norm = |s: &str| -> Zeroizing<Vec<u8>> {
            Zeroizing::new(
                s.bytes()
                    .filter(|b| !matches!(b, b'-' | b' '))
                    .map(|b| match b.to_ascii_uppercase() {
                        b'O' => b'0',
                        b'I' | b'L' => b'1',
                        other => other,
                    })
                    .collect(),
            )
        };
        same(
            &String::from_utf8_lossy(&norm(typed)),
            &String::from_utf8_lossy(&norm(&self.0)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_browser_cannot_take_a_claim_in_progress() {
        let claim = Claim::new(false);
        let code = claim.code().expect("a code");
        let t0 = Instant::now();
        assert_eq!(
            claim.claim("AAAAA-AAAAA-AAAAA-AAAAA", None, t0),
            Err(ClaimError::Wrong)
        );
        let first = claim.claim(&code, None, t0).expect("claimed");
        assert!(claim.held_by(Some(&first), t0));
        // The same code from another browser (no cookie, or another one).
        assert_eq!(claim.claim(&code, None, t0), Err(ClaimError::Taken));
        assert_eq!(claim.claim(&code, Some("00ff"), t0), Err(ClaimError::Taken));
        assert!(claim.taken_by_other(None, t0));
        assert!(!claim.taken_by_other(Some(&first), t0));
        // The holder may claim again (a reload): a new cookie value.
        let again = claim
            .claim(&code.to_lowercase(), Some(&first), t0)
            .expect("renewed");
        assert!(claim.held_by(Some(&again), t0));
        assert!(!claim.held_by(Some(&first), t0));
        // An abandoned claim lapses.
        let later = t0 + CLAIM_TTL + Duration::from_secs(1);
        assert!(!claim.held_by(Some(&again), later));
        assert!(claim.claim(&code, None, later).is_ok());
        claim.spend();
        assert_eq!(claim.claim(&code, None, later), Err(ClaimError::NoCode));
        assert!(claim.code().is_none());
    }

    #[test]
    fn codes_read_as_crockford() {
        let claim = Claim::new(false);
        let code = claim.code().expect("a code");
        let sloppy: String = code
            .chars()
            .filter(|c| *c != '-')
            .map(|c| match c {
                '0' => 'o',
                '1' => 'l',
                other => other.to_ascii_lowercase(),
            })
            .collect();
        assert!(claim.code_matches(&sloppy));
        assert!(Claim::new(true).code().is_none());
    }
}
