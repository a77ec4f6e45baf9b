//! Numbered migrations, applied in order and recorded in `PRAGMA user_version`.

use sqlx::SqlitePool;

use crate::{Error, Result};

/// Each entry moves the schema from version `index` to `index + 1`. Released
/// entries are never edited; new ones are appended.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_state_version.sql"),
    include_str!("../migrations/0003_spam.sql"),
    include_str!("../migrations/0004_address_nocase.sql"),
    include_str!("../migrations/0005_transport.sql"),
    include_str!("../migrations/0006_pgp.sql"),
    include_str!("../migrations/0007_key_discovery.sql"),
    include_str!("../migrations/0008_strict.sql"),
    include_str!("../migrations/0009_crypto_pending.sql"),
    include_str!("../migrations/0010_message_lists.sql"),
    include_str!("../migrations/0012_identities.sql"),
    include_str!("../migrations/0013_address_book.sql"),
    include_str!("../migrations/0014_backup.sql"),
    include_str!("../migrations/0015_integrity.sql"),
    include_str!("../migrations/0016_rules.sql"),
    include_str!("../migrations/0017_tag_counts.sql"),
    include_str!("../migrations/0018_condstore.sql"),
    include_str!("../migrations/0019_index_queue.sql"),
];

/// The newest schema version this build knows.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to schema `target` (the newest, [`LATEST`], except in
/// tests of an upgrade), one transaction per step.
pub(crate) async fn migrate(pool: &SqlitePool, target: i64) -> Result<()> {
    let mut conn = pool.acquire().await?;
    let current: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await?;
    if current > LATEST {
        return Err(Error::TooNew {
            found: current,
            known: LATEST,
        });
    }
    let steps = MIGRATIONS.iter().enumerate();
    for (version, sql) in steps.take(target as usize).skip(current as usize) {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::raw_sql(*sql).execute(&mut *tx).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "PRAGMA user_version = {}",
            version + 1
        )))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
