//! The API end to end in-process: real vault, SQLCipher store and tantivy index,
//! real actix service; only the socket is left out (see tests/server.rs for that).

// Shared with the other test crates of this package (tests/common).
#[path = "../common/mod.rs"]
mod common;

mod account_setup;
mod contacts;
mod conversations;
mod headers;
mod identities;
mod imports;
mod integrity;
mod mail;
mod restore;
mod rules;
mod session;
mod setup;
