//! A logical copy of the store, row by row, for backups (docs/backup.md).
//!
//! SQLCipher writes every page with a fresh IV, so two copies of the database
//! file share nothing a backup could deduplicate: a backup reads the rows
//! instead. [`Snapshot`] reads every table that holds state inside one read
//! transaction (a consistent point in time while writers go on), a page of rows
//! at a time; [`Loader`] writes them into a new, empty store of the same schema
//! version. A message's raw bytes are left out of its row ([`Value::Content`]):
//! the backup stores them as objects of their own, named by the message's
//! SHA-256, so that they are read and sent only once.

use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, Connection, Row, TypeInfo, ValueRef};

use crate::{Error, Result, Store};

/// Tables that are not part of a copy: what only this box's backup and index
/// need (which objects it has sent, what its index has still to do), and
/// SQLite's statistics.
const SKIPPED: &[&str] = &[
    "backup_objects",
    "backup_forget",
    "index_deletes",
    "index_queue",
    "index_queue_seq",
    "backup_packs",
    "sqlite_stat1",
    "sqlite_stat4",
];

/// Counts every tag's messages and read messages from scratch.
const RECOUNT_TAGS: &str = "DELETE FROM tag_counts;
INSERT INTO tag_counts (tag, total, read)
    SELECT t.id, count(mt.message), count(r.message)
      FROM tags t
      LEFT JOIN message_tags mt ON mt.tag = t.id
      LEFT JOIN (SELECT x.message FROM message_tags x JOIN tags rt ON rt.id = x.tag
                  WHERE rt.name = 'read') r ON r.message = mt.message
     GROUP BY t.id;";

/// Sets every remote copy's local read/flagged bits from its message's tags.
const RECOMPUTE_LOCAL_FLAGS: &str = "UPDATE remote_messages SET local =
    (EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
              WHERE mt.message = remote_messages.message AND t.name = 'read'))
  | (EXISTS (SELECT 1 FROM message_tags mt JOIN tags t ON t.id = mt.tag
              WHERE mt.message = remote_messages.message AND t.name = 'flagged')) * 2;";

/// The column whose bytes travel as objects of their own, and the column that
/// names them.
const CONTENT: (&str, &str, &str) = ("messages", "raw", "sha256");

/// Settings that belong to this box alone and are not copied: a recovery key
/// waiting to be shown (a backup must not carry it, and a restored box must not
/// show it again).
const LOCAL_SETTINGS: &str = "key NOT IN ('backup.recovery_pending')";

/// The rows of `table` a copy leaves out, as an SQL condition on the rest.
fn kept_rows(table: &str) -> Option<&'static str> {
    (table == "settings").then_some(LOCAL_SETTINGS)
}

/// Parameters in one statement at most (SQLite's default limit is 32,766).
const MAX_PARAMS: usize = 30_000;

/// Columns copied as 0: the state of this box's search index, which a restored
/// box rebuilds (and which would otherwise change the copy as indexing goes on).
const LOCAL: &[(&str, &str)] = &[("messages", "indexed")];

/// One value of a copied row, as SQLite stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// NULL.
    #[serde(rename = "n")]
    Null,
    /// An INTEGER.
    #[serde(rename = "i")]
    Int(i64),
    /// A REAL.
    #[serde(rename = "r")]
    Real(f64),
    /// TEXT.
    #[serde(rename = "t")]
    Text(String),
    /// A BLOB.
    #[serde(rename = "b", with = "b64")]
    Blob(Vec<u8>),
    /// A message's raw bytes (as stored: compressed), left out of the row: they
    /// are the object named by the SHA-256 in this value.
    #[serde(rename = "c", with = "b64")]
    Content(Vec<u8>),
}

mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// A table of the copy: its name and its columns, in the order of each row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// Its columns.
    pub columns: Vec<String>,
    /// The columns of its key, which orders the rows and pages through them.
    pub key: Vec<String>,
}

/// A page of rows and where the next page starts.
#[derive(Debug)]
pub struct Page {
    /// The rows, each in the order of [`Table::columns`].
    pub rows: Vec<Vec<Value>>,
    /// The key of the last row, to pass back for the next page; `None` at the end.
    pub next: Option<Vec<Value>>,
}

/// Quotes an identifier for SQL (names come from the database's own schema).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A consistent, read-only view of the store for one copy.
#[derive(Debug)]
pub struct Snapshot {
    /// Taken out of the pool: dropped without [`finish`](Snapshot::finish), it
    /// closes instead of going back mid-transaction.
    conn: sqlx::SqliteConnection,
    version: i64,
}

impl Store {
    /// Opens a read transaction that sees the store as it is now, whatever is
    /// written meanwhile, until the snapshot is dropped.
    pub async fn snapshot(&self) -> Result<Snapshot> {
        let mut conn = self.pool.acquire().await?.detach();
        sqlx::raw_sql("BEGIN").execute(&mut conn).await?;
        // A deferred transaction takes its snapshot at its first read.
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut conn)
            .await?;
        sqlx::query("SELECT count(*) FROM sqlite_schema")
            .fetch_one(&mut conn)
            .await?;
        Ok(Snapshot { conn, version })
    }
}

