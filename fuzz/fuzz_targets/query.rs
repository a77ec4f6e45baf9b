//! Fuzzes the search language's parser with arbitrary text: it must return a query
//! or an error naming a position inside the input, never panic or recurse without
//! bound, and a query it returns must print as text that parses to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match homepost_search::parse(&text) {
        Ok(query) => {
            let printed = query.to_string();
            let again = homepost_search::parse(&printed)
                .unwrap_or_else(|e| panic!("{printed:?} does not parse again: {e}"));
            assert_eq!(again, query, "{text:?} printed as {printed:?}");
        }
        Err(e) => assert!(e.position <= text.chars().count(), "{e:?} for {text:?}"),
    }
});
