//! What Homepost's tests share across crates, so that each crate's tests say
//! only what they test: GnuPG in a throwaway home ([`gnupg`]), real mail
//! servers on loopback ([`peers`]), mail as the composer builds it
//! ([`compose`]), the shared test corpus ([`corpus`]), test vaults
//! ([`vault`]), files at rest ([`disk`]) and the web API's error answers
//! ([`api`]).
//!
//! A dev-dependency only. It depends on `homepost-vault` and `homepost-mail`
//! and on no crate above them, so the tests of `store`, `transport`, `core`,
//! `web` and the binary share its types with the crate they test.

pub mod api;
pub mod compose;
pub mod corpus;
pub mod disk;
pub mod gnupg;
pub mod peers;
pub mod sqlcipher;
pub mod vault;
