//! The web API's error answers: a status and `{"error": {"code", "message"}}`,
//! whose code is the stable part a client acts on.

use std::fmt::Debug;

use serde_json::Value;

/// Asserts that an answer with `status` and `body` is the error `code` with
/// the status `expected` (both compared at once, so a failure shows both).
#[track_caller]
pub fn assert_error<S: PartialEq + Debug>(status: S, body: &Value, expected: S, code: &str) {
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (expected, Some(code)),
        "{body}"
    );
}
