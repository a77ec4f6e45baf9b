//! Autocrypt Level 1 against the spec's examples and the muacrypt header
//! cases in the shared corpus, with a fixed clock (the spec's keys expired on
//! 2021-01-21), and the peer-state and recommendation rules.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use homepost_pgp::autocrypt::peer::{effective_date, update, update_from_gossip};
use homepost_pgp::autocrypt::recommend::{recommend, recommend_group};
use homepost_pgp::autocrypt::{
    AutocryptHeader, GossipUpdate, PeerState, PreferEncrypt, Recommendation, SenderUpdate,
};
use homepost_pgp::{Certificate, KeyStatus, SecretKey, SignatureState, open_message};
use homepost_testing::corpus;

/// 2019-02-01: after the spec's examples were written, before their keys expired.
fn spec_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_548_979_200)
}

fn spec(name: &str) -> Vec<u8> {
    fs::read(corpus::path(&format!("autocrypt/spec/doc/appendix/{name}"))).unwrap()
}

fn muacrypt(name: &str) -> Vec<u8> {
    fs::read(corpus::path(&format!("autocrypt/muacrypt/{name}"))).unwrap()
}

fn spec_cert(who: &str) -> Certificate {
    Certificate::from_bytes(&spec(&format!("{who}@autocrypt.example.pub.asc"))).unwrap()
}

fn spec_key(who: &str) -> SecretKey {
    SecretKey::from_bytes(&spec(&format!("{who}@autocrypt.example.sec.asc"))).unwrap()
}

#[test]
fn the_spec_simple_example_gives_alices_key() {
    let update =
        SenderUpdate::from_message(&spec("example-simple-autocrypt.eml"), spec_now()).unwrap();
    assert_eq!(update.addr, "alice@autocrypt.example");
    // Tue, 22 Jan 2019 12:56:25 +0100
    assert_eq!(
        update.effective_date,
        UNIX_EPOCH + Duration::from_secs(1_548_158_185)
    );
    let header = update.header.unwrap();
    assert_eq!(header.prefer_encrypt, PreferEncrypt::Mutual);
    assert_eq!(header.key.fingerprint(), spec_cert("alice").fingerprint());
    assert_eq!(header.key.status(spec_now()), KeyStatus::Usable);
    // The keys expired in 2021.
    let later = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(header.key.status(later), KeyStatus::Expired);
}

#[test]
fn muacrypt_header_cases() {
    let valid = [
        "25519-simple.eml",
        "rsa2048-simple.eml",
        "rsa4096-simple.eml",
        "rsa2048-simple-casing.eml",
        "rsa2048-simple-to-bot.eml",
        "rsa2048-explicit-type.eml",
        "rsa2048-unknown-non-critical.eml",
    ];
    for name in valid {
        let update = SenderUpdate::from_message(&muacrypt(name), spec_now()).unwrap();
        assert_eq!(update.addr, "alice@testsuite.autocrypt.org", "{name}");
        let header = update
            .header
            .unwrap_or_else(|| panic!("{name}: header should be valid"));
        assert_eq!(header.addr, "alice@testsuite.autocrypt.org");
        assert_eq!(header.prefer_encrypt, PreferEncrypt::NoPreference);
    }
    let invalid = [
        "rsa2048-broken-base64.eml",
        "rsa2048-from-not-match.eml",
        "rsa2048-unknown-critical.eml",
        "unknown-type.eml",
        "no-autocrypt.eml",
        "msg_8bit.eml",
    ];
    for name in invalid {
        let update = SenderUpdate::from_message(&muacrypt(name), spec_now())
            .unwrap_or_else(|| panic!("{name}: the message still counts as seen"));
        assert!(update.header.is_none(), "{name}: header must be ignored");
    }
    // A report (MDN) is ignored altogether: no update, not even last_seen.
    assert!(SenderUpdate::from_message(&muacrypt("multipart_report.eml"), spec_now()).is_none());
}

