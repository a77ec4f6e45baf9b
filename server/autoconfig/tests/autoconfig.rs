//! Discovery through clientConfig files served over HTTPS on loopback:
//! precedence among the domain's files and the ISPDB, placeholders, and
//! each way a source can fail (bad XML, http, another domain, silence)
//! handing over to the next.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use homepost_autoconfig::{
    AutoconfigKind, Discoverer, Discovery, Error, Options, Outcome, Protocol, Security, Source,
    Step, Username,
};
use support::{Answer, Ca, MapDialer, Web, file};

const CONFIG_PATH: &str = "/mail/config-v1.1.xml";
const WELL_KNOWN_PATH: &str = "/.well-known/autoconfig/mail/config-v1.1.xml";
const ISPDB: &str = "https://ispdb.test/v1.1/";

fn options() -> Options {
    Options {
        timeout: Duration::from_secs(3),
        ispdb: Some(ISPDB.to_owned()),
        ..Options::default()
    }
}

/// Discovery over a dialer that sends `hosts` to the web server (and
/// nothing else anywhere), trusting the test CA, without DNS.
fn discoverer(
    ca: &Ca,
    web: &Web,
    hosts: &[&str],
    options: Options,
) -> (Discoverer, Arc<MapDialer>) {
    let dialer = Arc::new(MapDialer::default().routes(hosts, web.addr));
    let d = Discoverer::new(dialer.clone())
        .with_roots(ca.roots.clone())
        .with_options(options);
    (d, dialer)
}

fn attempt<'a>(
    d: &'a Discovery,
    step: Step,
    target_contains: &str,
) -> &'a homepost_autoconfig::Attempt {
    d.log
        .iter()
        .find(|a| a.step == step && a.target.contains(target_contains))
        .unwrap_or_else(|| panic!("no {step} attempt for {target_contains}: {:#?}", d.log))
}

