-- Keys found outside Autocrypt headers: attached to mail, announced in an
-- OpenPGP: header, fetched from WKD or keys.openpgp.org, or imported by the user.
-- They are used when no Autocrypt key is known, and pinned like any other key.
ALTER TABLE peers ADD COLUMN discovered_key BLOB;
ALTER TABLE peers ADD COLUMN discovered_source TEXT;
ALTER TABLE peers ADD COLUMN discovered_at INTEGER;
-- A copy of the pinned key itself: the slots above follow the newest key seen,
-- which may be a change the user has not accepted.
ALTER TABLE peers ADD COLUMN pinned_key BLOB;
ALTER TABLE peers ADD COLUMN pinned_source TEXT;
-- From the sender's OpenPGP: header: where their key is published, and its id.
ALTER TABLE peers ADD COLUMN announced_url TEXT;
ALTER TABLE peers ADD COLUMN announced_id TEXT;

-- `homepost key import` used to put keys in the Autocrypt slot (with no
-- Autocrypt date): they are the user's imports.
UPDATE peers SET discovered_key = public_key, discovered_source = 'imported',
                 discovered_at = last_seen, public_key = NULL
 WHERE public_key IS NOT NULL AND autocrypt_timestamp IS NULL;

-- One key may serve several of the user's addresses (a Setup Message or an
-- imported key with several user ids): one row per key and address, so that
-- making it active for one address no longer takes it from another.
CREATE TABLE identity_keys_by_address (
    fingerprint TEXT    NOT NULL,
    address     TEXT    NOT NULL,
    secret      BLOB    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, address)
) WITHOUT ROWID;
INSERT INTO identity_keys_by_address (fingerprint, address, secret, active, created_at)
    SELECT fingerprint, address, secret, active, created_at FROM identity_keys;
DROP TABLE identity_keys;
ALTER TABLE identity_keys_by_address RENAME TO identity_keys;
CREATE INDEX identity_keys_address ON identity_keys (address, active);
