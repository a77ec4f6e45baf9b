//! `homepost serve --config FILE`: the service's settings from a TOML file (on
//! the appliance, /etc/homepost/homepost.toml; docs/config.md), with flags on
//! the command line overriding it. A file that does not parse, or a setting out
//! of range, stops the start with the key and the line: the service never runs
//! half-configured.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use homepost_web::TlsSource;

use crate::cli::{Command, KeyLookupArg};

/// Settings read from the file; what it leaves out keeps its default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The data directory (`--data` and `HOMEPOST_DATA` override it).
    pub data_dir: Option<PathBuf>,
    /// Address and port to listen on.
    pub listen: Option<SocketAddr>,
    /// Other host names the box answers to.
    pub allow_hosts: Option<Vec<String>>,
    /// Minutes without a request before locking.
    pub idle_timeout: Option<Bounded<1, 1440>>,
    /// Hours to keep trying to send a message.
    pub outbox_lifetime: Option<Bounded<1, 2160>>,
    /// Where key lookups may go: `all`, `wkd` or `off`.
    pub key_lookup: Option<KeyLookup>,
    /// TLS for listening beyond loopback.
    pub tls: Option<Tls>,
    /// Tor inside the box.
    pub tor: Option<TorSettings>,
    /// Finding a new account's servers from its address.
    pub autoconfig: Option<AutoconfigSettings>,
}

/// The `[autoconfig]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoconfigSettings {
    /// The name server asked for SRV and MX records (default: the system's).
    pub name_server: Option<SocketAddr>,
    /// Mozilla's ISPDB: `true` (the default), `false` never to ask it, or
    /// another https:// base URL.
    pub ispdb: Option<Ispdb>,
}

/// Whether and where the ISPDB is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ispdb {
    /// Never asked.
    Off,
    /// Asked at this https:// base URL.
    At(String),
}

impl Ispdb {
    /// The URL to ask, if any.
    pub fn url(&self) -> Option<String> {
        match self {
            Ispdb::Off => None,
            Ispdb::At(url) => Some(url.clone()),
        }
    }
}

impl<'de> Deserialize<'de> for Ispdb {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            On(bool),
            Url(String),
        }
        match Raw::deserialize(d)
            .map_err(|_| serde::de::Error::custom("ispdb is true, false, or an https:// URL"))?
        {
            Raw::On(true) => Ok(Ispdb::At(homepost_autoconfig::ISPDB_URL.to_owned())),
            Raw::On(false) => Ok(Ispdb::Off),
            Raw::Url(url) if url.starts_with("https://") => Ok(Ispdb::At(url)),
            Raw::Url(url) => Err(serde::de::Error::custom(format!(
                "ispdb must be an https:// URL, not {url:?}"
            ))),
        }
    }
}

/// The `[tor]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TorSettings {
    /// OpenPGP key lookups go through Tor: the box's resolver and network
    /// never see whose key was looked up.
    #[serde(default)]
    pub lookups: bool,
    /// Another Tor network than the public one: an arti configuration
    /// fragment (a private test network's `arti.toml`).
    pub network: Option<PathBuf>,
}

/// A whole number in `MIN..=MAX`, refused with its range otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Bounded<const MIN: u64, const MAX: u64>(pub u64);

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(d)?;
        if (MIN..=MAX).contains(&n) {
            Ok(Bounded(n))
        } else {
            Err(serde::de::Error::custom(format!(
                "{n} is out of range: give a whole number from {MIN} to {MAX}"
            )))
        }
    }
}

/// `key_lookup` in the file.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyLookup {
    /// A URL the mail named, the domain's WKD and keys.openpgp.org.
    All,
    /// The domain's WKD only.
    Wkd,
    /// Nowhere.
    Off,
}

impl From<KeyLookup> for KeyLookupArg {
    fn from(k: KeyLookup) -> Self {
        match k {
            KeyLookup::All => KeyLookupArg::All,
            KeyLookup::Wkd => KeyLookupArg::Wkd,
            KeyLookup::Off => KeyLookupArg::Off,
        }
    }
}

/// The `[tls]` table: a self-signed certificate, or a certificate and its key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RawTls")]
pub struct Tls {
    /// Generate (once) and use a self-signed certificate.
    pub self_signed: bool,
    /// A certificate chain and its key (PEM files).
    pub files: Option<(PathBuf, PathBuf)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    #[serde(default)]
    self_signed: bool,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

impl TryFrom<RawTls> for Tls {
    type Error = String;

