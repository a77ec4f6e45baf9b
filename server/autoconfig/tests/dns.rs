//! SRV and MX through hickory-resolver against a real authoritative DNS
//! server (hickory-server) on loopback: the resolver itself, SRV records as
//! a source (priority order, `.` as not offered), the mail exchanger's
//! domain, and where they stand among the other sources.

mod support;

use std::sync::Arc;
use std::time::Duration;

use homepost_autoconfig::{
    AutoconfigKind, Discoverer, Dns, HickoryDns, HintKind, MxRecord, Options, Outcome, Security,
    Source, SrvRecord, Step,
};
use support::{Ca, DnsServer, MapDialer, Rr, Web, file};

fn options() -> Options {
    Options {
        timeout: Duration::from_secs(3),
        ispdb: Some("https://ispdb.test/v1.1/".into()),
        ..Options::default()
    }
}

#[tokio::test]
async fn the_resolver_reads_srv_and_mx_from_a_name_server() {
    let server = DnsServer::start(
        "example.org",
        vec![
            Rr::Srv("_imaps._tcp.example.org", 10, 5, 993, "imap.example.org."),
            Rr::Srv("_imaps._tcp.example.org", 0, 1, 9993, "imap2.example.org."),
            Rr::Srv("_pop3._tcp.example.org", 0, 0, 0, "."),
            Rr::Mx("example.org", 10, "mx.example.org."),
        ],
    )
    .await;
    let dns = HickoryDns::with_name_server(server.addr);
    let mut srv = dns.srv("_imaps._tcp.example.org").await.unwrap();
    srv.sort_by_key(|r| r.priority);
    assert_eq!(
        srv,
        [
            SrvRecord {
                priority: 0,
                weight: 1,
                port: 9993,
                target: "imap2.example.org".into()
            },
            SrvRecord {
                priority: 10,
                weight: 5,
                port: 993,
                target: "imap.example.org".into()
            },
        ]
    );
    assert_eq!(
        dns.srv("_pop3._tcp.example.org").await.unwrap()[0].target,
        "."
    );
    assert_eq!(
        dns.mx("example.org").await.unwrap(),
        [MxRecord {
            preference: 10,
            exchange: "mx.example.org".into()
        }]
    );
    // A name that does not exist, or has no such record: empty, not an error.
    assert!(dns.srv("_imap._tcp.example.org").await.unwrap().is_empty());
    assert!(dns.mx("nothing.example.org").await.unwrap().is_empty());
}

#[tokio::test]
async fn srv_records_by_priority_with_a_dot_as_not_offered() {
    let dns = DnsServer::start(
        "srv.example",
        vec![
            // Implicit TLS for IMAP is explicitly not offered...
            Rr::Srv("_imaps._tcp.srv.example", 0, 0, 0, "."),
            // ...STARTTLS is, on two hosts.
            Rr::Srv("_imap._tcp.srv.example", 20, 0, 143, "backup.srv.example."),
            Rr::Srv("_imap._tcp.srv.example", 10, 0, 143, "mail.srv.example."),
            Rr::Srv(
                "_submissions._tcp.srv.example",
                0,
                0,
                465,
                "mail.srv.example.",
            ),
            Rr::Srv(
                "_submission._tcp.srv.example",
                0,
                0,
                587,
                "mail.srv.example.",
            ),
        ],
    )
    .await;
    let d = Discoverer::new(Arc::new(MapDialer::default()))
        .with_dns(Arc::new(HickoryDns::with_name_server(dns.addr)))
        .with_options(options());
    let found = d.discover("ivy@srv.example").await.unwrap();
    let best = found.best().unwrap();
    assert_eq!(best.source, Source::Srv);
    let incoming: Vec<(&str, u16, Security)> = best
        .incoming
        .iter()
        .map(|s| (s.host.as_str(), s.port, s.security))
        .collect();
    assert_eq!(
        incoming,
        [
            ("mail.srv.example", 143, Security::StartTls),
            ("backup.srv.example", 143, Security::StartTls),
        ]
    );
    let outgoing: Vec<(u16, Security)> =
        best.outgoing.iter().map(|s| (s.port, s.security)).collect();
    assert_eq!(outgoing, [(465, Security::Tls), (587, Security::StartTls)]);
    let imaps = found
        .log
        .iter()
        .find(|a| a.target == "_imaps._tcp.srv.example")
        .unwrap();
    assert_eq!(imaps.outcome, Outcome::NotOffered);
    let pop3 = found
        .log
        .iter()
        .find(|a| a.target == "_pop3._tcp.srv.example")
        .unwrap();
    assert!(matches!(pop3.outcome, Outcome::Nothing(_)), "{pop3}");
    // SRV gave a complete configuration: no probing.
    assert!(
        found
            .log
            .iter()
            .any(|a| a.step == Step::Probe && matches!(a.outcome, Outcome::Skipped(_)))
    );
}

