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

/// The journey a stage belongs to, for reads that join it in (the dashboards).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The journey of the stage.
    #[sea_orm(
        belongs_to = "super::journey::Entity",
        from = "Column::JourneyId",
        to = "super::journey::Column::Id"
    )]
    Journey,
}

impl Related<super::journey::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Journey.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
