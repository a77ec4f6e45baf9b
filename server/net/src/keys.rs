//! Looking up a correspondent's OpenPGP key: the URL their mail announced,
//! their domain's Web Key Directory (advanced, then direct) and
//! keys.openpgp.org, in that order, stopping at the first key that carries
//! the address.

use std::time::SystemTime;

use homepost_pgp::Certificate;
use homepost_pgp::discovery::{self, HttpsUrl, KeySource, OpenPgpHeader};

use crate::http::Client;

/// Which sources to ask.
#[derive(Debug, Clone, Copy)]
pub struct LookupOptions {
    /// The URL a correspondent's mail announced (`OpenPGP: url=`), a server
    /// they chose.
    pub announced: bool,
    /// The address's own domain (WKD): only the mail provider learns of it.
    pub wkd: bool,
    /// keys.openpgp.org, a third party that learns whose key was asked for.
    pub keys_openpgp_org: bool,
}

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions {
            announced: true,
            wkd: true,
            keys_openpgp_org: true,
        }
    }
}

/// One source asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Which source.
    pub source: KeySource,
    /// The URL asked.
    pub url: String,
    /// What happened (its `Display` is the plain words the app shows).
    pub outcome: Outcome,
}

/// What asking one source gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A key for the address, with this fingerprint.
    Found(String),
    /// An announced URL was not asked: the mail named no fingerprint for it,
    /// so it could hand out anyone's key.
    NotAskedWithoutFingerprint,
    /// The source has no key for the address.
    NoKey,
    /// The server answered with this HTTP error status.
    HttpStatus(u16),
    /// The answer is not an OpenPGP key.
    NotAKey,
    /// The key there is not the one the mail named.
    DifferentKey,
    /// Only keys for other addresses (this many) were there.
    OtherAddresses(usize),
    /// The request failed (no such host, refused, too large, not https...).
    Failed(String),
}

impl Outcome {
    /// Whether a key was found.
    pub fn is_found(&self) -> bool {
        matches!(self, Outcome::Found(_))
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Found(fpr) => write!(f, "found {fpr}"),
            Outcome::NotAskedWithoutFingerprint => {
                f.write_str("not asked: the mail named no fingerprint for it")
            }
            Outcome::NoKey => f.write_str("no key there"),
            Outcome::HttpStatus(status) => write!(f, "the server answered HTTP {status}"),
            Outcome::NotAKey => f.write_str("the answer is not an OpenPGP key"),
            Outcome::DifferentKey => f.write_str("a different key than the one the mail named"),
            Outcome::OtherAddresses(n) => write!(f, "only keys for other addresses ({n})"),
            Outcome::Failed(why) => f.write_str(why),
        }
    }
}

/// The result of [`lookup`].
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    /// The key found and where, if any.
    pub found: Option<(Certificate, KeySource)>,
    /// Every source asked, in order.
    pub attempts: Vec<Attempt>,
}

/// Looks up the key of `address`. `announced` is what the correspondent's
/// `OpenPGP:` header said, if anything. Failures of single sources are in
/// [`Lookup::attempts`]; only an address no lookup can be made for is an
/// error.
pub async fn lookup(
    client: &Client,
    address: &str,
    announced: Option<&OpenPgpHeader>,
    options: LookupOptions,
    now: SystemTime,
) -> Result<Lookup, homepost_pgp::Error> {
    let wkd = discovery::wkd_urls(address)?;
    let vks = discovery::keys_openpgp_org_url(address)?;
    let mut plan: Vec<(KeySource, HttpsUrl)> = Vec::new();
    let mut out = Lookup::default();
    if let Some(a) = announced.filter(|_| options.announced)
        && let Some(url) = a.url.clone()
    {
        if a.names_a_fingerprint() {
            plan.push((KeySource::Announced, url));
        } else {
            // Without the fingerprint, the URL could hand out anyone's key.
            out.attempts.push(Attempt {
                source: KeySource::Announced,
                url: url.to_string(),
                outcome: Outcome::NotAskedWithoutFingerprint,
            });
        }
    }
    if options.wkd {
        plan.push((KeySource::WkdAdvanced, wkd.advanced));
        plan.push((KeySource::WkdDirect, wkd.direct));
    }
    if options.keys_openpgp_org {
        plan.push((KeySource::KeysOpenpgpOrg, vks));
    }
    for (source, url) in plan {
        let outcome = match client.get(&url).await {
            Err(e) => Outcome::Failed(e.to_string()),
            Ok(r) if r.status == 404 => Outcome::NoKey,
            Ok(r) if !r.is_success() => Outcome::HttpStatus(r.status),
            Ok(r) => match discovery::keys_for(&r.body, address, now) {
                Err(_) => Outcome::NotAKey,
                Ok(k) => match k.best {
                    Some(cert)
                        if source != KeySource::Announced
                            || announced.is_none_or(|a| a.matches(&cert)) =>
                    {
                        out.attempts.push(Attempt {
                            source,
                            url: url.to_string(),
                            outcome: Outcome::Found(cert.fingerprint().to_hex()),
                        });
                        out.found = Some((cert, source));
                        return Ok(out);
                    }
                    Some(_) => Outcome::DifferentKey,
                    None if k.other_addresses > 0 => Outcome::OtherAddresses(k.other_addresses),
                    None => Outcome::NoKey,
                },
            },
        };
        tracing::debug!(source = source.as_str(), %outcome, "key lookup");
        out.attempts.push(Attempt {
            source,
            url: url.to_string(),
            outcome,
        });
    }
    Ok(out)
}
