-- The tables of migrations 0005-0007 become STRICT like the others. SQLite cannot
-- alter a table into STRICT: each is rebuilt (create new_X, copy, drop X, rename
-- new_X to X, recreate its indexes) with the same columns, constraints and indexes.
--
-- This runs in a transaction with foreign keys enforced (PRAGMA foreign_keys cannot
-- change inside one), where DROP TABLE deletes the rows first and so fires ON
-- DELETE CASCADE in every table that refers to the dropped one, by name. A new
-- child made to refer to `accounts` would lose its copied rows when the old
-- `accounts` is dropped. So children are rebuilt with their parent and refer to
-- new_<parent>; the old children go before the old parent, which then has nothing
-- referring to it; renaming new_<parent> rewrites the children's REFERENCES to the
-- final name.
--
-- AUTOINCREMENT tables keep their sqlite_sequence value (the highest id ever
-- given), so ids of deleted rows are not given again.

-- accounts, and its children imap_folders and remote_messages.
CREATE TABLE new_accounts (
    id         INTEGER PRIMARY KEY,
    config     TEXT    NOT NULL,
    secrets    TEXT    NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
) STRICT;
INSERT INTO new_accounts (id, config, secrets, created_at)
    SELECT id, config, secrets, created_at FROM accounts;

CREATE TABLE new_imap_folders (
    account     INTEGER NOT NULL REFERENCES new_accounts (id) ON DELETE CASCADE,
    folder      TEXT    NOT NULL,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, folder)
) STRICT, WITHOUT ROWID;
INSERT INTO new_imap_folders (account, folder, uidvalidity, last_uid)
    SELECT account, folder, uidvalidity, last_uid FROM imap_folders;

CREATE TABLE new_remote_messages (
    account     INTEGER NOT NULL REFERENCES new_accounts (id) ON DELETE CASCADE,
    folder      TEXT    NOT NULL,
    uidvalidity INTEGER NOT NULL,
    remote_key  TEXT    NOT NULL,
    uid         INTEGER,
    message     INTEGER NOT NULL REFERENCES messages (id),
    flags       INTEGER NOT NULL DEFAULT 0,
    fetched_at  INTEGER NOT NULL,
    PRIMARY KEY (account, folder, uidvalidity, remote_key)
) STRICT, WITHOUT ROWID;
INSERT INTO new_remote_messages
        (account, folder, uidvalidity, remote_key, uid, message, flags, fetched_at)
    SELECT account, folder, uidvalidity, remote_key, uid, message, flags, fetched_at
      FROM remote_messages;

DROP TABLE imap_folders;
DROP TABLE remote_messages;
DROP TABLE accounts;
ALTER TABLE new_accounts RENAME TO accounts;
ALTER TABLE new_imap_folders RENAME TO imap_folders;
ALTER TABLE new_remote_messages RENAME TO remote_messages;
CREATE INDEX remote_messages_message ON remote_messages (message);

-- outbox (a child of messages; `account` has no foreign key).
CREATE TABLE new_outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account      INTEGER NOT NULL,
    raw          BLOB    NOT NULL,
    mail_from    TEXT    NOT NULL,
    rcpt_to      TEXT    NOT NULL,
    subject      TEXT    NOT NULL DEFAULT '',
    state        TEXT    NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'deferred', 'failed', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    next_attempt INTEGER,
    last_error   TEXT,
    sent_at      INTEGER,
    message      INTEGER REFERENCES messages (id),
    sent_folder  TEXT,
    appended     INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO new_outbox (id, account, raw, mail_from, rcpt_to, subject, state, attempts,
                        created_at, expires_at, next_attempt, last_error, sent_at, message,
                        sent_folder, appended)
    SELECT id, account, raw, mail_from, rcpt_to, subject, state, attempts,
           created_at, expires_at, next_attempt, last_error, sent_at, message,
           sent_folder, appended
      FROM outbox;
