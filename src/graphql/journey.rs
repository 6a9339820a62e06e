//! Journeys and their ordered stages: the `Journey` and `Stage` objects, their queries and
//! their mutations.

use super::enums::{OrderDirection, PersonaKind, Provenance, Status};
use super::external_link::ExternalLink;
use super::loaders::{
    JourneyById, JourneyPersonasByJourney, LinksBySubject, OwnershipsByStage, PersonaById,
    StagesByJourney,
};
use super::ownership::StageOwnership;
use super::pagination::{self, Conn, Ordering, PageArgs, SortValue};
use super::persona::Persona;
use super::{db, id, loader};
use crate::error::{AppError, AppResult};
use async_graphql::{Context, ID, InputObject, Object, Result, ResultExt};
use chrono::{DateTime, Utc};
use entity::{enums, journey, journey_stage};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// A customer journey that one kind of persona goes through, as ordered stages.
pub struct Journey(pub journey::Model);

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
        let rows = loader.load_one(JourneyPersonasByJourney(self.0.id)).await.extend()?.unwrap_or_default();
        let personas = loader.load_many(rows.iter().map(|r| PersonaById(r.persona_id))).await.extend()?;
        Ok(rows.iter().filter_map(|r| personas.get(&PersonaById(r.persona_id)).cloned()).map(Persona).collect())
    }
    /// The stages, in order (positions 1..n).
    async fn stages(&self, ctx: &Context<'_>) -> Result<Vec<Stage>> {
        let rows = loader(ctx).extend()?.load_one(StagesByJourney(self.0.id)).await.extend()?;
        Ok(rows.unwrap_or_default().into_iter().map(Stage).collect())
    }
    /// One stage by key, or null.
    async fn stage(&self, ctx: &Context<'_>, #[graphql(desc = "The stage's key.")] key: String) -> Result<Option<Stage>> {
        let rows = loader(ctx).extend()?.load_one(StagesByJourney(self.0.id)).await.extend()?;
        Ok(rows.unwrap_or_default().into_iter().find(|s| s.key == key).map(Stage))
    }
    /// Documents about this journey.
    async fn external_links(&self, ctx: &Context<'_>) -> Result<Vec<ExternalLink>> {
        let key = LinksBySubject(enums::SubjectType::Journey, self.0.id);
        let rows = loader(ctx).extend()?.load_one(key).await.extend()?;
        Ok(rows.unwrap_or_default().into_iter().map(ExternalLink).collect())
    }
}

/// One stage of a journey.
pub struct Stage(pub journey_stage::Model);

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
        let row = loader(ctx).extend()?.load_one(JourneyById(self.0.journey_id)).await.extend()?;
        Ok(row.map(Journey))
    }
    /// The teams that own this stage, with their RACI responsibility.
    async fn owners(&self, ctx: &Context<'_>) -> Result<Vec<StageOwnership>> {
        let rows = loader(ctx).extend()?.load_one(OwnershipsByStage(self.0.id)).await.extend()?;
        Ok(rows.unwrap_or_default().into_iter().map(StageOwnership).collect())
    }
    /// The ACCOUNTABLE owner, or null when the stage has none (an ownership gap).
    async fn accountable(&self, ctx: &Context<'_>) -> Result<Option<StageOwnership>> {
        let rows = loader(ctx).extend()?.load_one(OwnershipsByStage(self.0.id)).await.extend()?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .find(|o| o.responsibility == enums::Responsibility::Accountable)
            .map(StageOwnership))
    }
    /// Documents about this stage.
    async fn external_links(&self, ctx: &Context<'_>) -> Result<Vec<ExternalLink>> {
        let key = LinksBySubject(enums::SubjectType::Stage, self.0.id);
        let rows = loader(ctx).extend()?.load_one(key).await.extend()?;
        Ok(rows.unwrap_or_default().into_iter().map(ExternalLink).collect())
    }
}

/// Which journeys to list.
#[derive(InputObject, Default)]
pub struct JourneyFilter {
    /// Only journeys of this persona kind.
    pub persona_kind: Option<PersonaKind>,
    /// Only journeys with this status.
    pub status: Option<Status>,
    /// Only journeys whose slug, name or description contains this text (case-insensitive).
    pub search: Option<String>,
}

/// What journeys can be ordered by.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum JourneyOrderField {
    /// Display name.
    #[default]
    Name,
    /// Slug.
    Slug,
}

/// The order of a journey list.
#[derive(InputObject, Default)]
pub struct JourneyOrder {
    /// The field to order by.
    #[graphql(default)]
    pub field: JourneyOrderField,
    /// Ascending or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Finds a journey by slug or answers `NOT_FOUND`.
pub async fn journey_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<journey::Model> {
    journey::Entity::find()
        .filter(journey::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("journey", slug))
}

/// Journey queries.
#[derive(Default)]
pub struct JourneyQuery;

#[Object]
impl JourneyQuery {
    /// One journey by slug, or null.
    async fn journey(&self, ctx: &Context<'_>, #[graphql(desc = "The journey's slug.")] slug: String) -> Result<Option<Journey>> {
        let db = db(ctx).extend()?;
        let row = journey::Entity::find().filter(journey::Column::Slug.eq(slug)).one(db).await;
        Ok(row.map_err(AppError::from).extend()?.map(Journey))
    }

    /// Journeys, filtered and ordered, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn journeys(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which journeys to list.")] filter: Option<JourneyFilter>,
        #[graphql(desc = "The order of the list; by name when omitted.")] order_by: Option<JourneyOrder>,
        #[graphql(desc = "Items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items before this cursor.")] before: Option<String>,
        #[graphql(desc = "At most this many items from the start (at most 100; 20 by default).")] first: Option<i32>,
        #[graphql(desc = "At most this many items from the end (at most 100).")] last: Option<i32>,
    ) -> Result<Conn<Journey>> {
        let db = db(ctx).extend()?;
        let f = filter.unwrap_or_default();
        let mut q = journey::Entity::find();
        if let Some(k) = f.persona_kind {
            q = q.filter(journey::Column::PersonaKind.eq(enums::PersonaKind::from(k)));
        }
        if let Some(s) = f.status {
            q = q.filter(journey::Column::Status.eq(enums::Status::from(s)));
        }
        if let Some(s) = f.search.as_deref().filter(|s| !s.is_empty()) {
            use journey::Column as C;
            q = q.filter(pagination::text_search(s, &[C::Slug, C::Name, C::Description]));
        }
        let order = order_by.unwrap_or_default();
        let descending = order.direction == OrderDirection::Desc;
        let ordering = match order.field {
            JourneyOrderField::Name => Ordering {
                column: journey::Column::Name,
                id_column: journey::Column::Id,
                descending,
                key: |m: &journey::Model| SortValue::Text(m.name.clone()),
            },
            JourneyOrderField::Slug => Ordering {
                column: journey::Column::Slug,
                id_column: journey::Column::Id,
                descending,
                key: |m: &journey::Model| SortValue::Text(m.slug.clone()),
            },
        };
        let args = PageArgs { after, before, first, last };
        pagination::paginate(db, q, ordering, args, Journey).await.extend()
    }
}
