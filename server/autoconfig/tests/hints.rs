//! Hints about providers: an OAuth2-only clientConfig, and a provider from
//! the built-in table found through the ISPDB.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use homepost_autoconfig::{Discoverer, HintKind, Options};
use support::{Answer, Ca, MapDialer, Web, file};

#[tokio::test]
async fn an_oauth2_only_file_and_a_known_provider_give_hints() {
    let ca = Ca::new();
    let oauth_only = Answer::Body(Bytes::from_static(
        br#"<clientConfig><emailProvider id="o"><displayName>Tokens Inc</displayName>
  <incomingServer type="imap"><hostname>imap.tokens.example</hostname><port>993</port><socketType>SSL</socketType>
    <authentication>OAuth2</authentication></incomingServer>
  <outgoingServer type="smtp"><hostname>smtp.tokens.example</hostname><port>465</port><socketType>SSL</socketType>
    <authentication>OAuth2</authentication></outgoingServer>
</emailProvider></clientConfig>"#,
    ));
    let web = Web::start(
        &ca,
        vec![
            (
                "autoconfig.tokens.example",
                "/mail/config-v1.1.xml",
                oauth_only,
            ),
            (
                "ispdb.test",
                "/v1.1/gmail.com",
                file("imap.gmail.com", "smtp.gmail.com"),
            ),
        ],
        &[],
    )
    .await;
    let dialer =
        MapDialer::default().routes(&["autoconfig.tokens.example", "ispdb.test"], web.addr);
    let d = Discoverer::new(Arc::new(dialer))
        .with_roots(ca.roots.clone())
        .with_options(Options {
            timeout: Duration::from_secs(3),
            ispdb: Some("https://ispdb.test/v1.1/".into()),
            ..Options::default()
        });
    let found = d.discover("hal@tokens.example").await.unwrap();
    assert_eq!(found.hints.len(), 1, "{:?}", found.hints);
    assert_eq!(found.hints[0].provider, "Tokens Inc");
    assert_eq!(found.hints[0].kind, HintKind::OAuth2);

    let found = d.discover("hal@gmail.com").await.unwrap();
    assert_eq!(found.best().unwrap().incoming[0].host, "imap.gmail.com");
    assert_eq!(found.hints.len(), 1);
    assert_eq!(found.hints[0].kind, HintKind::AppPassword);
    assert!(found.hints[0].text.contains("app password"));
}
