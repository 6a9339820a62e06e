//! Lookups by human key that answer `NOT_FOUND`: the references every command and query
//! resolves first.

use crate::error::{AppError, AppResult};
use entity::{journey, person, persona, product, team};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// Finds a persona by slug or answers `NOT_FOUND`.
pub async fn persona_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<persona::Model> {
    persona::Entity::find()
        .filter(persona::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("persona", slug))
}

/// Finds a journey by slug or answers `NOT_FOUND`.
pub async fn journey_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<journey::Model> {
    journey::Entity::find()
        .filter(journey::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("journey", slug))
}

/// Finds a team by slug or answers `NOT_FOUND`.
pub async fn team_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<team::Model> {
    team::Entity::find()
        .filter(team::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("team", slug))
}

/// Finds a person by slug or answers `NOT_FOUND`.
pub async fn person_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<person::Model> {
    person::Entity::find()
        .filter(person::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("person", slug))
}

/// Finds a product by slug or answers `NOT_FOUND`.
pub async fn product_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<product::Model> {
    product::Entity::find()
        .filter(product::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("product", slug))
}
