//! Homepost's full-text search: a tantivy index whose every file is encrypted at rest,
//! and the search language users type.
//!
//! - [`EncryptedDirectory`] stores tantivy's files sealed with XChaCha20-Poly1305 in
//!   16 KiB chunks, under HMAC-derived names.
//! - [`SearchIndex`] indexes [`IndexDoc`]s and answers queries with message ids.
//! - [`parse`] turns the search language into a [`Query`] tree (see `docs/search.md`).

mod crypt_dir;
mod error;
mod index;
mod query;

pub use crypt_dir::{CHUNK_SIZE, EncryptedDirectory};
pub use error::Error;
pub use index::{
    IndexCheck, IndexDoc, OpenOutcome, SearchIndex, SearchOptions, SearchResults, SearchSnapshot,
    Sort,
};
pub use query::{
    DateRange, HIDDEN_TAGS, MatchDoc, Matcher, Query, QueryError, SizeRange, TextField,
    hide_unless_named, parse, wordless_parts,
};
