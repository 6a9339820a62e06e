//! The `api_token` table: bearer tokens for the API, stored only as SHA-256 hashes.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What a token may do. Ordered: a higher role may do everything a lower one may.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TokenRole {
    /// Reads the catalog.
    #[sea_orm(string_value = "VIEWER")]
    Viewer,
    /// Reads and changes the catalog.
    #[sea_orm(string_value = "EDITOR")]
    Editor,
    /// Everything, plus tokens and the global audit log.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
}

impl TokenRole {
    /// The text stored in the database for this value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "VIEWER",
            Self::Editor => "EDITOR",
            Self::Admin => "ADMIN",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "api_token")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Unique, chosen by whoever creates the token; names the actor in the audit history.
    #[sea_orm(unique)]
    pub name: String,
    pub role: TokenRole,
    /// Lower-case hex SHA-256 of the secret; the secret itself is never stored.
    #[sea_orm(unique)]
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
