//! Sessions and login throttling, in memory only: a restart ends every session and
//! starts the server locked.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A 256-bit random token, base64url without padding (43 characters).
pub fn random_token() -> Result<Zeroizing<String>, getrandom::Error> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut())?;
    Ok(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
}

/// Sessions are looked up by the SHA-256 of their id, so that neither the map nor
/// the timing of a lookup holds or reveals a usable id.
fn key_of(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// One logged-in browser.
struct Session {
    csrf: Zeroizing<String>,
    created: Instant,
    last_seen: Instant,
}

/// What a valid session tells a request.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The session's CSRF token.
    pub csrf: Zeroizing<String>,
    /// When the session ends at the latest.
    pub expires: Instant,
}

/// How many sessions ended by Lock are remembered (by hash), to tell their
/// browsers "the box was locked" rather than "your session has ended".
const LOCKED_REMEMBERED: usize = 64;

/// The live sessions and their timeouts.
pub struct Sessions {
    map: HashMap<[u8; 32], Session>,
    /// Hashes of sessions that Lock ended, newest last.
    ended_by_lock: Vec<[u8; 32]>,
    idle: Duration,
    lifetime: Duration,
}

impl Sessions {
    /// No sessions; ones created later end after `idle` without a request or
    /// `lifetime` after their creation, whichever comes first.
    pub fn new(idle: Duration, lifetime: Duration) -> Self {
        Sessions {
            map: HashMap::new(),
            ended_by_lock: Vec::new(),
            idle,
            lifetime,
        }
    }

    /// The idle timeout.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// Starts a session: returns its id (for the cookie) and what it holds.
    pub fn create(
        &mut self,
        now: Instant,
    ) -> Result<(Zeroizing<String>, SessionInfo), getrandom::Error> {
        let id = random_token()?;
        let csrf = random_token()?;
        self.map.insert(
            key_of(&id),
            Session {
                csrf: csrf.clone(),
                created: now,
                last_seen: now,
            },
        );
        let info = SessionInfo {
            csrf,
            expires: now + self.lifetime,
        };
        Ok((id, info))
    }

    /// The session with this id if it is live; a request through it counts as
    /// activity. An expired session is removed.
    pub fn touch(&mut self, id: &str, now: Instant) -> Option<SessionInfo> {
        let key = key_of(id);
        let live = !self.expired(self.map.get(&key)?, now);
        if !live {
            self.map.remove(&key);
            return None;
        }
        let s = self.map.get_mut(&key)?;
        s.last_seen = now;
        Some(SessionInfo {
            csrf: s.csrf.clone(),
            expires: s.created + self.lifetime,
        })
    }

    /// Whether the session with this id is live, without counting it as activity
    /// (for status checks, which must not keep an idle session alive).
    pub fn peek(&self, id: &str, now: Instant) -> bool {
        self.map
            .get(&key_of(id))
            .is_some_and(|s| !self.expired(s, now))
    }

    fn expired(&self, s: &Session, now: Instant) -> bool {
        now.saturating_duration_since(s.last_seen) >= self.idle
            || now.saturating_duration_since(s.created) >= self.lifetime
    }

    /// Ends one session.
    pub fn remove(&mut self, id: &str) {
        self.map.remove(&key_of(id));
    }

    /// Ends every session (Lock). Their browsers are told so on their next request.
    pub fn clear(&mut self) {
        self.ended_by_lock
            .extend(self.map.drain().map(|(key, _)| key));
        let excess = self.ended_by_lock.len().saturating_sub(LOCKED_REMEMBERED);
        self.ended_by_lock.drain(..excess);
    }

    /// Whether this (no longer live) session was ended by Lock.
    pub fn ended_by_lock(&self, id: &str) -> bool {
        self.ended_by_lock.contains(&key_of(id))
    }

    /// Removes expired sessions; returns how many are left.
    pub fn purge(&mut self, now: Instant) -> usize {
        let (idle, lifetime) = (self.idle, self.lifetime);
        self.map.retain(|_, s| {
            now.saturating_duration_since(s.last_seen) < idle
                && now.saturating_duration_since(s.created) < lifetime
        });
        self.map.len()
    }

    /// Number of live (not yet purged) sessions.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there is no session.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Compares a presented CSRF token with the session's in constant time.
pub fn csrf_matches(presented: &[u8], expected: &str) -> bool {
    presented.ct_eq(expected.as_bytes()).into()
}

/// Failures one client may make before it must wait.
const FREE_FAILURES: u32 = 5;
/// The first wait; it doubles with each further failure.
const FIRST_WAIT: Duration = Duration::from_secs(30);
/// The longest wait for one client.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Failures are forgotten this long after the last one.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Failures from all clients together within [`GLOBAL_WINDOW`] before everyone waits.
const GLOBAL_FAILURES: usize = 30;
/// The window of the global limit.
const GLOBAL_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long everyone waits once the global limit is reached.
const GLOBAL_WAIT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy)]
struct ClientFailures {
    count: u32,
    last: Instant,
}

/// Login throttling, per client address and overall: passphrase guessing gets
/// slower with every failure, and a distributed guesser (or many clients behind one
/// relay) cannot try more than 30 in 15 minutes before everyone waits.
#[derive(Default)]
pub struct Throttle {
    clients: HashMap<IpAddr, ClientFailures>,
    recent: Vec<Instant>,
}

