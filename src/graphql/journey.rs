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
use super::persona::{DeletePayload, Persona, stale, text_change};
use super::{begin_write, db, history, id, loader, referenced, related, validate};
use crate::domain::audit::{self, Actor, Event, Subject};
use crate::error::{AppError, AppResult};
use async_graphql::{
    Context, ID, InputObject, MaybeUndefined, Object, Result, ResultExt, SimpleObject,
};
use chrono::{DateTime, Utc};
use entity::audit_event::AuditSubject;
use entity::{enums, external_link, journey, journey_persona, journey_stage, persona};
use sea_orm::sea_query::{Expr, ExprTrait, LockType};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

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

/// Journey queries.
#[derive(Default)]
pub struct JourneyQuery;

#[Object]
impl JourneyQuery {
    /// One journey by slug, or null.
    async fn journey(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The journey's slug.")] slug: String,
    ) -> Result<Option<Journey>> {
        let db = db(ctx).extend()?;
        let row = journey::Entity::find()
            .filter(journey::Column::Slug.eq(slug))
            .one(db)
            .await;
        Ok(row.map_err(AppError::from).extend()?.map(Journey))
    }

    /// Journeys, filtered and ordered, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn journeys(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which journeys to list.")] filter: Option<JourneyFilter>,
        #[graphql(desc = "The order of the list; by name when omitted.")] order_by: Option<
            JourneyOrder,
        >,
        #[graphql(desc = "Items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items before this cursor.")] before: Option<String>,
        #[graphql(desc = "At most this many items from the start (at most 100; 20 by default).")]
        first: Option<i32>,
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
            crate::graphql::validate::search("filter.search", s).extend()?;
            use journey::Column as C;
            q = q.filter(pagination::text_search(
                s,
                &[C::Slug, C::Name, C::Description],
            ));
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
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        pagination::paginate(db, q, ordering, args, Journey)
            .await
            .extend()
    }
}

/// A stage given with `createJourney`; stages take positions 1..n in the order given.
#[derive(InputObject)]
pub struct NewStageInput {
    /// Key, unique within the journey (kebab-case).
    pub key: String,
    /// Display name (1 to 200 characters).
    pub name: String,
    /// What the persona achieves in this stage.
    pub goal: Option<String>,
    /// What must hold to enter the stage.
    pub entry_criteria: Option<String>,
    /// What must hold to leave the stage.
    pub exit_criteria: Option<String>,
}

/// Input of `createJourney`.
#[derive(InputObject)]
pub struct CreateJourneyInput {
    /// Kebab-case key, unique and immutable.
    pub slug: String,
    /// Display name (1 to 200 characters).
    pub name: String,
    /// What the journey covers.
    pub description: Option<String>,
    /// The kind of persona that goes through this journey.
    pub persona_kind: PersonaKind,
    /// Active unless given.
    pub status: Option<Status>,
    /// Slugs of the personas to narrow the journey to, all of its persona kind; every persona
    /// of the kind when empty.
    #[graphql(default)]
    pub personas: Vec<String>,
    /// The stages, in order.
    #[graphql(default)]
    pub stages: Vec<NewStageInput>,
}

/// Result of `createJourney`.
#[derive(SimpleObject)]
pub struct CreateJourneyPayload {
    /// The new journey.
    pub journey: Journey,
}

/// Input of `updateJourney`: fields left out keep their value; null clears an optional one.
#[derive(InputObject)]
pub struct UpdateJourneyInput {
    /// The journey to change.
    pub slug: String,
    /// The version the editor last read; a different current version answers `CONFLICT`.
    pub expected_version: i32,
    /// New display name.
    pub name: Option<String>,
    /// New description.
    pub description: MaybeUndefined<String>,
    /// New persona kind; the journey's personas, if it is narrowed, must be of that kind.
    pub persona_kind: Option<PersonaKind>,
    /// New status.
    pub status: Option<Status>,
}

/// Result of `updateJourney`.
#[derive(SimpleObject)]
pub struct UpdateJourneyPayload {
    /// The journey as it is now.
    pub journey: Journey,
}

