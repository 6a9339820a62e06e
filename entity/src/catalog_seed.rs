//! The `catalog_seed` table: one row per load of the seed catalog.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "catalog_seed")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Rows the load inserted.
    pub inserted: i32,
    /// Rows the load changed.
    pub updated: i32,
    pub loaded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
