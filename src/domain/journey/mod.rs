//! Journeys: create, change, archive and delete one. A journey is an aggregate with its stages
//! ([`stage`]), their owners and its persona narrowing ([`narrowing`]); a change to any of
//! them advances the journey's version once.

pub mod narrowing;
pub mod stage;

use super::audit::{Subject, snapshot, snapshot_with};
use super::change::{Aggregate, Change, Command, stale};
use super::link::remove_links_of;
use super::types::{LongText, Name, Slug, text_of};
use crate::error::{AppError, AppResult};
use entity::enums::{PersonaKind, Provenance, Status, SubjectType};
use entity::journey;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use stage::NewStage;

/// Creates a journey with its stages (positions 1..n in the order given) and its narrowing.
#[derive(Debug, Clone)]
pub struct CreateJourney {
    /// Kebab-case key, unique and immutable.
    pub slug: Slug,
    /// Display name.
    pub name: Name,
    /// What the journey covers.
    pub description: Option<LongText>,
    /// The kind of persona that goes through it.
    pub persona_kind: PersonaKind,
    /// Whether it is in use.
    pub status: Status,
    /// Slugs of the personas to narrow it to, as the caller gave them; every persona of the
    /// kind when empty.
    pub personas: Vec<String>,
    /// The stages, in order.
    pub stages: Vec<NewStage>,
    /// Where it comes from: an editor, or the source a catalog file names.
    pub provenance: Provenance,
}

/// Changes a journey's own fields; `None` keeps a field, `Some(None)` clears the description.
#[derive(Debug, Clone)]
pub struct UpdateJourney {
    /// The journey's slug.
    pub slug: String,
    /// The version the editor last read: `CONFLICT` when it is not the current one.
    pub expected_version: i32,
    /// New display name.
    pub name: Option<Name>,
    /// New description.
    pub description: Option<Option<LongText>>,
    /// New persona kind; the journey's personas, if it is narrowed, must be of that kind.
    pub persona_kind: Option<PersonaKind>,
    /// New status.
    pub status: Option<Status>,
}

/// Marks a journey archived; it stays readable.
#[derive(Debug, Clone)]
pub struct ArchiveJourney {
    /// The journey's slug.
    pub slug: String,
    /// The version the editor last read, if the archive must not override a newer change.
    pub expected_version: Option<i32>,
}

/// Deletes a journey with its stages, their owners, its narrowing and the links about them.
#[derive(Debug, Clone)]
pub struct DeleteJourney {
    /// The journey's slug.
    pub slug: String,
}

