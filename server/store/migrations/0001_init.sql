-- Homepost store, schema 1. Released migrations are never edited: add 0002_*.sql.

-- One row per distinct message (by SHA-256 of its bytes). `raw` is the message exactly
-- as received, zstd-compressed; every other column is derived from it and can be
-- recomputed.
CREATE TABLE messages (
    id             INTEGER PRIMARY KEY,
    sha256         BLOB    NOT NULL UNIQUE,
    raw            BLOB    NOT NULL,
    raw_size       INTEGER NOT NULL,
    message_id     TEXT,
    date           INTEGER NOT NULL,
    subject        TEXT    NOT NULL DEFAULT '',
    base_subject   TEXT    NOT NULL DEFAULT '',
    is_reply       INTEGER NOT NULL DEFAULT 0,
    snippet        TEXT    NOT NULL DEFAULT '',
    has_attachment INTEGER NOT NULL DEFAULT 0,
    malformed      INTEGER NOT NULL DEFAULT 0,
    thread_id      INTEGER NOT NULL DEFAULT 0,
    origin         TEXT    NOT NULL DEFAULT '',
    imported_at    INTEGER NOT NULL,
    -- 0 until the search index has committed this row's current state.
    indexed        INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX messages_message_id ON messages (message_id);
CREATE INDEX messages_thread ON messages (thread_id, date);
CREATE INDEX messages_base_subject ON messages (base_subject, date);
CREATE INDEX messages_unindexed ON messages (id) WHERE indexed = 0;

CREATE TABLE addresses (
    message  INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    field    TEXT    NOT NULL CHECK (field IN ('from', 'to', 'cc', 'bcc', 'reply-to')),
    position INTEGER NOT NULL,
    address  TEXT    NOT NULL DEFAULT '',
    name     TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (message, field, position)
) STRICT, WITHOUT ROWID;
CREATE INDEX addresses_address ON addresses (address);

CREATE TABLE attachments (
    message      INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    filename     TEXT,
    content_type TEXT    NOT NULL DEFAULT 'application/octet-stream',
    size         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (message, position)
) STRICT, WITHOUT ROWID;

-- In-Reply-To then References of each message, in order (the JWZ parent chain).
CREATE TABLE message_refs (
    message  INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    ref      TEXT    NOT NULL,
    PRIMARY KEY (message, position)
) STRICT, WITHOUT ROWID;

-- JWZ containers: every Message-ID seen, as a message's own or as a reference to a
-- message we may not have, and the thread it belongs to.
CREATE TABLE thread_ids (
    message_id TEXT    PRIMARY KEY,
    thread_id  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX thread_ids_thread ON thread_ids (thread_id);

CREATE TABLE tags (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
) STRICT;

CREATE TABLE message_tags (
    message INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    tag     INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (message, tag)
) STRICT, WITHOUT ROWID;
CREATE INDEX message_tags_tag ON message_tags (tag, message);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
