-- The address book (issue 16 point 5). What the mail says about each address is
-- kept up to date as messages are stored (`correspondents`), so that listing and
-- completing never scan `addresses`; what the user says (a name, notes, numbers,
-- which addresses are one person, that a contact is deleted) sits on the contact
-- and wins over what the mail says. Every address belongs to one contact.

-- Per address (ASCII-lowercased), from the messages that are not spam.
CREATE TABLE correspondents (
    address    TEXT    PRIMARY KEY,
    -- The display name most recently seen with it ('' if none ever was).
    name       TEXT    NOT NULL DEFAULT '',
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    -- Messages from it, and to it (To, Cc, Bcc).
    from_count INTEGER NOT NULL DEFAULT 0,
    to_count   INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The user's name for the contact; '' leaves it to the mail (mail_name).
    name       TEXT    NOT NULL DEFAULT '',
    mail_name  TEXT    NOT NULL DEFAULT '',
    display    TEXT    GENERATED ALWAYS AS (CASE WHEN name <> '' THEN name ELSE mail_name END) VIRTUAL,
    notes      TEXT    NOT NULL DEFAULT '',
    -- JSON arrays of strings: numbers, and vCard properties not modelled.
    phones     TEXT    NOT NULL DEFAULT '[]',
    extra      TEXT    NOT NULL DEFAULT '[]',
    -- Sums over its addresses' correspondents rows.
    from_count INTEGER NOT NULL DEFAULT 0,
    to_count   INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER,
    last_seen  INTEGER,
    -- Deleted by the user: kept (with its addresses) so that mail from them does
    -- not bring it back; shown nowhere.
    hidden     INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX contacts_frequent ON contacts (hidden, (from_count + to_count) DESC, id);
CREATE INDEX contacts_by_name ON contacts (hidden, display COLLATE NOCASE, id);

CREATE TABLE contact_addresses (
    address  TEXT    PRIMARY KEY,
    contact  INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    position INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX contact_addresses_contact ON contact_addresses (contact, position);

-- The words of each contact's name and addresses (rowid = contact id), for
-- finding contacts by the start of any of them.
CREATE VIRTUAL TABLE contact_search USING fts5 (
    words, content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);

-- What the mail stored so far says: one pass over `addresses`, once.
CREATE TEMP TABLE seen AS
    SELECT lower(a.address) AS address, max(a.name) AS name, m.date AS date,
           max(a.field = 'from') AS is_from, max(a.field IN ('to', 'cc', 'bcc')) AS is_to
      FROM addresses a JOIN messages m ON m.id = a.message
     WHERE a.address <> '' AND a.field <> 'reply-to'
       AND NOT EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
                        WHERE mt.message = a.message AND t.name = 'spam')
     GROUP BY lower(a.address), a.message;
INSERT INTO correspondents (address, name, first_seen, last_seen, from_count, to_count)
    SELECT address, '', min(date), max(date), sum(is_from), sum(is_to) FROM seen GROUP BY address;
-- The name of each address's newest message that had one (SQLite takes the bare
-- column from the row of max()).
UPDATE correspondents SET name = n.name
  FROM (SELECT address, name, max(date) FROM seen WHERE name <> '' GROUP BY address) AS n
 WHERE n.address = correspondents.address;
DROP TABLE seen;

INSERT INTO contacts (id, mail_name, from_count, to_count, first_seen, last_seen, created_at, updated_at)
    SELECT row_number() OVER (ORDER BY address), name, from_count, to_count, first_seen, last_seen,
           unixepoch(), unixepoch()
      FROM correspondents;
INSERT INTO contact_addresses (address, contact, position)
    SELECT address, row_number() OVER (ORDER BY address), 0 FROM correspondents;
INSERT INTO contact_search (rowid, words)
    SELECT c.id, c.display || ' ' || a.address
      FROM contacts c JOIN contact_addresses a ON a.contact = c.id;
-- An INSERT of no rows leaves a sequence of 0 behind: not worth a row.
DELETE FROM sqlite_sequence WHERE name = 'contacts' AND seq = 0;
