//! Fuzzes the vCard reader (address-book files a user imports, written by any
//! program) with arbitrary text: cards or problems, never a panic; and every
//! card read is written as 4.0 and read back with the same fields.

#![no_main]

use homepost_mail::vcard::{parse_cards, write_card};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for read in parse_cards(&text).into_iter().flatten() {
        let card = read.card;
        let again = parse_cards(&write_card(&card));
        assert_eq!(again.len(), 1, "a written card reads back as one card");
        if let Some(Ok(back)) = again.first() {
            assert_eq!(back.card.emails, card.emails);
            assert_eq!(back.card.phones, card.phones);
        }
    }
});
