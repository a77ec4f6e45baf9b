//! Which backup objects this box has sent, and in which pack (docs/backup.md).

use std::collections::HashSet;

use crate::{Result, Store};

/// Objects looked up or recorded per statement.
const BATCH: usize = 400;

impl Store {
    /// Those of `ids` that a pack on the server holds, as far as this box knows.
    pub async fn backup_known(&self, ids: &[[u8; 32]]) -> Result<HashSet<[u8; 32]>> {
        let mut known = HashSet::new();
        for part in ids.chunks(BATCH) {
            let marks = vec!["?"; part.len()].join(", ");
            let sql = format!("SELECT id FROM backup_objects WHERE id IN ({marks})");
            let mut q = sqlx::query_scalar::<_, Vec<u8>>(sqlx::AssertSqlSafe(sql));
            for id in part {
                q = q.bind(id.as_slice());
            }
            for id in q.fetch_all(&self.pool).await? {
                if let Ok(id) = <[u8; 32]>::try_from(id.as_slice()) {
                    known.insert(id);
                }
            }
        }
        Ok(known)
    }

    /// Records that `pack`, now on the server, holds `ids`.
    pub async fn backup_record(&self, pack: &str, ids: &[[u8; 32]]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for id in ids {
            sqlx::query("INSERT OR REPLACE INTO backup_objects (id, pack) VALUES (?, ?)")
                .bind(id.as_slice())
                .bind(pack)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The packs this box believes the server holds.
    pub async fn backup_packs(&self) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT DISTINCT pack FROM backup_objects ORDER BY pack")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Forgets the objects of `pack` (gone from the server, or pruned): they are
    /// sent again when a backup needs them.
    pub async fn backup_forget(&self, pack: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM backup_objects WHERE pack = ?")
            .bind(pack)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }
}
