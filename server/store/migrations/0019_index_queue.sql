-- The index queue moves out of `messages` (issue 20). Marking a row indexed,
-- or queueing it again, rewrote the whole row and so read its stored message
-- back (every overflow page decrypted, authenticated and compared): at a
-- fetch's index commit about 30 µs a message, more than the index commit
-- itself. A row here is a message waiting for the index; `version` is bumped
-- by every change the index must see, so that a change made while an index
-- batch was open is not lost (the batch marks only the version it read).
--
-- `messages.indexed` and `messages.version` stay, unused from here on:
-- dropping a column rewrites every row, the cost this migration removes.
CREATE TABLE index_queue (
    message INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    version INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE index_queue_seq (
    last INTEGER NOT NULL
) STRICT;

INSERT INTO index_queue (message, version)
    SELECT id, version FROM messages WHERE indexed = 0;

INSERT INTO index_queue_seq (last) SELECT coalesce(max(version), 0) FROM messages;

DROP INDEX messages_unindexed;
