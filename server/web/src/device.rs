//! "Known device" cookies: a browser that has unlocked the box once gets a signed,
//! HttpOnly cookie that lets it past the wait which many failed logins from
//! everywhere impose on everyone (so a stranger cannot lock the owner out). It does
//! not let it past its own failures' wait, and it opens nothing by itself.
//!
//! The signing key must be usable while the box is locked, so it cannot come from
//! the vault: it is a random key in `device.key` in the data directory (mode 0600),
//! made when the first cookie is issued. It protects no mail: whoever reads it can
//! only mint cookies that skip the global wait.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The key file in the data directory.
pub const KEY_FILE: &str = "device.key";
/// The cookie over plain HTTP (loopback, onion).
pub const COOKIE: &str = "homepost_device";
/// The cookie over TLS (`__Host-`: this host only, path `/`, Secure).
pub const COOKIE_TLS: &str = "__Host-homepost_device";
/// How long a device stays known without unlocking again (browsers cap cookies
/// at 400 days).
pub const LIFETIME: Duration = Duration::from_secs(400 * 86_400);

const CONTEXT: &[u8] = b"homepost known device v1";

/// The signing key, read from (or written to) its file when first needed.
pub struct DeviceKeys {
    path: PathBuf,
    key: Mutex<Option<Zeroizing<[u8; 32]>>>,
}

impl DeviceKeys {
    /// Keys kept in `path`.
    pub fn new(path: PathBuf) -> DeviceKeys {
        DeviceKeys {
            path,
            key: Mutex::new(None),
        }
    }

    /// A new cookie value for a browser that just unlocked. `None` when the key
    /// cannot be made or stored (the browser then stays unknown; logged).
    pub fn issue(&self, now: SystemTime) -> Option<Zeroizing<String>> {
        let key = self.key(true)?;
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).ok()?;
        let issued = unix(now);
        let body = format!("v1.{issued}.{}", URL_SAFE_NO_PAD.encode(nonce));
        let mac = URL_SAFE_NO_PAD.encode(sign(&key, &body));
        Some(Zeroizing::new(format!("{body}.{mac}")))
    }

    /// Whether a presented cookie value is one this box issued, not yet expired.
    pub fn verify(&self, value: &str, now: SystemTime) -> bool {
        let Some((body, mac)) = value.rsplit_once('.') else {
            return false;
        };
        let mut parts = body.split('.');
        let (Some("v1"), Some(issued), Some(_nonce), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let Ok(issued) = issued.parse::<u64>() else {
            return false;
        };
        let now = unix(now);
        if issued > now.saturating_add(300) || now.saturating_sub(issued) > LIFETIME.as_secs() {
            return false;
        }
        let Ok(mac) = URL_SAFE_NO_PAD.decode(mac) else {
            return false;
        };
        let Some(key) = self.key(false) else {
            return false;
        };
        mac_of(&key, body).verify_slice(&mac).is_ok()
    }

    /// The key: loaded from its file, or (when `create`) made and stored.
    fn key(&self, create: bool) -> Option<Zeroizing<[u8; 32]>> {
        let mut held = self
            .key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(k) = held.as_ref() {
            return Some(k.clone());
        }
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                let key: [u8; 32] = bytes.as_slice().try_into().ok()?;
                *held = Some(Zeroizing::new(key));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let mut key = Zeroizing::new([0u8; 32]);
                getrandom::fill(key.as_mut()).ok()?;
                if let Err(e) = write_new(&self.path, key.as_ref()) {
                    tracing::warn!(error = %e, path = %self.path.display(), "cannot store the known-device key");
                    return None;
                }
                *held = Some(key);
            }
            Err(_) => return None,
        }
        held.clone()
    }
}

fn mac_of(key: &[u8; 32], body: &str) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(CONTEXT);
    mac.update(body.as_bytes());
    mac
}

fn sign(key: &[u8; 32], body: &str) -> [u8; 32] {
    mac_of(key, body).finalize().into_bytes().into()
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Writes a new file readable by its owner only; fails if it exists.
fn write_new(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_cookies_verify_and_forgeries_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let keys = DeviceKeys::new(dir.path().join(KEY_FILE));
        let now = SystemTime::now();
        // No key yet: nothing verifies, and checking does not create one.
        assert!(!keys.verify("v1.1.AAAA.AAAA", now));
        assert!(!dir.path().join(KEY_FILE).exists());
        let cookie = keys.issue(now).unwrap();
        assert!(keys.verify(&cookie, now));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        // Another process (a restart) reads the same key.
        let again = DeviceKeys::new(dir.path().join(KEY_FILE));
        assert!(again.verify(&cookie, now));
        // Expired, from the future, tampered with, or garbage: refused.
        assert!(!keys.verify(&cookie, now + LIFETIME + Duration::from_secs(1)));
        assert!(!keys.verify(&cookie, now - Duration::from_secs(3600)));
        let (body, mac) = cookie.rsplit_once('.').unwrap();
        let later = body.replacen("v1.", "v1.9", 1);
        assert!(!keys.verify(&format!("{later}.{mac}"), now));
        assert!(!keys.verify(
            &format!("{body}.{}", URL_SAFE_NO_PAD.encode([0u8; 32])),
            now
        ));
        for junk in ["", ".", "v1", "v1...", "v2.1.a.b", "v1.x.a.b"] {
            assert!(!keys.verify(junk, now), "{junk:?}");
        }
        // Another box's key does not verify this box's cookies.
        let other = tempfile::tempdir().unwrap();
        let other = DeviceKeys::new(other.path().join(KEY_FILE));
        other.issue(now).unwrap();
        assert!(!other.verify(&cookie, now));
    }
}
