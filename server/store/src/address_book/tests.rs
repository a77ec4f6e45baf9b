use homepost_mail::parse;

use super::*;
use crate::tests::open_store;
use crate::{ContactFields, NewMessage};

/// Stores messages `(from, to, date, tags)` in one batch each.
async fn mail(store: &Store, messages: &[(&str, &str, i64, &[&str])]) {
    for (i, (from, to, date, tags)) in messages.iter().enumerate() {
        let raw = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: m{i}\r\nMessage-ID: <m{i}-{date}@x>\r\n\r\nbody {i}\r\n"
        );
        let parsed = parse(raw.as_bytes());
        let tags: Vec<String> = tags.iter().map(ToString::to_string).collect();
        store
            .insert_batch(
                &[NewMessage {
                    raw: raw.as_bytes(),
                    parsed: &parsed,
                    tags: &tags,
                    origin: "test",
                    crypto_pending: false,
                    packed: None,
                    date: *date,
                }],
                *date,
            )
            .await
            .unwrap();
    }
}

fn fields(name: &str, addresses: &[&str]) -> ContactFields {
    ContactFields {
        name: name.into(),
        addresses: addresses.iter().map(ToString::to_string).collect(),
        ..ContactFields::default()
    }
}

async fn find(store: &Store, q: &str) -> Vec<Contact> {
    store
        .contacts_page(q, ContactOrder::Frequent, 0, 50)
        .await
        .unwrap()
}

#[tokio::test]
async fn contacts_are_made_and_counted_from_the_mail() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    mail(
        &store,
        &[
            (
                "Alice <Alice@Example.org>",
                "bob@example.com",
                100,
                &["inbox"],
            ),
            (
                "Alice L. <alice@example.org>",
                "bob@example.com",
                300,
                &["inbox"],
            ),
            (
                "Old Alice <alice@example.org>",
                "bob@example.com",
                200,
                &["inbox"],
            ),
            (
                "Bob <bob@example.com>",
                "alice@example.org, carol@example.net",
                400,
                &["sent"],
            ),
            (
                "Spammer <s@spam.example>",
                "bob@example.com",
                500,
                &["spam"],
            ),
        ],
    )
    .await;
    let alice = &find(&store, "alice").await[0];
    assert_eq!(alice.name, "Alice L.", "the name of the newest message");
    assert_eq!(alice.addresses[0].address, "alice@example.org");
    assert_eq!((alice.from_count, alice.to_count), (3, 1));
    assert_eq!((alice.first_seen, alice.last_seen), (Some(100), Some(400)));
    assert!(
        find(&store, "spam").await.is_empty(),
        "spam makes no contact"
    );
    assert_eq!(find(&store, "carol").await[0].name, "");
    // Words of the address, accents and case ignored.
    assert_eq!(find(&store, "EXAMPLE.NET").await.len(), 1);
    let all = find(&store, "").await;
    let totals: Vec<i64> = all.iter().map(|c| c.from_count + c.to_count).collect();
    assert!(
        totals.windows(2).all(|w| w[0] >= w[1]),
        "most messages first: {totals:?}"
    );
    let by_name = store
        .contacts_page("", ContactOrder::Name, 0, 50)
        .await
        .unwrap();
    assert_eq!(by_name.len(), 3);
    store.close().await;
}

