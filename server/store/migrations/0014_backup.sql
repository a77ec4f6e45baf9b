-- What this box's backup has sent (docs/backup.md): each object by its keyed
-- name, and the pack that holds it on the server. Not part of the backup itself;
-- checked against the server's list of packs before each run, so an object whose
-- pack is gone is sent again.
CREATE TABLE backup_objects (
    id   BLOB NOT NULL PRIMARY KEY,
    pack TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX backup_objects_pack ON backup_objects (pack);
