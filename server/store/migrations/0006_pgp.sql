-- OpenPGP: the user's secret keys (by address; several per address over time, one
-- active: old ones stay to decrypt old mail), the Autocrypt state and trust of
-- each correspondent, and what was found in each message.
CREATE TABLE identity_keys (
    fingerprint TEXT    PRIMARY KEY,
    address     TEXT    NOT NULL,
    secret      BLOB    NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX identity_keys_address ON identity_keys (address, active);

-- Autocrypt Level 1 peer state (times in Unix seconds; keys as binary
-- certificates), TOFU (the first key seen is pinned; a different one is kept
-- apart until the user decides) and counts that feed the encryption suggestion.
CREATE TABLE peers (
    address             TEXT    PRIMARY KEY,
    last_seen           INTEGER,
    autocrypt_timestamp INTEGER,
    public_key          BLOB,
    prefer_encrypt      INTEGER NOT NULL DEFAULT 0,
    gossip_key          BLOB,
    gossip_timestamp    INTEGER,
    pinned_fingerprint  TEXT,
    changed_fingerprint TEXT,
    changed_at          INTEGER,
    signed_count        INTEGER NOT NULL DEFAULT 0,
    encrypted_count     INTEGER NOT NULL DEFAULT 0,
    autocrypt_count     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- The OpenPGP outcome of a message (JSON), and its decrypted text for showing
-- and indexing (both inside the encrypted database).
CREATE TABLE message_crypto (
    message   INTEGER PRIMARY KEY REFERENCES messages (id),
    outcome   TEXT    NOT NULL,
    decrypted BLOB
);
