//! Connections through Tor, as a [`homepost_net::Dialer`].

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arti_client::{ErrorKind, HasKind as _, StreamPrefs, TorClient};
use homepost_net::dial::{BoxedConnection, DialFuture, Dialer};
use tor_rtcompat::PreferredRuntime;

use crate::Tor;

/// Opens connections through Tor by host name: the exit relay resolves the
/// name, the local resolver never sees it. `.onion` names reach onion
/// services. Names of this machine or its network (`localhost`, private
/// addresses) are refused by arti.
#[derive(Clone)]
pub struct TorDialer {
    client: Arc<TorClient<PreferredRuntime>>,
    bootstrapped: Arc<AtomicBool>,
    prefs: StreamPrefs,
}

impl std::fmt::Debug for TorDialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TorDialer").finish_non_exhaustive()
    }
}

impl Tor {
    /// A dialer over this Tor client. It refuses to dial (at once, with
    /// "Tor is still starting") until Tor has bootstrapped.
    pub fn dialer(&self) -> TorDialer {
        let mut prefs = StreamPrefs::new();
        prefs.connect_to_onion_services(arti_client::config::BoolOrAuto::Explicit(true));
        TorDialer {
            client: self.client.clone(),
            bootstrapped: self.bootstrapped.clone(),
            prefs,
        }
    }
}

impl Dialer for TorDialer {
    fn dial<'a>(&'a self, host: &'a str, port: u16) -> DialFuture<'a> {
        Box::pin(async move {
            if !(self.bootstrapped.load(Ordering::Acquire)
                || self.client.bootstrap_status().ready_for_traffic())
            {
                return Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "Tor is still starting",
                ));
            }
            // An IPv6 literal comes from a URL in brackets.
            let name = host.trim_start_matches('[').trim_end_matches(']');
            let stream = self
                .client
                .connect_with_prefs((name, port), &self.prefs)
                .await
                .map_err(|e| {
                    io::Error::new(
                        io_kind(e.kind()),
                        format!("Tor could not reach {host}:{port}: {e}"),
                    )
                })?;
            Ok(Box::new(stream) as BoxedConnection)
        })
    }
}

/// The nearest `io::ErrorKind` for an arti error, so callers can tell a
/// missing host from a timeout without parsing messages.
fn io_kind(kind: ErrorKind) -> io::ErrorKind {
    match kind {
        ErrorKind::BootstrapRequired | ErrorKind::TorAccessFailed => io::ErrorKind::NotConnected,
        ErrorKind::RemoteHostNotFound
        | ErrorKind::RemoteHostResolutionFailed
        | ErrorKind::OnionServiceNotFound => io::ErrorKind::NotFound,
        ErrorKind::RemoteConnectionRefused => io::ErrorKind::ConnectionRefused,
        ErrorKind::RemoteNetworkTimeout | ErrorKind::TorNetworkTimeout | ErrorKind::ExitTimeout => {
            io::ErrorKind::TimedOut
        }
        ErrorKind::ForbiddenStreamTarget
        | ErrorKind::ExitPolicyRejected
        | ErrorKind::OnionServiceMissingClientAuth
        | ErrorKind::OnionServiceWrongClientAuth => io::ErrorKind::PermissionDenied,
        ErrorKind::InvalidStreamTarget | ErrorKind::OnionServiceAddressInvalid => {
            io::ErrorKind::InvalidInput
        }
        _ => io::ErrorKind::Other,
    }
}
