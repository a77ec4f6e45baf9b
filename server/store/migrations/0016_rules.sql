-- Saved searches and filter rules (docs/rules.md).

-- A search kept under a name, in the user's order.
CREATE TABLE saved_searches (
    id       INTEGER PRIMARY KEY,
    name     TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    query    TEXT    NOT NULL,
    position INTEGER NOT NULL
) STRICT;

-- "When arriving mail matches query, do actions", run in position order.
-- actions is JSON (homepost_store::RuleActions).
CREATE TABLE rules (
    id       INTEGER PRIMARY KEY,
    name     TEXT    NOT NULL,
    query    TEXT    NOT NULL,
    actions  TEXT    NOT NULL,
    enabled  INTEGER NOT NULL DEFAULT 1,
    position INTEGER NOT NULL
) STRICT;
