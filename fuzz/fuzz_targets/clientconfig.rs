//! Fuzzes the Thunderbird clientConfig reader (account autoconfiguration) with
//! arbitrary bytes: a hostile or broken server's answer must give a
//! configuration or an error, never a panic, and whatever it gives must be
//! usable: every server kept has a host and a port, and placeholders are
//! filled in.

#![no_main]

use homepost_autoconfig::EmailAddress;
use homepost_autoconfig::clientconfig::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(address) = EmailAddress::parse("alice@example.org") else {
        return;
    };
    if let Ok(config) = parse(data, &address) {
        for server in config.incoming.iter().chain(&config.outgoing) {
            assert!(!server.host.is_empty(), "{server:?}");
            assert_ne!(server.port, 0, "{server:?}");
            assert!(
                !server.host.contains('%'),
                "a placeholder left in {server:?}"
            );
        }
    }
});
