//! The record of catalog loads, and the lock that keeps two loads from running at once.

use super::change::{Change, Command};
use crate::error::AppResult;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend};

/// Makes `change` wait for any other catalog load to commit (`PostgreSQL`; `SQLite`'s writers
/// are serialised already): replicas started with `--seed` at the same moment would
/// otherwise both create the same slugs. The second then finds everything in place.
pub async fn serialise(change: &Change) -> AppResult<()> {
    if change.db().get_database_backend() == DbBackend::Postgres {
        change
            .db()
            .execute_unprepared("SELECT pg_advisory_xact_lock(7308604759866453057)")
            .await?;
    }
    Ok(())
}

/// Notes that a catalog was loaded: once one has been, a restart never loads it again over
/// editors' deletions.
#[derive(Debug, Clone)]
pub struct RecordCatalogLoad {
    /// Rows the load created.
    pub inserted: usize,
    /// Records the load overwrote.
    pub updated: usize,
}

impl Command for RecordCatalogLoad {
    type Output = ();

    async fn apply(&self, change: &mut Change) -> AppResult<()> {
        entity::catalog_seed::ActiveModel {
            inserted: Set(i32::try_from(self.inserted).unwrap_or(i32::MAX)),
            updated: Set(i32::try_from(self.updated).unwrap_or(i32::MAX)),
            loaded_at: Set(change.now()),
            ..Default::default()
        }
        .insert(change.db())
        .await?;
        Ok(())
    }
}
