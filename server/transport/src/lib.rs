//! Mail transport: IMAP and POP3 fetch, SMTP submission through a persistent outbox.