#[tokio::test]
async fn srv_ranks_below_the_domains_files_and_the_ispdb() {
    let ca = Ca::new();
    let dns = DnsServer::start(
        "ranked.example",
        vec![
            Rr::Srv(
                "_imaps._tcp.ranked.example",
                0,
                0,
                993,
                "srv-imap.ranked.example.",
            ),
            Rr::Srv(
                "_submissions._tcp.ranked.example",
                0,
                0,
                465,
                "srv-smtp.ranked.example.",
            ),
            Rr::Mx("ranked.example", 10, "mx.host.example."),
        ],
    )
    .await;
    let web = Web::start(
        &ca,
        vec![
            (
                "ispdb.test",
                "/v1.1/ranked.example",
                file("db-imap.ranked.example", "db-smtp.ranked.example"),
            ),
            (
                "autoconfig.host.example",
                "/mail/config-v1.1.xml",
                file("imap.host.example", "smtp.host.example"),
            ),
        ],
        &[],
    )
    .await;
    let dialer =
        Arc::new(MapDialer::default().routes(&["ispdb.test", "autoconfig.host.example"], web.addr));
    let d = Discoverer::new(dialer)
        .with_roots(ca.roots.clone())
        .with_dns(Arc::new(HickoryDns::with_name_server(dns.addr)))
        .with_options(options());
    let found = d.discover("jo@ranked.example").await.unwrap();
    let order: Vec<&Source> = found.candidates.iter().map(|c| &c.source).collect();
    assert!(
        matches!(
            order[..],
            [
                Source::Autoconfig {
                    kind: AutoconfigKind::Ispdb,
                    ..
                },
                Source::Srv,
                Source::Mx {
                    kind: AutoconfigKind::Provider,
                    ..
                },
            ]
        ),
        "{order:#?}"
    );
    assert_eq!(
        found.best().unwrap().incoming[0].host,
        "db-imap.ranked.example"
    );
    assert_eq!(
        found.candidates[1].incoming[0].host,
        "srv-imap.ranked.example"
    );
    let Source::Mx {
        mx_host, domain, ..
    } = &found.candidates[2].source
    else {
        unreachable!()
    };
    assert_eq!(
        (mx_host.as_str(), domain.as_str()),
        ("mx.host.example", "host.example")
    );
}

#[tokio::test]
async fn a_hosted_domain_is_found_through_its_mail_exchanger() {
    // A Google Workspace-like domain: no file of its own, no SRV records;
    // its MX is under google.com, whose configuration the ISPDB has.
    let ca = Ca::new();
    let dns = DnsServer::start(
        "hosted.example",
        vec![
            Rr::Mx("hosted.example", 5, "alt1.aspmx.l.google.com."),
            Rr::Mx("hosted.example", 1, "aspmx.l.google.com."),
        ],
    )
    .await;
    let web = Web::start(
        &ca,
        vec![(
            "ispdb.test",
            "/v1.1/google.com",
            file("imap.gmail.com", "smtp.gmail.com"),
        )],
        &[],
    )
    .await;
    let dialer = Arc::new(MapDialer::default().route("ispdb.test", web.addr));
    let d = Discoverer::new(dialer)
        .with_roots(ca.roots.clone())
        .with_dns(Arc::new(HickoryDns::with_name_server(dns.addr)))
        .with_options(options());
    let found = d.discover("kim@hosted.example").await.unwrap();
    let best = found.best().unwrap();
    assert_eq!(
        best.source,
        Source::Mx {
            kind: AutoconfigKind::Ispdb,
            mx_host: "aspmx.l.google.com".into(),
            domain: "google.com".into(),
            url: "https://ispdb.test/v1.1/google.com".into(),
        }
    );
    assert_eq!(
        best.incoming[0].username.for_address(&found.address),
        "kim@hosted.example"
    );
    // The Workspace account needs an app password, and the hint says so.
    assert_eq!(found.hints.len(), 1, "{:?}", found.hints);
    assert_eq!(
        (found.hints[0].provider.as_str(), found.hints[0].kind),
        ("Google", HintKind::AppPassword)
    );
    // The ISPDB was also asked for the domain itself, first.
    assert!(
        web.requests()
            .contains(&"ispdb.test/v1.1/hosted.example".to_owned())
    );
}

#[tokio::test]
async fn a_dead_name_server_is_a_clear_failure_and_the_rest_goes_on() {
    // A UDP socket that never answers, and no TCP listener.
    let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let d = Discoverer::new(Arc::new(MapDialer::default()))
        .with_dns(Arc::new(HickoryDns::with_name_server(
            dead.local_addr().unwrap(),
        )))
        .with_options(Options {
            timeout: Duration::from_millis(500),
            ispdb: None,
            probe: false,
            ..options()
        });
    let found = d.discover("lee@dead.example").await.unwrap();
    assert!(found.candidates.is_empty());
    let srv: Vec<_> = found.log.iter().filter(|a| a.step == Step::Srv).collect();
    assert_eq!(srv.len(), 6);
    for a in srv.iter().chain(
        found
            .log
            .iter()
            .filter(|a| a.step == Step::Mx)
            .collect::<Vec<_>>()
            .iter(),
    ) {
        assert!(matches!(a.outcome, Outcome::Failed(_)), "{a}");
    }
}
