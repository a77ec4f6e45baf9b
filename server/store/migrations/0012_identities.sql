-- Identities: the addresses mail is sent From. Each account has one primary
-- identity, its own address (`accounts.config` $.email and $.display_name), kept in
-- step with the account by the triggers below; aliases are further identities of
-- the account, sent through its SMTP server. One identity of the box is the
-- default (new messages, and replies to mail sent to none of ours).
--
-- No AUTOINCREMENT: a draft refers to an identity by id, and the delete trigger
-- moves the drafts of a deleted identity to its account's primary (or to none),
-- so a reused id is never a stale reference.
--
-- A later migration that rebuilds `accounts` (DROP TABLE) drops its triggers:
-- it must create them again.
CREATE TABLE identities (
    id           INTEGER PRIMARY KEY,
    account      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    address      TEXT    NOT NULL COLLATE NOCASE,
    display_name TEXT    NOT NULL DEFAULT '',
    signature    TEXT    NOT NULL DEFAULT '',
    is_primary   INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
    is_default   INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX identities_address ON identities (account, address);
CREATE UNIQUE INDEX identities_primary ON identities (account) WHERE is_primary = 1;
CREATE UNIQUE INDEX identities_default ON identities (is_default) WHERE is_default = 1;

-- The accounts there are: their primaries, the first account's the default.
INSERT INTO identities (account, address, display_name, is_primary, is_default, created_at)
    SELECT id,
           coalesce(json_extract(config, '$.email'), ''),
           coalesce(json_extract(config, '$.display_name'), ''),
           1,
           id = (SELECT min(id) FROM accounts),
           created_at
      FROM accounts;

-- A new account brings its primary identity, the default if there is none.
CREATE TRIGGER accounts_identity_added AFTER INSERT ON accounts
BEGIN
    INSERT INTO identities (account, address, display_name, is_primary, is_default, created_at)
    VALUES (NEW.id,
            coalesce(json_extract(NEW.config, '$.email'), ''),
            coalesce(json_extract(NEW.config, '$.display_name'), ''),
            1,
            NOT EXISTS (SELECT 1 FROM identities WHERE is_default = 1),
            NEW.created_at);
END;

-- The primary follows the account's address and name. An alias of the same
-- account with the new address gives way to it (its drafts go to the primary,
-- and so does the default flag if it had it).
CREATE TRIGGER accounts_identity_changed AFTER UPDATE OF config ON accounts
BEGIN
    UPDATE identities SET is_default = 0
     WHERE account = NEW.id AND is_primary = 0 AND is_default = 1
       AND address = coalesce(json_extract(NEW.config, '$.email'), '');
    DELETE FROM identities
     WHERE account = NEW.id AND is_primary = 0
       AND address = coalesce(json_extract(NEW.config, '$.email'), '');
    UPDATE identities
       SET address = coalesce(json_extract(NEW.config, '$.email'), ''),
           display_name = coalesce(json_extract(NEW.config, '$.display_name'), ''),
           is_default = is_default OR NOT EXISTS (SELECT 1 FROM identities WHERE is_default = 1)
     WHERE account = NEW.id AND is_primary = 1;
END;

-- An identity that goes (deleted, or with its account): drafts written from it
-- move to its account's primary (to no identity and no account when the account
-- went too: they are then sent from the default); if it was the
-- default, the primary of the first remaining account becomes the default.
CREATE TRIGGER identities_deleted AFTER DELETE ON identities
BEGIN
    UPDATE drafts
       SET content = json_set(content,
               '$.identity_id', (SELECT p.id FROM identities p JOIN accounts a ON a.id = p.account
                                  WHERE p.account = OLD.account AND p.is_primary = 1),
               '$.account_id', (SELECT id FROM accounts WHERE id = OLD.account))
     WHERE json_extract(content, '$.identity_id') = OLD.id;
    UPDATE identities SET is_default = 1
     WHERE OLD.is_default = 1
       AND NOT EXISTS (SELECT 1 FROM identities WHERE is_default = 1)
       AND id = (SELECT p.id FROM identities p JOIN accounts a ON a.id = p.account
                  WHERE p.is_primary = 1 ORDER BY p.account LIMIT 1);
END;

-- An account that goes takes its identities at once (whatever the order of the
-- foreign key's cascade and this trigger), and a default remains if any
-- identity does.
CREATE TRIGGER accounts_identity_deleted AFTER DELETE ON accounts
BEGIN
    DELETE FROM identities WHERE account = OLD.id;
    UPDATE identities SET is_default = 1
     WHERE NOT EXISTS (SELECT 1 FROM identities WHERE is_default = 1)
       AND id = (SELECT id FROM identities WHERE is_primary = 1 ORDER BY account LIMIT 1);
END;