/// Input of `archiveJourney`.
#[derive(InputObject)]
pub struct ArchiveJourneyInput {
    /// The journey to archive.
    pub slug: String,
    /// The version the editor last read, if the archive must not override a newer change.
    pub expected_version: Option<i32>,
}

/// Result of `archiveJourney`.
#[derive(SimpleObject)]
pub struct ArchiveJourneyPayload {
    /// The journey as it is now.
    pub journey: Journey,
}

/// Input of `deleteJourney`.
#[derive(InputObject)]
pub struct DeleteJourneyInput {
    /// The journey to delete, with its stages, their owners and the links about them.
    pub slug: String,
}

/// Input of `setJourneyPersonas`.
#[derive(InputObject)]
pub struct SetJourneyPersonasInput {
    /// The journey's slug.
    pub journey: String,
    /// Slugs of the personas to narrow the journey to, all of its persona kind; an empty list
    /// makes it apply to every persona of the kind.
    pub personas: Vec<String>,
}

/// Result of `setJourneyPersonas`.
#[derive(SimpleObject)]
pub struct SetJourneyPersonasPayload {
    /// The journey as it is now.
    pub journey: Journey,
}

/// Input of `addStage`.
#[derive(InputObject)]
pub struct AddStageInput {
    /// The journey's slug.
    pub journey: String,
    /// Key, unique within the journey (kebab-case).
    pub key: String,
    /// Display name (1 to 200 characters).
    pub name: String,
    /// What the persona achieves in this stage.
    pub goal: Option<String>,
    /// What must hold to enter the stage.
    pub entry_criteria: Option<String>,
    /// What must hold to leave the stage.
    pub exit_criteria: Option<String>,
    /// Where to insert the stage, from 1 to the number of stages + 1; later stages move down.
    /// After the last stage unless given.
    pub position: Option<i32>,
}

/// Result of `addStage`.
#[derive(SimpleObject)]
pub struct AddStagePayload {
    /// The new stage.
    pub stage: Stage,
}

/// Input of `updateStage`: fields left out keep their value; null clears an optional one.
#[derive(InputObject)]
pub struct UpdateStageInput {
    /// The stage's ID.
    pub id: ID,
    /// New display name.
    pub name: Option<String>,
    /// New goal.
    pub goal: MaybeUndefined<String>,
    /// New entry criteria.
    pub entry_criteria: MaybeUndefined<String>,
    /// New exit criteria.
    pub exit_criteria: MaybeUndefined<String>,
}

/// Result of `updateStage`.
#[derive(SimpleObject)]
pub struct UpdateStagePayload {
    /// The stage as it is now.
    pub stage: Stage,
}

/// Input of `moveStage`.
#[derive(InputObject)]
pub struct MoveStageInput {
    /// The stage's ID.
    pub id: ID,
    /// Its new position, from 1 to the number of stages.
    pub position: i32,
}

/// Result of `moveStage`.
#[derive(SimpleObject)]
pub struct MoveStagePayload {
    /// The journey, with its stages renumbered.
    pub journey: Journey,
}

/// Input of `reorderStages`.
#[derive(InputObject)]
pub struct ReorderStagesInput {
    /// The journey's slug.
    pub journey: String,
    /// Every stage key of the journey, once each, in the new order.
    pub keys: Vec<String>,
}

/// Result of `reorderStages`.
#[derive(SimpleObject)]
pub struct ReorderStagesPayload {
    /// The journey, with its stages renumbered.
    pub journey: Journey,
}

/// Input of `removeStage`.
#[derive(InputObject)]
pub struct RemoveStageInput {
    /// The stage's ID.
    pub id: ID,
}

/// A stage's validated texts.
struct StageTexts {
    name: String,
    goal: Option<String>,
    entry_criteria: Option<String>,
    exit_criteria: Option<String>,
}

