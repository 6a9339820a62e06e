//! The `persona_link` table: directed links between personas.

use crate::enums::{PersonaLinkKind, Provenance};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "persona_link")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub from_persona_id: i32,
    pub to_persona_id: i32,
    pub kind: PersonaLinkKind,
    pub note: Option<String>,
    pub provenance: Provenance,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
