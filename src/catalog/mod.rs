//! The seed catalog: the handbook's personas, journeys, teams and ownership.

use sea_orm::{DatabaseConnection, DbErr, EntityTrait, PaginatorTrait};

/// What a seed run wrote.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub personas: usize,
}

/// True when the database holds no persona.
pub async fn is_empty(db: &DatabaseConnection) -> Result<bool, DbErr> {
    Ok(entity::persona::Entity::find().count(db).await? == 0)
}

/// Loads the seed catalog (upsert by slug).
pub async fn seed(_db: &DatabaseConnection) -> Result<SeedReport, DbErr> {
    Ok(SeedReport::default())
}