#[tokio::test]
async fn edits_win_merges_keep_both_and_deletes_stay_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    mail(
        &store,
        &[
            ("Alice <alice@home.example>", "bob@example.com", 100, &[]),
            (
                "A. Liddell <aliddell@work.example>",
                "bob@example.com",
                200,
                &[],
            ),
            ("Mallory <m@evil.example>", "bob@example.com", 300, &[]),
        ],
    )
    .await;
    let home = find(&store, "alice@home").await[0].clone();
    let work = find(&store, "aliddell").await[0].clone();
    let mut edit = fields("Alice Pleasance", &["alice@home.example"]);
    edit.phones = vec!["+44 1".into(), " ".into()];
    edit.notes = "tea".into();
    let home = store.update_contact(home.id, &edit, 1000).await.unwrap();
    assert_eq!(
        (home.name.as_str(), home.mail_name.as_str()),
        ("Alice Pleasance", "Alice")
    );
    assert_eq!(home.phones, ["+44 1"]);

    // New mail does not undo the user's name.
    mail(
        &store,
        &[(
            "Someone Else <alice@home.example>",
            "bob@example.com",
            900,
            &[],
        )],
    )
    .await;
    assert_eq!(
        store.contact(home.id).await.unwrap().unwrap().name,
        "Alice Pleasance"
    );
    assert_eq!(
        find(&store, "someone").await[0].id,
        home.id,
        "found by the mail's new name"
    );

    // An address of another contact is refused; merging keeps both.
    let err = store
        .update_contact(
            home.id,
            &fields("x", &["alice@home.example", "ALIDDELL@work.example"]),
            1,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ContactError::AddressTaken { contact, .. } if contact == work.id));
    let merged = store.merge_contacts(home.id, work.id, 1001).await.unwrap();
    let addresses: Vec<&str> = merged
        .addresses
        .iter()
        .map(|a| a.address.as_str())
        .collect();
    assert_eq!(addresses, ["alice@home.example", "aliddell@work.example"]);
    assert_eq!(merged.name, "Alice Pleasance");
    assert_eq!(merged.from_count, 3);
    assert!(store.contact(work.id).await.unwrap().is_none());
    let found = find(&store, "liddell").await;
    assert_eq!(
        found.len(),
        1,
        "the merged contact is found by either address"
    );
    let completion = store.complete_addresses("ali", 10).await.unwrap();
    assert_eq!(completion.len(), 2);
    assert_eq!(completion[0].name.as_deref(), Some("Alice Pleasance"));
    assert_eq!(
        completion[0].address, "alice@home.example",
        "its most used address first"
    );

    // Deleted: gone from lists and completion, and new mail does not bring it back.
    let mallory = find(&store, "mallory").await[0].id;
    assert!(store.delete_contact(mallory, 1002).await.unwrap());
    mail(
        &store,
        &[("Mallory <m@evil.example>", "bob@example.com", 1100, &[])],
    )
    .await;
    assert!(find(&store, "mallory").await.is_empty());
    assert!(
        store
            .complete_addresses("m@evil", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.contact(mallory).await.unwrap().is_none());
    // Creating a contact with that address is the user's word: it takes it over.
    let again = store
        .create_contact(&fields("Mallory M", &["m@evil.example"]), 1200)
        .await
        .unwrap();
    assert_eq!(again.from_count, 2);
    assert_eq!(find(&store, "mallory").await.len(), 1);
    store.close().await;
}

#[tokio::test]
async fn an_address_given_up_becomes_its_own_contact_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    mail(
        &store,
        &[("Carol <carol@example.net>", "bob@example.com", 10, &[])],
    )
    .await;
    let carol = find(&store, "carol").await[0].clone();
    let c = store
        .update_contact(carol.id, &fields("Carol", &["carol@new.example"]), 20)
        .await
        .unwrap();
    assert_eq!(c.from_count, 0);
    let old = find(&store, "carol@example").await;
    assert_eq!(old.len(), 1);
    assert_ne!(old[0].id, carol.id);
    assert_eq!(old[0].from_count, 1);
    store.close().await;
}

#[tokio::test]
async fn imported_cards_merge_by_address() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    mail(
        &store,
        &[
            ("Al <alice@home.example>", "bob@example.com", 10, &[]),
            ("A L <al@work.example>", "bob@example.com", 20, &[]),
        ],
    )
    .await;
    let mut card = fields(
        "Alice Liddell",
        &["al@work.example", "alice@home.example", "new@x.example"],
    );
    card.phones = vec!["+1 555".into()];
    card.notes = "from the phone".into();
    card.extra = Some(vec!["ORG:Wonderland".into()]);
    let CardOutcome::Updated(id) = store.import_card(&card, 30).await.unwrap() else {
        panic!("the card's addresses were known");
    };
    let c = store.contact(id).await.unwrap().unwrap();
    assert_eq!(c.name, "Alice Liddell");
    assert_eq!(c.addresses.len(), 3);
    assert_eq!(c.extra, ["ORG:Wonderland"]);
    assert_eq!(find(&store, "").await.len(), 2, "bob and the merged Alice");
    // The same card again changes nothing; a card with no address, twice, is one contact.
    assert_eq!(
        store.import_card(&card, 40).await.unwrap(),
        CardOutcome::Updated(id)
    );
    assert_eq!(
        store.contact(id).await.unwrap().unwrap().notes,
        "from the phone"
    );
    let plumber = fields("The Plumber", &[]);
    let CardOutcome::Created(p) = store.import_card(&plumber, 50).await.unwrap() else {
        panic!("new");
    };
    assert_eq!(
        store.import_card(&plumber, 60).await.unwrap(),
        CardOutcome::Updated(p)
    );
    assert!(
        store
            .complete_addresses("plumber", 10)
            .await
            .unwrap()
            .is_empty()
    );
    store.close().await;
}

