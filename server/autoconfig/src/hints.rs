//! Providers whose servers refuse the account's normal password, or want
//! IMAP turned on first: a small table (checked against the address's
//! domain, its mail exchanger's domain and the servers' domains, so Google
//! Workspace and Microsoft 365 domains are recognised too), plus
//! clientConfig files that offer only OAuth2 logins.
//!
//! The table is kept small on purpose: big providers whose rules are well
//! known. Each entry says what the user must do in words the app can show.

use crate::address::registrable_domain;

/// What the user has to do before the password will work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HintKind {
    /// Make an app password in the provider's account settings and use it
    /// instead of the account password.
    AppPassword,
    /// The provider accepts only an OAuth2 sign-in, which Homepost cannot do
    /// yet.
    OAuth2,
    /// Turn IMAP/POP3 access on in the provider's web mail settings.
    EnableAccess,
    /// The provider offers no IMAP or POP3 to other mail apps at all (or only
    /// through its own program on a computer).
    NoAccess,
}

impl HintKind {
    /// A stable short name: `app_password`, `oauth2`, `enable_access` or
    /// `no_access`.
    pub fn code(self) -> &'static str {
        match self {
            HintKind::AppPassword => "app_password",
            HintKind::OAuth2 => "oauth2",
            HintKind::EnableAccess => "enable_access",
            HintKind::NoAccess => "no_access",
        }
    }
}

/// A note for the user about the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// The provider's name.
    pub provider: String,
    /// What is needed.
    pub kind: HintKind,
    /// What to do, in plain words.
    pub text: String,
}

struct Provider {
    name: &'static str,
    /// Registrable domains: the mail domains, and those of its servers and
    /// mail exchangers.
    domains: &'static [&'static str],
    kind: HintKind,
    text: &'static str,
}

/// The known providers. Sources: each provider's help pages on using other
/// mail apps (as of 2025).
const PROVIDERS: &[Provider] = &[
    Provider {
        name: "Google",
        domains: &["gmail.com", "googlemail.com", "google.com"],
        kind: HintKind::AppPassword,
        text: "Google does not accept your account password in other mail apps. Turn on \
               2-Step Verification, then create an app password (Google Account → Security → \
               App passwords) and use it here.",
    },
    Provider {
        name: "Microsoft",
        domains: &[
            "outlook.com",
            "hotmail.com",
            "live.com",
            "msn.com",
            "office365.com",
            "hotmail.co.uk",
            "hotmail.fr",
            "hotmail.de",
            "hotmail.it",
            "outlook.de",
            "outlook.fr",
            "live.co.uk",
            "live.de",
            "live.fr",
        ],
        kind: HintKind::OAuth2,
        text: "Microsoft accepts only its own sign-in page (OAuth2) for mail apps on Outlook.com \
               and most Microsoft 365 accounts, which Homepost does not support yet.",
    },
    Provider {
        name: "Yahoo",
        domains: &[
            "yahoo.com",
            "ymail.com",
            "rocketmail.com",
            "yahoo.co.uk",
            "yahoo.de",
            "yahoo.fr",
        ],
        kind: HintKind::AppPassword,
        text: "Yahoo needs an app password for other mail apps: Account info → Account security \
               → Generate app password, and use it here.",
    },
    Provider {
        name: "iCloud",
        domains: &["icloud.com", "me.com", "mac.com"],
        kind: HintKind::AppPassword,
        text: "iCloud Mail needs an app-specific password: with two-factor authentication on, \
               create one in your Apple Account (Sign-In and Security → App-Specific Passwords) \
               and use it here.",
    },
    Provider {
        name: "AOL",
        domains: &["aol.com", "aim.com"],
        kind: HintKind::AppPassword,
        text: "AOL needs an app password for other mail apps: Account info → Account security → \
               Generate app password, and use it here.",
    },
    Provider {
        name: "GMX / WEB.DE",
        domains: &["gmx.net", "gmx.de", "gmx.at", "gmx.ch", "gmx.com", "web.de"],
        kind: HintKind::EnableAccess,
        text: "GMX and WEB.DE may refuse other mail apps until you allow it: in the web mail, \
               Settings → POP3 & IMAP, turn access on.",
    },
    Provider {
        name: "Fastmail",
        domains: &["fastmail.com", "fastmail.fm", "messagingengine.com"],
        kind: HintKind::AppPassword,
        text: "Fastmail needs an app password for other mail apps: in Settings → Privacy & \
               Security, create one with access to mail (IMAP and SMTP) and use it here.",
    },
    Provider {
        name: "Zoho",
        domains: &[
            "zoho.com",
            "zohomail.com",
            "zoho.eu",
            "zohomail.eu",
            "zoho.in",
        ],
        kind: HintKind::EnableAccess,
        text: "Zoho Mail lets other mail apps in only once IMAP access is on (Settings → Mail \
               Accounts → IMAP); with two-factor authentication, use an app-specific password.",
    },
    Provider {
        name: "Proton",
        domains: &["proton.me", "protonmail.com", "protonmail.ch", "pm.me"],
        kind: HintKind::NoAccess,
        text: "Proton Mail does not let other mail apps in directly: only through Proton Mail \
               Bridge, a program for a computer on a paid plan. Forward your mail to an account \
               with IMAP, or import it (Proton's export) instead.",
    },
    Provider {
        name: "Tuta",
        domains: &[
            "tuta.com",
            "tutanota.com",
            "tutanota.de",
            "tutamail.com",
            "tuta.io",
            "keemail.me",
        ],
        kind: HintKind::NoAccess,
        text: "Tuta offers no IMAP or POP3 for other mail apps, so Homepost cannot fetch from it. \
               Export your mail from Tuta and import it instead.",
    },
];