impl Command for CreateJourney {
    type Output = journey::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<journey::Model> {
        stage::check_new(&self.stages)?;
        let personas = narrowing::resolve(change.db(), self.persona_kind, &self.personas).await?;
        let now = change.now();
        let slug = self.slug.as_str();
        let row = journey::ActiveModel {
            slug: Set(slug.to_owned()),
            name: Set(self.name.to_string()),
            description: Set(text_of(self.description.clone())),
            persona_kind: Set(self.persona_kind),
            status: Set(self.status),
            provenance: Set(self.provenance),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(change.db())
        .await
        .map_err(|e| {
            AppError::on_unique(e, format!("a journey with slug {slug} already exists"))
        })?;
        // Its stages and narrowing are part of its first version.
        change.new_aggregate(Aggregate::Journey(row.id));
        narrowing::insert(change, row.id, &personas).await?;
        let stages = stage::insert_new(change, row.id, &self.stages).await?;
        let slugs: Vec<&str> = personas.iter().map(|p| p.slug.as_str()).collect();
        let after = snapshot_with(
            &row,
            &[
                ("stages", snapshot(&stages)),
                ("personas", serde_json::json!(slugs)),
            ],
        );
        change
            .created("createJourney", Subject::journey(&row), &after)
            .await?;
        Ok(row)
    }
}

impl Command for UpdateJourney {
    type Output = journey::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<journey::Model> {
        use journey::Column as C;
        let current = super::find::journey_by_slug(change.db(), &self.slug).await?;
        if let Some(kind) = self.persona_kind {
            narrowing::check_journey_kind(change.db(), current.id, kind).await?;
        }
        // Versions only grow, so when the version read is the expected one and the version
        // check below passes, `current` is exactly the row this change changes: the history's
        // `before`.
        if current.version != self.expected_version {
            return Err(stale("journey", &self.slug, current.version));
        }
        change
            .touch_at(
                Aggregate::Journey(current.id),
                &self.slug,
                self.expected_version,
            )
            .await?;
        let mut update = journey::Entity::update_many();
        let mut changed = false;
        if let Some(v) = &self.name {
            update = update.col_expr(C::Name, Expr::value(v.to_string()));
            changed = true;
        }
        if let Some(v) = &self.description {
            update = update.col_expr(C::Description, Expr::value(text_of(v.clone())));
            changed = true;
        }
        if let Some(v) = self.status {
            update = update.col_expr(C::Status, Expr::value(v));
            changed = true;
        }
        if let Some(v) = self.persona_kind {
            update = update.col_expr(C::PersonaKind, Expr::value(v));
            changed = true;
        }
        if changed {
            update
                .filter(C::Id.eq(current.id))
                .exec(change.db())
                .await?;
        }
        let row = reload(change.db(), current.id).await?;
        change
            .updated("updateJourney", Subject::journey(&row), &current, &row)
            .await?;
        Ok(row)
    }
}

impl Command for ArchiveJourney {
    type Output = journey::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<journey::Model> {
        use journey::Column as C;
        let current = super::find::journey_by_slug(change.db(), &self.slug).await?;
        // Locked now rather than by the update, so `current` is what the update changes.
        let current = journey::Entity::find_by_id(current.id)
            .lock(LockType::NoKeyUpdate)
            .one(change.db())
            .await?
            .ok_or_else(|| AppError::not_found("journey", &self.slug))?;
        let aggregate = Aggregate::Journey(current.id);
        change
            .touch_expecting(aggregate, &self.slug, self.expected_version)
            .await?;
        journey::Entity::update_many()
            .col_expr(C::Status, Expr::value(Status::Archived))
            .filter(C::Id.eq(current.id))
            .exec(change.db())
            .await?;
        let row = reload(change.db(), current.id).await?;
        change
            .updated("archiveJourney", Subject::journey(&row), &current, &row)
            .await?;
        Ok(row)
    }
}

impl Command for DeleteJourney {
    type Output = journey::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<journey::Model> {
        let current = super::find::journey_by_slug(change.db(), &self.slug).await?;
        // Locked first, as every change to its stages locks it first: the journey and stages
        // read here are then the ones deleted.
        let current = journey::Entity::find_by_id(current.id)
            .lock_exclusive()
            .one(change.db())
            .await?
            .ok_or_else(|| AppError::not_found("journey", &self.slug))?;
        let stages = stage::stages_of(change.db(), current.id).await?;
        remove_links_of(change, SubjectType::Journey, [current.id]).await?;
        remove_links_of(change, SubjectType::Stage, stages.iter().map(|s| s.id)).await?;
        let before = snapshot_with(
            &current,
            &[
                ("stages", snapshot(&stages)),
                (
                    "personas",
                    narrowing::slugs_of(change.db(), current.id).await?,
                ),
            ],
        );
        // Stages, their ownerships and the persona narrowing go by foreign-key cascade.
        journey::Entity::delete_by_id(current.id)
            .exec(change.db())
            .await?;
        change
            .deleted("deleteJourney", Subject::journey(&current), &before)
            .await?;
        Ok(current)
    }
}

/// Reads journey `id` back inside the change.
pub(crate) async fn reload(db: &impl ConnectionTrait, id: i32) -> AppResult<journey::Model> {
    journey::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("journey", id))
}

#[cfg(test)]
mod tests;
