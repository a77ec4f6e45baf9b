//! The Autocrypt Setup Message: our own round trip, the spec's example, and
//! GnuPG decrypting ours with the code.

mod common;

use std::fs;

use common::*;
use homepost_pgp::Error;
use homepost_pgp::autocrypt::PreferEncrypt;
use homepost_pgp::setup::{SetupCode, import_setup_message, inspect_setup_message};
use homepost_testing::corpus;

#[test]
fn our_setup_message_imports_with_the_code_and_not_without() {
    let alice = alice();
    let (code, msg) = setup_message(&alice);
    let text = String::from_utf8(msg.clone()).unwrap();
    assert!(text.contains("\r\nAutocrypt-Setup-Message: v1\r\n"));
    assert!(text.contains("From: <alice@example.org>\r\nTo: <alice@example.org>\r\n"));
    assert!(text.contains("Content-Type: multipart/mixed;"));
    assert!(text.contains("Content-Type: application/autocrypt-setup\r\n"));
    assert!(
        !text.contains(code.as_str()),
        "the code must not be in the message"
    );
    assert!(!text.contains("PRIVATE KEY"));

    let info = inspect_setup_message(&msg).unwrap();
    assert_eq!(info.passphrase_format.as_deref(), Some("numeric9x4"));
    assert_eq!(info.passphrase_begin.as_deref(), Some(code.begin()));

    let imported = import_setup_message(&msg, &code, t0()).unwrap();
    assert_eq!(imported.key.fingerprint(), alice.fingerprint());
    assert_eq!(imported.prefer_encrypt, PreferEncrypt::Mutual);

    let wrong = SetupCode::parse(&"1".repeat(36)).unwrap();
    let err = import_setup_message(&msg, &wrong, t0()).unwrap_err();
    assert!(matches!(err, Error::WrongSetupCode), "{err}");
    assert_eq!(err.to_string(), "the setup code is wrong");
}

#[test]
fn the_spec_example_setup_message_imports() {
    let msg = fs::read(corpus::path(
        "autocrypt/spec/doc/appendix/example-setup-message.eml",
    ))
    .unwrap();
    let info = inspect_setup_message(&msg).unwrap();
    assert_eq!(info.passphrase_format.as_deref(), Some("numeric9x4"));
    assert_eq!(info.passphrase_begin.as_deref(), Some("17"));
    // The code from the spec's "Example User Interaction for Setup Message Creation".
    let code = SetupCode::parse("1742-0185-6197-\n1303-7016-8412-\n3581-4441-0597").unwrap();
    let imported = import_setup_message(&msg, &code, t0()).unwrap();
    assert_eq!(imported.prefer_encrypt, PreferEncrypt::Mutual);
    let public = homepost_pgp::Certificate::from_bytes(
        &fs::read(corpus::path(
            "autocrypt/spec/doc/appendix/alice@autocrypt.example.pub.asc",
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(imported.key.fingerprint(), public.fingerprint());
    assert_eq!(
        imported.key.addresses(),
        vec!["alice@autocrypt.example".to_string()]
    );

    let wrong = SetupCode::parse("1742-0185-6197-1303-7016-8412-3581-4441-0598").unwrap();
    assert!(matches!(
        import_setup_message(&msg, &wrong, t0()),
        Err(Error::WrongSetupCode)
    ));
}

#[test]
fn messages_that_are_not_setup_messages_are_refused() {
    let plain = message("a@example.org", "a@example.org", "hi", "hello\r\n");
    let code = SetupCode::generate().unwrap();
    let err = import_setup_message(&plain, &code, t0()).unwrap_err();
    assert!(matches!(err, Error::NotASetupMessage(_)), "{err}");
    let v2 = b"Autocrypt-Setup-Message: v2\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n";
    assert!(matches!(
        import_setup_message(v2, &code, t0()),
        Err(Error::NotASetupMessage(_))
    ));
}
