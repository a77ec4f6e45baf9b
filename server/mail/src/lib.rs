//! Mail parsing and import-source reading for Homepost.
//!
//! This crate is a pure core: it turns raw RFC 5322 bytes into the fields the
//! store indexes and threads on ([`parse()`]), and turns the paths a user gives to
//! `homepost import` into a stream of raw messages ([`ImportSources`]) from
//! mbox files, Maildirs and single `.eml` files. It reads only the files it is
//! given and depends on no other Homepost crate.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod maildir;
pub mod mbox;
pub mod parse;
pub mod source;
pub mod text;

pub use parse::{Address, AttachmentInfo, ParsedMessage, parse};
pub use source::{ImportSources, RawMessage, SourceError};
