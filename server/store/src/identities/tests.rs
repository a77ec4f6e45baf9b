//! Identities: primaries kept in step with their accounts, aliases, the one
//! default, drafts that follow a deleted identity, and the upgrade that makes the
//! primaries of existing accounts.

use homepost_testing::vault;
use homepost_vault::Purpose;

use super::*;
use crate::tests::open_store;
use crate::{AccountConfig, DB_FILE, DraftContent, Secrets, Store};

fn account(name: &str) -> AccountConfig {
    AccountConfig {
        name: name.into(),
        email: format!("{name}@example.org"),
        display_name: name.to_uppercase(),
        incoming: None,
        outgoing: None,
    }
}

fn alias(address: &str, signature: &str) -> IdentityFields {
    IdentityFields {
        address: address.into(),
        display_name: "Alias".into(),
        signature: signature.into(),
    }
}

async fn add(store: &Store, name: &str) -> i64 {
    store
        .add_account(&account(name), &Secrets::default(), 1)
        .await
        .unwrap()
}

async fn added(store: &Store, account: i64, fields: &IdentityFields) -> i64 {
    match store.add_identity(account, fields, 2).await.unwrap() {
        IdentityOutcome::Done(id) => id,
        other => panic!("not added: {other:?}"),
    }
}

async fn defaults(store: &Store) -> Vec<String> {
    store
        .identities()
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.is_default)
        .map(|i| i.address)
        .collect()
}

#[tokio::test]
async fn accounts_bring_their_primary_and_the_first_is_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    assert_eq!(store.default_identity().await.unwrap(), None);
    let alice = add(&store, "alice").await;
    let bob = add(&store, "bob").await;
    let all = store.identities().await.unwrap();
    assert_eq!(all.len(), 2);
    let primary = store.primary_identity(alice).await.unwrap().unwrap();
    assert_eq!(
        (primary.address.as_str(), primary.display_name.as_str()),
        ("alice@example.org", "ALICE")
    );
    assert!(primary.is_primary && primary.is_default);
    assert!(
        !store
            .primary_identity(bob)
            .await
            .unwrap()
            .unwrap()
            .is_default
    );

    // The account's address and name changes reach its primary.
    let mut changed = account("alice");
    changed.email = "alice@new.example".into();
    changed.display_name = "Alice Liddell".into();
    assert!(
        store
            .update_account(alice, &changed, &Secrets::default())
            .await
            .unwrap()
    );
    let primary = store.primary_identity(alice).await.unwrap().unwrap();
    assert_eq!(primary.address, "alice@new.example");
    assert_eq!(primary.display_name, "Alice Liddell");
    assert!(primary.is_default);
    store.close().await;
}

#[tokio::test]
async fn aliases_are_added_changed_and_deleted_and_the_primary_stays() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let alice = add(&store, "alice").await;
    let primary = store.primary_identity(alice).await.unwrap().unwrap();
    let shop = added(&store, alice, &alias("shop@example.org", "Alice's shop")).await;
    assert_eq!(
        store
            .add_identity(alice, &alias("SHOP@example.org", ""), 3)
            .await
            .unwrap(),
        IdentityOutcome::AddressTaken
    );
    assert_eq!(
        store
            .add_identity(alice, &alias("alice@example.org", ""), 3)
            .await
            .unwrap(),
        IdentityOutcome::AddressTaken,
        "the primary's address"
    );
    assert_eq!(
        store
            .add_identity(999, &alias("x@example.org", ""), 3)
            .await
            .unwrap(),
        IdentityOutcome::NoSuchAccount
    );
    // Another account may have the same address.
    let bob = add(&store, "bob").await;
    added(&store, bob, &alias("shop@example.org", "")).await;

    let mut fields = alias("sales@example.org", "Sales\nAlice");
    assert_eq!(
        store.update_identity(shop, &fields).await.unwrap(),
        IdentityOutcome::Done(shop)
    );
    let stored = store.identity(shop).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.address.as_str(),
            stored.signature.as_str(),
            stored.account_id
        ),
        ("sales@example.org", "Sales\nAlice", alice)
    );
    fields.address = "alice@example.org".into();
    assert_eq!(
        store.update_identity(shop, &fields).await.unwrap(),
        IdentityOutcome::AddressTaken
    );

    // The primary: its address is the account's; its name and signature change,
    // the name in the account's settings too.
    let mut own = alias("other@example.org", "Alice");
    assert_eq!(
        store.update_identity(primary.id, &own).await.unwrap(),
        IdentityOutcome::Primary
    );
    own.address = "Alice@Example.org".into();
    own.display_name = "Alice L.".into();
    assert_eq!(
        store.update_identity(primary.id, &own).await.unwrap(),
        IdentityOutcome::Done(primary.id)
    );
    let now = store.identity(primary.id).await.unwrap().unwrap();
    assert_eq!(
        (
            now.address.as_str(),
            now.display_name.as_str(),
            now.signature.as_str()
        ),
        ("alice@example.org", "Alice L.", "Alice")
    );
    let config = store.account(alice).await.unwrap().unwrap().config;
    assert_eq!(config.display_name, "Alice L.");
    assert_eq!(config.email, "alice@example.org");

    assert_eq!(
        store.delete_identity(primary.id).await.unwrap(),
        IdentityOutcome::Primary
    );
    assert_eq!(
        store.delete_identity(shop).await.unwrap(),
        IdentityOutcome::Done(shop)
    );
    assert_eq!(
        store.delete_identity(shop).await.unwrap(),
        IdentityOutcome::NoSuchIdentity
    );
    assert_eq!(
        store.update_identity(shop, &fields).await.unwrap(),
        IdentityOutcome::NoSuchIdentity
    );
    store.close().await;
}