impl Throttle {
    /// `Err(seconds)` if a login attempt from `client` must wait. A `known`
    /// client (it unlocked before, or it is the box itself) is not held by the
    /// global wait, only by its own failures.
    pub fn check(&mut self, client: Option<IpAddr>, known: bool, now: Instant) -> Result<(), u64> {
        self.forget(now);
        if !known
            && self.recent.len() >= GLOBAL_FAILURES
            && let Some(&last) = self.recent.last()
            && last + GLOBAL_WAIT > now
        {
            return Err(ceil_secs(last + GLOBAL_WAIT - now));
        }
        if let Some(f) = client.and_then(|c| self.clients.get(&c))
            && f.count >= FREE_FAILURES
            && f.last + wait_after(f.count) > now
        {
            return Err(ceil_secs(f.last + wait_after(f.count) - now));
        }
        Ok(())
    }

    /// Records a wrong passphrase: against the client, and towards everyone's limit.
    pub fn failed(&mut self, client: Option<IpAddr>, now: Instant) {
        self.recent.push(now);
        self.failed_by_client(client, now);
    }

    /// Records a failure that counts against this client only (a wrong setup
    /// code: 100 random bits need no limit shared by everyone, and a shared one
    /// would let anyone on the network hold the owner's claim back).
    pub fn failed_by_client(&mut self, client: Option<IpAddr>, now: Instant) {
        if let Some(c) = client {
            let f = self.clients.entry(c).or_insert(ClientFailures {
                count: 0,
                last: now,
            });
            f.count = f.count.saturating_add(1);
            f.last = now;
        }
    }

    /// Records a right passphrase: the client starts afresh.
    pub fn succeeded(&mut self, client: Option<IpAddr>) {
        if let Some(c) = client {
            self.clients.remove(&c);
        }
    }

    fn forget(&mut self, now: Instant) {
        self.recent
            .retain(|&t| now.saturating_duration_since(t) < GLOBAL_WINDOW);
        self.clients
            .retain(|_, f| now.saturating_duration_since(f.last) < FORGET_AFTER);
    }
}

fn wait_after(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(FREE_FAILURES).min(16);
    FIRST_WAIT.saturating_mul(1 << doublings).min(MAX_WAIT)
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_and_at_their_lifetime() {
        let t0 = Instant::now();
        let mut s = Sessions::new(Duration::from_secs(10), Duration::from_secs(25));
        let (id, info) = s.create(t0).unwrap();
        assert_eq!(id.len(), 43);
        assert_ne!(*id, *info.csrf);
        // Activity keeps it alive past the idle timeout...
        for k in 1..=2 {
            assert!(s.touch(&id, t0 + Duration::from_secs(9 * k)).is_some());
        }
        // ...but not past its lifetime.
        assert!(s.touch(&id, t0 + Duration::from_secs(25)).is_none());
        let (id, _) = s.create(t0).unwrap();
        assert!(s.touch(&id, t0 + Duration::from_secs(10)).is_none());
        assert!(s.touch("not a session", t0).is_none());
        assert!(s.is_empty());
    }

    #[test]
    fn purge_and_remove() {
        let t0 = Instant::now();
        let mut s = Sessions::new(Duration::from_secs(10), Duration::from_secs(100));
        let (a, _) = s.create(t0).unwrap();
        let (b, _) = s.create(t0 + Duration::from_secs(5)).unwrap();
        assert_eq!(s.purge(t0 + Duration::from_secs(11)), 1);
        assert!(s.touch(&a, t0 + Duration::from_secs(11)).is_none());
        s.remove(&b);
        assert!(s.is_empty());
    }

    #[test]
    fn sessions_ended_by_lock_are_remembered_a_while() {
        let t0 = Instant::now();
        let mut s = Sessions::new(Duration::from_secs(10), Duration::from_secs(100));
        let (a, _) = s.create(t0).unwrap();
        s.clear();
        assert!(s.ended_by_lock(&a));
        assert!(!s.ended_by_lock("never a session"));
        for _ in 0..LOCKED_REMEMBERED {
            s.create(t0).unwrap();
            s.clear();
        }
        assert!(
            !s.ended_by_lock(&a),
            "forgotten after {LOCKED_REMEMBERED} newer ones"
        );
    }

    #[test]
    fn csrf_comparison() {
        assert!(csrf_matches(b"abc", "abc"));
        assert!(!csrf_matches(b"abd", "abc"));
        assert!(!csrf_matches(b"ab", "abc"));
        assert!(!csrf_matches(b"", "abc"));
    }

    #[test]
    fn throttle_per_client_doubles_and_resets() {
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let mut t = Throttle::default();
        for _ in 0..FREE_FAILURES {
            assert!(t.check(Some(a), false, t0).is_ok());
            t.failed(Some(a), t0);
        }
        assert_eq!(t.check(Some(a), false, t0), Err(30));
        // Another client is not affected.
        assert!(t.check(Some(b), false, t0).is_ok());
        let later = t0 + Duration::from_secs(30);
        assert!(t.check(Some(a), false, later).is_ok());
        t.failed(Some(a), later);
        assert_eq!(t.check(Some(a), false, later), Err(60));
        t.succeeded(Some(a));
        assert!(t.check(Some(a), false, later).is_ok());
        assert_eq!(wait_after(100), MAX_WAIT);
    }

    #[test]
    fn throttle_overall() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        for i in 0..GLOBAL_FAILURES {
            let ip = IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8]);
            t.failed(Some(ip), t0);
        }
        let fresh: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(t.check(Some(fresh), false, t0), Err(60));
        // A known device is not held by everyone's failures...
        assert!(t.check(Some(fresh), true, t0).is_ok());
        // ...but by its own.
        let guesser = IpAddr::from([10, 0, 0, 0]);
        for _ in 0..FREE_FAILURES {
            t.failed(Some(guesser), t0);
        }
        assert!(t.check(Some(guesser), true, t0).is_err());
        assert!(t.check(Some(fresh), false, t0 + GLOBAL_WAIT).is_ok());
        // The window slides: old failures are forgotten.
        assert!(t.check(Some(fresh), false, t0 + GLOBAL_WINDOW).is_ok());
    }
}
