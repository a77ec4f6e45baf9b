use proptest::prelude::*;

use super::*;

fn alice() -> EmailAddress {
    EmailAddress::parse("alice.smith@example.org").unwrap()
}

/// Shaped like the ISPDB's files, with the cases real files have: several
/// incoming servers of both kinds, placeholders, OAuth2 beside passwords,
/// and an entry of a type Homepost does not speak.
const FULL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.org">
    <domain>example.org</domain>
    <domain>Example.NET</domain>
    <displayName>Example &amp; Co Mail</displayName>
    <displayShortName>Example</displayShortName>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <authentication>OAuth2</authentication>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <incomingServer type="pop3">
      <hostname>pop.example.org</hostname>
      <port>995</port>
      <socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-cleartext</authentication>
      <pop3><leaveMessagesOnServer>true</leaveMessagesOnServer></pop3>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.example.org</hostname>
      <port>143</port>
      <socketType>STARTTLS</socketType>
      <username>mail-%EMAILLOCALPART%</username>
      <authentication>password-encrypted</authentication>
    </incomingServer>
    <incomingServer type="exchange">
      <hostname>outlook.example.org</hostname>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname><![CDATA[smtp.example.org]]></hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <authentication>OAuth2</authentication>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>plain.example.org</hostname>
      <port>25</port>
      <socketType>plain</socketType>
    </outgoingServer>
    <documentation url="https://example.org/help"><descr lang="en">Help</descr></documentation>
  </emailProvider>
  <webMail><loginPage url="https://mail.example.org/"/></webMail>
</clientConfig>"#;

#[test]
fn a_full_file() {
    let c = parse(FULL.as_bytes(), &alice()).unwrap();
    assert_eq!(c.provider_id.as_deref(), Some("example.org"));
    assert_eq!(c.display_name.as_deref(), Some("Example & Co Mail"));
    assert_eq!(c.domains, ["example.org", "example.net"]);
    assert_eq!(c.incoming.len(), 3);
    let imap = &c.incoming[0];
    assert_eq!(
        (imap.protocol, imap.host.as_str(), imap.port, imap.security),
        (Protocol::Imap, "imap.example.org", 993, Security::Tls)
    );
    assert_eq!(imap.username, Username::EmailAddress);
    assert_eq!(
        imap.authentication,
        [Authentication::OAuth2, Authentication::Password]
    );
    assert!(!imap.needs_oauth2());
    let pop = &c.incoming[1];
    assert_eq!((pop.protocol, pop.port), (Protocol::Pop3, 995));
    assert_eq!(pop.username, Username::LocalPart);
    assert_eq!(pop.username.for_address(&alice()), "alice.smith");
    let starttls = &c.incoming[2];
    assert_eq!(starttls.security, Security::StartTls);
    assert_eq!(
        starttls.username,
        Username::Other("mail-alice.smith".into())
    );
    assert_eq!(starttls.authentication, [Authentication::PasswordEncrypted]);
    assert_eq!(c.outgoing.len(), 2);
    assert_eq!(c.outgoing[0].host, "smtp.example.org");
    assert!(c.outgoing[0].needs_oauth2());
    assert_eq!(c.outgoing[1].security, Security::Plain);
    assert!(!c.outgoing[1].acceptable());
    assert_eq!(c.skipped.len(), 1);
    assert!(c.skipped[0].contains("\"exchange\""), "{:?}", c.skipped);
}

#[test]
fn entries_that_cannot_be_used_are_skipped_not_fatal() {
    let xml = r#"<clientConfig><emailProvider id="x">
        <incomingServer type="imap"><hostname>%EMAILADDRESS%</hostname><port>993</port><socketType>SSL</socketType></incomingServer>
        <incomingServer type="imap"><hostname>imap.example.org</hostname><port>99999</port><socketType>SSL</socketType></incomingServer>
        <incomingServer type="imap"><hostname>imap.example.org</hostname><port>993</port><socketType>TLS1.3</socketType></incomingServer>
        <incomingServer type="imap"/>
        <incomingServer type="imap"><hostname>imap.example.org</hostname><socketType>SSL</socketType></incomingServer>
        <outgoingServer type="imap"><hostname>x.example.org</hostname></outgoingServer>
    </emailProvider></clientConfig>"#;
    let c = parse(xml.as_bytes(), &alice()).unwrap();
    // Only the last incoming entry survives, with the usual port.
    assert_eq!(c.incoming.len(), 1);
    assert_eq!(c.incoming[0].port, 993);
    assert!(c.outgoing.is_empty());
    assert_eq!(c.skipped.len(), 5, "{:?}", c.skipped);
}

