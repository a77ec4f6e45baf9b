//! An import asked to stop (the box is locking) ends after its current batch,
//! says so, loses nothing stored, and a second import of the same files
//! finishes the job with the rest skipped as duplicates.

use std::sync::atomic::AtomicBool;

use homepost_core::library::Library;
use homepost_mail::ImportSources;
use homepost_testing::vault;

#[tokio::test]
async fn a_stopped_import_ends_after_one_batch_and_a_second_run_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let mbox = src.path().join("big.mbox");
    let mut text = String::new();
    for i in 0..600 {
        text.push_str(&format!(
            "From x Thu Jan  1 00:00:00 1970\nFrom: a@example.org\nSubject: n{i}\nMessage-ID: <n{i}@example.org>\n\nbody {i}\n\n"
        ));
    }
    std::fs::write(&mbox, text).unwrap();
    let mut lib = Library::open(dir.path(), &vault::create(dir.path()))
        .await
        .unwrap();
    let tags = ["inbox".to_string()];

    let stop = AtomicBool::new(true);
    let first = lib
        .import_until(
            ImportSources::new(vec![mbox.clone()]),
            &tags,
            1_700_000_000,
            |_| {},
            &stop,
        )
        .await
        .unwrap();
    assert!(first.imported > 0 && first.imported < 600, "{first:?}");
    assert!(
        first.unreadable.iter().any(|u| u.contains("locked")),
        "{first:?}"
    );
    assert_eq!(
        lib.count("*").await.unwrap(),
        first.imported as usize,
        "stored but not searchable"
    );

    let second = lib
        .import(ImportSources::new(vec![mbox]), &tags, 1_700_000_000, |_| {})
        .await
        .unwrap();
    assert_eq!(second.duplicates, first.imported);
    assert_eq!(first.imported + second.imported, 600);
    assert_eq!(second.unreadable_count, 0);
    assert_eq!(lib.count("*").await.unwrap(), 600);
    lib.close().await;
}