/// The hints for a discovery: providers matched by any of `domains` (host
/// names are reduced to their registrable domain first), then an OAuth2
/// hint for each clientConfig provider in `oauth2_only` not already named.
/// Sorted and without duplicates.
pub fn hints<'a>(
    domains: impl IntoIterator<Item = &'a str>,
    oauth2_only: impl IntoIterator<Item = &'a str>,
) -> Vec<Hint> {
    let mut out: Vec<Hint> = Vec::new();
    for host in domains {
        let domain = registrable_domain(host);
        for p in PROVIDERS {
            if p.domains.contains(&domain.as_str()) && !out.iter().any(|h| h.provider == p.name) {
                out.push(Hint {
                    provider: p.name.to_owned(),
                    kind: p.kind,
                    text: p.text.to_owned(),
                });
            }
        }
    }
    for provider in oauth2_only {
        if !out
            .iter()
            .any(|h| h.provider == provider || h.kind == HintKind::OAuth2)
        {
            out.push(Hint {
                provider: provider.to_owned(),
                kind: HintKind::OAuth2,
                text: format!(
                    "{provider} offers only an OAuth2 sign-in for some of its servers, which \
                     Homepost does not support yet; if it offers app passwords, use one."
                ),
            });
        }
    }
    out.sort_by(|a, b| (a.kind, &a.provider).cmp(&(b.kind, &b.provider)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_by_domain_server_or_mx() {
        let h = hints(["gmail.com"], []);
        assert_eq!(h.len(), 1);
        assert_eq!(
            (h[0].provider.as_str(), h[0].kind),
            ("Google", HintKind::AppPassword)
        );
        // A Workspace domain, known by its mail exchanger.
        let h = hints(["example.org", "aspmx.l.google.com"], []);
        assert_eq!(h[0].provider, "Google");
        // A Microsoft 365 domain by its servers.
        let h = hints(["example.org", "outlook.office365.com"], []);
        assert_eq!(h[0].kind, HintKind::OAuth2);
        assert!(hints(["example.org", "mail.example.org"], []).is_empty());
        // Not fooled by a look-alike.
        assert!(hints(["gmail.com.example.org"], []).is_empty());
        // A Fastmail-hosted domain by its mail exchanger; Proton and Tuta say so.
        let h = hints(["example.org", "in1-smtp.messagingengine.com"], []);
        assert_eq!(h[0].provider, "Fastmail");
        assert_eq!(hints(["pm.me"], [])[0].kind, HintKind::NoAccess);
        assert_eq!(hints(["tutanota.de"], [])[0].kind, HintKind::NoAccess);
    }

    #[test]
    fn oauth2_from_the_file() {
        let h = hints(["example.org"], ["Example Mail"]);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].kind, HintKind::OAuth2);
        assert!(h[0].text.starts_with("Example Mail offers only"));
        // The table's words win for a known provider.
        let h = hints(["outlook.com"], ["Microsoft"]);
        assert_eq!(h.len(), 1);
    }
}
