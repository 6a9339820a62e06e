//! The `Journey` and `Stage` objects: a journey with its narrowing and ordered stages, a stage
//! with its owners.

use super::super::enums::{PersonaKind, Provenance, Status};
use super::super::external_link::ExternalLink;
use super::super::loaders::{
    JourneyById, JourneyPersonasByJourney, LinksBySubject, OwnershipsByStage, PersonaById,
    StagesByJourney,
};
use super::super::ownership::StageOwnership;
use super::super::pagination::Conn;
use super::super::persona::Persona;
use super::super::{history, id, joined, loader, referenced, related};
use async_graphql::{Context, ID, Object, Result, ResultExt};
use chrono::{DateTime, Utc};
use entity::audit_event::AuditSubject;
use entity::{enums, journey, journey_stage};

/// A customer journey that one kind of persona goes through, as ordered stages.
pub struct Journey(pub journey::Model);

/// A customer journey that one kind of persona goes through, as ordered stages.
#[Object]
impl Journey {
    /// Global ID, usable with `node(id:)`.
    pub async fn id(&self) -> ID {
        id::encode("Journey", self.0.id)
    }
    /// Human key: kebab-case, unique, never changes.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What the journey covers.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The kind of persona that goes through this journey.
    async fn persona_kind(&self) -> PersonaKind {
        self.0.persona_kind.into()
    }
    /// Whether the journey is in use.
    async fn status(&self) -> Status {
        self.0.status.into()
    }
    /// Where this journey comes from.
    async fn provenance(&self) -> Provenance {
        self.0.provenance.into()
    }
    /// Optimistic-concurrency version; pass it as `expectedVersion` when updating.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the journey was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the journey last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The personas this journey is narrowed to; empty when it applies to every persona of its kind.
    async fn personas(&self, ctx: &Context<'_>) -> Result<Vec<Persona>> {
        let loader = loader(ctx).extend()?;
        let rows = loader
            .load_one(JourneyPersonasByJourney(self.0.id))
            .await
            .extend()?
            .unwrap_or_default();
        let personas = loader
            .load_many(rows.iter().map(|r| PersonaById(r.persona_id)))
            .await
            .extend()?;
        Ok(rows
            .iter()
            .filter_map(|r| personas.get(&PersonaById(r.persona_id)).cloned())
            .map(Persona)
            .collect())
    }
    /// The stages, in order (positions 1..n).
    async fn stages(&self, ctx: &Context<'_>) -> Result<Vec<Stage>> {
        related(ctx, StagesByJourney(self.0.id), Stage).await
    }
    /// One stage by key, or null.
    async fn stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The stage's key.")] key: String,
    ) -> Result<Option<Stage>> {
        let rows = loader(ctx)
            .extend()?
            .load_one(StagesByJourney(self.0.id))
            .await
            .extend()?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .find(|s| s.key == key)
            .map(Stage))
    }
    /// Documents about this journey.
    async fn external_links(&self, ctx: &Context<'_>) -> Result<Vec<ExternalLink>> {
        let key = LinksBySubject(enums::SubjectType::Journey, self.0.id);
        related(ctx, key, ExternalLink).await
    }
    /// Changes to this journey (its persona narrowing and stage order too), newest first, a page at a time.
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many changes (at most 100; 20 by default).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Changes after (older than) this cursor.")] after: Option<String>,
    ) -> Result<Conn<history::AuditEvent>> {
        history::history(ctx, AuditSubject::Journey, self.0.id, first, after).await
    }
}

/// One stage of a journey.
pub struct Stage(pub journey_stage::Model);

/// One stage of a journey.
#[Object]
impl Stage {
    /// Global ID, usable with `node(id:)`.
    pub async fn id(&self) -> ID {
        id::encode("Stage", self.0.id)
    }
    /// Key, unique within the journey.
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Position in the journey, from 1.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// What the persona achieves in this stage.
    async fn goal(&self) -> Option<&str> {
        self.0.goal.as_deref()
    }
    /// What must hold to enter the stage.
    async fn entry_criteria(&self) -> Option<&str> {
        self.0.entry_criteria.as_deref()
    }
    /// What must hold to leave the stage.
    async fn exit_criteria(&self) -> Option<&str> {
        self.0.exit_criteria.as_deref()
    }
    /// The journey this stage belongs to.
    async fn journey(&self, ctx: &Context<'_>) -> Result<Option<Journey>> {
        referenced(ctx, JourneyById(self.0.journey_id), Journey).await
    }
    /// The teams that own this stage, with their RACI responsibility.
    async fn owners(&self, ctx: &Context<'_>) -> Result<Vec<StageOwnership>> {
        if joined::asks_for(ctx, &["stage", "dri", "team"]) {
            let key = joined::OwnershipsByStageJoined(self.0.id);
            let rows = joined::ownerships_joined(ctx, key).await.extend()?;
            return Ok(rows.into_iter().map(StageOwnership).collect());
        }
        related(ctx, OwnershipsByStage(self.0.id), StageOwnership).await
    }
    /// The ACCOUNTABLE owner, or null when the stage has none (an ownership gap).
    async fn accountable(&self, ctx: &Context<'_>) -> Result<Option<StageOwnership>> {
        let rows = loader(ctx)
            .extend()?
            .load_one(OwnershipsByStage(self.0.id))
            .await
            .extend()?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .find(|o| o.responsibility == enums::Responsibility::Accountable)
            .map(StageOwnership))
    }
    /// Documents about this stage.
    async fn external_links(&self, ctx: &Context<'_>) -> Result<Vec<ExternalLink>> {
        let key = LinksBySubject(enums::SubjectType::Stage, self.0.id);
        related(ctx, key, ExternalLink).await
    }
    /// Changes to this stage (its owners too), newest first, a page at a time.
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many changes (at most 100; 20 by default).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Changes after (older than) this cursor.")] after: Option<String>,
    ) -> Result<Conn<history::AuditEvent>> {
        history::history(ctx, AuditSubject::Stage, self.0.id, first, after).await
    }
}
