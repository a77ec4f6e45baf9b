//! The address being set up, and the host-name rules every source shares:
//! what a host name may look like, what is loopback, and which registrable
//! domain a host belongs to.

use std::net::IpAddr;

use crate::Error;

/// An e-mail address split for autoconfig: the local part as typed, the
/// domain lower-cased and in its ASCII (IDNA) form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress {
    local: String,
    domain: String,
}

impl EmailAddress {
    /// Parses `local@domain`. The domain must be a host name with at least
    /// two labels (an internationalised one is converted to its ASCII form).
    pub fn parse(address: &str) -> Result<Self, Error> {
        let address = address.trim();
        let invalid = |why: &'static str| Error::InvalidAddress {
            address: address.to_owned(),
            why,
        };
        let (local, domain) = address
            .rsplit_once('@')
            .ok_or_else(|| invalid("it has no @"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(invalid("the part before the @ is empty or too long"));
        }
        if local.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid(
                "the part before the @ has characters mail addresses do not use",
            ));
        }
        let domain = idna::domain_to_ascii(domain.trim_end_matches('.'))
            .map_err(|_| invalid("the domain is not a valid domain name"))?;
        if !is_host_name(&domain) || !domain.contains('.') {
            return Err(invalid("the domain is not a valid domain name"));
        }
        Ok(EmailAddress {
            local: local.to_owned(),
            domain,
        })
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        &self.local
    }

    /// The domain, lower-case ASCII.
    pub fn domain(&self) -> &str {
        &self.domain
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

/// Whether `host` is a DNS host name (letters, digits, hyphens and
/// underscores in dot-separated labels of 1 to 63 bytes, 253 at most).
pub fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Normalises a server host name from outside (a clientConfig file, an SRV
/// or MX target): lower case, no trailing dot; `None` if it is neither a host
/// name nor an IP address.
pub fn normalize_host(host: &str) -> Option<String> {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return Some(bare.to_owned());
    }
    is_host_name(&host).then_some(host)
}

/// Whether `host` is this machine by its name or address alone: `localhost`
/// (and names under it) or a loopback address. Names are not resolved: a
/// public name that resolves to 127.0.0.1 is not loopback here.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// The registrable domain of `host` ("example.co.uk" for
/// "mail.example.co.uk"), by the public suffix list. An IP address or a
/// name that is itself a public suffix is its own domain.
pub fn registrable_domain(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<IpAddr>().is_ok() {
        return host;
    }
    psl::domain_str(&host).map_or(host.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let a = EmailAddress::parse(" Alice.Smith@Example.ORG ").unwrap();
        assert_eq!(a.local_part(), "Alice.Smith");
        assert_eq!(a.domain(), "example.org");
        assert_eq!(a.to_string(), "Alice.Smith@example.org");
        let a = EmailAddress::parse("jörg@bücher.example").unwrap();
        assert_eq!(a.domain(), "xn--bcher-kva.example");
        for bad in [
            "",
            "alice",
            "@example.org",
            "alice@",
            "alice@localhost",
            "alice@exa mple.org",
            "alice@-x.org",
            "al ice@example.org",
            "a\tb@example.org",
            "alice@example..org",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(
            normalize_host("IMAP.Example.org."),
            Some("imap.example.org".into())
        );
        assert_eq!(normalize_host("[::1]"), Some("::1".into()));
        assert_eq!(normalize_host("a b"), None);
        assert_eq!(normalize_host("."), None);
        assert_eq!(normalize_host("x/y"), None);
        for host in [
            "localhost",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "imap.localhost",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["example.org", "10.0.0.1", "localhost.example.org"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn registrable_domains() {
        assert_eq!(registrable_domain("mail.example.co.uk"), "example.co.uk");
        assert_eq!(registrable_domain("aspmx.l.google.com."), "google.com");
        assert_eq!(
            registrable_domain("autoconfig.direct.example"),
            "direct.example"
        );
        assert_eq!(registrable_domain("127.0.0.1"), "127.0.0.1");
        assert_eq!(registrable_domain("co.uk"), "co.uk");
    }
}
