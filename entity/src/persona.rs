//! The `persona` table: go-to-market personas.

use crate::enums::{PainIntensity, PersonaKind, Provenance, Status, ValuePropScope};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "persona")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub kind: PersonaKind,
    pub status: Status,
    pub summary: Option<String>,
    pub description: Option<String>,
    /// JSON array of strings.
    pub pain_points: Json,
    /// JSON array of strings.
    pub motivations: Json,
    pub pain_intensity: Option<PainIntensity>,
    pub pain_intensity_note: Option<String>,
    pub value_prop_scope: Option<ValuePropScope>,
    pub sort_order: i32,
    pub provenance: Provenance,
    pub source_url: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// A persona's example job titles, for reads that join them in (a lookup by slug).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The persona's roles.
    #[sea_orm(has_many = "super::role::Entity")]
    Roles,
}

impl Related<super::role::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Roles.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
