//! CLI commands while `homepost serve` runs: they go through its control socket.

use std::fs;
use std::io::Write;
use std::process::Stdio;

use serde_json::Value;

use crate::common::{Home, PASS, import, message};

/// A minimal HTTP/1.1 exchange with the server under test: (status, the
/// Set-Cookie pairs, body).
fn http(port: u16, request: &str) -> (u16, Vec<String>, String) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let cookies = head
        .lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or(l.strip_prefix("Set-Cookie: "))
        })
        .filter_map(|c| c.split(';').next().map(str::to_owned))
        .collect();
    (status, cookies, body.to_owned())
}

fn post_json(port: u16, path: &str, headers: &str, body: &str) -> (u16, Vec<String>, String) {
    http(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}Connection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// One owner of the data directory: while `homepost serve` runs, CLI commands
/// go through it. Before, an import while the box was unlocked failed after a
/// tag change in the app ("the search index is being written by another
/// process") and its messages stayed invisible to the app until Lock + unlock.
#[test]
fn cli_commands_go_through_the_running_server() {
    use std::io::{BufRead, BufReader};
    let home = Home::new();
    home.init();
    let first = home.path("first.eml");
    fs::write(
        &first,
        message(
            "a@example.org",
            "me@example.org",
            "First",
            "m1@example.org",
            "Mon, 1 Jan 2024 10:00:01 +0000",
            "",
            "zqxfirst body",
        ),
    )
    .unwrap();
    import(&home, std::slice::from_ref(&first));

    let mut server = home
        .cmd(PASS)
        .env("HOMEPOST_LOG", "homepost=info,warn")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut server = Kill(server);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let port: u16 = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    assert!(home.data().join("control.sock").exists());

    // Locked: the server opens the library for the command and closes it again.
    let second = home.path("second.eml");
    fs::write(
        &second,
        message(
            "b@example.org",
            "me@example.org",
            "Second",
            "m2@example.org",
            "Mon, 1 Jan 2024 10:00:02 +0000",
            "",
            "zqxsecond body",
        ),
    )
    .unwrap();
    import(&home, std::slice::from_ref(&second));
    assert_eq!(home.count("zqxsecond"), 1);

    // A second server on the same data directory is refused.
    let other = home.run_with(PASS, &["serve", "--listen", "127.0.0.1:0"]);
    assert!(!other.status.success());
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("already runs"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );

    // Unlocked in the app, which changes a tag (its index writer is busy now).
    let (status, cookies, body) = post_json(
        port,
        "/api/v1/session",
        "",
        &format!("{{\"passphrase\":\"{PASS}\"}}"),
    );
    assert_eq!(status, 200, "{body}");
    let csrf = serde_json::from_str::<Value>(&body).unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let auth = format!("Cookie: {}\r\nX-CSRF-Token: {csrf}\r\n", cookies.join("; "));
    let (status, _, body) = post_json(
        port,
        "/api/v1/messages/tags",
        &auth,
        r#"{"ids":[1],"add":["work"]}"#,
    );
    assert_eq!(status, 200, "{body}");

    // The CLI imports through the server: no "index being written" failure,
    // and the app sees the new message at once.
    let third = home.path("third.eml");
    fs::write(
        &third,
        message(
            "c@example.org",
            "me@example.org",
            "Third",
            "m3@example.org",
            "Mon, 1 Jan 2024 10:00:03 +0000",
            "",
            "zqxthird body",
        ),
    )
    .unwrap();
    import(&home, std::slice::from_ref(&third));
    let (status, _, body) = http(
        port,
        &format!(
            "GET /api/v1/search?q=zqxthird HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Connection: close\r\n\r\n"
        ),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["total"],
        1,
        "{body}"
    );
    // And the app's tag change is what the CLI sees.
    assert_eq!(home.count("tag:work"), 1);

    // An account added on the command line is fetched by the running server at
    // once, as one added in the app is (its fetcher reports a status).
    let added = home
        .cmd(PASS)
        .env("HOMEPOST_INCOMING_PASSWORD", "x")
        .args([
            "account",
            "add",
            "--name",
            "Local",
            "--email",
            "me@example.org",
        ])
        .args(["--imap", "127.0.0.1:9", "--incoming-security", "plain"])
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let fetched = (0..100).any(|_| {
        let (status, _, body) = http(
            port,
            &format!(
                "GET /api/v1/accounts HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Connection: close\r\n\r\n"
            ),
        );
        assert_eq!(status, 200, "{body}");
        let listed: Value = serde_json::from_str(&body).unwrap();
        let started = !listed["accounts"][0]["status"]["incoming"].is_null();
        if !started {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        started
    });
    assert!(
        fetched,
        "the running server never started fetching the new account"
    );

    // The passphrase is still checked.
    let wrong = home.run_with("not the passphrase", &["search", "--count", "zqxthird"]);
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("does not unlock"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );

    // Killed hard, the server leaves a stale socket: the CLI opens the store
    // itself again.
    let _ = server.0.kill();
    let _ = server.0.wait();
    let mut log = String::new();
    std::io::Read::read_to_string(server.0.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(log.contains("ran a command for a local client"), "{log}");
    for word in ["zqxfirst", "zqxsecond", "zqxthird"] {
        assert_eq!(home.count(word), 1, "{word}");
    }
}
