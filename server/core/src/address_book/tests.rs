use homepost_store::ContactOrder;
use homepost_testing::vault;
use homepost_vault::Purpose;

use super::*;

/// Apple Contacts: 3.0, CRLF, a folded note, item groups with labels, a photo.
const APPLE: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.1//EN\r\nN:Liddell;Alice;;;\r\nFN:Alice Liddell\r\nORG:Wonderland Ltd;\r\nitem1.EMAIL;type=INTERNET;type=pref:alice@example.org\r\nitem1.X-ABLabel:_$!<Other>!$_\r\nitem2.EMAIL;type=INTERNET:Alice@Work.Example\r\nitem2.X-ABLabel:work\r\nTEL;type=CELL;type=VOICE;type=pref:+44 7700 900123\r\nNOTE:Met at the tea party\\, likes riddles. This note is long enough to be fo\r\n lded by the exporter.\r\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD\r\nEND:VCARD\r\n";

/// Google Contacts: 3.0 with LF ends, two addresses and two numbers.
const GOOGLE: &str = "BEGIN:VCARD\nVERSION:3.0\nFN:Bob Builder\nN:Builder;Bob;;;\nEMAIL;TYPE=INTERNET;TYPE=HOME:bob@example.net\nEMAIL;TYPE=INTERNET:bob.builder@gmail.example\nTEL;TYPE=CELL:+1 555 0100\nTEL;TYPE=WORK:+1 555 0199\nCATEGORIES:myContacts\nEND:VCARD\n";

/// vCard 4.0 (as Thunderbird and DAVx5 write it).
const V4: &str = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\nFN:Carol Ünal\r\nEMAIL;PREF=1:carol@example.com\r\nTEL;VALUE=uri;TYPE=cell:tel:+90-555-0101\r\nNOTE:Line one\\nLine two\\; with a semicolon\r\nEND:VCARD\r\n";

/// A card that cannot be read, between good ones.
const BAD: &str = "BEGIN:VCARD\r\nVERSION:4.0\r\nEMAIL no colon here\r\nEND:VCARD\r\n";

async fn store(dir: &std::path::Path) -> Store {
    let key = vault::create(dir).subkey(Purpose::Sqlcipher);
    Store::open(&dir.join(homepost_store::DB_FILE), &key)
        .await
        .unwrap()
}

async fn everyone(store: &Store) -> Vec<Contact> {
    store
        .contacts_page("", ContactOrder::Name, 0, 100)
        .await
        .unwrap()
}

#[tokio::test]
async fn real_world_cards_round_trip_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let first = store(dir.path()).await;
    let file = format!("{APPLE}{BAD}{GOOGLE}{V4}");
    let report = import_vcards(&first, file.as_bytes(), 10).await.unwrap();
    assert_eq!((report.created, report.updated), (3, 0), "{report:?}");
    assert_eq!(report.problems.len(), 1);
    assert_eq!((report.problems[0].card, report.problems[0].line), (2, 18));
    assert_eq!(report.not_kept.len(), 1);
    assert!(report.not_kept[0].reason.starts_with("PHOTO"));
    let alice = &everyone(&first).await[0];
    assert_eq!(alice.name, "Alice Liddell");
    let addresses: Vec<&str> = alice.addresses.iter().map(|a| a.address.as_str()).collect();
    assert_eq!(addresses, ["alice@example.org", "alice@work.example"]);
    assert_eq!(
        alice.notes,
        "Met at the tea party, likes riddles. This note is long enough to be folded by the exporter."
    );

    let exported = export_vcards(&first).await.unwrap();
    assert_eq!(
        exported.matches("BEGIN:VCARD\r\nVERSION:4.0\r\n").count(),
        3
    );
    assert!(exported.contains("item1.X-ABLabel:_$!<Other>!$_\r\n"));
    assert!(exported.contains("UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n"));

    let dir2 = tempfile::tempdir().unwrap();
    let second = store(dir2.path()).await;
    let again = import_vcards(&second, exported.as_bytes(), 20)
        .await
        .unwrap();
    assert_eq!((again.created, again.problems.len()), (3, 0), "{again:?}");
    let strip = |cs: Vec<Contact>| -> Vec<Contact> {
        cs.into_iter()
            .map(|c| Contact {
                id: 0,
                updated_at: 0,
                ..c
            })
            .collect()
    };
    assert_eq!(
        strip(everyone(&first).await),
        strip(everyone(&second).await)
    );

    // Importing the same file again merges by address: nothing new.
    let same = import_vcards(&first, file.as_bytes(), 30).await.unwrap();
    assert_eq!((same.created, same.updated), (0, 3));
    assert_eq!(everyone(&first).await.len(), 3);
    first.close().await;
    second.close().await;
}

#[tokio::test]
async fn files_that_are_not_address_books_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path()).await;
    let big = vec![b'a'; MAX_IMPORT_BYTES + 1];
    for (bytes, want) in [
        (&big[..], "larger"),
        (&b"\xff\xfeB\0E\0"[..], "UTF-8"),
        (&b"just some text\n"[..], "no card"),
    ] {
        let e = import_vcards(&s, bytes, 1).await.unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
    s.close().await;
}

#[tokio::test]
async fn a_contact_without_a_name_stays_without_one_through_an_export() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path()).await;
    let fields = ContactFields {
        addresses: vec!["nobody@example.org".into()],
        ..ContactFields::default()
    };
    let c = s.create_contact(&fields, 1).await.unwrap();
    let exported = export_vcards(&s).await.unwrap();
    assert!(exported.contains("FN:nobody@example.org\r\n"), "{exported}");
    let report = import_vcards(&s, exported.as_bytes(), 2).await.unwrap();
    assert_eq!((report.created, report.updated), (0, 1));
    let again = s.contact(c.id).await.unwrap().unwrap();
    assert_eq!(again.own_name, "", "the address written as FN is no name");
    s.close().await;
}
