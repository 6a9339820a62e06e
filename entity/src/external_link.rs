//! The `external_link` table: links to documents about a persona, journey, stage or team.

use crate::enums::{LinkAccess, LinkKind, SubjectType};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "external_link")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub subject_type: SubjectType,
    pub subject_id: i32,
    pub label: String,
    pub url: String,
    pub kind: LinkKind,
    pub access: LinkAccess,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