#[tokio::test]
async fn there_is_always_one_default_and_drafts_follow_a_deleted_identity() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let alice = add(&store, "alice").await;
    let bob = add(&store, "bob").await;
    let bob_primary = store.primary_identity(bob).await.unwrap().unwrap().id;
    let shop = added(&store, bob, &alias("shop@example.org", "")).await;
    assert!(store.set_default_identity(shop).await.unwrap());
    assert!(!store.set_default_identity(999).await.unwrap());
    assert_eq!(defaults(&store).await, ["shop@example.org"]);
    assert!(store.set_default_identity(shop).await.unwrap(), "again");
    assert_eq!(defaults(&store).await, ["shop@example.org"]);

    let draft = |identity: i64, account: i64| DraftContent {
        identity_id: Some(identity),
        account_id: Some(account),
        subject: "draft".into(),
        ..Default::default()
    };
    let from_shop = store.create_draft(&draft(shop, bob), 5).await.unwrap();
    let from_bob = store
        .create_draft(&draft(bob_primary, bob), 5)
        .await
        .unwrap();

    // Deleting the default alias: the first account's primary is the default,
    // the alias's drafts are written from its account's primary.
    store.delete_identity(shop).await.unwrap();
    assert_eq!(defaults(&store).await, ["alice@example.org"]);
    let moved = store.draft(from_shop).await.unwrap().unwrap().content;
    assert_eq!(
        (moved.identity_id, moved.account_id),
        (Some(bob_primary), Some(bob))
    );

    // An account that goes takes its identities; its drafts keep no identity.
    assert!(store.set_default_identity(bob_primary).await.unwrap());
    assert!(store.delete_account(bob).await.unwrap());
    assert_eq!(defaults(&store).await, ["alice@example.org"]);
    assert_eq!(store.identities().await.unwrap().len(), 1);
    let orphan = store.draft(from_bob).await.unwrap().unwrap().content;
    assert_eq!((orphan.identity_id, orphan.account_id), (None, None));
    assert_eq!(orphan.subject, "draft");

    // An alias with the account's new address gives way to the primary, and
    // hands it the default flag.
    let old = added(&store, alice, &alias("alice@new.example", "")).await;
    assert!(store.set_default_identity(old).await.unwrap());
    let mut moved = account("alice");
    moved.email = "alice@new.example".into();
    store
        .update_account(alice, &moved, &Secrets::default())
        .await
        .unwrap();
    let all = store.identities().await.unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].is_primary && all[0].is_default);
    assert_eq!(all[0].address, "alice@new.example");

    // The last account gone: no identity, no default; the next one is the default.
    store.delete_account(alice).await.unwrap();
    assert!(store.identities().await.unwrap().is_empty());
    let carol = add(&store, "carol").await;
    assert_eq!(
        store
            .default_identity()
            .await
            .unwrap()
            .map(|i| i.account_id),
        Some(carol)
    );
    store.close().await;
}

#[tokio::test]
async fn the_upgrade_makes_the_primaries_of_existing_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let key = vault::create(dir.path()).subkey(Purpose::Sqlcipher);
    let path = dir.path().join(DB_FILE);
    let before = crate::schema::MIGRATIONS
        .iter()
        .position(|sql| sql.contains("CREATE TABLE identities"))
        .unwrap() as i64;
    let old = Store::open_at(&path, &key, before).await.unwrap();
    let first = add(&old, "alice").await;
    let second = add(&old, "bob").await;
    old.close().await;

    let store = Store::open(&path, &key).await.unwrap();
    let all = store.identities().await.unwrap();
    let shape: Vec<(i64, &str, &str, bool, bool)> = all
        .iter()
        .map(|i| {
            (
                i.account_id,
                i.address.as_str(),
                i.display_name.as_str(),
                i.is_primary,
                i.is_default,
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (first, "alice@example.org", "ALICE", true, true),
            (second, "bob@example.org", "BOB", true, false),
        ]
    );
    store.close().await;
}

#[test]
fn fields_are_checked_and_tidied() {
    let mut ok = IdentityFields {
        address: "  shop@example.org ".into(),
        display_name: " Shop ".into(),
        signature: "-- \r\nAlice\r\nShop keeper\r\n\r\n".into(),
    };
    ok.check().unwrap();
    assert_eq!(ok.address, "shop@example.org");
    assert_eq!(ok.display_name, "Shop");
    assert_eq!(ok.signature, "Alice\nShop keeper");
    for (address, name, signature, says) in [
        (
            "shop@example.org\r\nBcc: x@y.org",
            "",
            "",
            "not one e-mail address",
        ),
        (
            "a@example.org, b@example.org",
            "",
            "",
            "not one e-mail address",
        ),
        ("Shop <shop@example.org>", "", "", "not one e-mail address"),
        ("shop", "", "", "not one e-mail address"),
        ("shop@example.org", "Shop\r\nBcc: x@y.org", "", "one line"),
        ("shop@example.org", "", "bell\u{7}", "control characters"),
    ] {
        let mut f = IdentityFields {
            address: address.into(),
            display_name: name.into(),
            signature: signature.into(),
        };
        let e = f.check().unwrap_err();
        assert!(e.contains(says), "{address:?} {name:?}: {e}");
    }
    let mut long = alias("shop@example.org", &"x".repeat(MAX_SIGNATURE_CHARS + 1));
    assert!(long.check().unwrap_err().contains("at most"));
    let mut fits = alias("shop@example.org", &"é".repeat(MAX_SIGNATURE_CHARS));
    fits.check().unwrap();
}
