//! `homepost discover` and the existing-mail choices of `homepost account add`.

use serde_json::Value;

use crate::common::*;

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn discover_says_what_it_tried_when_nothing_is_found() {
    let home = Home::new();
    let ns = format!("127.0.0.1:{}", closed_port());
    let args = [
        "discover",
        "bob@nowhere.invalid",
        "--no-ispdb",
        "--name-server",
        &ns,
    ];
    let out = home.ok(&args);
    assert!(
        out.contains("No complete configuration found for bob@nowhere.invalid"),
        "{out}"
    );
    assert!(out.contains("SRV") && out.contains("turned off"), "{out}");
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let json: Value = serde_json::from_str(&home.ok(&json_args)).unwrap();
    assert_eq!(json["email"], "bob@nowhere.invalid");
    assert_eq!(json["candidates"], serde_json::json!([]));
    assert!(!json["log"].as_array().unwrap().is_empty());
    // Not an address: a clear error, no vault needed either way.
    let out = home.run_with(PASS, &["discover", "not an address", "--no-ispdb"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an e-mail address"), "{err}");
}

#[test]
fn account_add_takes_the_existing_mail_choice() {
    let home = Home::new();
    home.init();
    home.add_my_account(&[
        "--imap",
        "127.0.0.1:993",
        "--existing",
        "recent",
        "--recent-days",
        "7",
        "--mark-old-read",
    ]);
    let list: Value = serde_json::from_str(&home.ok(&["account", "list", "--json"])).unwrap();
    let first = &list[0]["config"]["incoming"]["first_sync"];
    assert_eq!(
        (
            first["scope"].as_str(),
            first["days"].as_u64(),
            first["mark_read"].as_bool()
        ),
        (Some("recent"), Some(7), Some(true)),
        "{list}"
    );
    // POP3 cannot tell old mail from new: refused with the reason.
    let out = home.run_with(
        PASS,
        &[
            "account",
            "add",
            "--name",
            "P",
            "--email",
            "p@example.org",
            "--pop3",
            "127.0.0.1:995",
            "--existing",
            "none",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("POP3"), "{err}");
    // With the defaults (all of it), a POP3 account is added: the days back the
    // command always passes do not count for it.
    crate::common::succeeded(
        home.cmd(PASS)
            .env("HOMEPOST_INCOMING_PASSWORD", "x")
            .args(["account", "add", "--name", "P", "--email", "p@example.org"])
            .args(["--pop3", "127.0.0.1:995"])
            .output()
            .unwrap(),
    );
}
