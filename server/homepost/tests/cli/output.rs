//! What a command prints for the user: its own messages, not third-party
//! library chatter, and no colour codes where stderr is not a terminal.

use std::fs;

use crate::common::{Home, PASS, succeeded};

/// HTML that makes html5ever's tree builder complain (text and an element
/// directly inside a table are "foster parented"): one warning each, every
/// message, on every import, before.
fn html_mail(n: usize) -> String {
    format!(
        "From: list@example.org\r\nTo: me@example.org\r\nSubject: Newsletter {n}\r\n\
Message-ID: <news{n}@example.org>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\
MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<html><body><table>stray zqxnews text<b>bold</b><tr><td>cell</td></tr></table></body></html>\r\n"
    )
}

#[test]
fn an_import_prints_no_library_warnings_and_no_colour_codes() {
    let home = Home::new();
    home.init();
    let dir = home.path("news");
    fs::create_dir_all(&dir).unwrap();
    for n in 0..3 {
        fs::write(dir.join(format!("{n}.eml")), html_mail(n)).unwrap();
    }
    // Whatever the caller's environment asks for, the default is tested.
    let out = succeeded(
        home.cmd(PASS)
            .env_remove("HOMEPOST_LOG")
            .args(["import", dir.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("foster"), "{stderr}");
    assert!(!stderr.contains("html5ever"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes: {stderr:?}");
    assert_eq!(home.count("zqxnews"), 3);

    // Our own warnings still show, without colour: a wrong passphrase's.
    let wrong = home
        .cmd("not the passphrase")
        .env_remove("HOMEPOST_LOG")
        .args(["search", "--count", "zqxnews"])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(!stderr.contains('\u{1b}'), "colour codes: {stderr:?}");
}
