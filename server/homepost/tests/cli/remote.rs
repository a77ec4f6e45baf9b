//! `homepost remote pagekite|status`: the relay's settings saved while no
//! server runs, and changed in the running server through its control socket.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::common::*;

fn failure(home: &Home, pass: &str, args: &[&str]) -> String {
    let out = home.run_with(pass, args);
    assert!(!out.status.success(), "homepost {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_relay_is_set_up_offline_and_in_the_running_server() {
    let home = Home::new();
    home.init();
    let saved = home.data().join("remote/pagekite.json");
    assert!(home.ok(&["remote", "status"]).contains("No way in"));
    let secret = home.path("kite-secret");
    fs::write(&secret, "s3cret-kite\n").unwrap();
    // Without a server: checked, then saved for the next start, owner only.
    let err = failure(
        &home,
        PASS,
        &[
            "remote",
            "pagekite",
            "--frontend",
            "127.0.0.1:9",
            "--kite",
            "bad kite",
        ],
    );
    assert!(err.contains("bad kite"), "{err}");
    let err = failure(
        &home,
        PASS,
        &[
            "remote",
            "pagekite",
            "--frontend",
            "127.0.0.1:9",
            "--kite",
            "box.example.net",
        ],
    );
    assert!(err.contains("give the kite's secret"), "{err}");
    assert!(!saved.exists());
    let out = home.ok(&[
        "remote",
        "pagekite",
        "--frontend",
        "127.0.0.1:9",
        "--kite",
        "Box.Example.NET",
        "--secret-file",
        secret.to_str().unwrap(),
    ]);
    assert!(out.contains("https://box.example.net/"), "{out}");
    let mode = fs::metadata(&saved).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(fs::read_to_string(&saved).unwrap().contains("s3cret-kite"));
    let status: Value = serde_json::from_str(&home.ok(&["remote", "status", "--json"])).unwrap();
    assert_eq!(status["running"], false);
    assert_eq!(status["pagekite"]["kite"], "box.example.net");

    // The server starts the saved relay; the CLI changes it there. Nothing
    // listens on port 9, so the connector keeps trying.
    let (_, server) = serve_port(&home, &["serve", "--listen", "127.0.0.1:0"]);
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = Kill(server);
    let status: Value = serde_json::from_str(&home.ok(&["remote", "status", "--json"])).unwrap();
    let relay = &status["pagekite"];
    assert_eq!(relay["kite"], "box.example.net", "{status}");
    assert!(
        ["connecting", "disconnected"].contains(&relay["state"].as_str().unwrap_or_default()),
        "{status}"
    );
    assert_eq!(relay["fingerprint"].as_str().unwrap().len(), 95, "{status}");
    assert!(!status.to_string().contains("s3cret"), "{status}");
    let err = failure(&home, "wrong passphrase", &["remote", "pagekite", "--off"]);
    assert!(err.contains("passphrase"), "{err}");
    assert!(saved.exists());
    // A new secret from a file named relative to the client's directory (the
    // server neither runs there nor may open the user's files).
    fs::write(&secret, "n3w-kite-secret\n").unwrap();
    let out = home
        .cmd(PASS)
        .current_dir(home.dir.path())
        .args([
            "remote",
            "pagekite",
            "--frontend",
            "127.0.0.1:9",
            "--kite",
            "box.example.net",
            "--secret-file",
            "kite-secret",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        fs::read_to_string(&saved)
            .unwrap()
            .contains("n3w-kite-secret")
    );
    // A new frontend, the secret kept.
    let out = home.ok(&[
        "remote",
        "pagekite",
        "--frontend",
        "127.0.0.1:10",
        "--kite",
        "box.example.net",
    ]);
    assert!(out.contains("Certificate: self-signed, SHA-256"), "{out}");
    let text = home.ok(&["remote", "status"]);
    assert!(text.contains("through 127.0.0.1:10"), "{text}");
    assert!(
        fs::read_to_string(&saved)
            .unwrap()
            .contains("n3w-kite-secret")
    );
    home.ok(&["remote", "pagekite", "--off"]);
    assert!(!saved.exists());
    assert!(home.ok(&["remote", "status"]).contains("No PageKite relay"));
    let err = failure(&home, PASS, &["remote", "pagekite", "--off"]);
    assert!(err.contains("no relay is set up"), "{err}");
}

#[test]
fn the_onion_service_is_set_up_and_devices_paired_offline() {
    let home = Home::new();
    home.init();
    assert!(home.ok(&["remote", "onion"]).contains("is off"));
    let on = home.ok(&["remote", "onion", "on", "--restricted"]);
    let address = on
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_owned();
    assert!(
        address.rsplit('.').next() == Some("onion") && address.len() == 62,
        "{on}"
    );
    assert!(on.contains("Only paired devices"), "{on}");
    let identity = home.data().join("tor/onion-identity");
    assert_eq!(
        fs::metadata(&identity).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let paired = home.ok(&["remote", "onion", "pair", "Anna's phone"]);
    let line = paired
        .lines()
        .map(str::trim)
        .find(|l| l.contains(":descriptor:x25519:"))
        .unwrap()
        .to_owned();
    assert!(
        line.starts_with(address.trim_end_matches(".onion")),
        "{line}"
    );
    let key = line.rsplit(':').next().unwrap();
    // The secret is shown, never kept; the device is listed by name and id.
    let saved = fs::read_to_string(home.data().join("remote/onion.json")).unwrap();
    assert!(!saved.contains(key), "{saved}");
    let shown = home.ok(&["remote", "onion"]);
    assert!(shown.contains(&address), "{shown}");
    let id = shown
        .lines()
        .find_map(|l| l.trim().strip_prefix("paired: Anna's phone ("))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap()
        .to_owned();
    assert!(!shown.contains(key), "{shown}");
    let err = failure(&home, PASS, &["remote", "onion", "pair", " "]);
    assert!(err.contains("name"), "{err}");
    home.ok(&["remote", "onion", "unpair", &id]);
    assert!(!home.ok(&["remote", "onion"]).contains("paired:"));
    let err = failure(&home, PASS, &["remote", "onion", "unpair", &id]);
    assert!(err.contains("no paired device"), "{err}");
    assert!(home.ok(&["remote", "onion", "off"]).contains("is off"));
    // Off keeps the address for next time.
    assert!(home.ok(&["remote", "onion", "on"]).contains(&address));
}