    fn try_from(raw: RawTls) -> Result<Self, String> {
        let files = match (raw.cert, raw.key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => return Err("give both `cert` and `key` (PEM files), or neither".into()),
        };
        if raw.self_signed && files.is_some() {
            return Err(
                "`self_signed = true` and `cert`/`key` exclude each other: choose one".into(),
            );
        }
        Ok(Tls {
            self_signed: raw.self_signed,
            files,
        })
    }
}

/// What `serve` runs with: for each setting the flag, else the file, else the
/// default.
pub struct ServeSettings {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Minutes without a request before locking.
    pub idle_timeout: u64,
    /// Hours to keep trying to send a message.
    pub outbox_lifetime: u64,
    /// Where key lookups may go.
    pub key_lookup: KeyLookupArg,
    /// Other host names the box answers to (the flags replace the file's list).
    pub allow_hosts: Vec<String>,
    /// TLS: a flag's certificate or `--tls-self-signed` beats the file's.
    pub tls: TlsSource,
}

/// The settings of `command` (a `serve`) over `file`; the defaults for any
/// other command.
pub fn settings(file: &FileConfig, command: &Command) -> ServeSettings {
    let (listen, idle_timeout, outbox_lifetime, key_lookup, allow_host, flag_tls, self_signed) =
        match command {
            Command::Serve {
                listen,
                idle_timeout,
                outbox_lifetime,
                key_lookup,
                allow_host,
                tls_cert,
                tls_key,
                tls_self_signed,
                ..
            } => (
                *listen,
                *idle_timeout,
                *outbox_lifetime,
                *key_lookup,
                allow_host.clone(),
                tls_cert.clone().zip(tls_key.clone()),
                *tls_self_signed,
            ),
            _ => (None, None, None, None, Vec::new(), None, false),
        };
    let file_tls = file.tls.clone().unwrap_or(Tls {
        self_signed: false,
        files: None,
    });
    let tls = match flag_tls {
        Some((cert, key)) => TlsSource::Files { cert, key },
        None if self_signed => TlsSource::SelfSigned,
        None => match file_tls.files {
            Some((cert, key)) => TlsSource::Files { cert, key },
            None if file_tls.self_signed => TlsSource::SelfSigned,
            None => TlsSource::Off,
        },
    };
    ServeSettings {
        listen: listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 33411))),
        idle_timeout: idle_timeout
            .or(file.idle_timeout.map(|b| b.0))
            .unwrap_or(30),
        outbox_lifetime: outbox_lifetime
            .or(file.outbox_lifetime.map(|b| b.0))
            .unwrap_or(96),
        key_lookup: key_lookup
            .or(file.key_lookup.map(KeyLookupArg::from))
            .unwrap_or(KeyLookupArg::All),
        allow_hosts: if allow_host.is_empty() {
            file.allow_hosts.clone().unwrap_or_default()
        } else {
            allow_host
        },
        tls,
    }
}

/// Reads and checks the file at `path`.
pub fn load(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "the configuration file {} is not right, so Homepost does not start: {e}",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn a_whole_file_reads() {
        let c = parse(
            r#"
data_dir = "/var/lib/homepost"
listen = "0.0.0.0:33411"
allow_hosts = ["mail.home.arpa"]
idle_timeout = 10
outbox_lifetime = 48
key_lookup = "wkd"
[tls]
self_signed = true
[tor]
lookups = true
[autoconfig]
name_server = "127.0.0.1:5353"
ispdb = false
"#,
        )
        .unwrap();
        let a = c.autoconfig.clone().unwrap_or_default();
        assert_eq!(a.name_server, Some("127.0.0.1:5353".parse().unwrap()));
        assert_eq!(a.ispdb, Some(Ispdb::Off));
        assert!(
            c.tor
                .as_ref()
                .is_some_and(|t| t.lookups && t.network.is_none())
        );
        assert_eq!(c.listen, Some("0.0.0.0:33411".parse().unwrap()));
        assert_eq!(c.idle_timeout.map(|b| b.0), Some(10));
        assert!(matches!(c.key_lookup, Some(KeyLookup::Wkd)));
        assert!(c.tls.is_some_and(|t| t.self_signed && t.files.is_none()));
        assert!(parse("").unwrap().listen.is_none());
    }

    /// The file the package installs as /etc/homepost/homepost.toml.
    #[test]
    fn the_shipped_file_reads() {
        let c = parse(include_str!("../../../systemd/homepost.toml")).unwrap();
        assert_eq!(c.listen, Some("0.0.0.0:33411".parse().unwrap()));
        assert!(c.tls.is_some_and(|t| t.self_signed));
    }

    #[test]
    fn mistakes_name_the_key_and_the_line() {
        let e = parse("listen = \"127.0.0.1:1\"\nlisten_on = \"x\"\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("listen_on"), "{e}");
        let e = parse("\n\nidle_timeout = 0\n").unwrap_err();
        assert!(e.contains("line 3") && e.contains("from 1 to 1440"), "{e}");
        let e = parse("key_lookup = \"sometimes\"\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("sometimes"), "{e}");
        let e = parse("listen = \"not an address\"\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("listen"), "{e}");
        let e = parse("[tls]\ncert = \"/c.pem\"\n").unwrap_err();
        assert!(e.contains("line 1") && e.contains("both"), "{e}");
        let e = parse("[tls]\nself_signed = true\ncert = \"a\"\nkey = \"b\"\n").unwrap_err();
        assert!(e.contains("exclude"), "{e}");
        let e = parse("[autoconfig]\nispdb = \"http://x\"\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("https://"), "{e}");
        let e = parse("[autoconfig]\nname_server = \"dns.example\"\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("name_server"), "{e}");
    }
}