#[test]
fn the_individual_rules_of_header_parsing() {
    let key = alice().certificate();
    let ours =
        AutocryptHeader::new("Alice@Example.org", &key, PreferEncrypt::Mutual, t0()).unwrap();
    let value = ours.to_value().unwrap();
    let again = AutocryptHeader::parse(&value).unwrap();
    assert_eq!(again, ours);
    assert_eq!(again.addr, "alice@example.org");
    assert!(value.starts_with("addr=alice@example.org; prefer-encrypt=mutual; keydata=\r\n "));
    for line in ours.to_field().unwrap().split("\r\n") {
        assert!(line.len() <= 78, "{line}");
    }
    assert!(
        ours.to_field().unwrap().len() < 3 * 1024,
        "Level 1 headers are up to 3 KiB"
    );

    let keydata = value.split("keydata=").nth(1).unwrap().to_owned();
    let with = |attrs: &str| AutocryptHeader::parse(&format!("{attrs} keydata={keydata}"));
    assert!(with("addr=alice@example.org;").is_ok());
    assert!(with("addr=alice@example.org; _extra=1;").is_ok());
    assert!(with("addr=alice@example.org; type=1;").is_ok());
    assert_eq!(
        with("addr=alice@example.org; prefer-encrypt=sometimes;")
            .unwrap()
            .prefer_encrypt,
        PreferEncrypt::NoPreference
    );
    assert!(with("addr=alice@example.org; critical=1;").is_err());
    assert!(with("addr=alice@example.org; type=2;").is_err());
    assert!(with("prefer-encrypt=mutual;").is_err());
    assert!(with("addr=not-an-address;").is_err());
    assert!(AutocryptHeader::parse("addr=alice@example.org; keydata=bm90IGEga2V5").is_err());
    assert!(AutocryptHeader::parse("addr=alice@example.org").is_err());
    let huge = format!(
        "addr=alice@example.org; _pad={}; keydata={keydata}",
        "x".repeat(11 * 1024)
    );
    assert!(AutocryptHeader::parse(&huge).is_err());
}

#[test]
fn two_valid_headers_are_both_ignored_and_an_invalid_one_does_not_count() {
    let simple = String::from_utf8(spec("example-simple-autocrypt.eml")).unwrap();
    let start = simple.find("Autocrypt:").unwrap();
    let end = simple.find("Date:").unwrap();
    let header = &simple[start..end];
    let twice = simple.replacen(header, &format!("{header}{header}"), 1);
    let update = SenderUpdate::from_message(twice.as_bytes(), spec_now()).unwrap();
    assert!(update.header.is_none());

    let broken = header.replace("addr=", "danger=yes; addr=");
    let mixed = simple.replacen(header, &format!("{broken}{header}"), 1);
    let update = SenderUpdate::from_message(mixed.as_bytes(), spec_now()).unwrap();
    assert!(update.header.is_some());

    // Two From addresses: ignored.
    let two_from = simple.replacen(
        "From: Alice <alice@autocrypt.example>",
        "From: Alice <alice@autocrypt.example>, Eve <eve@autocrypt.example>",
        1,
    );
    assert!(SenderUpdate::from_message(two_from.as_bytes(), spec_now()).is_none());
}

#[test]
fn the_spec_gossip_example_decrypts_and_gossips_bob_and_carol() {
    let msg = spec("example-gossip.eml");
    let certs = [spec_cert("alice"), spec_cert("bob"), spec_cert("carol")];
    // The spec says Alice can read it too, but the example is encrypted only
    // to Bob's and Carol's subkeys (0DD1498BCB3E545C, 79A7894F248E0180).
    let opened = open_message(&msg, &[spec_key("alice")], &certs, spec_now());
    assert!(opened.encrypted && !opened.decrypted);
    for reader in ["bob", "carol"] {
        let opened = open_message(&msg, &[spec_key(reader)], &certs, spec_now());
        assert!(opened.decrypted, "{reader}: {opened:?}");
        assert_eq!(opened.signature_state(), SignatureState::Good);
        assert_eq!(opened.signer(), Some(&spec_cert("alice").fingerprint()));
        // Years later Alice's key has expired, and the state says so.
        let in_2023 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let later = open_message(&msg, &[spec_key(reader)], &certs, in_2023);
        assert_eq!(later.signature_state(), SignatureState::ExpiredKey);
        let mut gossiped: Vec<&str> = opened.gossip.iter().map(GossipUpdate::addr).collect();
        gossiped.sort_unstable();
        assert_eq!(
            gossiped,
            ["bob@autocrypt.example", "carol@autocrypt.example"]
        );
        for g in &opened.gossip {
            let who = g.addr().split('@').next().unwrap();
            assert_eq!(g.header.key.fingerprint(), spec_cert(who).fingerprint());
        }
    }
    // The cleartext in the appendix is what the encrypted part holds.
    let inner = spec("example-gossip-cleartext.eml");
    let gossip = GossipUpdate::from_message(&msg, &inner, spec_now());
    assert_eq!(gossip.len(), 2);
    // Gossip about an address that is not a recipient is dropped.
    let outer = String::from_utf8(msg)
        .unwrap()
        .replace(", Carol <carol@autocrypt.example>", "");
    let gossip = GossipUpdate::from_message(outer.as_bytes(), &inner, spec_now());
    assert_eq!(gossip.len(), 1);
    assert_eq!(gossip[0].addr(), "bob@autocrypt.example");
}

