use super::*;

/// As Apple Contacts exports: 3.0, CRLF, folded lines, item groups with
/// labels, a bare type parameter, an inline photo.
const APPLE: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//macOS 14.2//EN\r\nN:Liddell;Alice;Pleasance;;\r\nFN:Alice Pleasance Liddell\r\nORG:Wonderland Ltd\\, Rabbit Hole Dept.;\r\nitem1.EMAIL;type=INTERNET;type=HOME;type=pref:alice@example.org\r\nitem1.X-ABLabel:_$!<Home>!$_\r\nEMAIL;type=INTERNET;type=WORK:Alice.Liddell@Work.Example\r\nTEL;type=CELL;type=VOICE;type=pref:+44 7700 900123\r\nitem2.ADR;type=HOME:;;1 Looking Glass Lane;Oxford;;OX1 1AA;United Kingdom\r\nNOTE:Met at the tea party\\; likes riddles.\\nSecond line of a very long note that an\r\n  exporter folds at seventy-five octets.\r\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD\r\nX-ABUID:5AD380FD-B2DE-4261-BA99-DE1D1DB52FBE:ABPerson\r\nEND:VCARD\r\n";

/// As Google Contacts exports: 3.0, no FN escape issues, several numbers,
/// a card with only N.
const GOOGLE: &str = "BEGIN:VCARD\nVERSION:3.0\nFN:Bob Builder\nN:Builder;Bob;;;\nEMAIL;TYPE=INTERNET;TYPE=HOME:bob@example.net\nEMAIL;TYPE=INTERNET:bob.builder@gmail.example\nTEL;TYPE=CELL:+1 555 0100\nTEL;TYPE=WORK:+1 555 0199\nCATEGORIES:myContacts,Builders\nEND:VCARD\nBEGIN:VCARD\nVERSION:3.0\nN:Carroll;Lewis;;Rev.;\nEMAIL;TYPE=INTERNET:lewis@example.com\nEND:VCARD\n";

/// The example of RFC 6350 section 8, shortened.
const V4: &str = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Simon Perreault\r\nN:Perreault;Simon;;;ing. jr,M.Sc.\r\nBDAY:--0203\r\nGENDER:M\r\nLANG;PREF=1:fr\r\nORG:Viagenie;\r\nTEL;VALUE=uri;TYPE=\"work,voice\";PREF=1:tel:+1-418-656-9254;ext=102\r\nEMAIL;TYPE=work:simon.perreault@viagenie.ca\r\nGEO;TYPE=work:geo:46.772673,-71.282945\r\nKEY;TYPE=work;VALUE=uri:http://www.viagenie.ca/simon.perreault/simon.asc\r\nEND:VCARD\r\n";

fn ok(text: &str) -> Vec<Card> {
    parse_cards(text)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e:?}")).card)
        .collect()
}

#[test]
fn apple_3_0_with_folding_groups_and_a_photo() {
    let cards = ok(APPLE);
    assert_eq!(cards.len(), 1);
    let c = &cards[0];
    assert_eq!(c.name, "Alice Pleasance Liddell");
    assert_eq!(
        c.emails,
        ["alice@example.org", "Alice.Liddell@Work.Example"]
    );
    assert_eq!(c.phones, ["+44 7700 900123"]);
    assert_eq!(
        c.note,
        "Met at the tea party; likes riddles.\nSecond line of a very long note that an exporter folds at seventy-five octets."
    );
    assert!(
        c.extra
            .contains(&"ORG:Wonderland Ltd\\, Rabbit Hole Dept.;".to_string())
    );
    assert!(
        c.extra
            .contains(&"item1.X-ABLabel:_$!<Home>!$_".to_string())
    );
    assert!(
        c.extra
            .iter()
            .any(|x| x.starts_with("item2.ADR;type=HOME:"))
    );
    assert_eq!(c.dropped, ["PHOTO"]);
}

#[test]
fn google_3_0_and_a_name_from_n() {
    let cards = ok(GOOGLE);
    assert_eq!(cards.len(), 2);
    assert_eq!(cards[0].name, "Bob Builder");
    assert_eq!(cards[0].emails.len(), 2);
    assert_eq!(cards[0].phones, ["+1 555 0100", "+1 555 0199"]);
    assert_eq!(
        cards[0].extra,
        ["N:Builder;Bob;;;", "CATEGORIES:myContacts,Builders"]
    );
    assert_eq!(cards[1].name, "Rev. Lewis Carroll");
}

#[test]
fn rfc_6350_card_with_a_tel_uri_and_quoted_parameters() {
    let cards = ok(V4);
    assert_eq!(cards[0].name, "Simon Perreault");
    assert_eq!(cards[0].phones, ["+1-418-656-9254;ext=102"]);
    assert_eq!(cards[0].emails, ["simon.perreault@viagenie.ca"]);
    assert!(cards[0].extra.iter().any(|x| x.starts_with("GEO;")));
}