#[tokio::test]
async fn bad_fields_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    for (f, says) in [
        (fields("x", &["no-at-sign"]), "no @"),
        (fields("x", &["a b@c"]), "spaces"),
        (fields("x\u{7}", &[]), "control"),
    ] {
        let e = store.create_contact(&f, 1).await.unwrap_err();
        assert!(e.to_string().contains(says), "{e}");
    }
    // Queries that are all punctuation find nothing and are no FTS syntax error.
    for q in ["\"", "*", "-", "(a", "a\" OR \"b", "NEAR(a b)"] {
        store
            .contacts_page(q, ContactOrder::Frequent, 0, 5)
            .await
            .unwrap();
        store.complete_addresses(q, 5).await.unwrap();
    }
    store.close().await;
}

#[tokio::test]
async fn the_upgrade_builds_the_book_from_stored_mail() {
    let dir = tempfile::tempdir().unwrap();
    let key =
        homepost_testing::vault::create(dir.path()).subkey(homepost_vault::Purpose::Sqlcipher);
    let path = dir.path().join(crate::DB_FILE);
    // Schema 11 (0012_identities): the last one before the address book.
    let old = Store::open_at(&path, &key, 11).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO messages (id, sha256, raw, raw_size, date, imported_at)
             VALUES (1, x'01', x'', 0, 100, 0), (2, x'02', x'', 0, 200, 0), (3, x'03', x'', 0, 300, 0);
         INSERT INTO addresses (message, field, position, address, name) VALUES
             (1, 'from', 0, 'Alice@Example.org', 'Alice'), (1, 'to', 0, 'bob@example.com', ''),
             (2, 'from', 0, 'alice@example.org', 'Alice L.'), (2, 'cc', 0, 'alice@example.org', ''),
             (3, 'from', 0, 's@spam.example', 'Spam');
         INSERT INTO tags (id, name) VALUES (1, 'spam');
         INSERT INTO message_tags (message, tag) VALUES (3, 1);",
    )
    .execute(&old.pool)
    .await
    .unwrap();
    old.close().await;
    let store = Store::open(&path, &key).await.unwrap();
    let alice = &find(&store, "alice").await[0];
    assert_eq!(alice.name, "Alice L.");
    assert_eq!((alice.from_count, alice.to_count), (2, 1));
    assert_eq!((alice.first_seen, alice.last_seen), (Some(100), Some(200)));
    assert_eq!(
        find(&store, "").await.len(),
        2,
        "alice and bob, not the spammer"
    );
    // New mail goes on counting, new contacts get new ids.
    mail(
        &store,
        &[("Carol <carol@example.net>", "alice@example.org", 400, &[])],
    )
    .await;
    assert_eq!(find(&store, "alice").await[0].to_count, 2);
    assert_eq!(find(&store, "carol").await[0].id, 3);
    store.close().await;
}

