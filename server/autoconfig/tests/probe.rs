//! Probing: the default prober against real Dovecot (IMAP, POP3) and the
//! aiosmtpd submission server on loopback, implicit TLS and STARTTLS; and
//! discovery's last source, probing common names, with its ranking.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use homepost_autoconfig::{
    Discoverer, GreetingProber, Options, Outcome, ProbeError, ProbeFuture, Prober, Protocol,
    Security, Server, Source, Step, Username,
};
use homepost_testing::peers::{Dovecot, SmtpServer};
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use support::{Ca, MapDialer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn server(protocol: Protocol, host: &str, port: u16, security: Security) -> Server {
    Server {
        protocol,
        host: host.into(),
        port,
        security,
        username: Username::EmailAddress,
        authentication: Vec::new(),
    }
}

fn trust(pem: &std::path::Path) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(pem).unwrap())
        .unwrap();
    roots
}

#[tokio::test]
async fn the_greeting_probe_against_dovecot_and_a_submission_server() {
    let dovecot = tokio::task::spawn_blocking(Dovecot::start).await.unwrap();
    let (starttls, implicit) =
        tokio::task::spawn_blocking(|| (SmtpServer::start(false), SmtpServer::start(true)))
            .await
            .unwrap();
    let local = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    // The servers' certificates are for "localhost"; ports stand in for the
    // usual ones.
    let dialer = Arc::new(
        MapDialer::default()
            .route("localhost:993", local(dovecot.imaps))
            .route("localhost:143", local(dovecot.imap))
            .route("localhost:995", local(dovecot.pop3s))
            .route("localhost:110", local(dovecot.pop3))
            .route("localhost:465", local(implicit.port))
            .route("localhost:587", local(starttls.port)),
    );
    let dovecot_prober =
        GreetingProber::with_roots(dialer.clone(), trust(&dovecot.dir.join("cert.pem")));
    for (protocol, port, security) in [
        (Protocol::Imap, 993, Security::Tls),
        (Protocol::Imap, 143, Security::StartTls),
        (Protocol::Pop3, 995, Security::Tls),
        (Protocol::Pop3, 110, Security::StartTls),
    ] {
        let s = server(protocol, "localhost", port, security);
        assert_eq!(dovecot_prober.probe(&s).await, Ok(()), "{s}");
    }
    let smtp = |pem| GreetingProber::with_roots(dialer.clone(), trust(pem));
    let s = server(Protocol::Smtp, "localhost", 465, Security::Tls);
    assert_eq!(smtp(&implicit.cert).probe(&s).await, Ok(()), "{s}");
    let s = server(Protocol::Smtp, "localhost", 587, Security::StartTls);
    assert_eq!(smtp(&starttls.cert).probe(&s).await, Ok(()), "{s}");

    // The wrong protocol, the wrong security, an untrusted certificate, and
    // plain off loopback: each refused with a reason.
    let err = |r: Result<(), ProbeError>| r.unwrap_err().0;
    let wrong = err(dovecot_prober
        .probe(&server(Protocol::Imap, "localhost", 995, Security::Tls))
        .await);
    assert!(
        wrong.contains("does not greet like an IMAP server"),
        "{wrong}"
    );
    let wrong = err(dovecot_prober
        .probe(&server(Protocol::Imap, "localhost", 143, Security::Tls))
        .await);
    assert!(wrong.contains("no secure connection"), "{wrong}");
    let web_pki = GreetingProber::new(dialer.clone());
    let untrusted = err(web_pki
        .probe(&server(Protocol::Imap, "localhost", 993, Security::Tls))
        .await);
    assert!(untrusted.contains("no secure connection"), "{untrusted}");
    let plain = err(dovecot_prober
        .probe(&server(
            Protocol::Imap,
            "imap.example.org",
            143,
            Security::Plain,
        ))
        .await);
    assert!(plain.contains("not probed"), "{plain}");
    // Plain on loopback is allowed (Dovecot's STARTTLS port greets in clear).
    let s = server(Protocol::Imap, "localhost", 143, Security::Plain);
    assert_eq!(dovecot_prober.probe(&s).await, Ok(()));
}

