//! The `journey_stage` table: the ordered stages of a journey.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "journey_stage")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub journey_id: i32,
    pub key: String,
    pub name: String,
    pub position: i32,
    pub goal: Option<String>,
    pub entry_criteria: Option<String>,
    pub exit_criteria: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
