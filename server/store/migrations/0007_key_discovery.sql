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
