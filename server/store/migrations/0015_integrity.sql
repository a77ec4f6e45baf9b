-- Integrity (docs/integrity.md).

-- Messages whose bytes were damaged and could not be fetched again from their
-- account or the backup: kept with their metadata, listed, never dropped.
CREATE TABLE quarantine (
    message INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    reason  TEXT    NOT NULL,
    since   INTEGER NOT NULL
) STRICT;

-- When each message was put in the trash, for deleting it for good after the
-- retention period. Kept by triggers, whatever path tags the message.
CREATE TABLE trashed (
    message INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    since   INTEGER NOT NULL
) STRICT;
CREATE INDEX trashed_since ON trashed (since);
INSERT OR IGNORE INTO trashed (message, since)
    SELECT mt.message, unixepoch() FROM message_tags mt JOIN tags t ON t.id = mt.tag
     WHERE t.name = 'trash';
CREATE TRIGGER trashed_in AFTER INSERT ON message_tags
    WHEN NEW.tag IN (SELECT id FROM tags WHERE name = 'trash')
BEGIN
    INSERT OR IGNORE INTO trashed (message, since) VALUES (NEW.message, unixepoch());
END;
CREATE TRIGGER trashed_out AFTER DELETE ON message_tags
    WHEN OLD.tag IN (SELECT id FROM tags WHERE name = 'trash')
BEGIN
    DELETE FROM trashed WHERE message = OLD.message;
END;

-- Messages deleted for good whose index entries may still be there: written in
-- the deletion's transaction, cleared once the index committed their removal,
-- so that a crash in between leaves no entry for a message that is gone.
CREATE TABLE index_deletes (
    message INTEGER PRIMARY KEY
) STRICT;

-- Messages deleted for good that this box's backup may still hold (their
-- SHA-256): the next prune rewrites the snapshots that name them, then this is
-- cleared. Only kept while the box makes backups; never part of a backup.
CREATE TABLE backup_forget (
    sha256 BLOB PRIMARY KEY
) STRICT, WITHOUT ROWID;

-- Remote copies of messages deleted for good, so that a server that keeps them
-- (POP3 with "keep") does not bring them back; dropped once the server no
-- longer lists them.
CREATE TABLE remote_deleted (
    account     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    folder      TEXT    NOT NULL,
    uidvalidity INTEGER NOT NULL,
    remote_key  TEXT    NOT NULL,
    PRIMARY KEY (account, folder, uidvalidity, remote_key)
) STRICT, WITHOUT ROWID;
