use std::collections::BTreeMap;

use homepost_testing::vault;
use homepost_vault::Purpose;

use super::*;
use crate::DB_FILE;
use crate::tests::{insert_mail, open_store};

type Copy = BTreeMap<String, Vec<Vec<Value>>>;

/// Every table's rows, a few at a time (so paging is exercised), with the
/// message contents alongside.
async fn copy(store: &Store) -> (Vec<Table>, Copy, BTreeMap<Vec<u8>, Vec<u8>>) {
    let mut snap = store.snapshot().await.unwrap();
    let tables = snap.tables().await.unwrap();
    let mut rows = Copy::new();
    let mut contents = BTreeMap::new();
    for t in &tables {
        let mut after: Option<Vec<Value>> = None;
        let mut all = Vec::new();
        loop {
            let page = snap.page(t, after.as_deref(), 3).await.unwrap();
            for row in &page.rows {
                for v in row {
                    if let Value::Content(name) = v {
                        let bytes = snap.content(name).await.unwrap().unwrap();
                        contents.insert(name.clone(), bytes);
                    }
                }
            }
            all.extend(page.rows);
            match page.next {
                Some(k) => after = Some(k),
                None => break,
            }
        }
        assert_eq!(all.len() as u64, snap.count(t).await.unwrap(), "{}", t.name);
        rows.insert(t.name.clone(), all);
    }
    snap.finish().await.unwrap();
    (tables, rows, contents)
}

async fn sample(store: &Store) {
    for i in 0..8 {
        insert_mail(store, &format!("m{i}@example.org"), &format!("body {i}")).await;
    }
    store.create_tag("receipts").await.unwrap();
    store
        .change_tags(&[1, 3], &["receipts".into()], &["inbox".into()])
        .await
        .unwrap();
    store.set_setting("ui.theme", "dark").await.unwrap();
}

#[tokio::test]
async fn a_copy_loads_into_a_new_store_exactly() {
    let a_dir = tempfile::tempdir().unwrap();
    let a = open_store(a_dir.path()).await;
    sample(&a).await;
    let (tables, rows, contents) = copy(&a).await;
    assert!(tables.iter().any(|t| t.name == "message_tags"));
    assert!(!tables.iter().any(|t| t.name == "backup_objects"));
    assert!(
        !tables.iter().any(|t| t.name == "contact_search"),
        "a virtual table is copied through its own tables"
    );
    assert_eq!(contents.len(), 8);

    let b_dir = tempfile::tempdir().unwrap();
    let key = vault::create(b_dir.path()).subkey(Purpose::Sqlcipher);
    let b = Store::create_at_version(&b_dir.path().join(DB_FILE), &key, Store::latest_schema())
        .await
        .unwrap();
    let mut loader = b.loader().await.unwrap();
    for t in &tables {
        loader.clear(t).await.unwrap();
        let filled: Vec<Vec<Value>> = rows[&t.name]
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| match v {
                        Value::Content(name) => Value::Blob(contents[name].clone()),
                        other => other.clone(),
                    })
                    .collect()
            })
            .collect();
        loader.insert(t, &filled).await.unwrap();
    }
    assert_eq!(loader.finish().await.unwrap(), Vec::<String>::new());

    let (tables_b, rows_b, contents_b) = copy(&b).await;
    assert_eq!(tables_b, tables);
    assert_eq!(contents_b, contents);
    assert_eq!(rows_b, rows);
    // The index queue is not copied: every message waits for the new index.
    assert!(!tables.iter().any(|t| t.name == "index_queue"));
    assert_eq!(b.pending_count().await.unwrap(), 8);
    // The triggers are back: a new account still gets its identity.
    let triggers = |s: Store| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'")
            .fetch_one(&s.pool)
            .await
            .unwrap()
    };
    assert_eq!(triggers(b.clone()).await, triggers(a.clone()).await);
    assert_eq!(b.tag_counts().await.unwrap(), a.tag_counts().await.unwrap());
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn a_snapshot_does_not_see_later_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    sample(&store).await;
    let mut snap = store.snapshot().await.unwrap();
    insert_mail(&store, "late@example.org", "late").await;
    let tables = snap.tables().await.unwrap();
    let messages = tables.iter().find(|t| t.name == "messages").unwrap();
    assert_eq!(snap.count(messages).await.unwrap(), 8);
    snap.finish().await.unwrap();
    store.close().await;
}
