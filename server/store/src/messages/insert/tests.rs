//! Batches larger than one `INSERT`, packed ahead or not.

use homepost_mail::parse;

use super::*;
use crate::tests::{mail, open_store};

/// A batch of more messages than one statement takes, some packed ahead and
/// some not, with a message twice (once packed, once not): every message is
/// stored once, in order, byte for byte, and the OpenPGP marks are kept.
#[tokio::test]
async fn a_large_mixed_batch_is_stored_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let n = ROWS_PER_INSERT * 2 + 7;
    let raws: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let body = format!("message {i} {}", "words ".repeat(i % 50));
            mail(&format!("m{i}@x"), &format!("number {i}"), "", &body)
        })
        .collect();
    let parsed: Vec<_> = raws.iter().map(|r| parse(r)).collect();
    let mut packer = Packer::new().unwrap();
    let packed: Vec<Packed> = raws.iter().map(|r| packer.pack(r).unwrap()).collect();
    let tags = vec!["inbox".to_string()];
    let new = |i: usize, ahead: bool| NewMessage {
        raw: &raws[i],
        parsed: &parsed[i],
        tags: &tags,
        origin: "test",
        crypto_pending: i.is_multiple_of(3),
        packed: ahead.then(|| &packed[i]),
        date: 0,
    };
    let mut batch: Vec<NewMessage<'_>> = (0..n).map(|i| new(i, i.is_multiple_of(2))).collect();
    // Message 5 again, packed this time (it was not).
    batch.push(new(5, true));
    let out = store.insert_batch(&batch, 0).await.unwrap();
    assert_eq!(out.len(), n + 1);
    let first = match out[0] {
        Inserted::New(id) => id,
        other => panic!("{other:?}"),
    };
    for (i, o) in out[..n].iter().enumerate() {
        assert_eq!(*o, Inserted::New(first + i as i64), "{i}");
    }
    assert_eq!(out[n], Inserted::Duplicate(first + 5));
    assert_eq!(store.count().await.unwrap(), n as i64);
    for i in [0, 1, ROWS_PER_INSERT - 1, ROWS_PER_INSERT, n - 1] {
        let id = first + i as i64;
        assert_eq!(store.raw(id).await.unwrap().unwrap(), raws[i], "{i}");
        let m = store.message(id).await.unwrap().unwrap();
        assert_eq!(m.summary.subject, format!("number {i}"));
        assert_eq!(m.size, raws[i].len() as u64);
    }
    let pending = store.crypto_pending(0, n as i64).await.unwrap();
    let expected: Vec<i64> = (0..n)
        .filter(|i| i.is_multiple_of(3))
        .map(|i| first + i as i64)
        .collect();
    assert_eq!(pending, expected);
    store.close().await;
}