fn kinds(d: &Discovery) -> Vec<String> {
    d.candidates
        .iter()
        .map(|c| match &c.source {
            Source::Autoconfig { kind, .. } => kind.as_str().to_owned(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn the_domains_own_file_comes_first_with_placeholders_filled() {
    let ca = Ca::new();
    let own = Answer::Body(Bytes::from_static(
        br#"<clientConfig version="1.1"><emailProvider id="example.org">
  <domain>example.org</domain><displayName>Example Mail</displayName>
  <incomingServer type="imap"><hostname>imap.%EMAILDOMAIN%</hostname><port>143</port>
    <socketType>STARTTLS</socketType><username>%EMAILLOCALPART%</username></incomingServer>
  <incomingServer type="imap"><hostname>imap.%EMAILDOMAIN%</hostname><port>993</port>
    <socketType>SSL</socketType><username>%EMAILLOCALPART%</username></incomingServer>
  <incomingServer type="pop3"><hostname>pop.example.org</hostname><port>995</port>
    <socketType>SSL</socketType><username>u-%EMAILLOCALPART%-%EMAILDOMAIN%</username></incomingServer>
  <outgoingServer type="smtp"><hostname>smtp.example.org</hostname><port>587</port>
    <socketType>STARTTLS</socketType><username>%EMAILADDRESS%</username></outgoingServer>
  <outgoingServer type="smtp"><hostname>smtp.example.org</hostname><port>465</port>
    <socketType>SSL</socketType><username>%EMAILADDRESS%</username></outgoingServer>
</emailProvider></clientConfig>"#,
    ));
    let web = Web::start(
        &ca,
        vec![
            ("autoconfig.example.org", CONFIG_PATH, own),
            (
                "example.org",
                WELL_KNOWN_PATH,
                file("imap.wk.example", "smtp.wk.example"),
            ),
            (
                "ispdb.test",
                "/v1.1/example.org",
                file("imap.db.example", "smtp.db.example"),
            ),
        ],
        &[],
    )
    .await;
    let (d, _) = discoverer(
        &ca,
        &web,
        &["autoconfig.example.org", "example.org", "ispdb.test"],
        options(),
    );
    let found = d.discover("alice@Example.org").await.unwrap();

    assert_eq!(
        kinds(&found),
        ["autoconfig", "well-known"],
        "{:#?}",
        found.log
    );
    let best = found.best().unwrap();
    assert_eq!(best.provider.as_deref(), Some("Example Mail"));
    let incoming: Vec<(Protocol, &str, u16, Security)> = best
        .incoming
        .iter()
        .map(|s| (s.protocol, s.host.as_str(), s.port, s.security))
        .collect();
    // Implicit TLS ranks above STARTTLS, though the file listed it second;
    // IMAP above POP3.
    assert_eq!(
        incoming,
        [
            (Protocol::Imap, "imap.example.org", 993, Security::Tls),
            (Protocol::Imap, "imap.example.org", 143, Security::StartTls),
            (Protocol::Pop3, "pop.example.org", 995, Security::Tls),
        ]
    );
    assert_eq!(best.incoming[0].username, Username::LocalPart);
    assert_eq!(
        best.incoming[2].username,
        Username::Other("u-alice-example.org".into())
    );
    assert_eq!(
        best.incoming[0].username.for_address(&found.address),
        "alice"
    );
    assert_eq!(
        best.outgoing.iter().map(|s| s.port).collect::<Vec<_>>(),
        [465, 587]
    );
    assert_eq!(
        best.outgoing[0].username.for_address(&found.address),
        "alice@example.org"
    );

    // The address went to the domain's own autoconfig host; the ISPDB was
    // not asked, since the domain publishes its own file.
    let requests = web.requests();
    assert!(
        requests.contains(&format!(
            "autoconfig.example.org{CONFIG_PATH}?emailaddress=alice%40example.org"
        )),
        "{requests:?}"
    );
    assert!(
        !requests.iter().any(|r| r.starts_with("ispdb.test")),
        "{requests:?}"
    );
    let ispdb = attempt(
        &found,
        Step::Autoconfig(AutoconfigKind::Ispdb),
        "ispdb.test",
    );
    assert!(matches!(ispdb.outcome, Outcome::Skipped(_)), "{ispdb}");
    // No DNS given: SRV and MX say why they were skipped.
    let srv = attempt(&found, Step::Srv, "example.org");
    assert!(srv.outcome.to_string().contains("Tor"), "{srv}");
    assert!(matches!(
        attempt(&found, Step::Mx, "example.org").outcome,
        Outcome::Skipped(_)
    ));
    // A complete configuration was found: nothing was probed.
    assert!(matches!(
        attempt(&found, Step::Probe, "example.org").outcome,
        Outcome::Skipped(_)
    ));
}

#[tokio::test]
async fn malformed_xml_gives_way_to_the_well_known_file() {
    let ca = Ca::new();
    let web = Web::start(
        &ca,
        vec![
            (
                "autoconfig.example.net",
                CONFIG_PATH,
                Answer::Body(Bytes::from_static(
                    b"<clientConfig><emailProvider><incomingServer>",
                )),
            ),
            (
                "example.net",
                WELL_KNOWN_PATH,
                file("imap.example.net", "smtp.example.net"),
            ),
        ],
        &[],
    )
    .await;
    let (d, _) = discoverer(
        &ca,
        &web,
        &["autoconfig.example.net", "example.net"],
        options(),
    );
    let found = d.discover("bob@example.net").await.unwrap();
    let bad = attempt(
        &found,
        Step::Autoconfig(AutoconfigKind::Provider),
        "autoconfig.example.net",
    );
    assert!(
        bad.outcome.to_string().contains("not well-formed XML"),
        "{bad}"
    );
    assert_eq!(kinds(&found), ["well-known"]);
    assert_eq!(found.best().unwrap().incoming[0].host, "imap.example.net");
}

#[tokio::test]
async fn the_ispdb_is_asked_only_when_the_domain_has_no_file_and_only_if_allowed() {
    let ca = Ca::new();
    let web = Web::start(
        &ca,
        vec![
            // An HTML error page with status 200: not a clientConfig.
            (
                "autoconfig.isp.example",
                CONFIG_PATH,
                Answer::Body(Bytes::from_static(b"<html><body>Welcome!</body></html>")),
            ),
            ("isp.example", WELL_KNOWN_PATH, Answer::Status(500)),
            (
                "ispdb.test",
                "/v1.1/isp.example",
                file("imap.isp.example", "smtp.isp.example"),
            ),
        ],
        &[],
    )
    .await;
    let hosts = ["autoconfig.isp.example", "isp.example", "ispdb.test"];
    let (d, _) = discoverer(&ca, &web, &hosts, options());
    let found = d.discover("carol@isp.example").await.unwrap();
    assert_eq!(kinds(&found), ["ISPDB"]);
    assert_eq!(
        found.best().unwrap().source,
        Source::Autoconfig {
            kind: AutoconfigKind::Ispdb,
            url: format!("{ISPDB}isp.example")
        }
    );
    let html = attempt(
        &found,
        Step::Autoconfig(AutoconfigKind::Provider),
        "isp.example",
    );
    assert!(
        html.outcome
            .to_string()
            .contains("not a Thunderbird clientConfig"),
        "{html}"
    );
    let wk = attempt(
        &found,
        Step::Autoconfig(AutoconfigKind::WellKnown),
        "isp.example",
    );
    assert_eq!(
        wk.outcome,
        Outcome::Failed("the server answered HTTP 500".into())
    );
    // The ISPDB is told the domain, never the address.
    assert!(
        web.requests()
            .contains(&"ispdb.test/v1.1/isp.example".to_owned())
    );

    // Turned off, it is not asked at all, and the log says so.
    let before = web.requests().len();
    let (d, dialer) = discoverer(
        &ca,
        &web,
        &hosts,
        Options {
            ispdb: None,
            ..options()
        },
    );
    let found = d.discover("carol@isp.example").await.unwrap();
    assert!(found.best().is_none());
    assert!(!dialer.dialed().iter().any(|h| h.starts_with("ispdb.test")));
    assert!(
        !web.requests()[before..]
            .iter()
            .any(|r| r.starts_with("ispdb.test"))
    );
    let off = attempt(
        &found,
        Step::Autoconfig(AutoconfigKind::Ispdb),
        "thunderbird.net",
    );
    assert!(off.outcome.to_string().contains("turned off"), "{off}");

    // An ISPDB address that is not https is refused outright.
    let d = Discoverer::new(Arc::new(MapDialer::default())).with_options(Options {
        ispdb: Some("http://ispdb.test/v1.1/".into()),
        ..options()
    });
    assert!(matches!(
        d.discover("carol@isp.example").await,
        Err(Error::InvalidIspdbUrl { .. })
    ));
}

#[tokio::test]
async fn a_redirect_to_http_is_refused_and_the_next_source_used() {
    let ca = Ca::new();
    let web = Web::start(
        &ca,
        vec![
            (
                "autoconfig.plainweb.example",
                CONFIG_PATH,
                Answer::Redirect("http://autoconfig.plainweb.example/mail/config-v1.1.xml".into()),
            ),
            (
                "plainweb.example",
                WELL_KNOWN_PATH,
                file("imap.plainweb.example", "smtp.plainweb.example"),
            ),
        ],
        &[],
    )
    .await;
    let (d, dialer) = discoverer(
        &ca,
        &web,
        &["autoconfig.plainweb.example", "plainweb.example"],
        options(),
    );
    let found = d.discover("dave@plainweb.example").await.unwrap();
    let refused = attempt(
        &found,
        Step::Autoconfig(AutoconfigKind::Provider),
        "plainweb",
    );
    assert!(
        refused.outcome.to_string().contains("plain http"),
        "{refused}"
    );
    assert_eq!(kinds(&found), ["well-known"]);
    // Nothing was ever dialed on port 80.
    assert!(
        dialer.dialed().iter().all(|h| h.ends_with(":443")),
        "{:?}",
        dialer.dialed()
    );
}

#[tokio::test]
async fn redirects_stay_within_the_registrable_domain() {
    let ca = Ca::new();
    let web = Web::start(
        &ca,
        vec![
            // Within the domain: followed.
            (
                "autoconfig.moved.example",
                CONFIG_PATH,
                Answer::Redirect("https://config.moved.example/v2/mail.xml".into()),
            ),
            (
                "config.moved.example",
                "/v2/mail.xml",
                file("imap.moved.example", "smtp.moved.example"),
            ),
            // To another domain: refused, and that domain never asked.
            (
                "autoconfig.hijacked.example",
                CONFIG_PATH,
                Answer::Redirect(
                    "https://autoconfig.elsewhere.example/mail/config-v1.1.xml".into(),
                ),
            ),
            (
                "autoconfig.elsewhere.example",
                CONFIG_PATH,
                file("imap.elsewhere.example", "smtp.elsewhere.example"),
            ),
            (
                "hijacked.example",
                WELL_KNOWN_PATH,
                file("imap.hijacked.example", "smtp.hijacked.example"),
            ),
        ],
        &[],
    )
    .await;
    let hosts = [
        "autoconfig.moved.example",
        "config.moved.example",
        "autoconfig.hijacked.example",
        "autoconfig.elsewhere.example",
        "hijacked.example",
    ];
    let (d, _) = discoverer(
        &ca,
        &web,
        &hosts,
        Options {
            ispdb: None,
            ..options()
        },
    );
    let moved = d.discover("erin@moved.example").await.unwrap();
    assert_eq!(moved.best().unwrap().incoming[0].host, "imap.moved.example");
    assert_eq!(kinds(&moved), ["autoconfig"]);

    let hijacked = d.discover("erin@hijacked.example").await.unwrap();
    let refused = attempt(
        &hijacked,
        Step::Autoconfig(AutoconfigKind::Provider),
        "hijacked",
    );
    assert!(
        refused.outcome.to_string().contains("another domain"),
        "{refused}"
    );
    assert_eq!(kinds(&hijacked), ["well-known"]);
    assert_eq!(
        hijacked.best().unwrap().incoming[0].host,
        "imap.hijacked.example"
    );
    assert!(
        !web.requests()
            .iter()
            .any(|r| r.starts_with("autoconfig.elsewhere.example")),
        "{:?}",
        web.requests()
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_and_the_next_source_wins() {
    let ca = Ca::new();
    let web = Web::start(
        &ca,
        vec![(
            "slow.example",
            WELL_KNOWN_PATH,
            file("imap.slow.example", "smtp.slow.example"),
        )],
        &[],
    )
    .await;
    let silent = support::silent().await;
    let dialer = Arc::new(
        MapDialer::default()
            .route("autoconfig.slow.example", silent)
            .route("slow.example", web.addr),
    );
    let d = Discoverer::new(dialer)
        .with_roots(ca.roots.clone())
        .with_options(Options {
            timeout: Duration::from_millis(400),
            ..options()
        });
    let started = Instant::now();
    let found = d.discover("frank@slow.example").await.unwrap();
    let elapsed = started.elapsed();
    let timed_out = attempt(
        &found,
        Step::Autoconfig(AutoconfigKind::Provider),
        "slow.example",
    );
    assert_eq!(
        timed_out.outcome,
        Outcome::Failed("no answer within 400 ms".into())
    );
    assert_eq!(kinds(&found), ["well-known"]);
    // The sources ran side by side: one time limit, not one per source.
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
}

#[tokio::test]
async fn plain_servers_are_refused_unless_on_this_machine() {
    let ca = Ca::new();
    let xml = |imap_host: &str| {
        Answer::Body(Bytes::from(format!(
            r#"<clientConfig><emailProvider id="p">
  <incomingServer type="imap"><hostname>{imap_host}</hostname><port>143</port><socketType>plain</socketType></incomingServer>
  <outgoingServer type="smtp"><hostname>{imap_host}</hostname><port>25</port></outgoingServer>
</emailProvider></clientConfig>"#
        )))
    };
    let web = Web::start(
        &ca,
        vec![
            (
                "autoconfig.cleartext.example",
                CONFIG_PATH,
                xml("mail.cleartext.example"),
            ),
            ("autoconfig.home.example", CONFIG_PATH, xml("127.0.0.1")),
        ],
        &[],
    )
    .await;
    let hosts = ["autoconfig.cleartext.example", "autoconfig.home.example"];
    let (d, _) = discoverer(
        &ca,
        &web,
        &hosts,
        Options {
            ispdb: None,
            probe: false,
            ..options()
        },
    );
    let found = d.discover("gina@cleartext.example").await.unwrap();
    assert!(found.candidates.is_empty(), "{:#?}", found.candidates);
    let a = attempt(
        &found,
        Step::Autoconfig(AutoconfigKind::Provider),
        "cleartext",
    );
    assert_eq!(
        a.outcome,
        Outcome::Failed("the file lists no server Homepost can use".into())
    );
    assert_eq!(a.notes.len(), 2, "{a}");
    assert!(a.notes[0].contains("no TLS"), "{a}");

    let found = d.discover("gina@home.example").await.unwrap();
    let best = found.best().unwrap();
    assert_eq!(best.incoming[0].security, Security::Plain);
    assert_eq!(best.incoming[0].host, "127.0.0.1");
}

#[tokio::test]
async fn an_oversized_answer_is_not_read() {
    let ca = Ca::new();
    let mut huge = String::from("<clientConfig><emailProvider id=\"big\"><displayName>");
    huge.push_str(&"x".repeat(64 * 1024));
    huge.push_str("</displayName></emailProvider></clientConfig>");
    let web = Web::start(
        &ca,
        vec![
            (
                "autoconfig.big.example",
                CONFIG_PATH,
                Answer::Body(Bytes::from(huge)),
            ),
            (
                "big.example",
                WELL_KNOWN_PATH,
                file("imap.big.example", "smtp.big.example"),
            ),
        ],
        &[],
    )
    .await;
    let hosts = ["autoconfig.big.example", "big.example"];
    let options = Options {
        max_body: 16 * 1024,
        ..options()
    };
    let (d, _) = discoverer(&ca, &web, &hosts, options);
    let found = d.discover("olga@big.example").await.unwrap();
    let big = attempt(
        &found,
        Step::Autoconfig(AutoconfigKind::Provider),
        "big.example",
    );
    assert_eq!(
        big.outcome,
        Outcome::Failed("the answer is larger than 16384 bytes".into())
    );
    assert_eq!(kinds(&found), ["well-known"]);
}