DELETE FROM sqlite_sequence WHERE name = 'new_outbox';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'new_outbox', seq FROM sqlite_sequence WHERE name = 'outbox';
DROP TABLE outbox;
ALTER TABLE new_outbox RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, next_attempt);

-- drafts, and its child draft_attachments.
CREATE TABLE new_drafts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    content    TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
INSERT INTO new_drafts (id, content, updated_at)
    SELECT id, content, updated_at FROM drafts;
DELETE FROM sqlite_sequence WHERE name = 'new_drafts';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'new_drafts', seq FROM sqlite_sequence WHERE name = 'drafts';

CREATE TABLE new_draft_attachments (
    draft        INTEGER NOT NULL REFERENCES new_drafts (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    data         BLOB    NOT NULL,
    PRIMARY KEY (draft, position)
) STRICT, WITHOUT ROWID;
INSERT INTO new_draft_attachments (draft, position, name, content_type, data)
    SELECT draft, position, name, content_type, data FROM draft_attachments;

DROP TABLE draft_attachments;
DROP TABLE drafts;
ALTER TABLE new_drafts RENAME TO drafts;
ALTER TABLE new_draft_attachments RENAME TO draft_attachments;

-- identity_keys, as 0007 left it.
CREATE TABLE new_identity_keys (
    fingerprint TEXT    NOT NULL,
    address     TEXT    NOT NULL,
    secret      BLOB    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, address)
) STRICT, WITHOUT ROWID;
INSERT INTO new_identity_keys (fingerprint, address, secret, active, created_at)
    SELECT fingerprint, address, secret, active, created_at FROM identity_keys;
DROP TABLE identity_keys;
ALTER TABLE new_identity_keys RENAME TO identity_keys;
CREATE INDEX identity_keys_address ON identity_keys (address, active);

-- peers, with the columns 0007 added, in the same order.
CREATE TABLE new_peers (
    address             TEXT    PRIMARY KEY,
    last_seen           INTEGER,
    autocrypt_timestamp INTEGER,
    public_key          BLOB,
    prefer_encrypt      INTEGER NOT NULL DEFAULT 0,
    gossip_key          BLOB,
    gossip_timestamp    INTEGER,
    pinned_fingerprint  TEXT,
    changed_fingerprint TEXT,
    changed_at          INTEGER,
    signed_count        INTEGER NOT NULL DEFAULT 0,
    encrypted_count     INTEGER NOT NULL DEFAULT 0,
    autocrypt_count     INTEGER NOT NULL DEFAULT 0,
    discovered_key      BLOB,
    discovered_source   TEXT,
    discovered_at       INTEGER,
    pinned_key          BLOB,
    pinned_source       TEXT,
    announced_url       TEXT,
    announced_id        TEXT
) STRICT, WITHOUT ROWID;
INSERT INTO new_peers (address, last_seen, autocrypt_timestamp, public_key, prefer_encrypt,
                       gossip_key, gossip_timestamp, pinned_fingerprint, changed_fingerprint,
                       changed_at, signed_count, encrypted_count, autocrypt_count,
                       discovered_key, discovered_source, discovered_at, pinned_key,
                       pinned_source, announced_url, announced_id)
    SELECT address, last_seen, autocrypt_timestamp, public_key, prefer_encrypt,
           gossip_key, gossip_timestamp, pinned_fingerprint, changed_fingerprint,
           changed_at, signed_count, encrypted_count, autocrypt_count,
           discovered_key, discovered_source, discovered_at, pinned_key,
           pinned_source, announced_url, announced_id
      FROM peers;
DROP TABLE peers;
ALTER TABLE new_peers RENAME TO peers;

-- message_crypto (a child of messages).
CREATE TABLE new_message_crypto (
    message   INTEGER PRIMARY KEY REFERENCES messages (id),
    outcome   TEXT    NOT NULL,
    decrypted BLOB
) STRICT;
INSERT INTO new_message_crypto (message, outcome, decrypted)
    SELECT message, outcome, decrypted FROM message_crypto;
DROP TABLE message_crypto;
ALTER TABLE new_message_crypto RENAME TO message_crypto;
