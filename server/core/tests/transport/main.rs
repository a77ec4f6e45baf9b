//! The transport delivering into the library: fetching and sending against real
//! servers on loopback, Dovecot (IMAP, POP3) and an aiosmtpd submission server
//! (homepost-testing's peers), with the core's `LibrarySink` as the transport's sink.

mod common;
mod condstore;
mod first_sync;
mod identities;
mod imap;
mod pop3;
mod repair;
mod rules;
mod smtp;
