//! Key lookups against a local HTTPS server that serves WKD and VKS files made
//! by GnuPG, through a dialer that sends every host name to loopback (the way a
//! Tor dialer would receive names, not addresses).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use homepost_net::testing::{Answer, file, serve};
use homepost_net::{Client, Limits, LookupOptions, lookup};
use homepost_pgp::discovery::{HttpsUrl, KeySource, OpenPgpHeader, wkd_hash};
use homepost_testing::gnupg::Gpg;

/// gpg's public key for `uid`, armored or binary, as a file to serve.
fn export(gpg: &Gpg, uid: &str, armor: bool) -> Bytes {
    let mut args = vec!["--export"];
    if armor {
        args.push("--armor");
    }
    args.push(uid);
    Bytes::from(gpg.run(&args, b"").stdout)
}

/// The WKD hash GnuPG computes for the address of `uid`.
fn gnupg_wkd_hash(gpg: &Gpg, uid: &str) -> String {
    let out = gpg.run(&["--with-wkd-hash", "--list-keys", uid], b"");
    let out = String::from_utf8(out.stdout).unwrap();
    out.lines()
        .map(str::trim)
        .find(|l| l.len() > 33 && l.as_bytes()[32] == b'@' && !l.contains(' '))
        .map_or_else(|| panic!("no WKD hash in {out}"), |l| l[..32].to_owned())
}