#[test]
fn malformed_and_foreign_documents() {
    let a = alice();
    for bad in [
        "",
        "<clientConfig>",
        "<clientConfig><emailProvider></clientConfig>",
        "<clientConfig><emailProvider><displayName>&bogus;</displayName></emailProvider></clientConfig>",
        "<clientConfig><emailProvider></emailProvider></clientConfig><clientConfig/>",
    ] {
        assert!(
            matches!(
                parse(bad.as_bytes(), &a),
                Err(ParseError::Malformed { .. } | ParseError::NotClientConfig)
            ),
            "{bad:?}: {:?}",
            parse(bad.as_bytes(), &a)
        );
    }
    assert_eq!(
        parse(b"<html><body>Not found</body></html>", &a),
        Err(ParseError::NotClientConfig)
    );
    assert_eq!(
        parse(b"<clientConfig/>", &a),
        Err(ParseError::NotClientConfig)
    );
    assert_eq!(parse(&[0xff, 0xfe, 0x00], &a), Err(ParseError::NotUtf8));
    let deep = format!(
        "<clientConfig><emailProvider>{}{}</emailProvider></clientConfig>",
        "<a>".repeat(100),
        "</a>".repeat(100)
    );
    assert!(matches!(
        parse(deep.as_bytes(), &a),
        Err(ParseError::Malformed { .. })
    ));
}

#[test]
fn a_doctype_expands_nothing() {
    let xml = r#"<?xml version="1.0"?>
<!DOCTYPE clientConfig [<!ENTITY host "evil.example">]>
<clientConfig><emailProvider id="x">
<incomingServer type="imap"><hostname>&host;</hostname><port>993</port><socketType>SSL</socketType></incomingServer>
</emailProvider></clientConfig>"#;
    assert!(matches!(
        parse(xml.as_bytes(), &alice()),
        Err(ParseError::Malformed { .. })
    ));
}

#[test]
fn namespaces_a_bom_and_character_references() {
    let xml = "\u{feff}<c:clientConfig xmlns:c=\"urn:x\"><c:emailProvider id=\"x\">\
        <c:incomingServer type=\"IMAP\"><c:hostname>imap.example&#46;org</c:hostname>\
        <c:port> 993 </c:port><c:socketType>ssl</c:socketType></c:incomingServer>\
        </c:emailProvider></c:clientConfig>";
    let c = parse(xml.as_bytes(), &alice()).unwrap();
    assert_eq!(c.incoming[0].host, "imap.example.org");
    assert_eq!(c.incoming[0].security, Security::Tls);
}

#[test]
fn only_the_first_provider_counts() {
    let xml = r#"<clientConfig>
<emailProvider id="one"><incomingServer type="imap"><hostname>imap.one.example</hostname><port>993</port><socketType>SSL</socketType></incomingServer></emailProvider>
<emailProvider id="two"><incomingServer type="imap"><hostname>imap.two.example</hostname><port>993</port><socketType>SSL</socketType></incomingServer></emailProvider>
</clientConfig>"#;
    let c = parse(xml.as_bytes(), &alice()).unwrap();
    assert_eq!(c.provider_id.as_deref(), Some("one"));
    assert_eq!(c.incoming.len(), 1);
    assert_eq!(c.incoming[0].host, "imap.one.example");
}

#[test]
fn placeholders_are_filled_once() {
    let tricky = EmailAddress::parse("%EMAILDOMAIN%@example.org").unwrap();
    assert_eq!(
        fill(
            "%EMAILLOCALPART%+%EMAILDOMAIN%|%EMAILADDRESS%|100%|%REALNAME%",
            &tricky
        ),
        "%EMAILDOMAIN%+example.org|%EMAILDOMAIN%@example.org|100%|%REALNAME%"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&bytes, &alice());
    }

    #[test]
    fn never_panics_on_xml_like_text(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("<clientConfig>".to_owned()),
                Just("</clientConfig>".to_owned()),
                Just("<emailProvider id=\"x\">".to_owned()),
                Just("</emailProvider>".to_owned()),
                Just("<incomingServer type=\"imap\">".to_owned()),
                Just("<outgoingServer type=\"smtp\">".to_owned()),
                Just("</incomingServer>".to_owned()),
                Just("</outgoingServer>".to_owned()),
                Just("<hostname>".to_owned()),
                Just("</hostname>".to_owned()),
                Just("<port>".to_owned()),
                Just("</port>".to_owned()),
                Just("<socketType>SSL</socketType>".to_owned()),
                Just("<![CDATA[".to_owned()),
                Just("]]>".to_owned()),
                Just("&amp;".to_owned()),
                Just("&#x0;".to_owned()),
                Just("&#1114112;".to_owned()),
                Just("%EMAILADDRESS%".to_owned()),
                Just("<!DOCTYPE x [<!ENTITY a \"b\">]>".to_owned()),
                "[ -~]{0,12}",
                "\\PC{0,6}",
            ],
            0..64,
        )
    ) {
        let text = parts.concat();
        let _ = parse(text.as_bytes(), &alice());
    }
}
