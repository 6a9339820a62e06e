//! `catalog_seed`: one row per load of the seed catalog, so a restart can tell a database that
//! was never seeded from one whose editors deleted the seeded personas.

use sea_orm_migration::{
    prelude::*,
    schema::{integer, pk_auto, timestamp_with_time_zone},
};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("catalog_seed")
                    .col(pk_auto("id"))
                    .col(integer("inserted"))
                    .col(integer("updated"))
                    .col(timestamp_with_time_zone("loaded_at"))
                    .to_owned(),
            )
            .await?;
        // Databases seeded before this table existed: their personas are the evidence.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO catalog_seed (inserted, updated, loaded_at) \
                 SELECT 0, 0, MIN(created_at) FROM persona HAVING COUNT(*) > 0",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("catalog_seed").to_owned())
            .await
    }
}
