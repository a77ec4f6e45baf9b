//! A box with mail in it, and the comparison of two boxes, for the backup tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use homepost_store::{DB_FILE, NewMessage, Store, Value};
use homepost_testing::vault;
use homepost_vault::{Passphrase, Purpose, Vault};

/// A data directory with a vault and a store.
pub struct Box_ {
    pub dir: tempfile::TempDir,
    pub vault: Vault,
    pub store: Store,
}

pub async fn new_box() -> Box_ {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault::create(dir.path());
    let store = Store::open(&dir.path().join(DB_FILE), &vault.subkey(Purpose::Sqlcipher))
        .await
        .unwrap();
    Box_ { dir, vault, store }
}

pub fn passphrase() -> Passphrase {
    Passphrase::new(vault::PASSPHRASE.into())
}

/// A message whose subject and body carry `token`, with about 2 KB of text
/// that does not compress much (as real mail does not compress to nothing).
pub fn mail(i: usize, token: &str) -> Vec<u8> {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut body = String::new();
    for n in 0..(300 + i % 200) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        body.push_str(&format!("{:x}", x % 4096));
        body.push(if n % 12 == 11 { '\n' } else { ' ' });
    }
    format!(
        "From: Alice Example <alice@example.org>\r\nTo: bob@example.com\r\nSubject: {token} subject {i}\r\nMessage-ID: <m{i}.{token}@example.org>\r\nDate: Tue, 05 Mar 2024 10:00:00 +0000\r\n\r\nBody {token} {i}\r\n{body}\r\n"
    )
    .into_bytes()
}

pub async fn add_mail(store: &Store, from: usize, to: usize, token: &str) {
    let raws: Vec<Vec<u8>> = (from..to).map(|i| mail(i, token)).collect();
    let parsed: Vec<_> = raws.iter().map(|r| homepost_mail::parse(r)).collect();
    let tags = vec!["inbox".to_string()];
    let batch: Vec<NewMessage> = raws
        .iter()
        .zip(&parsed)
        .map(|(raw, p)| NewMessage {
            raw,
            parsed: p,
            tags: &tags,
            origin: "test",
            crypto_pending: false,
            packed: None,
            date: p.date.unwrap_or(0),
        })
        .collect();
    store.insert_batch(&batch, 0).await.unwrap();
}

/// A backup of `b` to `remote` with the default options, which must succeed.
pub async fn back_up<R: homepost_backup::Remote>(
    b: &Box_,
    remote: &mut R,
) -> homepost_backup::Summary {
    homepost_backup::backup(
        &b.store,
        &homepost_backup::VaultAccess::new(&b.vault),
        remote,
        &homepost_backup::Options::default(),
        &mut |_| {},
    )
    .await
    .unwrap()
}

/// Everything a store holds, as comparable values: the rows of every table
/// (`indexed` left out: a restored box indexes again) and the messages' bytes.
pub async fn contents(store: &Store) -> BTreeMap<String, Vec<Vec<Value>>> {
    let mut snap = store.snapshot().await.unwrap();
    let mut out = BTreeMap::new();
    for t in snap.tables().await.unwrap() {
        if t.name == "backup_objects" {
            continue;
        }
        let indexed = t.columns.iter().position(|c| c == "indexed");
        let mut rows = Vec::new();
        let mut after: Option<Vec<Value>> = None;
        loop {
            let page = snap.page(&t, after.as_deref(), 1000).await.unwrap();
            for mut row in page.rows {
                if let Some(i) = indexed.filter(|_| t.name == "messages") {
                    row[i] = Value::Null;
                }
                for v in &mut row {
                    if let Value::Content(sha) = v {
                        *v = Value::Blob(snap.content(sha).await.unwrap().unwrap());
                    }
                }
                rows.push(row);
            }
            match page.next {
                Some(k) => after = Some(k),
                None => break,
            }
        }
        out.insert(t.name.clone(), rows);
    }
    snap.finish().await.unwrap();
    out
}

/// The box's backup keys, which a first backup made.
pub async fn keys_of(b: &Box_) -> homepost_backup::Keys {
    homepost_backup::stored_keys(&b.store)
        .await
        .unwrap()
        .expect("a backup made the keys")
}

/// A new data directory restored with the test passphrase from `snapshot` (the
/// newest when `None`) of the backup in `remote`, and its store opened.
pub struct Restored {
    /// Kept while the restored box is in use.
    pub dir: tempfile::TempDir,
    /// The data directory.
    pub dest: std::path::PathBuf,
    /// What the restore said.
    pub summary: homepost_backup::RestoreSummary,
    /// Its store.
    pub store: Store,
}

pub async fn restore_new<R: homepost_backup::Remote>(
    remote: &mut R,
    snapshot: Option<&str>,
) -> Restored {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("data");
    let summary = homepost_backup::restore(
        remote,
        &homepost_backup::Secret::Passphrase(passphrase()),
        &dest,
        snapshot,
        &mut |_, _| {},
    )
    .await
    .unwrap();
    let store = open_restored(&dest, &passphrase()).await;
    Restored {
        dir,
        dest,
        summary,
        store,
    }
}

/// Opens the store of a restored data directory.
pub async fn open_restored(dir: &Path, passphrase: &Passphrase) -> Store {
    let vault = Vault::unlock(dir, passphrase).unwrap();
    Store::open(&dir.join(DB_FILE), &vault.subkey(Purpose::Sqlcipher))
        .await
        .unwrap()
}
