//! Homepost's application core: every use case the web app and the CLI share.
//!
//! The parts below it each do one job — the encrypted store (`homepost-store`),
//! the encrypted index and the search language (`homepost-search`), OpenPGP
//! (`homepost-pgp`), spam scoring (`homepost-spam`), fetching and sending
//! (`homepost-transport`), key lookups (`homepost-net`). This crate puts them
//! together:
//!
//! - [`library`]: the open mailbox (store and index kept in step) and the import
//!   and delivery pipeline every arriving message goes through;
//! - [`imports`]: files uploaded through the app, spooled encrypted and imported
//!   as background jobs with progress;
//! - [`incoming`]: the OpenPGP step of that pipeline (decrypt, verify, Autocrypt
//!   and TOFU updates);
//! - [`backups`]: where backups go, a run with its status, and the schedule
//!   (the engine is `homepost-backup`);
//! - [`address_book`]: importing and exporting the address book as vCards;
//! - [`accounts`]: adding, changing and removing accounts, trusting a server
//!   certificate;
//! - [`conversations`]: search results grouped by thread, and tag changes on
//!   whole conversations that say what they changed;
//! - [`identities`]: the addresses mail is sent from (aliases, signatures,
//!   the default) and which one answers a message;
//! - [`compose`]: starting a draft, answering or forwarding a message;
//! - [`outgoing`]: the encryption recommendation and the protection of outgoing
//!   mail;
//! - [`reading`]: a message as the user reads it (decrypted content, OpenPGP
//!   outcome, safe text, attachments with their risk);
//! - [`keys`]: our own keys (and the Autocrypt Setup Message that moves them),
//!   correspondents' keys and accepting a changed one;
//! - [`searcher`]: searching without holding the library's lock;
//! - [`spam`]: the spam verdict at import and training on the user's tags;
//! - [`sink`]: where the transport puts fetched mail and server-side flag changes.
//!
//! See `docs/architecture.md` for the dependency direction and where each
//! behaviour lives.

pub mod accounts;
pub mod address_book;
pub mod backups;
pub mod compose;
pub mod conversations;
pub mod identities;
pub mod imports;
pub mod incoming;
pub mod integrity;
pub mod keys;
pub mod library;
pub mod outgoing;
mod peers;
pub mod reading;
pub mod rules;
pub mod searcher;
pub mod sink;
pub mod spam;

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in Unix seconds (0 before 1970, saturating far ahead).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A test hook: with `HOMEPOST_CRASH_AT` set to `point`, a debug build aborts
/// there, so tests can kill the process between two exact steps. Release
/// builds never look at it.
pub(crate) fn crash_point(point: &str) {
    if cfg!(debug_assertions) && std::env::var_os("HOMEPOST_CRASH_AT").is_some_and(|v| v == point) {
        eprintln!("homepost: HOMEPOST_CRASH_AT={point}: aborting here (a test hook)");
        std::process::abort();
    }
}