/// Validates the texts of a new stage; `prefix` locates the stage in the input (`stages[2].`).
fn stage_texts(
    prefix: &str,
    name: &str,
    goal: Option<&str>,
    entry: Option<&str>,
    exit: Option<&str>,
) -> AppResult<StageTexts> {
    Ok(StageTexts {
        name: validate::name(&format!("{prefix}name"), name)?,
        goal: validate::optional(&format!("{prefix}goal"), goal, validate::TEXT_MAX)?,
        entry_criteria: validate::optional(
            &format!("{prefix}entryCriteria"),
            entry,
            validate::TEXT_MAX,
        )?,
        exit_criteria: validate::optional(
            &format!("{prefix}exitCriteria"),
            exit,
            validate::TEXT_MAX,
        )?,
    })
}

fn duplicate_key_message(journey: &str, key: &str) -> String {
    format!("journey {journey} already has a stage with key {key}")
}

/// Reads a journey back inside the transaction.
async fn reload(db: &impl ConnectionTrait, id: i32) -> AppResult<journey::Model> {
    journey::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("journey", id))
}

/// Records a change to the journey aggregate (its stages or personas): bumps `version` and
/// `updated_at`. Run it before reading the stages: on PostgreSQL the row lock it takes
/// serializes concurrent edits of one journey, so the positions read afterwards stay valid.
pub(super) async fn touch(db: &impl ConnectionTrait, journey: &journey::Model) -> AppResult<()> {
    use journey::Column as C;
    let result = journey::Entity::update_many()
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .col_expr(C::UpdatedAt, Expr::value(Utc::now()))
        .filter(C::Id.eq(journey.id))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::not_found("journey", &journey.slug));
    }
    Ok(())
}

/// The stages of a journey, in position order.
async fn stages_of(
    db: &impl ConnectionTrait,
    journey_id: i32,
) -> AppResult<Vec<journey_stage::Model>> {
    Ok(journey_stage::Entity::find()
        .filter(journey_stage::Column::JourneyId.eq(journey_id))
        .order_by_asc(journey_stage::Column::Position)
        .all(db)
        .await?)
}

/// A stage by global ID, or `NOT_FOUND`.
async fn stage_by_id(db: &impl ConnectionTrait, id: &ID) -> AppResult<journey_stage::Model> {
    let stage_id = id::decode_as(id, "Stage", "id")?;
    journey_stage::Entity::find_by_id(stage_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("stage", id.as_str()))
}

