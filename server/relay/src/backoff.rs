//! How long to wait before reconnecting to the frontend.

use std::time::Duration;

/// Reconnection delays: the first wait is about `initial`, each failure doubles
/// it up to `max`, and each wait is drawn between half and all of that (jitter,
/// so boxes that lost the same relay do not all return at the same moment). A
/// tunnel that registered starts again from `initial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

/// The delays of one connector, in turn.
#[derive(Debug)]
pub(crate) struct Delays {
    policy: Backoff,
    next: Duration,
}

impl Delays {
    pub(crate) fn new(policy: Backoff) -> Self {
        Self {
            policy,
            next: policy.initial,
        }
    }

    /// The next delay, given a random number for the jitter.
    pub(crate) fn next(&mut self, random: u32) -> Duration {
        let base = self.next.min(self.policy.max);
        self.next = base
            .saturating_mul(2)
            .min(self.policy.max)
            .max(self.policy.initial);
        let half = base / 2;
        let fraction = f64::from(random) / f64::from(u32::MAX);
        half + half.mul_f64(fraction)
    }

    /// Starts again from the first delay.
    pub(crate) fn reset(&mut self) {
        self.next = self.policy.initial;
    }
}

/// A random number for the jitter; 0 in the unlikely case the system has none.
pub(crate) fn jitter() -> u32 {
    let mut bytes = [0; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => u32::from_le_bytes(bytes),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_with_jitter_in_range() {
        let policy = Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
        };
        let mut delays = Delays::new(policy);
        let bases = [1, 2, 4, 8, 10, 10];
        for base in bases {
            let base = Duration::from_secs(base);
            let mut probe = Delays {
                policy,
                next: delays.next,
            };
            assert_eq!(probe.next(0), base / 2);
            let mut probe = Delays {
                policy,
                next: delays.next,
            };
            assert_eq!(probe.next(u32::MAX), base);
            let d = delays.next(u32::MAX / 3);
            assert!(d >= base / 2 && d <= base, "{d:?} for base {base:?}");
        }
        delays.reset();
        assert_eq!(delays.next(u32::MAX), Duration::from_secs(1));
    }
}
