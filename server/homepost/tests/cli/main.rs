//! End-to-end tests of the `homepost` binary: real SQLCipher, real tantivy, real files.

mod accounts;
mod backup;
mod check;
mod common;
mod config;
mod control;
mod crash;
mod disk_full;
mod fixture;
mod import;
mod openpgp;
mod output;
mod remote;
mod rules;
mod security;
mod send;