#[tokio::test]
async fn lookups_follow_wkd_then_keys_openpgp_org_and_keep_only_the_address() {
    let gpg = Gpg::new();
    for uid in [
        "Joe Doe <Joe.Doe@example.org>",
        "bob@direct.example",
        "carol@elsewhere.example",
        "mallory@wrong.example",
    ] {
        gpg.generate(uid);
    }
    // Our WKD hash is GnuPG's.
    let joe_hash = gnupg_wkd_hash(&gpg, "Joe.Doe@example.org");
    assert_eq!(joe_hash, wkd_hash("Joe.Doe"));
    let bob_hash = gnupg_wkd_hash(&gpg, "bob@direct.example");
    assert_eq!(bob_hash, wkd_hash("bob"));
    let victim_hash = wkd_hash("victim");

    let files = HashMap::from([
        file(
            "openpgpkey.example.org",
            format!("/.well-known/openpgpkey/example.org/hu/{joe_hash}"),
            Answer::Body(export(&gpg, "Joe.Doe@example.org", false)),
        ),
        file(
            "direct.example",
            format!("/.well-known/openpgpkey/hu/{bob_hash}"),
            Answer::Body(export(&gpg, "bob@direct.example", false)),
        ),
        file(
            "keys.openpgp.org",
            "/vks/v1/by-email/carol%40elsewhere.example".into(),
            Answer::Body(export(&gpg, "carol@elsewhere.example", true)),
        ),
        // A directory handing out someone else's key for the victim.
        file(
            "openpgpkey.wrong.example",
            format!("/.well-known/openpgpkey/wrong.example/hu/{victim_hash}"),
            Answer::Body(export(&gpg, "mallory@wrong.example", false)),
        ),
        file(
            "openpgpkey.big.example",
            format!("/.well-known/openpgpkey/big.example/hu/{}", wkd_hash("x")),
            Answer::Body(Bytes::from(vec![0x99; 2 << 20])),
        ),
        file(
            "big.example",
            format!("/.well-known/openpgpkey/hu/{}", wkd_hash("x")),
            Answer::Body(export(&gpg, "Joe.Doe@example.org", false)),
        ),
        file(
            "openpgpkey.redirect.example",
            format!(
                "/.well-known/openpgpkey/redirect.example/hu/{}",
                wkd_hash("r")
            ),
            Answer::Redirect("http://redirect.example/key"),
        ),
        file(
            "redirect.example",
            format!("/.well-known/openpgpkey/hu/{}", wkd_hash("r")),
            Answer::Redirect("/moved/key"),
        ),
        file(
            "redirect.example",
            "/moved/key".into(),
            Answer::Body(export(&gpg, "Joe.Doe@example.org", false)),
        ),
    ]);
    let server = serve(files).await;
    let (client, dialer) = server.client(
        vec!["openpgpkey.direct.example"],
        Limits {
            timeout: Duration::from_secs(3),
            ..Limits::default()
        },
    );
    let now = SystemTime::now();
    let all = LookupOptions::default();

    // Advanced method, with the local part as written in `l=`.
    let joe = lookup(&client, "Joe.Doe@Example.ORG", None, all, now)
        .await
        .unwrap();
    let (cert, source) = joe.found.expect("Joe's key over WKD");
    assert_eq!(source, KeySource::WkdAdvanced);
    assert_eq!(
        cert.fingerprint().to_hex(),
        gpg.fingerprint("Joe.Doe@example.org")
    );
    assert!(
        server.requests.lock().unwrap().contains(&format!(
            "openpgpkey.example.org/.well-known/openpgpkey/example.org/hu/{joe_hash}?l=Joe.Doe"
        )),
        "{:?}",
        server.requests.lock().unwrap()
    );

    // No openpgpkey. subdomain: the direct method.
    let bob = lookup(&client, "bob@direct.example", None, all, now)
        .await
        .unwrap();
    assert_eq!(bob.found.unwrap().1, KeySource::WkdDirect);
    assert!(
        bob.attempts[0].outcome.to_string().contains("no such host"),
        "{:?}",
        bob.attempts
    );

    // Neither WKD has it: keys.openpgp.org does (armored).
    let carol = lookup(&client, "carol@elsewhere.example", None, all, now)
        .await
        .unwrap();
    assert_eq!(carol.found.unwrap().1, KeySource::KeysOpenpgpOrg);
    assert_eq!(carol.attempts.len(), 3);
    assert_eq!(carol.attempts[0].outcome.to_string(), "no key there");
    // ... and is not asked when the user turned it off.
    let wkd_only = LookupOptions {
        keys_openpgp_org: false,
        ..all
    };
    let none = lookup(&client, "carol@elsewhere.example", None, wkd_only, now)
        .await
        .unwrap();
    assert!(none.found.is_none());
    assert_eq!(none.attempts.len(), 2);

    // A key for another address is never taken.
    let victim = lookup(&client, "victim@wrong.example", None, all, now)
        .await
        .unwrap();
    assert!(victim.found.is_none(), "{:?}", victim.attempts);
    assert!(
        victim.attempts[0]
            .outcome
            .to_string()
            .contains("other addresses")
    );

    // Too large: refused, and the next source still asked.
    let big = lookup(&client, "x@big.example", None, all, now)
        .await
        .unwrap();
    assert!(
        big.attempts[0].outcome.to_string().contains("larger than"),
        "{:?}",
        big.attempts
    );
    assert!(big.found.is_none(), "Joe's key is not x's");
    assert!(
        big.attempts[1]
            .outcome
            .to_string()
            .contains("other addresses")
    );

    // Redirects: never to plain http; a relative one is followed.
    let r = lookup(&client, "r@redirect.example", None, all, now)
        .await
        .unwrap();
    assert!(
        r.attempts[0].outcome.to_string().contains("not an https"),
        "{:?}",
        r.attempts
    );
    assert!(
        r.attempts[1]
            .outcome
            .to_string()
            .contains("other addresses"),
        "{:?}",
        r.attempts
    );
    assert!(
        server
            .requests
            .lock()
            .unwrap()
            .iter()
            .any(|r| r == "redirect.example/moved/key")
    );

    // A URL announced in an OpenPGP: header is asked first, and its key must
    // be the one the header names.
    let header = OpenPgpHeader::parse(&format!(
        "id={}; url=https://example.org/.well-known/openpgpkey/hu/{bob_hash}",
        gpg.fingerprint("bob@direct.example")
    ));
    let announced = lookup(&client, "joe.doe@example.org", Some(&header), all, now)
        .await
        .unwrap();
    assert_eq!(announced.attempts[0].source, KeySource::Announced);
    assert_ne!(
        announced.attempts[0].outcome.to_string().get(..5),
        Some("found")
    );
    assert_eq!(announced.found.unwrap().1, KeySource::WkdAdvanced);

    // A URL announced without a whole fingerprint is not asked at all.
    let loose = OpenPgpHeader::parse("url=https://example.org/anyone.asc; id=0123456789ABCDEF");
    let skipped = lookup(&client, "joe.doe@example.org", Some(&loose), all, now)
        .await
        .unwrap();
    assert!(
        skipped.attempts[0]
            .outcome
            .to_string()
            .starts_with("not asked"),
        "{:?}",
        skipped.attempts
    );
    assert!(
        !server
            .requests
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.contains("anyone.asc"))
    );

    // A server that accepts and never answers: the time limit.
    let (silent, _) = server.client(
        vec![],
        Limits {
            timeout: Duration::from_millis(500),
            ..Limits::default()
        },
    );
    let slow = silent
        .get(&HttpsUrl::parse("https://silent.example/k").unwrap())
        .await
        .unwrap_err();
    assert!(slow.to_string().contains("did not answer"), "{slow}");

    // Host names, not addresses, reach the dialer.
    assert!(
        dialer
            .dialed
            .lock()
            .unwrap()
            .iter()
            .all(|h| h.contains('.') && !h.chars().all(|c| c.is_ascii_digit() || c == '.'))
    );
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let server = serve(HashMap::new()).await;
    let (client, _) = server.client(vec![], Limits::default());
    let url = HttpsUrl::parse("https://not-in-the-cert.example/").unwrap();
    let err = client.get(&url).await.unwrap_err();
    assert!(matches!(err, homepost_net::Error::Tls { .. }), "{err}");
    // And the web PKI client does not trust the test CA.
    let public = Client::new(server.dialer());
    let url = HttpsUrl::parse("https://example.org/").unwrap();
    assert!(matches!(
        public.get(&url).await.unwrap_err(),
        homepost_net::Error::Tls { .. }
    ));
}