/// A quick measurement, not a test of speed (run with `--ignored --nocapture`):
/// a mailbox with many correspondents, the cost of a batch of mail, of
/// completion and of listing. Numbers are in docs/address-book.md.
#[tokio::test]
#[ignore]
async fn timing_at_scale() {
    use std::time::Instant;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let messages: usize = std::env::var("CONTACTS_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let start = Instant::now();
    let mut batch_times = Vec::new();
    for b in 0..messages / 500 {
        let raws: Vec<String> = (0..500)
            .map(|i| {
                let n = b * 500 + i;
                // ~messages/5 distinct addresses, a few very frequent.
                let from = (n * 7919) % (messages / 5).max(1);
                let to: Vec<String> = (1..4).map(|k| format!("user{}@d{}.example", (n * k * 31) % (messages / 5).max(1), k)).collect();
                format!(
                    "From: Person {from} <user{from}@d0.example>\r\nTo: me@home.example, {}\r\nSubject: s\r\nMessage-ID: <{n}@x>\r\n\r\nb{n}\r\n",
                    to.join(", ")
                )
            })
            .collect();
        let parsed: Vec<_> = raws.iter().map(|r| parse(r.as_bytes())).collect();
        let batch: Vec<NewMessage<'_>> = raws
            .iter()
            .zip(&parsed)
            .enumerate()
            .map(|(i, (r, p))| NewMessage {
                raw: r.as_bytes(),
                parsed: p,
                tags: &[],
                origin: "t",
                crypto_pending: false,
                packed: None,
                date: (b * 500 + i) as i64,
            })
            .collect();
        let t = Instant::now();
        store.insert_batch(&batch, 0).await.unwrap();
        batch_times.push(t.elapsed());
    }
    let contacts: i64 = sqlx::query_scalar("SELECT count(*) FROM contacts")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    println!(
        "{messages} messages, {contacts} contacts in {:?}; last batch of 500: {:?}",
        start.elapsed(),
        batch_times.last()
    );
    for round in ["first", "again"] {
        for q in ["p", "pe", "person 12", "user1@d0", "zzz"] {
            let t = Instant::now();
            let n = store.complete_addresses(q, 10).await.unwrap().len();
            println!("complete {q:?} ({round}): {n} in {:?}", t.elapsed());
        }
    }
    for (order, offset) in [
        (ContactOrder::Frequent, 0),
        (ContactOrder::Name, 0),
        (ContactOrder::Frequent, 10_000),
    ] {
        let t = Instant::now();
        let n = store
            .contacts_page("", order, offset, 50)
            .await
            .unwrap()
            .len();
        println!("page {order:?} at {offset}: {n} in {:?}", t.elapsed());
    }
    let t = Instant::now();
    let n = store
        .contacts_page("person", ContactOrder::Frequent, 0, 50)
        .await
        .unwrap()
        .len();
    println!("page 'person': {n} in {:?}", t.elapsed());
    store.close().await;
}

#[tokio::test]
async fn our_own_addresses_are_not_contacts_to_suggest() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    mail(
        &store,
        &[(
            "Alice <alice@example.org>",
            "Bob <BOB@example.com>",
            10,
            &[],
        )],
    )
    .await;
    assert_eq!(find(&store, "").await.len(), 2);
    // An account (its identity) makes bob@example.com ours.
    sqlx::query(
        "INSERT INTO accounts (config, created_at) VALUES ('{\"email\": \"bob@example.com\"}', 0)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    let left = find(&store, "").await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].name, "Alice");
    assert!(store.complete_addresses("bob", 5).await.unwrap().is_empty());
    store.close().await;
}

/// A contact the mail made from an address the form would refuse (mail-parser
/// reads `"John Smith"@example.org` as the name John Smith at `@example.org`)
/// can still be renamed, keeping that address; a new bad address is still
/// refused. Found in review: every save of such a contact was a 400.
#[tokio::test]
async fn a_contact_with_an_unusual_address_from_the_mail_can_be_edited() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    mail(
        &store,
        &[(
            "\"John Smith\"@example.org",
            "me@example.com",
            100,
            &["inbox"],
        )],
    )
    .await;
    let found = find(&store, "john").await;
    let john = found.first().expect("a contact from the mail");
    let address = john.addresses[0].address.clone();
    assert!(
        normalize_address(&address).is_err(),
        "the test needs an address the form refuses: {address:?}"
    );
    let edited = store
        .update_contact(john.id, &fields("John", &[address.as_str()]), 200)
        .await
        .unwrap();
    assert_eq!(edited.name, "John");
    assert_eq!(edited.addresses[0].address, address);
    let refused = store
        .update_contact(
            john.id,
            &fields("John", &[address.as_str(), "no-at-sign"]),
            300,
        )
        .await;
    assert!(
        matches!(refused, Err(ContactError::Invalid(_))),
        "{refused:?}"
    );
}