impl Snapshot {
    /// The schema version the rows are in.
    pub fn schema_version(&self) -> i64 {
        self.version
    }

    /// The tables that hold state, parents before children.
    pub async fn tables(&mut self) -> Result<Vec<Table>> {
        let virtual_tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'",
        )
        .fetch_all(&mut self.conn)
        .await?;
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY rowid",
        )
        .fetch_all(&mut self.conn)
        .await?;
        let mut tables = Vec::new();
        for name in names {
            if SKIPPED.contains(&name.as_str()) || virtual_tables.contains(&name) {
                continue;
            }
            let info = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT name, pk FROM pragma_table_info({})",
                sql_string(&name)
            )))
            .fetch_all(&mut self.conn)
            .await?;
            let columns: Vec<String> = info.iter().map(|r| r.get::<String, _>(0)).collect();
            let mut key: Vec<(i64, String)> = info
                .iter()
                .filter(|r| r.get::<i64, _>(1) > 0)
                .map(|r| (r.get::<i64, _>(1), r.get::<String, _>(0)))
                .collect();
            key.sort();
            let without_rowid: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT wr FROM pragma_table_list({})",
                sql_string(&name)
            )))
            .fetch_one(&mut self.conn)
            .await?;
            let key = if without_rowid {
                key.into_iter().map(|(_, c)| c).collect()
            } else {
                vec!["rowid".to_owned()]
            };
            tables.push(Table { name, columns, key });
        }
        Ok(tables)
    }

    /// Up to `limit` rows of `table` after the row whose key is `after` (from
    /// the start when `None`), in key order.
    pub async fn page(
        &mut self,
        table: &Table,
        after: Option<&[Value]>,
        limit: u32,
    ) -> Result<Page> {
        let select: Vec<String> = table
            .columns
            .iter()
            .map(|c| {
                if table.name == CONTENT.0 && c == CONTENT.1 {
                    // The name of the content instead of the content.
                    quoted(CONTENT.2)
                } else if LOCAL.contains(&(table.name.as_str(), c.as_str())) {
                    "0".to_owned()
                } else {
                    quoted(c)
                }
            })
            .chain(table.key.iter().map(|k| quoted(k)))
            .collect();
        let key = table.key.iter().map(|k| quoted(k)).collect::<Vec<_>>();
        let mut sql = format!("SELECT {} FROM {}", select.join(", "), quoted(&table.name));
        let mut args = SqliteArguments::default();
        let mut conditions: Vec<String> = kept_rows(&table.name)
            .map(str::to_owned)
            .into_iter()
            .collect();
        if let Some(after) = after {
            let marks = vec!["?"; key.len()].join(", ");
            conditions.push(format!("({}) > ({marks})", key.join(", ")));
            for v in after {
                bind(&mut args, v)?;
            }
        }
        if !conditions.is_empty() {
            sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        sql.push_str(&format!(" ORDER BY {} LIMIT {limit}", key.join(", ")));
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
            .fetch_all(&mut self.conn)
            .await?;
        let width = table.columns.len();
        let mut out = Vec::with_capacity(rows.len());
        let mut last_key = None;
        for row in &rows {
            let mut values = Vec::with_capacity(width);
            for (i, column) in table.columns.iter().enumerate() {
                let v = value(row, i)?;
                if table.name == CONTENT.0 && column == CONTENT.1 {
                    match v {
                        Value::Blob(name) => values.push(Value::Content(name)),
                        _ => return Err(Error::Sql(sqlx::Error::ColumnNotFound(CONTENT.2.into()))),
                    }
                } else {
                    values.push(v);
                }
            }
            last_key = Some(
                (width..width + table.key.len())
                    .map(|i| value(row, i))
                    .collect::<Result<Vec<_>>>()?,
            );
            out.push(values);
        }
        let next = if rows.len() < limit as usize {
            None
        } else {
            last_key
        };
        Ok(Page { rows: out, next })
    }

    /// The stored (compressed) bytes of the message whose SHA-256 is `sha256`,
    /// as [`Value::Content`] names them.
    pub async fn content(&mut self, sha256: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT raw FROM messages WHERE sha256 = ?")
                .bind(sha256)
                .fetch_optional(&mut self.conn)
                .await?,
        )
    }

    /// How many rows `table` has (for progress).
    pub async fn count(&mut self, table: &Table) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {}{}",
            quoted(&table.name),
            kept_rows(&table.name)
                .map(|c| format!(" WHERE {c}"))
                .unwrap_or_default()
        )))
        .fetch_one(&mut self.conn)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Ends the read transaction.
    pub async fn finish(mut self) -> Result<()> {
        sqlx::raw_sql("COMMIT").execute(&mut self.conn).await?;
        self.conn.close().await?;
        Ok(())
    }
}

/// `name` as an SQL string literal.
fn sql_string(name: &str) -> String {
    format!("'{}'", name.replace('\'', "''"))
}

