//! `homepost send`: it signs and queues a message as the app's Send does.

use serde_json::Value;

use crate::common::{Home, PASS, succeeded};

/// `homepost send` goes through the same core function as the app's Send: the
/// message is signed and queued, a refused encryption queues nothing, and a
/// failed send leaves no stray draft behind.
#[test]
fn send_queues_a_protected_message_like_the_app() {
    let home = Home::new();
    home.init();
    home.add_my_account(&["--smtp", "smtp.example.org:465"]);
    let send = |args: &[&str], body: &str| home.send(args, body.as_bytes());
    let outbox =
        || -> Vec<Value> { serde_json::from_str(&home.ok(&["outbox", "list", "--json"])).unwrap() };

    // Encryption asked for, no key for Bob: refused with the reason, nothing queued.
    let refused = send(
        &[
            "--account",
            "1",
            "--to",
            "bob@example.net",
            "--subject",
            "Hi",
            "--encrypt",
        ],
        "secret plans\n",
    );
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("no usable key for bob@example.net"), "{err}");
    assert!(outbox().is_empty());

    // Without --encrypt it goes signed (no key to encrypt to) and is queued.
    let queued = succeeded(send(
        &[
            "--account",
            "1",
            "--to",
            "Bob <bob@example.net>",
            "--subject",
            "Lunch?",
        ],
        "Noon at the usual place.\n",
    ));
    assert!(String::from_utf8_lossy(&queued.stdout).contains("Queued as outbox message"));
    let items = outbox();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["subject"], "Lunch?");
    assert_eq!(items[0]["to"], serde_json::json!(["bob@example.net"]));
    assert_eq!(items[0]["state"], "queued");

    // An account without SMTP, a draft that does not exist: clear errors.
    let no_draft = home.run_with(PASS, &["send", "--draft", "999"]);
    assert!(String::from_utf8_lossy(&no_draft.stderr).contains("no draft with id 999"));
    let no_account = send(&["--account", "7", "--to", "bob@example.net"], "x");
    assert!(String::from_utf8_lossy(&no_account.stderr).contains("account 7 does not exist"));
    assert_eq!(outbox().len(), 1);
}
