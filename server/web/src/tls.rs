//! TLS for listening beyond loopback: certificate files, or a self-signed
//! certificate generated once and kept in the data directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// Where the certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// Plain HTTP (loopback only).
    Off,
    /// PEM files: the certificate chain and its private key.
    Files {
        /// Certificate chain, leaf first.
        cert: PathBuf,
        /// The private key.
        key: PathBuf,
    },
    /// A self-signed certificate, generated on first use in `DATA/tls/`.
    SelfSigned,
}

/// A ready TLS configuration.
pub struct Tls {
    /// For the listener.
    pub config: rustls::ServerConfig,
    /// SHA-256 of the leaf certificate, `AB:CD:...`: what a browser shows to compare.
    pub fingerprint: String,
}

/// The directory of the generated certificate.
pub const TLS_DIR: &str = "tls";

/// Builds the TLS configuration, generating the self-signed certificate if needed.
pub fn load(source: &TlsSource, data_dir: &Path) -> Result<Option<Tls>, Error> {
    let (cert, key) = match source {
        TlsSource::Off => return Ok(None),
        TlsSource::Files { cert, key } => (cert.clone(), key.clone()),
        TlsSource::SelfSigned => self_signed(
            &data_dir.join(TLS_DIR),
            &["homepost.local", "localhost", "127.0.0.1", "::1"],
        )?,
    };
    from_files(&cert, &key).map(Some)
}

/// The TLS configuration of a PEM certificate chain and its key.
pub(crate) fn from_files(cert: &Path, key: &Path) -> Result<Tls, Error> {
    let tls_err = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        Error::Tls(format!("{what} {}: {e}", path.display()))
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| tls_err("cannot read the certificate", cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls_err("cannot read the certificate", cert, &e))?;
    let Some(leaf) = chain.first() else {
        return Err(Error::Tls(format!("no certificate in {}", cert.display())));
    };
    let fingerprint = fingerprint(leaf);
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| tls_err("cannot read the private key", key, &e))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, key_der)
    .map_err(|e| Error::Tls(format!("the certificate and key do not fit together: {e}")))?;
    Ok(Tls {
        config,
        fingerprint,
    })
}

/// `AB:CD:...` SHA-256 of a DER certificate (the same form mail servers' are shown in).
pub use homepost_transport::tls::fingerprint;

/// The certificate and key in `dir` for `names`, generated on first use. The
/// key is not encrypted (the server must present it before anyone unlocks); it
/// is readable by the owner only.
pub(crate) fn self_signed(dir: &Path, names: &[&str]) -> Result<(PathBuf, PathBuf), Error> {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    let io = |e: std::io::Error| Error::Tls(format!("cannot write {}: {e}", dir.display()));
    create_private_dir(dir).map_err(io)?;
    let names = names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let generated = rcgen::generate_simple_self_signed(names)
        .map_err(|e| Error::Tls(format!("cannot generate a certificate: {e}")))?;
    write_private(&key, generated.signing_key.serialize_pem().as_bytes()).map_err(io)?;
    write_private(&cert, generated.cert.pem().as_bytes()).map_err(io)?;
    tracing::info!(path = %cert.display(), "generated a self-signed TLS certificate");
    Ok((cert, key))
}

pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
