//! The `audit_event` table: the append-only history of every change made through the API.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What kind of record a change belongs to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditSubject {
    #[sea_orm(string_value = "PERSONA")]
    Persona,
    #[sea_orm(string_value = "JOURNEY")]
    Journey,
    #[sea_orm(string_value = "STAGE")]
    Stage,
    #[sea_orm(string_value = "TEAM")]
    Team,
    #[sea_orm(string_value = "PERSON")]
    Person,
    #[sea_orm(string_value = "PRODUCT")]
    Product,
    #[sea_orm(string_value = "API_TOKEN")]
    ApiToken,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub occurred_at: DateTimeUtc,
    /// The token that made the change; null for the command line.
    pub actor_token_id: Option<i32>,
    /// The token's name, or `cli`.
    pub actor_name: String,
    /// The mutation (or command) that made the change, e.g. `updatePersona`.
    pub action: String,
    pub subject_type: AuditSubject,
    pub subject_id: i32,
    /// The subject's human key when it has one (a slug; `journey/key` for a stage).
    pub subject_key: Option<String>,
    /// The subject's values before the change; null when it was created.
    pub before: Option<Json>,
    /// The subject's values after the change; null when it was deleted.
    pub after: Option<Json>,
    /// The write transaction it was recorded in (`catalog_change.txn`).
    pub txn: Option<i64>,
    /// The version of the aggregate the subject belongs to after the change; null when it
    /// has none (people, products, tokens) or the change deleted it.
    pub version: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
