-- Bumped by every change the index must see (tags, for now). Rows are marked
-- indexed only for the version that was read for indexing, so a change made by
-- another process while an index batch was open is not lost.
ALTER TABLE messages ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
