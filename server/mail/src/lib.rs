//! Mail parsing and import-source reading for Homepost.
//!
//! This crate is a pure core: it turns raw RFC 5322 bytes into the fields the
//! store indexes and threads on ([`parse()`]), and turns the paths a user gives to
//! `homepost import` into a stream of raw messages ([`ImportSources`]) from
//! mbox files, Maildirs and single `.eml` files. It reads only the files it is
//! given and depends on no other Homepost crate.
//!
//! For showing mail it renders HTML bodies as plain text and as a sanitised
//! document ([`html`]), and it tells how risky an attachment is to open, with
//! reasons in plain words ([`risk`], over the bytes from [`attachments`]).

pub mod attach;
pub mod compose;
pub mod filename;
pub mod html;
pub mod maildir;
pub mod mbox;
pub mod parse;
pub mod risk;
pub mod source;
pub mod text;
pub mod vcard;

pub use attach::{TakenApart, attachments, take_apart};
pub use filename::download_name;
pub use parse::{Address, AttachmentInfo, ParsedMessage, parse, parse_with, parser, sort_date};
pub use risk::{
    AttachmentRisk, Reputation, RiskLevel, RiskReason, assess, assess_download, with_reputation,
};
pub use source::{ImportSources, RawMessage, SourceError, Upload, UploadReader};