/// Gives `order` (every stage of one journey, in the wanted order) the positions 1..n.
///
/// `(journey_id, position)` is unique and checked row by row, so the stages that move are
/// first parked at their negated positions (free, as real positions are positive) and only
/// then given their final ones; stages already in place are left alone.
async fn renumber(db: &impl ConnectionTrait, order: &[journey_stage::Model]) -> AppResult<()> {
    use journey_stage::Column as C;
    let moving: Vec<(i32, i32)> = order
        .iter()
        .zip(1..)
        .filter(|(s, target)| s.position != *target)
        .map(|(s, target)| (s.id, target))
        .collect();
    if moving.is_empty() {
        return Ok(());
    }
    journey_stage::Entity::update_many()
        .col_expr(C::Position, Expr::col(C::Position).mul(-1))
        .filter(C::Id.is_in(moving.iter().map(|(id, _)| *id)))
        .exec(db)
        .await?;
    let now = Utc::now();
    for (id, target) in moving {
        journey_stage::Entity::update_many()
            .col_expr(C::Position, Expr::value(target))
            .col_expr(C::UpdatedAt, Expr::value(now))
            .filter(C::Id.eq(id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The keys of `stages` in order, as the history records a journey's stage order.
fn stage_order(stages: &[journey_stage::Model]) -> serde_json::Value {
    let keys: Vec<&str> = stages.iter().map(|s| s.key.as_str()).collect();
    serde_json::json!({ "stages": keys })
}

/// The slugs of the personas journey `journey_id` is narrowed to, as the history records them.
async fn narrowing_of(db: &impl ConnectionTrait, journey_id: i32) -> AppResult<serde_json::Value> {
    let ids: Vec<i32> = journey_persona::Entity::find()
        .filter(journey_persona::Column::JourneyId.eq(journey_id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.persona_id)
        .collect();
    let slugs: Vec<String> = persona::Entity::find()
        .filter(persona::Column::Id.is_in(ids))
        .order_by_asc(persona::Column::Slug)
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.slug)
        .collect();
    Ok(serde_json::json!(slugs))
}

/// Resolves persona slugs for a journey's narrowing: each must exist, appear once, and be
/// of the journey's kind.
async fn narrowing_personas(
    db: &impl ConnectionTrait,
    kind: enums::PersonaKind,
    slugs: &[String],
) -> AppResult<Vec<persona::Model>> {
    let mut personas: Vec<persona::Model> = Vec::with_capacity(slugs.len());
    for (i, slug) in slugs.iter().enumerate() {
        if slugs[..i].contains(slug) {
            return Err(AppError::bad_input(
                format!("personas[{i}]"),
                format!("repeats persona {slug}"),
            ));
        }
        // FOR SHARE on PostgreSQL: a concurrent updatePersona cannot change the kind checked
        // here until this transaction ends (SQLite serialises writers anyway).
        let p = persona::Entity::find()
            .filter(persona::Column::Slug.eq(slug.as_str()))
            .lock_shared()
            .one(db)
            .await?
            .ok_or_else(|| AppError::not_found("persona", slug))?;
        if p.kind != kind {
            return Err(AppError::bad_input(
                format!("personas[{i}]"),
                format!(
                    "persona {slug} is of kind {}, not the journey's kind {}",
                    p.kind.as_str(),
                    kind.as_str()
                ),
            ));
        }
        personas.push(p);
    }
    Ok(personas)
}

async fn insert_narrowing(
    db: &impl ConnectionTrait,
    journey_id: i32,
    personas: &[persona::Model],
) -> AppResult<()> {
    let now = Utc::now();
    for p in personas {
        journey_persona::ActiveModel {
            journey_id: Set(journey_id),
            persona_id: Set(p.id),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

async fn create_journey(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: CreateJourneyInput,
) -> AppResult<journey::Model> {
    let slug = validate::slug("slug", &input.slug)?;
    let name = validate::name("name", &input.name)?;
    let description = validate::optional(
        "description",
        input.description.as_deref(),
        validate::LONG_TEXT_MAX,
    )?;
    validate::list_len("stages", input.stages.len(), validate::STAGES_MAX)?;
    let mut stages = Vec::with_capacity(input.stages.len());
    for (i, s) in input.stages.iter().enumerate() {
        let key = validate::slug(&format!("stages[{i}].key"), &s.key)?;
        if input.stages[..i].iter().any(|o| o.key == key) {
            return Err(AppError::bad_input(
                format!("stages[{i}].key"),
                format!("repeats stage key {key}"),
            ));
        }
        let texts = stage_texts(
            &format!("stages[{i}]."),
            &s.name,
            s.goal.as_deref(),
            s.entry_criteria.as_deref(),
            s.exit_criteria.as_deref(),
        )?;
        stages.push((key, texts));
    }
    let kind = enums::PersonaKind::from(input.persona_kind);

    let txn = begin_write(db).await?;
    let personas = narrowing_personas(&txn, kind, &input.personas).await?;
    let now = Utc::now();
    let row = journey::ActiveModel {
        slug: Set(slug.clone()),
        name: Set(name),
        description: Set(description),
        persona_kind: Set(kind),
        status: Set(input.status.unwrap_or(Status::Active).into()),
        provenance: Set(enums::Provenance::Editor),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::on_unique(e, format!("a journey with slug {slug} already exists")))?;
    insert_narrowing(&txn, row.id, &personas).await?;
    let mut created_stages = Vec::with_capacity(stages.len());
    for ((key, t), position) in stages.into_iter().zip(1..) {
        let stage = journey_stage::ActiveModel {
            journey_id: Set(row.id),
            key: Set(key),
            name: Set(t.name),
            position: Set(position),
            goal: Set(t.goal),
            entry_criteria: Set(t.entry_criteria),
            exit_criteria: Set(t.exit_criteria),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        created_stages.push(stage);
    }
    let slugs: Vec<&str> = personas.iter().map(|p| p.slug.as_str()).collect();
    let after = audit::snapshot_with(
        &row,
        &[
            ("stages", audit::snapshot(&created_stages)),
            ("personas", serde_json::json!(slugs)),
        ],
    );
    let change = Event::created("createJourney", Subject::journey(&row), after);
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn update_journey(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: UpdateJourneyInput,
) -> AppResult<journey::Model> {
    use journey::Column as C;
    let mut update = journey::Entity::update_many()
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .col_expr(C::UpdatedAt, Expr::value(Utc::now()));
    if let Some(v) = &input.name {
        update = update.col_expr(C::Name, Expr::value(validate::name("name", v)?));
    }
    if let Some(v) = text_change("description", &input.description, validate::LONG_TEXT_MAX)? {
        update = update.col_expr(C::Description, Expr::value(v));
    }
    if let Some(v) = input.status {
        update = update.col_expr(C::Status, Expr::value(enums::Status::from(v)));
    }

    let txn = begin_write(db).await?;
    let current = crate::domain::find::journey_by_slug(&txn, &input.slug).await?;
    if let Some(k) = input.persona_kind.map(enums::PersonaKind::from) {
        // A narrowed journey must keep personas of its own kind; changing the kind under them
        // would silently hide the journey from all of them.
        let narrowing = journey_persona::Entity::find()
            .filter(journey_persona::Column::JourneyId.eq(current.id))
            .all(&txn)
            .await?;
        let other_kind = persona::Entity::find()
            .filter(persona::Column::Id.is_in(narrowing.iter().map(|r| r.persona_id)))
            .filter(persona::Column::Kind.ne(k))
            .one(&txn)
            .await?;
        if let Some(p) = other_kind {
            return Err(AppError::bad_input(
                "personaKind",
                format!(
                    "the journey is narrowed to persona {}, of another kind; change its personas first",
                    p.slug
                ),
            ));
        }
        update = update.col_expr(C::PersonaKind, Expr::value(k));
    }
    // As in updatePersona: a matching version makes `current` the row the update changes.
    if current.version != input.expected_version {
        return Err(stale("journey", &input.slug, current.version));
    }
    let result = update
        .filter(C::Id.eq(current.id))
        .filter(C::Version.eq(input.expected_version))
        .exec(&txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(stale("journey", &input.slug, current.version));
    }
    let row = reload(&txn, current.id).await?;
    let change = Event::updated(
        "updateJourney",
        Subject::journey(&row),
        audit::snapshot(&current),
        audit::snapshot(&row),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn archive_journey(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: ArchiveJourneyInput,
) -> AppResult<journey::Model> {
    use journey::Column as C;
    let txn = begin_write(db).await?;
    let current = crate::domain::find::journey_by_slug(&txn, &input.slug).await?;
    // Locked now rather than by the update, so `current` is what the update changes.
    let current = journey::Entity::find_by_id(current.id)
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("journey", &input.slug))?;
    let mut update = journey::Entity::update_many()
        .col_expr(C::Status, Expr::value(enums::Status::Archived))
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .col_expr(C::UpdatedAt, Expr::value(Utc::now()))
        .filter(C::Id.eq(current.id));
    if let Some(v) = input.expected_version {
        update = update.filter(C::Version.eq(v));
    }
    if update.exec(&txn).await?.rows_affected == 0 {
        return Err(stale("journey", &input.slug, current.version));
    }
    let row = reload(&txn, current.id).await?;
    let change = Event::updated(
        "archiveJourney",
        Subject::journey(&row),
        audit::snapshot(&current),
        audit::snapshot(&row),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn delete_journey(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: DeleteJourneyInput,
) -> AppResult<ID> {
    use external_link::Column as L;
    let txn = begin_write(db).await?;
    let current = crate::domain::find::journey_by_slug(&txn, &input.slug).await?;
    // Locked first, as every change to its stages locks it first (`touch`): the journey and
    // stages read here are then the ones deleted.
    let current = journey::Entity::find_by_id(current.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("journey", &input.slug))?;
    let stages = stages_of(&txn, current.id).await?;
    let stage_ids: Vec<i32> = stages.iter().map(|s| s.id).collect();
    // External links point at their subject without a foreign key, so nothing cascades to them.
    external_link::Entity::delete_many()
        .filter(
            Condition::any()
                .add(
                    L::SubjectType
                        .eq(enums::SubjectType::Journey)
                        .and(L::SubjectId.eq(current.id)),
                )
                .add(
                    L::SubjectType
                        .eq(enums::SubjectType::Stage)
                        .and(L::SubjectId.is_in(stage_ids)),
                ),
        )
        .exec(&txn)
        .await?;
    let before = audit::snapshot_with(
        &current,
        &[
            ("stages", audit::snapshot(&stages)),
            ("personas", narrowing_of(&txn, current.id).await?),
        ],
    );
    // Stages, their ownerships and the persona narrowing go by foreign-key cascade.
    journey::Entity::delete_by_id(current.id).exec(&txn).await?;
    let change = Event::deleted("deleteJourney", Subject::journey(&current), before);
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(id::encode("Journey", current.id))
}

async fn set_journey_personas(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: SetJourneyPersonasInput,
) -> AppResult<journey::Model> {
    let txn = begin_write(db).await?;
    let current = crate::domain::find::journey_by_slug(&txn, &input.journey).await?;
    touch(&txn, &current).await?;
    let before = narrowing_of(&txn, current.id).await?;
    let personas = narrowing_personas(&txn, current.persona_kind, &input.personas).await?;
    journey_persona::Entity::delete_many()
        .filter(journey_persona::Column::JourneyId.eq(current.id))
        .exec(&txn)
        .await?;
    insert_narrowing(&txn, current.id, &personas).await?;
    let row = reload(&txn, current.id).await?;
    let change = Event::updated(
        "setJourneyPersonas",
        Subject::journey(&row),
        serde_json::json!({ "personas": before }),
        serde_json::json!({ "personas": narrowing_of(&txn, current.id).await? }),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn add_stage(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: AddStageInput,
) -> AppResult<journey_stage::Model> {
    let key = validate::slug("key", &input.key)?;
    let t = stage_texts(
        "",
        &input.name,
        input.goal.as_deref(),
        input.entry_criteria.as_deref(),
        input.exit_criteria.as_deref(),
    )?;

    let txn = begin_write(db).await?;
    let journey = crate::domain::find::journey_by_slug(&txn, &input.journey).await?;
    touch(&txn, &journey).await?;
    let mut order = stages_of(&txn, journey.id).await?;
    let last = order.len() + 1;
    let position = match input.position {
        Some(p) => validate::position("position", p, last)?,
        None => last as i32,
    };
    if order.iter().any(|s| s.key == key) {
        return Err(AppError::conflict(duplicate_key_message(
            &journey.slug,
            &key,
        )));
    }
    let now = Utc::now();
    // Inserted after the last stage (a free position), then moved into place with the rest.
    let row = journey_stage::ActiveModel {
        journey_id: Set(journey.id),
        key: Set(key.clone()),
        name: Set(t.name),
        position: Set(last as i32),
        goal: Set(t.goal),
        entry_criteria: Set(t.entry_criteria),
        exit_criteria: Set(t.exit_criteria),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::on_unique(e, duplicate_key_message(&journey.slug, &key)))?;
    order.insert(position as usize - 1, row.clone());
    renumber(&txn, &order).await?;
    let row = journey_stage::Entity::find_by_id(row.id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("stage", row.id))?;
    let change = Event::created(
        "addStage",
        Subject::stage(&journey, &row),
        audit::snapshot(&row),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn update_stage(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: UpdateStageInput,
) -> AppResult<journey_stage::Model> {
    use journey_stage::Column as C;
    id::decode_as(&input.id, "Stage", "id")?;
    let mut update =
        journey_stage::Entity::update_many().col_expr(C::UpdatedAt, Expr::value(Utc::now()));
    if let Some(v) = &input.name {
        update = update.col_expr(C::Name, Expr::value(validate::name("name", v)?));
    }
    if let Some(v) = text_change("goal", &input.goal, validate::TEXT_MAX)? {
        update = update.col_expr(C::Goal, Expr::value(v));
    }
    if let Some(v) = text_change("entryCriteria", &input.entry_criteria, validate::TEXT_MAX)? {
        update = update.col_expr(C::EntryCriteria, Expr::value(v));
    }
    if let Some(v) = text_change("exitCriteria", &input.exit_criteria, validate::TEXT_MAX)? {
        update = update.col_expr(C::ExitCriteria, Expr::value(v));
    }

    let txn = begin_write(db).await?;
    let stage = stage_by_id(&txn, &input.id).await?;
    let journey = reload(&txn, stage.journey_id).await?;
    touch(&txn, &journey).await?;
    // Read again under the journey's lock, which every change to its stages takes first.
    let stage = stage_by_id(&txn, &input.id).await?;
    if update
        .filter(C::Id.eq(stage.id))
        .exec(&txn)
        .await?
        .rows_affected
        == 0
    {
        return Err(AppError::not_found("stage", input.id.as_str()));
    }
    let row = stage_by_id(&txn, &input.id).await?;
    let change = Event::updated(
        "updateStage",
        Subject::stage(&journey, &row),
        audit::snapshot(&stage),
        audit::snapshot(&row),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

/// Locks the journey of stage `id` and returns it with its stages and the stage's index.
async fn locate_stage(
    db: &impl ConnectionTrait,
    id: &ID,
) -> AppResult<(journey::Model, Vec<journey_stage::Model>, usize)> {
    let stage = stage_by_id(db, id).await?;
    let journey = reload(db, stage.journey_id).await?;
    touch(db, &journey).await?;
    let stages = stages_of(db, journey.id).await?;
    let index = stages
        .iter()
        .position(|s| s.id == stage.id)
        .ok_or_else(|| AppError::not_found("stage", id.as_str()))?;
    Ok((journey, stages, index))
}

async fn move_stage(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: MoveStageInput,
) -> AppResult<journey::Model> {
    id::decode_as(&input.id, "Stage", "id")?;
    let txn = begin_write(db).await?;
    let (journey, mut order, index) = locate_stage(&txn, &input.id).await?;
    let before = stage_order(&order);
    let position = validate::position("position", input.position, order.len())?;
    let stage = order.remove(index);
    order.insert(position as usize - 1, stage);
    renumber(&txn, &order).await?;
    let row = reload(&txn, journey.id).await?;
    let change = Event::updated(
        "moveStage",
        Subject::journey(&row),
        before,
        stage_order(&order),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn reorder_stages(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: ReorderStagesInput,
) -> AppResult<journey::Model> {
    let txn = begin_write(db).await?;
    let journey = crate::domain::find::journey_by_slug(&txn, &input.journey).await?;
    touch(&txn, &journey).await?;
    let current = stages_of(&txn, journey.id).await?;
    let before = stage_order(&current);
    let mut stages: Vec<Option<journey_stage::Model>> = current.into_iter().map(Some).collect();
    let mut order = Vec::with_capacity(stages.len());
    for (i, key) in input.keys.iter().enumerate() {
        if input.keys[..i].contains(key) {
            return Err(AppError::bad_input(
                "keys",
                format!("repeats stage key {key}"),
            ));
        }
        let stage = stages
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(|s| &s.key == key))
            .and_then(Option::take)
            .ok_or_else(|| AppError::bad_input("keys", format!("has unknown stage key {key}")))?;
        order.push(stage);
    }
    if let Some(missing) = stages.into_iter().flatten().next() {
        return Err(AppError::bad_input(
            "keys",
            format!("is missing stage key {}", missing.key),
        ));
    }
    renumber(&txn, &order).await?;
    let row = reload(&txn, journey.id).await?;
    let change = Event::updated(
        "reorderStages",
        Subject::journey(&row),
        before,
        stage_order(&order),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn remove_stage(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: RemoveStageInput,
) -> AppResult<ID> {
    id::decode_as(&input.id, "Stage", "id")?;
    let txn = begin_write(db).await?;
    let (journey, mut order, index) = locate_stage(&txn, &input.id).await?;
    let stage = order.remove(index);
    // Ownerships go by foreign-key cascade; external links have no foreign key.
    external_link::Entity::delete_many()
        .filter(external_link::Column::SubjectType.eq(enums::SubjectType::Stage))
        .filter(external_link::Column::SubjectId.eq(stage.id))
        .exec(&txn)
        .await?;
    journey_stage::Entity::delete_by_id(stage.id)
        .exec(&txn)
        .await?;
    renumber(&txn, &order).await?;
    let change = Event::deleted(
        "removeStage",
        Subject::stage(&journey, &stage),
        audit::snapshot(&stage),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(input.id)
}

/// Journey and stage mutations.
#[derive(Default)]
pub struct JourneyMutation;

#[Object]
impl JourneyMutation {
    /// Creates a journey, with its stages and optional persona narrowing.
    async fn create_journey(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: CreateJourneyInput,
    ) -> Result<CreateJourneyPayload> {
        let row = create_journey(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(CreateJourneyPayload {
            journey: Journey(row),
        })
    }
    /// Changes a journey; fails with `CONFLICT` when `expectedVersion` is stale.
    async fn update_journey(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: UpdateJourneyInput,
    ) -> Result<UpdateJourneyPayload> {
        let row = update_journey(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(UpdateJourneyPayload {
            journey: Journey(row),
        })
    }
    /// Marks a journey archived; it stays readable.
    async fn archive_journey(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: ArchiveJourneyInput,
    ) -> Result<ArchiveJourneyPayload> {
        let row = archive_journey(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(ArchiveJourneyPayload {
            journey: Journey(row),
        })
    }
    /// Deletes a journey with its stages, their owners and the links about them.
    async fn delete_journey(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: DeleteJourneyInput,
    ) -> Result<DeletePayload> {
        let deleted_id = delete_journey(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(DeletePayload { deleted_id })
    }
    /// Replaces the personas a journey is narrowed to.
    async fn set_journey_personas(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: SetJourneyPersonasInput,
    ) -> Result<SetJourneyPersonasPayload> {
        let row = set_journey_personas(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(SetJourneyPersonasPayload {
            journey: Journey(row),
        })
    }
    /// Adds a stage to a journey, at the end or at a given position.
    async fn add_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: AddStageInput,
    ) -> Result<AddStagePayload> {
        let row = add_stage(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(AddStagePayload { stage: Stage(row) })
    }
    /// Changes a stage's name, goal or criteria.
    async fn update_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: UpdateStageInput,
    ) -> Result<UpdateStagePayload> {
        let row = update_stage(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(UpdateStagePayload { stage: Stage(row) })
    }
    /// Moves a stage to another position; the stages between shift by one.
    async fn move_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: MoveStageInput,
    ) -> Result<MoveStagePayload> {
        let row = move_stage(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(MoveStagePayload {
            journey: Journey(row),
        })
    }
    /// Puts all of a journey's stages in a new order, atomically.
    async fn reorder_stages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: ReorderStagesInput,
    ) -> Result<ReorderStagesPayload> {
        let row = reorder_stages(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(ReorderStagesPayload {
            journey: Journey(row),
        })
    }
    /// Removes a stage with its owners; later stages close the gap.
    async fn remove_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: RemoveStageInput,
    ) -> Result<DeletePayload> {
        let deleted_id = remove_stage(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(DeletePayload { deleted_id })
    }
}
