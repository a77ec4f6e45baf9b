-- IMAP CONDSTORE/QRESYNC (RFC 7162, issue 20): a pass over a folder with
-- nothing changed costs O(changes), not O(folder).

-- The folder's HIGHESTMODSEQ as of the last complete flag merge: the server's
-- changes since it are all that the next pass reads. NULL: none yet (a full
-- pass), or the server keeps no mod-sequences for the folder.
ALTER TABLE imap_folders ADD COLUMN modseq INTEGER;

-- The read/flagged bits the copy's message has here now (bit 1 `read`, bit 2
-- `flagged`), kept by the triggers below whatever path tags the message, so
-- that the copies changed here since the last merge (`local <> flags`) are
-- found through an index instead of reading every copy.
ALTER TABLE remote_messages ADD COLUMN local INTEGER NOT NULL DEFAULT 0;

UPDATE remote_messages SET local =
    (EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
              WHERE mt.message = remote_messages.message AND t.name = 'read'))
  | (EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
              WHERE mt.message = remote_messages.message AND t.name = 'flagged')) * 2;

CREATE INDEX remote_messages_changed ON remote_messages (account, folder, uidvalidity)
    WHERE local <> flags;
CREATE INDEX remote_messages_uid ON remote_messages (account, folder, uidvalidity, uid);
CREATE INDEX remote_messages_fetched ON remote_messages (account, folder, uidvalidity, fetched_at);

CREATE TRIGGER remote_local_in AFTER INSERT ON message_tags
    WHEN NEW.tag IN (SELECT id FROM tags WHERE name IN ('read', 'flagged'))
BEGIN
    UPDATE remote_messages
       SET local = local | (CASE (SELECT name FROM tags WHERE id = NEW.tag) WHEN 'read' THEN 1 ELSE 2 END)
     WHERE message = NEW.message;
END;

CREATE TRIGGER remote_local_out AFTER DELETE ON message_tags
    WHEN OLD.tag IN (SELECT id FROM tags WHERE name IN ('read', 'flagged'))
BEGIN
    UPDATE remote_messages
       SET local = local & ~(CASE (SELECT name FROM tags WHERE id = OLD.tag) WHEN 'read' THEN 1 ELSE 2 END)
     WHERE message = OLD.message;
END;

-- A tag renamed to or from `read` or `flagged` (the tag API refuses it, the
-- store does not): its messages' bits counted again.
CREATE TRIGGER remote_local_rename AFTER UPDATE OF name ON tags
    WHEN OLD.name IN ('read', 'flagged') OR NEW.name IN ('read', 'flagged')
BEGIN
    UPDATE remote_messages SET local =
        (EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                  WHERE mt.message = remote_messages.message AND t.name = 'read'))
      | (EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                  WHERE mt.message = remote_messages.message AND t.name = 'flagged')) * 2
     WHERE message IN (SELECT message FROM message_tags WHERE tag = NEW.id);
END;
