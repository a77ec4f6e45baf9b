-- Tag counts kept as mail is tagged (issue 20): listing the tags with their
-- totals and unread counts reads one row per tag instead of aggregating every
-- tagged message. Kept by triggers, whatever path tags a message; `read` is
-- the number of the tag's messages that carry the `read` tag.
CREATE TABLE tag_counts (
    tag   INTEGER PRIMARY KEY REFERENCES tags (id) ON DELETE CASCADE,
    total INTEGER NOT NULL DEFAULT 0,
    read  INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The counts from scratch (also run after a restore, whose copy may predate
-- this table).
INSERT INTO tag_counts (tag, total, read)
    SELECT t.id, count(mt.message), count(r.message)
      FROM tags t
      LEFT JOIN message_tags mt ON mt.tag = t.id
      LEFT JOIN (SELECT x.message FROM message_tags x JOIN tags rt ON rt.id = x.tag
                  WHERE rt.name = 'read') r ON r.message = mt.message
     GROUP BY t.id;

CREATE TRIGGER tag_counts_for_tag AFTER INSERT ON tags
BEGIN
    INSERT OR IGNORE INTO tag_counts (tag) VALUES (NEW.id);
END;

-- A message gains a tag: the tag has one more message, one more read one if
-- the message is read; and if the tag is `read`, each of the message's other
-- tags has one more read message.
CREATE TRIGGER tag_counts_in AFTER INSERT ON message_tags
BEGIN
    UPDATE tag_counts
       SET total = total + 1,
           read = read + EXISTS (SELECT 1 FROM message_tags x JOIN tags t ON t.id = x.tag
                                  WHERE x.message = NEW.message AND t.name = 'read')
     WHERE tag = NEW.tag;
    UPDATE tag_counts SET read = read + 1
     WHERE (SELECT name FROM tags WHERE id = NEW.tag) = 'read'
       AND tag IN (SELECT x.tag FROM message_tags x
                    WHERE x.message = NEW.message AND x.tag != NEW.tag);
END;

-- The reverse, after the row is gone (also for rows a deleted message or
-- tag takes with it).
CREATE TRIGGER tag_counts_out AFTER DELETE ON message_tags
BEGIN
    UPDATE tag_counts
       SET total = total - 1,
           read = read - ((SELECT name FROM tags WHERE id = OLD.tag) = 'read'
                          OR EXISTS (SELECT 1 FROM message_tags x JOIN tags t ON t.id = x.tag
                                      WHERE x.message = OLD.message AND t.name = 'read'))
     WHERE tag = OLD.tag;
    UPDATE tag_counts SET read = read - 1
     WHERE (SELECT name FROM tags WHERE id = OLD.tag) = 'read'
       AND tag IN (SELECT x.tag FROM message_tags x WHERE x.message = OLD.message);
END;
