//! OpenPGP through the CLI: keys checked against GnuPG, the Autocrypt Setup
//! Message, and a decryption that a crash interrupted.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use homepost_testing::gnupg::Gpg;
use serde_json::Value;

use crate::common::{Home, PASS, import, succeeded};

/// Adds an IMAP account for me@example.org (which gives that address a key).
fn add_me_account(home: &Home) {
    home.add_my_account(&["--imap", "imap.example.org:993"]);
}

/// Makes a GnuPG key for `uid` that only signs (no encryption subkey).
fn signing_key(gpg: &Gpg, uid: &str) {
    gpg.run(&["--quick-gen-key", uid, "ed25519", "sign", "never"], b"");
}

#[test]
fn keys_export_and_import_and_show_reports_signatures_checked_against_gnupg() {
    let home = Home::new();
    home.init();
    add_me_account(&home);
    let public = home.ok(&["key", "export"]);
    assert!(
        public.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"),
        "{public}"
    );
    let secret = home.ok(&["key", "export", "--secret"]);
    assert!(secret.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));

    // GnuPG reads our public key.
    let gpg = Gpg::new();
    gpg.import(public.as_bytes());
    let listed = String::from_utf8(
        gpg.run(&["--with-colons", "--list-keys", "me@example.org"], b"")
            .stdout,
    )
    .unwrap();
    assert!(listed.contains("me@example.org"), "{listed}");

    // Bob's key made by GnuPG; he signs a mail with it (cleartext signature).
    signing_key(&gpg, "Bob <bob@example.net>");
    let bob_public = gpg
        .run(&["--armor", "--export", "bob@example.net"], b"")
        .stdout;
    let bob_fpr = gpg.fingerprint("bob@example.net");
    let signed = gpg
        .run(
            &["--clearsign", "--local-user", "bob@example.net"],
            b"Meet at the zqxharbour at noon.\n",
        )
        .stdout;
    let mail = format!(
        "From: Bob <bob@example.net>\r\nTo: me@example.org\r\nSubject: Plans\r\nMessage-ID: <plans@example.net>\r\nDate: Mon, 15 Jan 2024 09:00:00 +0000\r\n\r\n{}",
        String::from_utf8(signed).unwrap().replace('\n', "\r\n")
    );
    let eml = home.path("signed.eml");
    fs::write(&eml, mail).unwrap();
    fs::write(home.path("bob.asc"), &bob_public).unwrap();
    let imported = home.ok(&["key", "import", home.path("bob.asc").to_str().unwrap()]);
    assert!(imported.contains("bob@example.net"), "{imported}");
    import(&home, std::slice::from_ref(&eml));
    let id = home.ids("zqxharbour")[0];
    let shown: serde_json::Value =
        serde_json::from_str(&home.ok(&["show", "--json", &id.to_string()])).unwrap();
    let crypto = &shown["crypto"];
    assert_eq!(crypto["signature"], "good", "{crypto}");
    assert_eq!(crypto["signer"], bob_fpr.as_str());
    assert_eq!(crypto["encrypted"], false);
    assert_eq!(
        crypto["sender_peer"]["pinned_fingerprint"],
        bob_fpr.as_str()
    );

    // Another key for Bob: kept apart until the user accepts it.
    signing_key(&gpg, "Bob New <bob@example.net>");
    let new_fpr = gpg
        .fingerprints("bob@example.net")
        .into_iter()
        .find(|f| *f != bob_fpr)
        .unwrap();
    fs::write(
        home.path("bob2.asc"),
        gpg.run(&["--armor", "--export", &new_fpr], b"").stdout,
    )
    .unwrap();
    let imported = home.ok(&["key", "import", home.path("bob2.asc").to_str().unwrap()]);
    assert!(imported.contains("waits for you to compare"), "{imported}");
    let peer: serde_json::Value =
        serde_json::from_str(&home.ok(&["key", "peer", "bob@example.net", "--json"])).unwrap();
    assert_eq!(peer["pinned"], bob_fpr.as_str(), "{peer}");
    assert_eq!(peer["key"], bob_fpr.as_str());
    assert_eq!(peer["key_status"], "no_encryption_key");
    assert_eq!(peer["key_source"], "imported");
    assert_eq!(peer["changed"], new_fpr.as_str());
    assert_eq!(peer["changed_source"], "imported");
    assert_eq!(peer["signed_count"], 1);
    // Mail signed by the waiting key: flagged, and it does not vouch for Bob.
    let signed_new = gpg
        .run(
            &["--clearsign", "--local-user", &new_fpr],
            b"New phone, new key: zqxnewkey.\n",
        )
        .stdout;
    let mail = format!(
        "From: Bob <bob@example.net>\r\nTo: me@example.org\r\nSubject: New key\r\nMessage-ID: <newkey@example.net>\r\nDate: Tue, 16 Jan 2024 09:00:00 +0000\r\n\r\n{}",
        String::from_utf8(signed_new).unwrap().replace('\n', "\r\n")
    );
    fs::write(home.path("newkey.eml"), mail).unwrap();
    import(&home, &[home.path("newkey.eml")]);
    let new_id = home.ids("zqxnewkey")[0].to_string();
    let crypto = |home: &Home| -> Value {
        let shown: Value = serde_json::from_str(&home.ok(&["show", "--json", &new_id])).unwrap();
        shown["crypto"].clone()
    };
    let before = crypto(&home);
    assert_eq!(before["key_changed"], true, "{before}");
    assert_eq!(before["signer_is_sender"], false, "{before}");

    home.ok(&["key", "accept", "bob@example.net"]);
    // Accepted: `show` reads the outcome as the app does (the change is over,
    // and the accepted key's signature is Bob's).
    let after = crypto(&home);
    assert_eq!(after["key_changed"], false, "{after}");
    assert_eq!(after["signer_is_sender"], true, "{after}");
    let peer = home.ok(&["key", "peer", "bob@example.net"]);
    assert!(
        peer.contains(&format!("Trusted first:  {new_fpr}")),
        "{peer}"
    );
    assert!(!peer.contains("CHANGED"), "{peer}");

    // A secret key made by GnuPG becomes the active key of its address.
    signing_key(&gpg, "Me Too <me@example.org>");
    let their_secret = gpg
        .run(&["--armor", "--export-secret-keys", "Me Too"], b"")
        .stdout;
    fs::write(home.path("me.asc"), their_secret).unwrap();
    let imported = home.ok(&["key", "import", home.path("me.asc").to_str().unwrap()]);
    assert!(imported.contains("Imported secret key"), "{imported}");
    assert_ne!(
        home.ok(&["key", "export"]),
        public,
        "the imported key is now the active one"
    );
}

