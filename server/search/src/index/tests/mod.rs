//! The index and the search language against a real tantivy index stored through
//! the encrypted directory.

use std::collections::BTreeSet;

use time::macros::datetime;

use super::{IndexDoc, OpenOutcome, SearchIndex, SearchOptions, Sort};
use crate::Error;
use crate::crypt_dir::EncryptedDirectory;

const KEY: [u8; 32] = [42; 32];

fn unix(dt: time::PrimitiveDateTime) -> i64 {
    dt.assume_utc().unix_timestamp()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(std::string::ToString::to_string).collect()
}

#[allow(clippy::too_many_arguments)]
fn doc(
    id: u64,
    date: i64,
    size: u64,
    message_id: &str,
    subject: &str,
    body: &str,
    from: &[&str],
    to: &[&str],
    cc: &[&str],
    tags: &[&str],
    attachments: &[&str],
) -> IndexDoc {
    IndexDoc {
        id,
        date,
        size,
        message_id: message_id.into(),
        subject: subject.into(),
        body: body.into(),
        from: strings(from),
        to: strings(to),
        cc: strings(cc),
        tags: strings(tags),
        attachments: strings(attachments),
        has_attachment: !attachments.is_empty(),
    }
}

/// Ten messages exercising every operator; dates sit on range edges on purpose.
fn fixture() -> Vec<IndexDoc> {
    vec![
        doc(
            1,
            unix(datetime!(2024-01-15 10:00)),
            2_000,
            "<a1@x.org>",
            "Quarterly report",
            "Please find the quarterly numbers attached",
            &["Alice Smith <alice@example.org>"],
            &["bob@example.org"],
            &[],
            &["inbox", "read"],
            &["report.pdf", "application/pdf"],
        ),
        doc(
            2,
            unix(datetime!(2024-01-16 09:00)),
            3_000,
            "a2@x.org",
            "Re: Quarterly report",
            "Thanks Alice, the numbers look great",
            &["Bob Jones <bob@example.org>"],
            &["alice@example.org"],
            &["carol@example.net"],
            &["inbox"],
            &[],
        ),
        doc(
            3,
            unix(datetime!(2024-02-29 12:00)),
            1_572_864,
            "",
            "Holiday photos",
            "Photos from the café trip",
            &["Carol <carol@example.net>"],
            &["alice@example.org"],
            &[],
            &["inbox", "flagged", "read"],
            &["beach.jpg", "image/jpeg"],
        ),
        doc(
            4,
            unix(datetime!(2024-03-01 00:00:00)),
            500,
            "",
            "Lunch?",
            "Are you free for lunch tomorrow",
            &["bob.alice@example.org"],
            &["alice@example.org"],
            &[],
            &["inbox"],
            &[],
        ),
        doc(
            5,
            unix(datetime!(2024-03-31 23:59:59)),
            12_000,
            "",
            "Invoice 2024-03",
            "Your invoice is attached",
            &["billing@shop.example.com"],
            &["alice@example.org"],
            &[],
            &["receipts", "read"],
            &["invoice.pdf", "application/pdf"],
        ),
        doc(
            6,
            unix(datetime!(2024-05-31 12:00)),
            10_240,
            "",
            "Meeting notes",
            "Notes from the planning meeting: budget, hiring",
            &["Dave <dave@example.org>"],
            &["team@example.org"],
            &["alice@example.org"],
            &["work"],
            &[],
        ),
        doc(
            7,
            unix(datetime!(2024-06-01 00:00)),
            10_239,
            "",
            "Re: Meeting notes",
            "I disagree about the budget",
            &["Alice Smith <alice@example.org>"],
            &["dave@example.org"],
            &[],
            &["work", "read", "sent"],
            &[],
        ),
        doc(
            8,
            unix(datetime!(2023-12-31 23:59:59)),
            2_097_152,
            "",
            "Newsletter",
            "Weekly news: report on tantivy search",
            &["news@lists.example.com"],
            &["alice@example.org"],
            &[],
            &["spam"],
            &[],
        ),
        doc(
            9,
            unix(datetime!(2025-01-01 00:00)),
            800,
            "",
            "foo:bar subject",
            "Visit http://example.com/page for details",
            &["eve@example.org"],
            &["alice@example.org"],
            &[],
            &["inbox"],
            &[],
        ),
        doc(
            10,
            unix(datetime!(2024-01-15 10:00)),
            1_048_576,
            "",
            "Quarterly report draft",
            "draft quarterly report",
            &["Alice Smith <alice@example.org>"],
            &["bob@example.org"],
            &[],
            &["drafts"],
            &[
                "draft.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ],
        ),
    ]
}

fn fixture_index() -> (tempfile::TempDir, SearchIndex) {
    let tmp = tempfile::tempdir().unwrap();
    let (mut index, outcome) = SearchIndex::open(tmp.path(), &KEY).unwrap();
    assert_eq!(outcome, OpenOutcome::Created);
    for d in fixture() {
        index.upsert(&d).unwrap();
    }
    index.commit().unwrap();
    (tmp, index)
}

fn opts(sort: Sort) -> SearchOptions {
    SearchOptions {
        sort,
        limit: 100,
        offset: 0,
    }
}

fn ids(index: &SearchIndex, query: &str) -> BTreeSet<u64> {
    let found = index
        .search(query, &opts(Sort::Newest))
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    assert_eq!(found.total, found.ids.len(), "{query}");
    assert_eq!(index.count(query).unwrap(), found.total, "{query}");
    found.ids.into_iter().collect()
}

fn ordered(index: &SearchIndex, query: &str, sort: Sort) -> Vec<u64> {
    index.search(query, &opts(sort)).unwrap().ids
}

fn set(items: &[u64]) -> BTreeSet<u64> {
    items.iter().copied().collect()
}

/// Each query with exactly the messages it must match.
#[test]
fn every_operator_matches_exactly() {
    let (_tmp, index) = fixture_index();
    let all = set(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    let cases: &[(&str, &[u64])] = &[
        // Words and phrases, in subject or body.
        ("quarterly", &[1, 2, 10]),
        ("QUARTERLY", &[1, 2, 10]),
        ("\"numbers look\"", &[2]),
        ("\"look numbers\"", &[]),
        ("\"quarterly report\"", &[1, 2, 10]),
        ("numbers attached", &[1]),
        ("cafe", &[3]),
        ("CAFÉ", &[3]),
        ("tantivy", &[8]),
        ("nothingmatchesthis", &[]),
        // Addresses and names.
        ("from:alice", &[1, 4, 7, 10]),
        ("from:alice@example.org", &[1, 7, 10]),
        ("from:<ALICE@example.org>", &[1, 7, 10]),
        ("from:\"Alice Smith\"", &[1, 7, 10]),
        ("from:smith", &[1, 7, 10]),
        ("from:example.com", &[5, 8]),
        ("to:bob", &[1, 10]),
        ("to:bob@example.org", &[1, 10]),
        ("cc:carol", &[2]),
        ("cc:alice@example.org", &[6]),
        // One text field.
        ("subject:report", &[1, 2, 10]),
        ("body:report", &[8, 10]),
        ("subject:numbers", &[]),
        ("subject:\"meeting notes\"", &[6, 7]),
        ("body:\"planning meeting\"", &[6]),
        // Tags and flags.
        ("tag:inbox", &[1, 2, 3, 4, 9]),
        ("in:INBOX", &[1, 2, 3, 4, 9]),
        ("tag:work", &[6, 7]),
        ("is:read", &[1, 3, 5, 7]),
        ("is:unread", &[2, 4, 6, 8, 9, 10]),
        ("is:flagged", &[3]),
        ("tag:nosuchtag", &[]),
        // Attachments and ids.
        ("has:attachment", &[1, 3, 5, 10]),
        ("-has:attachment", &[2, 4, 6, 7, 8, 9]),
        ("att:pdf", &[1, 5]),
        ("att:report.pdf", &[1]),
        ("att:image", &[3]),
        ("att:wordprocessingml", &[10]),
        ("mid:<a1@x.org>", &[1]),
        ("mid:a2@x.org", &[2]),
        ("mid:a1", &[]),
        // Dates: before is exclusive, after inclusive, months are whole.
        ("before:2024", &[8]),
        ("after:2025", &[9]),
        ("after:2024-06", &[7, 9]),
        ("before:2024-03-01", &[1, 2, 3, 8, 10]),
        ("after:2024-03-01", &[4, 5, 6, 7, 9]),
        ("date:2024-03", &[4, 5]),
        ("date:2024-03..2024-05", &[4, 5, 6]),
        ("date:2024-02-29", &[3]),
        ("date:2024-01-15", &[1, 10]),
        ("date:2024", &[1, 2, 3, 4, 5, 6, 7, 10]),
        ("date:..2023", &[8]),
        ("date:2024-06..", &[7, 9]),
        // Sizes, 1024-based.
        ("size:>1M", &[3, 8]),
        ("size:>=1M", &[3, 8, 10]),
        ("size:1.5M", &[3, 8]),
        ("size:<10k", &[1, 2, 4, 7, 9]),
        ("size:<=10k", &[1, 2, 4, 6, 7, 9]),
        ("size:1k..10k", &[1, 2, 6, 7]),
        ("size:2M", &[8]),
        // Negation, AND, OR, grouping.
        ("quarterly -draft", &[1, 2]),
        ("-tag:inbox", &[5, 6, 7, 8, 10]),
        ("-tag:inbox -tag:work", &[5, 8, 10]),
        ("-(tag:inbox OR tag:work)", &[5, 8, 10]),
        ("meeting OR holiday", &[3, 6, 7]),
        ("from:dave OR from:eve tag:inbox", &[6, 9]),
        ("(from:dave OR from:eve) tag:inbox", &[9]),
        ("budget -is:read OR lunch", &[4, 6]),
        ("--tag:work", &[6, 7]),
        ("is:unread has:attachment", &[10]),
        // Everything, and everything except.
        ("*", &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ("", &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ("-*", &[]),
        ("* -is:read", &[2, 4, 6, 8, 9, 10]),
        // Unknown prefixes are words; words without letters constrain nothing.
        ("foo:bar", &[9]),
        ("http://example.com/page", &[9]),
        ("\"...\"", &[]),
        ("quarterly ,", &[1, 2, 10]),
        ("quarterly OR \"!!\"", &[1, 2, 10]),
    ];
    for (query, expected) in cases {
        assert_eq!(ids(&index, query), set(expected), "query `{query}`");
    }
    // Every message matches a term or its negation, never both.
    for q in ["tag:inbox", "has:attachment", "size:>1M", "date:2024-03"] {
        let yes = ids(&index, q);
        let no = ids(&index, &format!("-{q}"));
        assert!(yes.is_disjoint(&no));
        assert_eq!(&yes | &no, all);
    }
}

#[test]
fn sorting_and_paging() {
    let (_tmp, index) = fixture_index();
    // Same-date messages 1 and 10 break the tie by id.
    assert_eq!(
        ordered(&index, "*", Sort::Newest),
        vec![9, 7, 6, 5, 4, 3, 2, 10, 1, 8]
    );
    assert_eq!(
        ordered(&index, "*", Sort::Oldest),
        vec![8, 1, 10, 2, 3, 4, 5, 6, 7, 9]
    );
    assert_eq!(
        ordered(&index, "from:alice", Sort::Newest),
        vec![7, 4, 10, 1]
    );
    assert_eq!(
        ordered(&index, "from:alice", Sort::Oldest),
        vec![1, 10, 4, 7]
    );
    // Message 2 matches all four words; the others at most two.
    let by_relevance = ordered(
        &index,
        "quarterly OR numbers OR great OR thanks",
        Sort::Relevance,
    );
    assert_eq!(by_relevance[0], 2);
    assert_eq!(set(&by_relevance), set(&[1, 2, 10]));
    let page = |offset, limit| {
        index
            .search(
                "*",
                &SearchOptions {
                    sort: Sort::Newest,
                    limit,
                    offset,
                },
            )
            .unwrap()
    };
    assert_eq!(page(0, 3).ids, vec![9, 7, 6]);
    assert_eq!(page(3, 3).ids, vec![5, 4, 3]);
    assert_eq!(page(9, 3).ids, vec![8]);
    assert_eq!(page(3, 3).total, 10);
    let past_the_end = page(50, 3);
    assert_eq!((past_the_end.total, past_the_end.ids.len()), (10, 0));
    let count_only = page(0, 0);
    assert_eq!((count_only.total, count_only.ids.len()), (10, 0));
    let huge = page(usize::MAX, usize::MAX);
    assert_eq!((huge.total, huge.ids.len()), (10, 0));
    assert_eq!(page(0, usize::MAX).ids.len(), 10);
}

#[test]
fn bad_queries_are_query_errors() {
    let (_tmp, index) = fixture_index();
    for (query, position) in [("date:2024-13", 5), ("(quarterly", 0), ("size:>lots", 6)] {
        match index.search(query, &SearchOptions::default()) {
            Err(Error::Query(e)) => assert_eq!(e.position, position, "{query}"),
            other => panic!("{query}: {other:?}"),
        }
        assert!(matches!(index.count(query), Err(Error::Query(_))));
    }
}

#[test]
fn upsert_replaces_and_delete_removes() {
    let (_tmp, mut index) = fixture_index();
    let mut changed = fixture().remove(0);
    changed.subject = "Annual summary".into();
    changed.body = "nothing quarterly here".into();
    changed.tags = vec!["archive".into()];
    index.upsert(&changed).unwrap();
    // Not visible before the commit.
    assert_eq!(ids(&index, "annual"), set(&[]));
    index.commit().unwrap();
    assert_eq!(index.num_docs(), 10);
    assert_eq!(ids(&index, "annual"), set(&[1]));
    assert_eq!(ids(&index, "tag:inbox"), set(&[2, 3, 4, 9]));
    assert_eq!(ids(&index, "subject:quarterly"), set(&[2, 10]));
    index.delete(4).unwrap();
    index.delete(999).unwrap();
    index.commit().unwrap();
    assert_eq!(index.num_docs(), 9);
    assert_eq!(ids(&index, "lunch"), set(&[]));
    let id = index.index_id().to_string();
    index.clear().unwrap();
    index.commit().unwrap();
    assert_eq!(index.num_docs(), 0);
    assert_eq!(index.index_id(), id);
}

#[test]
fn reopening_keeps_documents_and_id() {
    let (tmp, index) = fixture_index();
    let id = index.index_id().to_string();
    assert_eq!(id.len(), 32);
    drop(index);
    let (index, outcome) = SearchIndex::open(tmp.path(), &KEY).unwrap();
    assert_eq!(outcome, OpenOutcome::Opened);
    assert_eq!(index.index_id(), id);
    assert_eq!(index.num_docs(), 10);
    assert_eq!(ids(&index, "from:alice@example.org"), set(&[1, 7, 10]));
    // A fresh index elsewhere has another id.
    let other = tempfile::tempdir().unwrap();
    let (fresh, _) = SearchIndex::open(other.path(), &KEY).unwrap();
    assert_ne!(fresh.index_id(), id);
}

#[test]
fn one_writer_at_a_time_and_readers_never_block() {
    let (tmp, mut writer) = fixture_index();
    let (mut second, outcome) = SearchIndex::open(tmp.path(), &KEY).unwrap();
    assert_eq!(outcome, OpenOutcome::Opened);
    // The first holds the writer lock since its first upsert.
    assert!(matches!(second.upsert(&fixture()[0]), Err(Error::Busy)));
    assert!(matches!(second.clear(), Err(Error::Busy)));
    // Searching needs no lock.
    assert_eq!(second.count("*").unwrap(), 10);
    // A commit of the writer is seen after a reload.
    writer.delete(9).unwrap();
    writer.commit().unwrap();
    assert_eq!(second.num_docs(), 10);
    second.reload().unwrap();
    assert_eq!(second.num_docs(), 9);
    // Once the writer is gone, another may write.
    drop(writer);
    second.delete(8).unwrap();
    second.commit().unwrap();
    assert_eq!(second.num_docs(), 8);
}

#[test]
fn handles_can_move_between_threads() {
    fn check<T: Send + Sync>() {}
    check::<SearchIndex>();
    check::<EncryptedDirectory>();
    check::<Error>();
}

#[test]
fn debug_output_shows_no_key() {
    let (tmp, index) = fixture_index();
    let printed = format!(
        "{index:?} {:?}",
        EncryptedDirectory::open(tmp.path(), &KEY).unwrap()
    );
    assert!(printed.contains("SearchIndex") && printed.contains("EncryptedDirectory"));
    assert!(!printed.contains("42, 42"), "{printed}");
}

#[test]
fn repeated_upserts_keep_one_document() {
    let (tmp, mut index) = fixture_index();
    let mut d = fixture()[3].clone();
    for subject in ["first", "second", "third"] {
        d.subject = subject.into();
        index.upsert(&d).unwrap();
    }
    let mut new = d.clone();
    new.id = 11;
    index.upsert(&new).unwrap();
    index.upsert(&new).unwrap();
    index.commit().unwrap();
    assert_eq!(index.num_docs(), 11);
    assert_eq!(ids(&index, "subject:third"), set(&[4, 11]));
    assert_eq!(
        ids(&index, "subject:first OR subject:second OR subject:lunch"),
        set(&[])
    );

    // Deleted then added again before the commit: present once.
    index.delete(11).unwrap();
    index.upsert(&new).unwrap();
    index.commit().unwrap();
    assert_eq!(ids(&index, "subject:third"), set(&[4, 11]));

    // Cleared, then fed again before the commit: only what came after the clear.
    index.upsert(&fixture()[0]).unwrap();
    index.clear().unwrap();
    index.upsert(&fixture()[1]).unwrap();
    index.upsert(&fixture()[1]).unwrap();
    index.commit().unwrap();
    assert_eq!(ids(&index, "*"), set(&[2]));
    drop(index);

    // Another process committed id 12 after this one opened its reader: the first
    // write here still replaces it rather than adding a second copy.
    let (mut stale, _) = SearchIndex::open(tmp.path(), &KEY).unwrap();
    {
        let (mut other, _) = SearchIndex::open(tmp.path(), &KEY).unwrap();
        let mut twelve = fixture()[2].clone();
        twelve.id = 12;
        other.upsert(&twelve).unwrap();
        other.commit().unwrap();
    }
    let mut twelve = fixture()[4].clone();
    twelve.id = 12;
    stale.upsert(&twelve).unwrap();
    stale.commit().unwrap();
    assert_eq!(ids(&stale, "*"), set(&[2, 12]));
    assert_eq!(ids(&stale, "invoice"), set(&[12]));
}

mod damage;
mod verify;