#[test]
fn a_number_that_is_not_a_tel_uri_survives_writing() {
    // Found by fuzzing: `tel:tel:+1` was read as `tel:+1`, written as text and
    // read back as `+1`.
    let cards =
        ok("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:S\r\nTEL;VALUE=uri:tel:tel:+1-418\r\nEND:VCARD\r\n");
    assert_eq!(cards[0].phones, ["tel:+1-418"]);
    assert_eq!(ok(&write_card(&cards[0]))[0].phones, ["tel:+1-418"]);
}

#[test]
fn a_lone_carriage_return_ends_a_line() {
    // Found by fuzzing: a CR inside a value was dropped on writing.
    let got = parse_cards("BEGIN:VCARD\rVERSION:4.0\rFN:Old Mac\rEMAIL:a@b.c\ra\rEND:VCARD\r");
    let problem = got[0].as_ref().unwrap_err();
    assert_eq!((problem.card, problem.line), (1, 5));
    let mac = ok("BEGIN:VCARD\rVERSION:3.0\rFN:Old Mac\rEMAIL:a@b.c\rEND:VCARD\r");
    assert_eq!(mac[0].emails, ["a@b.c"]);
}

#[test]
fn written_cards_read_back_the_same() {
    for text in [APPLE, GOOGLE, V4] {
        for card in ok(text) {
            let written = write_card(&card);
            assert!(written.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"));
            for line in written.split("\r\n") {
                assert!(line.len() <= 75, "{line:?} is not folded");
            }
            let again = ok(&written);
            assert_eq!(again.len(), 1);
            let mut expect = card.clone();
            expect.dropped.clear();
            assert_eq!(again[0], expect, "{written}");
        }
    }
}

#[test]
fn folding_never_splits_a_character_and_escapes_round_trip() {
    let card = Card {
        name: "Zoë, \"the\" Ünïcødé; tester\\".repeat(5),
        emails: vec!["zoe@example.org".into()],
        note: "line one\nline two, with ; and \\".into(),
        ..Card::default()
    };
    let written = write_card(&card);
    assert!(written.is_char_boundary(written.len()));
    assert_eq!(ok(&written), [card]);
}

#[test]
fn bad_cards_are_reported_by_position_and_the_others_kept() {
    let text = format!(
        "junk before\r\n{V4}BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Old\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nFN no colon\r\nEND:VCARD\r\n{GOOGLE}BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Cut off\r\n"
    );
    let got = parse_cards(&text);
    let problems: Vec<&CardProblem> = got.iter().filter_map(|r| r.as_ref().err()).collect();
    let cards: Vec<&ReadCard> = got.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(cards.len(), 3);
    let at: Vec<(usize, usize)> = cards.iter().map(|c| (c.position, c.line)).collect();
    assert_eq!(at, [(1, 2), (4, 23), (5, 33)]);
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert_eq!((problems[0].card, problems[0].line), (0, 1));
    assert_eq!(problems[1].card, 2);
    assert!(problems[1].reason.contains("2.1"));
    assert_eq!(problems[2].card, 3);
    assert!(problems[2].reason.contains("':'"), "{:?}", problems[2]);
    assert_eq!(problems[3].card, 6);
    assert!(problems[3].reason.contains("END:VCARD"));
}

#[test]
fn a_card_needs_a_version_and_something_to_keep() {
    let got = parse_cards("BEGIN:VCARD\nFN:X\nEND:VCARD\nBEGIN:VCARD\nVERSION:4.0\nEND:VCARD\n");
    assert!(got[0].as_ref().unwrap_err().reason.contains("VERSION"));
    assert!(got[1].as_ref().unwrap_err().reason.contains("no name"));
}

#[test]
fn quoted_printable_is_refused_with_the_reason() {
    let got = parse_cards(
        "BEGIN:VCARD\nVERSION:3.0\nFN;ENCODING=QUOTED-PRINTABLE:J=C3=B6rg\nEND:VCARD\n",
    );
    assert!(
        got[0]
            .as_ref()
            .unwrap_err()
            .reason
            .contains("QUOTED-PRINTABLE")
    );
}

proptest::proptest! {
    #[test]
    fn any_text_parses_without_panicking(text in "\\PC{0,400}") {
        for read in parse_cards(&text).into_iter().flatten() {
            let again = parse_cards(&write_card(&read.card));
            proptest::prop_assert_eq!(again.len(), 1);
        }
    }

    #[test]
    fn any_fields_round_trip(name in "[^\r\n]{1,80}", note in "\\PC{0,200}", email in "[a-z]{1,10}@[a-z]{1,10}\\.org") {
        let card = Card { name: name.trim().to_string(), emails: vec![email], note: note.trim().to_string(), ..Card::default() };
        let again = parse_cards(&write_card(&card));
        let got = &again[0].as_ref().unwrap().card;
        proptest::prop_assert_eq!(&got.emails, &card.emails);
        proptest::prop_assert_eq!(got.note.replace('\r', ""), card.note.replace('\r', ""));
    }
}