/// A TLS listener with a certificate for `names` that greets with `line`.
async fn greeter(ca: &Ca, names: &[&str], line: &'static str) -> SocketAddr {
    let acceptor = ca.acceptor(names);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = tls.write_all(line.as_bytes()).await;
                let mut sink = [0u8; 256];
                while matches!(tls.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

#[tokio::test]
async fn probing_common_names_is_the_last_resort() {
    let ca = Ca::new();
    let imap = greeter(
        &ca,
        &["imap.probe.example"],
        "* OK [CAPABILITY IMAP4rev1] ready\r\n",
    )
    .await;
    let smtp = greeter(
        &ca,
        &["smtp.probe.example"],
        "220-smtp.probe.example\r\n220 ready\r\n",
    )
    .await;
    let wrong_name = greeter(&ca, &["other.example"], "* OK ready\r\n").await;
    let silent = support::silent().await;
    let dialer = Arc::new(
        MapDialer::default()
            .route("imap.probe.example:993", imap)
            .route("mail.probe.example:993", wrong_name)
            .route("smtp.probe.example:465", smtp)
            .route("mail.probe.example:587", silent),
    );
    // No DNS (as with Tor on), no autoconfig answers: probing decides.
    let d = Discoverer::new(dialer.clone())
        .with_roots(ca.roots.clone())
        .with_options(Options {
            timeout: Duration::from_millis(500),
            ispdb: None,
            ..Options::default()
        });
    let found = d.discover("max@probe.example").await.unwrap();
    let best = found.best().unwrap();
    assert_eq!(best.source, Source::Probe);
    assert_eq!(
        best.incoming,
        [server(
            Protocol::Imap,
            "imap.probe.example",
            993,
            Security::Tls
        )]
    );
    assert_eq!(
        best.outgoing,
        [server(
            Protocol::Smtp,
            "smtp.probe.example",
            465,
            Security::Tls
        )]
    );
    let outcome = |target: &str| {
        found
            .log
            .iter()
            .find(|a| a.step == Step::Probe && a.target == target)
            .unwrap_or_else(|| panic!("{target}: {:#?}", found.log))
            .outcome
            .clone()
    };
    assert!(outcome("imap.probe.example:993 (tls)").is_found());
    assert!(
        matches!(outcome("mail.probe.example:993 (tls)"), Outcome::Failed(ref w) if w.contains("no secure connection")),
        "{:?}",
        outcome("mail.probe.example:993 (tls)")
    );
    assert_eq!(
        outcome("mail.probe.example:587 (starttls)"),
        Outcome::Failed("no answer within 500 ms".into())
    );
    assert!(
        matches!(outcome("imap.probe.example:143 (starttls)"), Outcome::Failed(ref w) if w.contains("no such host"))
    );
    // Eight probes: imap./mail. on 993 and 143, smtp./mail. on 465 and 587.
    assert_eq!(
        found.log.iter().filter(|a| a.step == Step::Probe).count(),
        8
    );
}

/// Answers yes for the listed `host:port`s.
struct Yes(HashSet<String>);

impl Prober for Yes {
    fn probe<'a>(&'a self, server: &'a Server) -> ProbeFuture<'a> {
        let ok = self.0.contains(&format!("{}:{}", server.host, server.port));
        Box::pin(async move {
            if ok {
                Ok(())
            } else {
                Err(ProbeError("no".into()))
            }
        })
    }
}

#[tokio::test]
async fn probed_starttls_ranks_below_implicit_tls() {
    let yes = Yes([
        "imap.x.example:143",
        "mail.x.example:993",
        "smtp.x.example:587",
        "mail.x.example:465",
    ]
    .map(String::from)
    .into());
    let d = Discoverer::new(Arc::new(MapDialer::default()))
        .with_prober(Arc::new(yes))
        .with_options(Options {
            ispdb: None,
            ..Options::default()
        });
    let found = d.discover("ned@x.example").await.unwrap();
    let best = found.best().unwrap();
    let rank = |list: &[Server]| {
        list.iter()
            .map(|s| (s.host.clone(), s.port, s.security))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rank(&best.incoming),
        [
            ("mail.x.example".into(), 993, Security::Tls),
            ("imap.x.example".into(), 143, Security::StartTls),
        ]
    );
    assert_eq!(
        rank(&best.outgoing),
        [
            ("mail.x.example".into(), 465, Security::Tls),
            ("smtp.x.example".into(), 587, Security::StartTls),
        ]
    );
    // Probing turned off: nothing is tried.
    let d = Discoverer::new(Arc::new(MapDialer::default())).with_options(Options {
        ispdb: None,
        probe: false,
        ..Options::default()
    });
    let found = d.discover("ned@x.example").await.unwrap();
    assert!(found.candidates.is_empty());
    let probe: Vec<_> = found.log.iter().filter(|a| a.step == Step::Probe).collect();
    assert_eq!(probe.len(), 1);
    assert_eq!(probe[0].outcome, Outcome::Skipped("turned off".into()));
}