fn value(row: &SqliteRow, i: usize) -> Result<Value> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().name().to_owned();
    Ok(match kind.as_str() {
        "INTEGER" => Value::Int(row.try_get(i)?),
        "REAL" => Value::Real(row.try_get(i)?),
        "TEXT" => Value::Text(row.try_get(i)?),
        _ => Value::Blob(row.try_get(i)?),
    })
}

fn bind(args: &mut SqliteArguments, v: &Value) -> Result<()> {
    let added = match v {
        Value::Null => args.add(Option::<i64>::None),
        Value::Int(n) => args.add(*n),
        Value::Real(x) => args.add(*x),
        Value::Text(s) => args.add(s.clone()),
        Value::Blob(b) | Value::Content(b) => args.add(b.clone()),
    };
    added.map_err(|e| Error::Sql(sqlx::Error::Encode(e)))
}

/// Writes a copy into a new store: tables are emptied first (a new store has
/// rows its migrations put there), triggers are set aside so that copied rows
/// do not fire them twice, and references are checked at the end.
#[derive(Debug)]
pub struct Loader {
    /// Taken out of the pool: it runs without foreign keys and triggers, and is
    /// closed, never reused, when the load ends.
    conn: sqlx::SqliteConnection,
    triggers: Vec<String>,
}

impl Store {
    /// Starts loading a copy made at this store's schema version.
    pub async fn loader(&self) -> Result<Loader> {
        let mut conn = self.pool.acquire().await?.detach();
        sqlx::raw_sql("PRAGMA foreign_keys = OFF")
            .execute(&mut conn)
            .await?;
        let triggers: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND sql IS NOT NULL",
        )
        .fetch_all(&mut conn)
        .await?;
        let mut tx = sqlx::Connection::begin(&mut conn).await?;
        for (name, _) in &triggers {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP TRIGGER {}",
                quoted(name)
            )))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Loader {
            conn,
            triggers: triggers.into_iter().map(|(_, sql)| sql).collect(),
        })
    }
}

impl Loader {
    /// Empties `table` before its rows come.
    pub async fn clear(&mut self, table: &Table) -> Result<()> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {}",
            quoted(&table.name)
        )))
        .execute(&mut self.conn)
        .await?;
        Ok(())
    }

    /// Inserts rows of `table`, in one transaction. [`Value::Content`] must have
    /// been replaced by the content itself ([`Value::Blob`]).
    pub async fn insert(&mut self, table: &Table, rows: &[Vec<Value>]) -> Result<()> {
        let width = table.columns.len();
        if let Some(bad) = rows
            .iter()
            .find(|r| r.len() != width || r.iter().any(|v| matches!(v, Value::Content(_))))
        {
            return Err(Error::Sql(sqlx::Error::Protocol(format!(
                "a row of {} does not fit its columns ({} values for {width})",
                table.name,
                bad.len()
            ))));
        }
        let columns: Vec<String> = table.columns.iter().map(|c| quoted(c)).collect();
        let one = format!("({})", vec!["?"; width].join(", "));
        // Many rows a statement (one round trip to the connection's thread each),
        // within SQLite's limit of 32,766 parameters.
        let per_statement = (MAX_PARAMS / width.max(1)).max(1);
        let mut tx = sqlx::Connection::begin(&mut self.conn).await?;
        for chunk in rows.chunks(per_statement) {
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                quoted(&table.name),
                columns.join(", "),
                vec![one.as_str(); chunk.len()].join(", ")
            );
            let mut args = SqliteArguments::default();
            for v in chunk.iter().flatten() {
                bind(&mut args, v)?;
            }
            sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Puts the triggers back, checks every reference, and leaves every message
    /// to be indexed again. Returns the references that point nowhere.
    pub async fn finish(mut self) -> Result<Vec<String>> {
        let mut tx = sqlx::Connection::begin(&mut self.conn).await?;
        for sql in &self.triggers {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&mut *tx)
                .await?;
        }
        // Every message waits for the new index: in the queue from migration
        // 0019 (schema 18) on, marked in its row before.
        let queue: bool = sqlx::query_scalar(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'index_queue'",
        )
        .fetch_one(&mut *tx)
        .await?;
        let requeue = if queue {
            "INSERT INTO index_queue (message) SELECT id FROM messages WHERE true
             ON CONFLICT (message) DO NOTHING"
        } else {
            "UPDATE messages SET indexed = 0"
        };
        sqlx::raw_sql(requeue).execute(&mut *tx).await?;
        // Counts the copy may not hold (a copy from before migration 0017, or
        // a snapshot rewritten without deleted mail): counted again.
        sqlx::raw_sql(RECOUNT_TAGS).execute(&mut *tx).await?;
        // The same for the flags kept on remote copies (migration 0018).
        sqlx::raw_sql(RECOMPUTE_LOCAL_FLAGS)
            .execute(&mut *tx)
            .await?;
        let broken: Vec<(String, Option<i64>, String)> =
            sqlx::query_as("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        self.conn.close().await?;
        Ok(broken
            .into_iter()
            .map(|(t, row, parent)| format!("{t} row {} -> {parent}", row.unwrap_or(0)))
            .collect())
    }
}

#[cfg(test)]
mod tests;
