-- The mailing list a message came through (its List-Id, RFC 2919), so that mail
-- from a list the user reads is never filed straight into spam.
CREATE TABLE message_lists (
    message INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    list_id TEXT NOT NULL
) STRICT;
CREATE INDEX message_lists_list ON message_lists (list_id);
