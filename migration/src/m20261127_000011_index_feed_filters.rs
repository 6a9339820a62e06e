//! Indexes for the remaining filter and order columns: the admins' audit feed filtered by
//! subject type, action or actor (newest first), and products by name.

use sea_orm_migration::prelude::*;

pub(crate) struct Migration;

const INDEXES: &[(&str, &str)] = &[
    (
        "ix_audit_event_type",
        "CREATE INDEX ix_audit_event_type ON audit_event (subject_type, id)",
    ),
    (
        "ix_audit_event_action",
        "CREATE INDEX ix_audit_event_action ON audit_event (action, id)",
    ),
    (
        "ix_audit_event_actor",
        "CREATE INDEX ix_audit_event_actor ON audit_event (actor_name, id)",
    ),
    (
        "ix_product_name",
        "CREATE INDEX ix_product_name ON product (name, id)",
    ),
];

impl MigrationName for Migration {
    fn name(&self) -> &'static str {
        "m20261127_000011_index_feed_filters"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (_, sql) in INDEXES {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        Ok(())
    }
}