#[test]
fn the_spec_draft_example_decrypts_unsigned() {
    let opened = open_message(
        &spec("example-draft.eml"),
        &[spec_key("alice")],
        &[spec_cert("alice")],
        spec_now(),
    );
    assert!(opened.decrypted, "{opened:?}");
    assert_eq!(opened.signature_state(), SignatureState::NoSignature);
    assert!(opened.content.is_some());
}

fn at(days_after_t0: u64) -> SystemTime {
    t0() + days(days_after_t0)
}

fn from_bob(date: SystemTime, header: Option<AutocryptHeader>) -> SenderUpdate {
    SenderUpdate {
        addr: "bob@example.org".into(),
        effective_date: date,
        header,
    }
}

#[test]
fn peer_state_follows_the_update_algorithm() {
    let key1 = bob().certificate();
    let key2 = bob().certificate();
    let h1 = AutocryptHeader::new("bob@example.org", &key1, PreferEncrypt::Mutual, t0()).unwrap();
    let h2 =
        AutocryptHeader::new("bob@example.org", &key2, PreferEncrypt::NoPreference, t0()).unwrap();

    // A first message with a header.
    let s = update(None, &from_bob(at(10), Some(h1.clone())));
    assert_eq!(s.last_seen, Some(at(10)));
    assert_eq!(s.autocrypt_timestamp, Some(at(10)));
    assert_eq!(
        s.public_key.as_ref().unwrap().fingerprint(),
        key1.fingerprint()
    );
    assert_eq!(s.prefer_encrypt, PreferEncrypt::Mutual);

    // A later one without: only last_seen moves.
    let s2 = update(Some(&s), &from_bob(at(20), None));
    assert_eq!(s2.last_seen, Some(at(20)));
    assert_eq!(s2.autocrypt_timestamp, Some(at(10)));
    assert_eq!(s2.public_key, s.public_key);

    // An older message than the last header changes nothing, header or not.
    assert_eq!(update(Some(&s2), &from_bob(at(5), Some(h2.clone()))), s2);
    assert_eq!(update(Some(&s2), &from_bob(at(5), None)), s2);

    // Older than last_seen but newer than the header: the header counts,
    // last_seen stays.
    let s3 = update(Some(&s2), &from_bob(at(15), Some(h2.clone())));
    assert_eq!(s3.last_seen, Some(at(20)));
    assert_eq!(s3.autocrypt_timestamp, Some(at(15)));
    assert_eq!(
        s3.public_key.as_ref().unwrap().fingerprint(),
        key2.fingerprint()
    );
    assert_eq!(s3.prefer_encrypt, PreferEncrypt::NoPreference);

    // The effective date is clamped to now, and is now without a Date.
    assert_eq!(effective_date(Some(4_000_000_000), at(1)), at(1));
    assert_eq!(effective_date(None, at(1)), at(1));
    assert_eq!(effective_date(Some(1_704_067_200), at(1)), t0());
}

#[test]
fn gossip_updates_by_its_own_timestamp() {
    let key = bob().certificate();
    let header = AutocryptHeader::gossip("bob@example.org", &key, t0()).unwrap();
    assert_eq!(header.prefer_encrypt, PreferEncrypt::NoPreference);
    let g = |d| GossipUpdate {
        header: header.clone(),
        effective_date: d,
    };
    let s = update_from_gossip(None, &g(at(10)));
    assert_eq!(s.gossip_timestamp, Some(at(10)));
    assert!(s.gossip_key.is_some() && s.public_key.is_none() && s.last_seen.is_none());
    assert_eq!(update_from_gossip(Some(&s), &g(at(5))), s);
    assert_eq!(
        update_from_gossip(Some(&s), &g(at(12))).gossip_timestamp,
        Some(at(12))
    );
}

