-- Mail accounts. `config` is the JSON of AccountConfig (servers, policy); the
-- passwords sit apart in `secrets` so that listing accounts never reads them.
-- Both are inside the encrypted database like everything else.
CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY,
    config     TEXT    NOT NULL,
    secrets    TEXT    NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
);

-- IMAP: what was fetched from each folder, as of which UIDVALIDITY.
CREATE TABLE imap_folders (
    account     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    folder      TEXT    NOT NULL,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, folder)
) WITHOUT ROWID;

-- Every remote copy of a stored message: IMAP (folder, uidvalidity, uid) or POP3
-- (folder '', uidvalidity 0, uidl). `flags` holds the read/flagged state last agreed
-- with the server (bit 1 read, bit 2 flagged), the base of the two-way merge.
CREATE TABLE remote_messages (
    account     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    folder      TEXT    NOT NULL,
    uidvalidity INTEGER NOT NULL,
    remote_key  TEXT    NOT NULL,
    uid         INTEGER,
    message     INTEGER NOT NULL REFERENCES messages (id),
    flags       INTEGER NOT NULL DEFAULT 0,
    fetched_at  INTEGER NOT NULL,
    PRIMARY KEY (account, folder, uidvalidity, remote_key)
) WITHOUT ROWID;
CREATE INDEX remote_messages_message ON remote_messages (message);

-- Messages written by the user, waiting for or past submission. The raw message is
-- kept (zstd) until it is sent; `state` moves queued -> sending -> sent, or to
-- deferred (with next_attempt), failed or cancelled.
CREATE TABLE outbox (
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
);
CREATE INDEX outbox_due ON outbox (state, next_attempt);

-- Drafts: the JSON of the compose form, and its attachments.
CREATE TABLE drafts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    content    TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE draft_attachments (
    draft        INTEGER NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    data         BLOB    NOT NULL,
    PRIMARY KEY (draft, position)
) WITHOUT ROWID;
