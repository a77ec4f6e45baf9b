//! Opening byte streams: the seam where requests get routed over Tor.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};

/// A byte stream to a server (TCP, or a stream through Tor).
pub trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// A connection behind a box, as dialers return it.
pub type BoxedConnection = Box<dyn Connection>;

/// What [`Dialer::dial`] returns.
pub type DialFuture<'a> = Pin<Box<dyn Future<Output = io::Result<BoxedConnection>> + Send + 'a>>;

/// Opens connections to `host:port`. The host is a name, not an address: a
/// dialer that routes over Tor resolves it at the exit, so the local resolver
/// never learns whose key was looked up.
pub trait Dialer: Send + Sync {
    /// Connects to `host:port`.
    fn dial<'a>(&'a self, host: &'a str, port: u16) -> DialFuture<'a>;
}

/// Plain TCP with the system resolver, to public addresses only.
///
/// Host names come from mail (an address's domain, a URL in an `OpenPGP:`
/// header), so a stranger could otherwise make the box probe its own home
/// network or itself; addresses that are not globally routable are refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct Direct;

impl Dialer for Direct {
    fn dial<'a>(&'a self, host: &'a str, port: u16) -> DialFuture<'a> {
        Box::pin(async move {
            // An IPv6 literal comes from a URL in brackets.
            let name = host.trim_start_matches('[').trim_end_matches(']');
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, port)).await?.collect();
            let public: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| is_public(a.ip()))
                .collect();
            if public.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    if addrs.is_empty() {
                        "the name has no address"
                    } else {
                        "it is on a local or private network, which lookups never reach"
                    },
                ));
            }
            let stream = tokio::net::TcpStream::connect(&public[..]).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as BoxedConnection)
        })
    }
}

/// Whether `ip` is a globally routable unicast address (not loopback,
/// private, link-local, shared, documentation, multicast or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            let first = seg[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // Unique local, link-local and the old site-local.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                // Documentation, 6to4 and NAT64 (they carry IPv4 addresses),
                // IPv4-compatible (::a.b.c.d).
                || (first == 0x2001 && seg[1] == 0x0db8)
                || first == 0x2002
                || (first == 0x64 && seg[1] == 0xff9b)
                || seg[..6] == [0; 6])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:192.168.1.1",
            "2001:db8::1",
            "2002:c0a8:101::1",
            "64:ff9b::c0a8:101",
            "::c0a8:101",
            "fec0::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.215.14", "1.1.1.1", "2a01:4f8::1", "::ffff:8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn the_direct_dialer_refuses_this_machine_and_the_home_network() {
        // A listener on loopback: reachable, but never by a lookup.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        for host in ["127.0.0.1", "localhost", "192.168.1.1", "[::1]", "::1"] {
            let Err(err) = Direct.dial(host, port).await else {
                panic!("{host} was dialed");
            };
            assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{host}: {err}");
        }
    }
}