#[test]
fn recommendation_for_one_recipient() {
    use PreferEncrypt::{Mutual, NoPreference};
    use Recommendation::*;
    let key = bob().certificate();
    let header = |p| AutocryptHeader::new("bob@example.org", &key, p, t0()).unwrap();
    let now = at(11);

    assert_eq!(recommend(None, Mutual, false, now).ui, Disable);
    let seen_only = update(None, &from_bob(at(10), None));
    assert_eq!(recommend(Some(&seen_only), Mutual, false, now).ui, Disable);

    let mutual = update(None, &from_bob(at(10), Some(header(Mutual))));
    let r = recommend(Some(&mutual), Mutual, false, now);
    assert_eq!(r.ui, Encrypt);
    assert_eq!(r.target_key.unwrap().fingerprint(), key.fingerprint());
    assert_eq!(
        recommend(Some(&mutual), NoPreference, false, now).ui,
        Available
    );
    assert_eq!(
        recommend(Some(&mutual), NoPreference, true, now).ui,
        Encrypt
    );

    let nopref = update(None, &from_bob(at(10), Some(header(NoPreference))));
    assert_eq!(recommend(Some(&nopref), Mutual, false, now).ui, Available);

    // More than 35 days of mail without a header: discourage, even if mutual;
    // a reply to encrypted mail still defaults to encryption.
    let stale = update(Some(&mutual), &from_bob(at(46), None));
    assert!(stale.is_stale());
    assert_eq!(
        recommend(Some(&stale), Mutual, false, at(46)).ui,
        Discourage
    );
    assert_eq!(recommend(Some(&stale), Mutual, true, at(46)).ui, Encrypt);
    let not_yet = update(Some(&mutual), &from_bob(at(45), None));
    assert!(!not_yet.is_stale());

    // Only a gossiped key: discourage.
    let gossip = GossipUpdate {
        header: AutocryptHeader::gossip("bob@example.org", &key, t0()).unwrap(),
        effective_date: at(10),
    };
    let gossiped = update_from_gossip(None, &gossip);
    assert_eq!(
        recommend(Some(&gossiped), Mutual, false, now).ui,
        Discourage
    );
    assert_eq!(recommend(Some(&gossiped), Mutual, true, now).ui, Encrypt);
}

#[test]
fn unusable_keys_count_as_none() {
    // The spec's keys: fine in 2019, expired since 2021.
    let update_ =
        SenderUpdate::from_message(&spec("example-simple-autocrypt.eml"), spec_now()).unwrap();
    let state = update(None, &update_);
    let r = recommend(Some(&state), PreferEncrypt::Mutual, false, spec_now());
    assert_eq!(r.ui, Recommendation::Encrypt);
    let in_2023 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let r = recommend(Some(&state), PreferEncrypt::Mutual, false, in_2023);
    assert_eq!(r.ui, Recommendation::Disable);
    assert!(r.target_key.is_none());

    // A revoked key, with a usable gossip key beside it: discourage, gossip key.
    let bob = bob();
    let other = SecretKey::generate(None, "bob@example.org", t0()).unwrap();
    let mut state = PeerState::new("bob@example.org");
    state.last_seen = Some(at(1));
    state.autocrypt_timestamp = Some(at(1));
    state.public_key = Some(revoked(&bob));
    state.prefer_encrypt = PreferEncrypt::Mutual;
    state.gossip_key = Some(other.certificate());
    state.gossip_timestamp = Some(at(1));
    let r = recommend(Some(&state), PreferEncrypt::Mutual, false, at(2));
    assert_eq!(r.ui, Recommendation::Discourage);
    assert_eq!(r.target_key.unwrap().fingerprint(), other.fingerprint());
}

#[test]
fn recommendation_for_a_group() {
    use Recommendation::*;
    let key = bob().certificate();
    let rec = |ui| homepost_pgp::autocrypt::RecipientRecommendation {
        ui,
        target_key: (ui != Disable).then(|| key.clone()),
    };
    let group = |uis: &[Recommendation]| {
        let map: BTreeMap<String, _> = uis
            .iter()
            .enumerate()
            .map(|(i, ui)| (format!("r{i}@example.org"), rec(*ui)))
            .collect();
        recommend_group(&map)
    };
    assert_eq!(group(&[]).ui, Disable);
    assert_eq!(group(&[Encrypt, Disable]).ui, Disable);
    assert_eq!(group(&[Encrypt, Encrypt]).ui, Encrypt);
    assert_eq!(group(&[Encrypt, Discourage, Available]).ui, Discourage);
    assert_eq!(group(&[Encrypt, Available]).ui, Available);
    assert_eq!(group(&[Available]).ui, Available);
    let g = group(&[Encrypt, Available]);
    assert_eq!(g.target_keys.len(), 2);
}