#[test]
fn autocrypt_setup_message_moves_the_key_to_another_vault() {
    let home = Home::new();
    home.init();
    add_me_account(&home);
    let setup = home.path("setup.eml");
    let printed = home.ok(&["key", "setup-message", setup.to_str().unwrap()]);
    let code = printed.lines().last().unwrap().to_owned();
    assert_eq!(code.len(), 36 + 8, "nine groups of four digits: {code}");
    let message = fs::read_to_string(&setup).unwrap();
    assert!(message.contains("Autocrypt-Setup-Message: v1"), "{message}");
    assert!(
        !message.contains("PRIVATE KEY"),
        "the key travels encrypted"
    );

    let other = Home::new();
    other.init();
    let import_setup = |file: &Path, code: &str| {
        other
            .cmd(PASS)
            .env("HOMEPOST_SETUP_CODE", code)
            .args(["key", "import-setup", file.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let refused_as_not_ours = |out: Output, what: &str| {
        assert!(!out.status.success(), "{what}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("own addresses"), "{what}: {stderr}");
    };
    // Only into a box whose own address it is from and to.
    refused_as_not_ours(
        import_setup(&setup, &code),
        "imported into a box without that address",
    );
    add_me_account(&other);
    // A stranger's Setup Message (sent from their address) is refused, right code or not.
    let forged = home.path("forged.eml");
    let from_stranger: String = message
        .split_inclusive('\n')
        .map(|line| {
            if line.starts_with("From:") {
                line.replacen(
                    "From:",
                    "From: Mallory <mallory@evil.example>\nX-Was-From:",
                    1,
                )
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert_ne!(from_stranger, message);
    fs::write(&forged, from_stranger).unwrap();
    refused_as_not_ours(
        import_setup(&forged, &code),
        "a stranger's Setup Message was imported",
    );
    let wrong = import_setup(&setup, &("1234-".repeat(8) + "1234"));
    assert!(!wrong.status.success(), "a wrong code must be refused");
    succeeded(import_setup(&setup, &code));
    assert_eq!(
        other.ok(&["key", "export", "--address", "me@example.org"]),
        home.ok(&["key", "export"]),
        "the same key in both vaults"
    );
}

/// A PGP/MIME message from Bob to me@example.org, made by GnuPG: `inner` (a
/// whole MIME entity, or plain text) encrypted to the vault's key, under the
/// placeholder subject `...`; written to `encrypted.eml` in the home, whose
/// path it returns.
fn encrypted_to_me(home: &Home, gpg: &Gpg, inner: &str) -> PathBuf {
    let public = home.ok(&["key", "export"]);
    gpg.import(public.as_bytes());
    let fpr = gpg.fingerprint("me@example.org");
    let armored = gpg
        .run(
            &["--armor", "--encrypt", "--recipient", &fpr],
            inner.as_bytes(),
        )
        .stdout;
    let mail = format!(
        "From: Bob <bob@example.net>\r\nTo: me@example.org\r\nSubject: ...\r\nMessage-ID: <enc@example.net>\r\nDate: Mon, 15 Jan 2024 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n{}\r\n--b--\r\n",
        String::from_utf8(armored).unwrap().replace('\n', "\r\n")
    );
    let eml = home.path("encrypted.eml");
    fs::write(&eml, mail).unwrap();
    eml
}

/// `show` reads an encrypted message as the app's message view does (one core
/// function for both): the protected subject, the decrypted text, and the
/// attachments inside the encryption under the names they are saved as, with
/// their risk. It used to show the placeholder subject and the ciphertext's
/// parts.
#[test]
fn show_reads_an_encrypted_message_as_the_app_does() {
    let home = Home::new();
    home.init();
    add_me_account(&home);
    let gpg = Gpg::new();
    let inner = "Content-Type: multipart/mixed; boundary=\"in\"; protected-headers=\"v1\"\r\n\
Subject: Harbour plans\r\n\
\r\n\
--in\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Meet at the zqxotter pier.\r\n\
--in\r\n\
Content-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename=\"route.exe\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAA\r\n\
--in--\r\n";
    let eml = encrypted_to_me(&home, &gpg, inner);
    import(&home, std::slice::from_ref(&eml));
    let id = home.ids("zqxotter")[0].to_string();

    let shown = home.ok(&["show", &id]);
    assert!(shown.contains("Subject: Harbour plans"), "{shown}");
    assert!(shown.contains("Meet at the zqxotter pier."), "{shown}");
    assert!(
        shown.contains("Attachment: route.exe (application/octet-stream,"),
        "{shown}"
    );
    assert!(shown.contains("high risk"), "{shown}");

    let json: Value = serde_json::from_str(&home.ok(&["show", "--json", &id])).unwrap();
    assert_eq!(json["subject"], "Harbour plans", "{json}");
    let attachments = json["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1, "{json}");
    assert_eq!(attachments[0]["filename"], "route.exe", "{json}");
    assert_eq!(attachments[0]["risk"]["level"], "high", "{json}");
}

/// A crash after an encrypted message is stored but before its OpenPGP step
/// ran must not leave it undecrypted for ever: the step is marked pending in
/// the store's transaction, and the next open runs it (and indexes the
/// decrypted text).
#[test]
fn an_import_killed_before_decryption_decrypts_at_the_next_open() {
    let home = Home::new();
    home.init();
    add_me_account(&home);
    let gpg = Gpg::new();
    let eml = encrypted_to_me(&home, &gpg, "The vault code is zqxpelican.\n");

    let crashed = home
        .cmd(PASS)
        .env("HOMEPOST_CRASH_AT", "after_store_commit")
        .args(["import", eml.to_str().unwrap()])
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        crashed.status.signal(),
        Some(6),
        "the import must die at the hook (SIGABRT): {}",
        String::from_utf8_lossy(&crashed.stderr)
    );

    // The next command opens the library: the step runs, the text is found.
    assert_eq!(home.count("zqxpelican"), 1);
    let id = home.ids("zqxpelican")[0];
    let shown: Value =
        serde_json::from_str(&home.ok(&["show", "--json", &id.to_string()])).unwrap();
    assert_eq!(shown["crypto"]["encrypted"], true, "{}", shown["crypto"]);
    assert_eq!(shown["crypto"]["decrypted"], true, "{}", shown["crypto"]);
    // Once only: importing the file again adds nothing.
    import(&home, std::slice::from_ref(&eml));
    assert_eq!(home.count("zqxpelican"), 1);
}
