//! Database migrations for persona-graph, written once for SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_create_catalog;
mod m20261127_000002_create_catalog_seed;
mod m20261127_000003_create_access_and_audit;
mod m20261127_000010_create_catalog_version;
mod m20261127_000011_index_feed_filters;
mod m20261202_000012_create_catalog_change;

pub use m20261202_000012_create_catalog_change::CHANNEL;

/// Runs every migration of the catalog schema in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_catalog::Migration),
            Box::new(m20261127_000002_create_catalog_seed::Migration),
            Box::new(m20261127_000003_create_access_and_audit::Migration),
            Box::new(m20261127_000010_create_catalog_version::Migration),
            Box::new(m20261127_000011_index_feed_filters::Migration),
            Box::new(m20261202_000012_create_catalog_change::Migration),
        ]
    }
}
