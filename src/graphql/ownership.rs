//! Who owns what: stage ownership (RACI), team-persona alignment, and the dashboard queries
//! `ownershipMatrix` and `ownershipGaps`.

use super::enums::{AlignmentLevel, Motion, Provenance, Responsibility};
use super::journey::{Journey, Stage, touch};
use super::loaders::{JourneyById, PersonById, PersonaById, StageById, TeamById, one_of};
use super::persona::{DeletePayload, Persona, text_change};
use super::team::{Person, Team};
use super::{begin_write, db, history, id, loader, referenced, validate};
use crate::domain::audit::{self, Actor, Event, Subject};
use crate::error::{AppError, AppResult};
use async_graphql::{
    Context, ID, InputObject, MaybeUndefined, Object, Result, ResultExt, SimpleObject,
};
use chrono::Utc;
use entity::audit_event::AuditSubject;
use entity::{
    enums, journey, journey_stage, person, stage_ownership, team, team_membership,
    team_persona_alignment,
};
use sea_orm::sea_query::{Expr, ExprTrait, LockType, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};
use std::collections::{BTreeMap, HashMap};

/// A team's RACI responsibility for one journey stage, with an optional DRI.
pub struct StageOwnership(pub stage_ownership::Model);

/// A team's RACI responsibility for one journey stage, with an optional DRI.
#[Object]
impl StageOwnership {
    /// Global ID.
    pub async fn id(&self) -> ID {
        id::encode("StageOwnership", self.0.id)
    }
    /// Responsible, accountable, consulted or informed.
    async fn responsibility(&self) -> Responsibility {
        self.0.responsibility.into()
    }
    /// Free-text note.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// The stage.
    async fn stage(&self, ctx: &Context<'_>) -> Result<Option<Stage>> {
        referenced(ctx, StageById(self.0.stage_id), Stage).await
    }
    /// The owning team.
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        referenced(ctx, TeamById(self.0.team_id), Team).await
    }
    /// The directly responsible individual, a member of the team, when set.
    async fn dri(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        let Some(person_id) = self.0.person_id else {
            return Ok(None);
        };
        referenced(ctx, PersonById(person_id), Person).await
    }
}

/// A team aligned to a persona.
pub struct TeamAlignment(pub team_persona_alignment::Model);

/// A team aligned to a persona.
#[Object]
impl TeamAlignment {
    /// Global ID.
    pub async fn id(&self) -> ID {
        id::encode("TeamAlignment", self.0.id)
    }
    /// Primary or secondary focus.
    async fn level(&self) -> AlignmentLevel {
        self.0.level.into()
    }
    /// The go-to-market motion, when set.
    async fn motion(&self) -> Option<Motion> {
        self.0.motion.map(Into::into)
    }
    /// Where this alignment comes from.
    async fn provenance(&self) -> Provenance {
        self.0.provenance.into()
    }
    /// The team.
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        referenced(ctx, TeamById(self.0.team_id), Team).await
    }
    /// The persona.
    async fn persona(&self, ctx: &Context<'_>) -> Result<Option<Persona>> {
        referenced(ctx, PersonaById(self.0.persona_id), Persona).await
    }
}

/// Who owns each stage of one journey: stages in order, the teams involved, and each
/// team's responsibility per stage.
#[derive(SimpleObject)]
pub struct OwnershipMatrix {
    /// The journey.
    pub journey: Journey,
    /// Its stages, in order: the columns of the matrix.
    pub stages: Vec<Stage>,
    /// One row per team with a responsibility in the journey, by team name.
    pub rows: Vec<OwnershipMatrixRow>,
}

/// One team's responsibilities across the stages of a journey.
#[derive(SimpleObject)]
pub struct OwnershipMatrixRow {
    /// The team.
    pub team: Team,
    /// One cell per stage, in stage order.
    pub cells: Vec<OwnershipCell>,
}

/// A team's responsibility for one stage; empty when it has none there.
#[derive(SimpleObject)]
pub struct OwnershipCell {
    /// The stage's key.
    pub stage_key: String,
    /// The team's responsibility, or null.
    pub responsibility: Option<Responsibility>,
    /// The ownership record, or null.
    pub ownership: Option<StageOwnership>,
}

/// A stage with no ACCOUNTABLE owner.
#[derive(SimpleObject)]
pub struct OwnershipGap {
    /// The journey of the stage.
    pub journey: Journey,
    /// The stage.
    pub stage: Stage,
}

async fn matrix(
    ctx: &Context<'_>,
    db: &DatabaseConnection,
    slug: &str,
) -> AppResult<OwnershipMatrix> {
    // Two statements: the stages joined with their journey, and the stages' ownerships joined
    // with their teams and DRIs. The teams and DRIs go into the request's loader, so that the
    // answer's `team` and `dri` fields are read from it.
    let staged = journey_stage::Entity::find()
        .find_also_related(journey::Entity)
        .filter(journey::Column::Slug.eq(slug))
        .order_by_asc(journey_stage::Column::Position)
        .all(db)
        .await?;
    let journey = match staged.first() {
        Some((_, Some(journey))) => journey.clone(),
        // A journey without stages, or none at all.
        _ => crate::domain::find::journey_by_slug(db, slug).await?,
    };
    let stages: Vec<journey_stage::Model> = staged.into_iter().map(|(s, _)| s).collect();
    let owned = stage_ownership::Entity::find()
        .find_also_related(team::Entity)
        .find_also_related(person::Entity)
        .filter(one_of(
            db,
            stage_ownership::Column::StageId,
            stages.iter().map(|s| s.id),
        ))
        .all(db)
        .await?;
    let loader = loader(ctx)?;
    let mut teams: HashMap<i32, team::Model> = HashMap::new();
    let mut dris: HashMap<i32, person::Model> = HashMap::new();
    let mut owners = Vec::with_capacity(owned.len());
    for (o, team, dri) in owned {
        if let Some(t) = team {
            teams.entry(t.id).or_insert(t);
        }
        if let Some(p) = dri {
            dris.entry(p.id).or_insert(p);
        }
        owners.push(o);
    }
    loader
        .feed_many(teams.values().map(|t| (TeamById(t.id), t.clone())))
        .await;
    loader
        .feed_many(dris.into_values().map(|p| (PersonById(p.id), p)))
        .await;
    loader
        .feed_many(stages.iter().map(|s| (StageById(s.id), s.clone())))
        .await;
    let mut by_team: BTreeMap<(String, i32), Vec<stage_ownership::Model>> = BTreeMap::new();
    for o in owners {
        if let Some(t) = teams.get(&o.team_id) {
            by_team.entry((t.name.clone(), t.id)).or_default().push(o);
        }
    }
    let rows = by_team
        .into_iter()
        .filter_map(|((_, team_id), owned)| {
            let team = teams.remove(&team_id)?;
            let cells = stages
                .iter()
                .map(|s| {
                    let o = owned.iter().find(|o| o.stage_id == s.id).cloned();
                    OwnershipCell {
                        stage_key: s.key.clone(),
                        responsibility: o.as_ref().map(|o| o.responsibility.into()),
                        ownership: o.map(StageOwnership),
                    }
                })
                .collect();
            Some(OwnershipMatrixRow {
                team: Team(team),
                cells,
            })
        })
        .collect();
    Ok(OwnershipMatrix {
        journey: Journey(journey),
        stages: stages.into_iter().map(Stage).collect(),
        rows,
    })
}

async fn gaps(
    ctx: &Context<'_>,
    db: &DatabaseConnection,
    slug: Option<&str>,
) -> AppResult<Vec<OwnershipGap>> {
    // One statement: the stages without an ACCOUNTABLE owner, joined with their journey.
    let accountable = Query::select()
        .column(stage_ownership::Column::StageId)
        .from(stage_ownership::Entity)
        .and_where(
            Expr::col(stage_ownership::Column::Responsibility)
                .eq(enums::Responsibility::Accountable.as_str()),
        )
        .to_owned();
    let mut q = journey_stage::Entity::find()
        .find_also_related(journey::Entity)
        .filter(journey_stage::Column::Id.not_in_subquery(accountable));
    if let Some(slug) = slug {
        q = q.filter(journey::Column::Slug.eq(slug));
    }
    let rows = q
        .order_by_asc(journey_stage::Column::JourneyId)
        .order_by_asc(journey_stage::Column::Position)
        .all(db)
        .await?;
    if rows.is_empty()
        && let Some(slug) = slug
    {
        // No gaps, or no such journey: say which.
        crate::domain::find::journey_by_slug(db, slug).await?;
    }
    let journeys: HashMap<i32, journey::Model> = rows
        .iter()
        .filter_map(|(_, j)| j.as_ref().map(|j| (j.id, j.clone())))
        .collect();
    loader(ctx)?
        .feed_many(journeys.into_values().map(|j| (JourneyById(j.id), j)))
        .await;
    Ok(rows
        .into_iter()
        .filter_map(|(s, journey)| {
            Some(OwnershipGap {
                journey: Journey(journey?),
                stage: Stage(s),
            })
        })
        .collect())
}

/// Dashboard queries.
#[derive(Default)]
pub struct OwnershipQuery;

#[Object]
impl OwnershipQuery {
    /// Who owns each stage of a journey, as a teams-by-stages matrix of RACI responsibilities.
    async fn ownership_matrix(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The journey's slug.")] journey: String,
    ) -> Result<OwnershipMatrix> {
        matrix(ctx, db(ctx).extend()?, &journey).await.extend()
    }

    /// Stages without an ACCOUNTABLE owner, across all journeys or in one.
    async fn ownership_gaps(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only stages of this journey (slug); all journeys when omitted.")] journey: Option<String>,
    ) -> Result<Vec<OwnershipGap>> {
        gaps(ctx, db(ctx).extend()?, journey.as_deref())
            .await
            .extend()
    }
}

/// Gives the journeys of `stage_ids` a new version: their ownership changed.
pub async fn bump_journeys_of_stages(
    db: &impl ConnectionTrait,
    stage_ids: impl IntoIterator<Item = i32>,
) -> AppResult<()> {
    let ids: Vec<i32> = stage_ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(());
    }
    let journeys = Query::select()
        .column(journey_stage::Column::JourneyId)
        .from(journey_stage::Entity)
        .and_where(Expr::col(journey_stage::Column::Id).is_in(ids))
        .to_owned();
    journey::Entity::update_many()
        .col_expr(
            journey::Column::Version,
            Expr::col(journey::Column::Version).add(1),
        )
        .col_expr(journey::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(journey::Column::Id.in_subquery(journeys))
        .exec(db)
        .await?;
    Ok(())
}

/// Input of `assignStageOwner`.
#[derive(InputObject)]
pub struct AssignStageOwnerInput {
    /// The journey's slug.
    pub journey: String,
    /// The stage's key within the journey.
    pub stage: String,
    /// The owning team's slug; a team has one ownership per stage.
    pub team: String,
    /// The team's RACI responsibility; at most one team per stage is ACCOUNTABLE.
    pub responsibility: Responsibility,
    /// Slug of the directly responsible individual, who must be a member of the team.
    pub dri: Option<String>,
    /// Free-text note.
    pub note: Option<String>,
}

/// Result of `assignStageOwner`.
#[derive(SimpleObject)]
pub struct AssignStageOwnerPayload {
    /// The new ownership.
    pub ownership: StageOwnership,
}

/// Input of `changeStageOwner`: fields left out keep their value; null clears an optional one.
#[derive(InputObject)]
pub struct ChangeStageOwnerInput {
    /// The ownership's ID.
    pub id: ID,
    /// New RACI responsibility; at most one team per stage is ACCOUNTABLE.
    pub responsibility: Option<Responsibility>,
    /// Slug of the new DRI, who must be a member of the owning team; null clears it.
    pub dri: MaybeUndefined<String>,
    /// New note; null clears it.
    pub note: MaybeUndefined<String>,
}

/// Result of `changeStageOwner`.
#[derive(SimpleObject)]
pub struct ChangeStageOwnerPayload {
    /// The ownership as it is now.
    pub ownership: StageOwnership,
}

/// Input of `removeStageOwner`.
#[derive(InputObject)]
pub struct RemoveStageOwnerInput {
    /// The ownership's ID.
    pub id: ID,
}

/// Input of `alignTeamToPersona`.
#[derive(InputObject)]
pub struct AlignTeamToPersonaInput {
    /// The team's slug.
    pub team: String,
    /// The persona's slug.
    pub persona: String,
    /// Primary or secondary focus.
    pub level: AlignmentLevel,
    /// The go-to-market motion; none when left out.
    pub motion: Option<Motion>,
}

/// Result of `alignTeamToPersona`.
#[derive(SimpleObject)]
pub struct AlignTeamToPersonaPayload {
    /// The alignment as it is now.
    pub alignment: TeamAlignment,
}

/// Input of `unalignTeamFromPersona`.
#[derive(InputObject)]
pub struct UnalignTeamFromPersonaInput {
    /// The team's slug.
    pub team: String,
    /// The persona's slug.
    pub persona: String,
}

/// The stage `key` of `journey`, or `NOT_FOUND`.
async fn stage_by_key(
    db: &impl ConnectionTrait,
    journey: &journey::Model,
    key: &str,
) -> AppResult<journey_stage::Model> {
    journey_stage::Entity::find()
        .filter(journey_stage::Column::JourneyId.eq(journey.id))
        .filter(journey_stage::Column::Key.eq(key))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("stage", format!("{} in journey {}", key, journey.slug)))
}

/// The ID of the person `slug`, who must be a member of `team` to be its DRI.
///
/// The membership is read with a share lock (on PostgreSQL; SQLite's writers are serialised
/// already) held to the end of the transaction: `removeTeamMember` and `deletePerson` delete
/// the membership before they clear DRIs, so they either wait for this assignment to commit
/// and then clear it, or have deleted the membership and this finds none.
///
/// Call it before locking the journey (`touch`): removals hold the membership and then lock
/// journeys, and taking the two in the same order cannot deadlock.
async fn dri_of(db: &impl ConnectionTrait, team: &team::Model, slug: &str) -> AppResult<i32> {
    let person = crate::domain::find::person_by_slug(db, slug).await?;
    let member = team_membership::Entity::find()
        .filter(team_membership::Column::TeamId.eq(team.id))
        .filter(team_membership::Column::PersonId.eq(person.id))
        .lock_shared()
        .one(db)
        .await?;
    if member.is_none() {
        return Err(AppError::bad_input(
            "dri",
            format!("must be a member of team {}", team.slug),
        ));
    }
    Ok(person.id)
}

fn accountable_taken(stage_key: &str, holder: Option<&str>) -> AppError {
    let holder = holder.map(|t| format!(" (team {t})")).unwrap_or_default();
    AppError::conflict(format!(
        "stage {stage_key} already has an ACCOUNTABLE owner{holder}; a stage has at most one, \
         so change or remove that ownership first"
    ))
}

fn team_owns_already(stage_key: &str, team_slug: &str) -> AppError {
    AppError::conflict(format!(
        "team {team_slug} already has a responsibility for stage {stage_key}; \
         use changeStageOwner to change it"
    ))
}

/// The stage ownership with row ID `id` (global ID `global`), or `NOT_FOUND`.
async fn ownership_by_id(
    db: &impl ConnectionTrait,
    id: i32,
    global: &ID,
) -> AppResult<stage_ownership::Model> {
    stage_ownership::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("stage ownership", global.as_str()))
}

/// Refuses a second ACCOUNTABLE owner of `stage` (other than the ownership `except`).
async fn check_one_accountable(
    db: &impl ConnectionTrait,
    stage: &journey_stage::Model,
    except: Option<i32>,
) -> AppResult<()> {
    let mut q = stage_ownership::Entity::find()
        .filter(stage_ownership::Column::StageId.eq(stage.id))
        .filter(stage_ownership::Column::Responsibility.eq(enums::Responsibility::Accountable));
    if let Some(id) = except {
        q = q.filter(stage_ownership::Column::Id.ne(id));
    }
    let Some(other) = q.one(db).await? else {
        return Ok(());
    };
    let holder = team::Entity::find_by_id(other.team_id).one(db).await?;
    Err(accountable_taken(
        &stage.key,
        holder.as_ref().map(|t| t.slug.as_str()),
    ))
}

/// Maps a unique violation on insert to the rule it broke: a race past the checks above still
/// answers `CONFLICT` with the same message. Only the (stage, team) index involves `team_id`;
/// PostgreSQL names the index, SQLite the columns.
fn ownership_conflict(err: DbErr, stage_key: &str, team_slug: &str) -> AppError {
    let same_team = matches!(
        err.sql_err(),
        Some(SqlErr::UniqueConstraintViolation(m)) if m.contains("ux_ownership_stage_team") || m.contains("team_id")
    );
    let message = if same_team {
        team_owns_already(stage_key, team_slug)
    } else {
        accountable_taken(stage_key, None)
    };
    AppError::on_unique(err, message.to_string())
}

/// An ownership row as the history records it: with its team's and DRI's slugs.
async fn ownership_snapshot(
    db: &impl ConnectionTrait,
    row: &stage_ownership::Model,
) -> AppResult<serde_json::Value> {
    let team = team::Entity::find_by_id(row.team_id).one(db).await?;
    let dri = match row.person_id {
        Some(p) => person::Entity::find_by_id(p).one(db).await?,
        None => None,
    };
    Ok(audit::snapshot_with(
        row,
        &[
            ("team", team.map(|t| t.slug).into()),
            ("dri", dri.map(|p| p.slug).into()),
        ],
    ))
}

async fn assign_stage_owner(
    db: &DatabaseConnection,
    actor: &Actor,
    input: AssignStageOwnerInput,
) -> AppResult<stage_ownership::Model> {
    let note = validate::optional("note", input.note.as_deref(), validate::TEXT_MAX)?;
    let txn = begin_write(db).await?;
    let journey = crate::domain::find::journey_by_slug(&txn, &input.journey).await?;
    let team = crate::domain::find::team_by_slug(&txn, &input.team).await?;
    let dri = match input.dri.as_deref() {
        Some(slug) => Some(dri_of(&txn, &team, slug).await?),
        None => None,
    };
    // The journey's new version, first: its row lock queues this assignment behind a
    // concurrent removeStage or deleteJourney (or them behind it), so the stage read next
    // either exists until commit or is already gone (NOT_FOUND), never a foreign-key error.
    touch(&txn, &journey).await?;
    let stage = stage_by_key(&txn, &journey, &input.stage).await?;
    let existing = stage_ownership::Entity::find()
        .filter(stage_ownership::Column::StageId.eq(stage.id))
        .filter(stage_ownership::Column::TeamId.eq(team.id))
        .one(&txn)
        .await?;
    if existing.is_some() {
        return Err(team_owns_already(&stage.key, &team.slug));
    }
    if input.responsibility == Responsibility::Accountable {
        check_one_accountable(&txn, &stage, None).await?;
    }
    let now = Utc::now();
    let row = stage_ownership::ActiveModel {
        stage_id: Set(stage.id),
        team_id: Set(team.id),
        person_id: Set(dri),
        responsibility: Set(input.responsibility.into()),
        note: Set(note),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| ownership_conflict(e, &stage.key, &team.slug))?;
    let change = Event::created(
        "assignStageOwner",
        Subject::stage(&journey, &stage),
        ownership_snapshot(&txn, &row).await?,
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn change_stage_owner(
    db: &DatabaseConnection,
    actor: &Actor,
    input: ChangeStageOwnerInput,
) -> AppResult<stage_ownership::Model> {
    let ownership_id = id::decode_as(&input.id, "StageOwnership", "id")?;
    let note = text_change("note", &input.note, validate::TEXT_MAX)?;
    let txn = begin_write(db).await?;
    let current = ownership_by_id(&txn, ownership_id, &input.id).await?;
    let stage = journey_stage::Entity::find_by_id(current.stage_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("stage ownership", &*input.id))?;
    let journey = journey::Entity::find_by_id(stage.journey_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("stage ownership", &*input.id))?;
    let team = team::Entity::find_by_id(current.team_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("team", current.team_id))?;
    let dri = match &input.dri {
        MaybeUndefined::Value(slug) => Some(dri_of(&txn, &team, slug).await?),
        _ => None,
    };
    // As in assignStageOwner: lock the journey, then read the ownership again, which a
    // concurrent removeStage or deleteJourney may have taken with its stage.
    touch(&txn, &journey).await?;
    let current = ownership_by_id(&txn, ownership_id, &input.id).await?;
    let before = ownership_snapshot(&txn, &current).await?;
    let mut active = current.into_active_model();
    match &input.dri {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => active.person_id = Set(None),
        MaybeUndefined::Value(_) => active.person_id = Set(dri),
    }
    if let Some(r) = input.responsibility {
        if r == Responsibility::Accountable {
            check_one_accountable(&txn, &stage, Some(ownership_id)).await?;
        }
        active.responsibility = Set(r.into());
    }
    if let Some(n) = note {
        active.note = Set(n);
    }
    active.updated_at = Set(Utc::now());
    // The stage and team do not change, so only the one-accountable index can be violated.
    let row = active
        .update(&txn)
        .await
        .map_err(|e| AppError::on_unique(e, accountable_taken(&stage.key, None).to_string()))?;
    let change = Event::updated(
        "changeStageOwner",
        Subject::stage(&journey, &stage),
        before,
        ownership_snapshot(&txn, &row).await?,
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn remove_stage_owner(
    db: &DatabaseConnection,
    actor: &Actor,
    input: RemoveStageOwnerInput,
) -> AppResult<ID> {
    let ownership_id = id::decode_as(&input.id, "StageOwnership", "id")?;
    let txn = begin_write(db).await?;
    let current = ownership_by_id(&txn, ownership_id, &input.id).await?;
    // The journey before the ownership, the order assignStageOwner and changeStageOwner lock
    // them in: the other order deadlocks with them on PostgreSQL. A removal that committed
    // meanwhile has taken the row already.
    bump_journeys_of_stages(&txn, [current.stage_id]).await?;
    // Read again under the journey's lock, which every change to its ownerships takes first.
    let current = stage_ownership::Entity::find_by_id(current.id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("stage ownership", input.id.as_str()))?;
    let before = ownership_snapshot(&txn, &current).await?;
    let subject = Subject::load(&txn, AuditSubject::Stage, current.stage_id).await?;
    let deleted = stage_ownership::Entity::delete_by_id(current.id)
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(AppError::not_found("stage ownership", input.id.as_str()));
    }
    let change = Event::deleted("removeStageOwner", subject, before);
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(input.id)
}

async fn align_team_to_persona(
    db: &DatabaseConnection,
    actor: &Actor,
    input: AlignTeamToPersonaInput,
) -> AppResult<team_persona_alignment::Model> {
    use team_persona_alignment::Column as C;
    let txn = begin_write(db).await?;
    let team = crate::domain::find::team_by_slug(&txn, &input.team).await?;
    let persona = crate::domain::find::persona_by_slug(&txn, &input.persona).await?;
    // Locked when it exists, so `before` is what the upsert overwrites.
    let before = team_persona_alignment::Entity::find()
        .filter(C::TeamId.eq(team.id))
        .filter(C::PersonaId.eq(persona.id))
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?;
    let now = Utc::now();
    // An upsert in one statement: realigning rewrites level and motion, and two editors
    // aligning the same pair at once cannot collide.
    team_persona_alignment::Entity::insert(team_persona_alignment::ActiveModel {
        team_id: Set(team.id),
        persona_id: Set(persona.id),
        level: Set(input.level.into()),
        motion: Set(input.motion.map(Into::into)),
        provenance: Set(enums::Provenance::Editor),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([C::TeamId, C::PersonaId])
            .update_columns([C::Level, C::Motion, C::Provenance, C::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let row = team_persona_alignment::Entity::find()
        .filter(C::TeamId.eq(team.id))
        .filter(C::PersonaId.eq(persona.id))
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal("the upserted alignment is missing"))?;
    let slug = [("persona", persona.slug.clone().into())];
    let after = audit::snapshot_with(&row, &slug);
    let change = match before {
        Some(b) => Event::updated(
            "alignTeamToPersona",
            Subject::team(&team),
            audit::snapshot_with(&b, &slug),
            after,
        ),
        None => Event::created("alignTeamToPersona", Subject::team(&team), after),
    };
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn unalign_team_from_persona(
    db: &DatabaseConnection,
    actor: &Actor,
    input: UnalignTeamFromPersonaInput,
) -> AppResult<ID> {
    use team_persona_alignment::Column as C;
    let txn = begin_write(db).await?;
    let team = crate::domain::find::team_by_slug(&txn, &input.team).await?;
    let persona = crate::domain::find::persona_by_slug(&txn, &input.persona).await?;
    let current = team_persona_alignment::Entity::find()
        .filter(C::TeamId.eq(team.id))
        .filter(C::PersonaId.eq(persona.id))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::not_found(
                "team alignment",
                format!("team {} to persona {}", team.slug, persona.slug),
            )
        })?;
    team_persona_alignment::Entity::delete_by_id(current.id)
        .exec(&txn)
        .await?;
    let before = audit::snapshot_with(&current, &[("persona", persona.slug.clone().into())]);
    let change = Event::deleted("unalignTeamFromPersona", Subject::team(&team), before);
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(id::encode("TeamAlignment", current.id))
}

/// Stage-ownership and team-alignment mutations.
#[derive(Default)]
pub struct OwnershipMutation;

/// Stage-ownership and team-alignment mutations.
#[Object]
impl OwnershipMutation {
    /// Gives a team a RACI responsibility for a journey stage, optionally with a DRI from the
    /// team. A team that already has a responsibility for the stage, or a second ACCOUNTABLE
    /// team, answers `CONFLICT`; a DRI who is not a member of the team answers
    /// `BAD_USER_INPUT` on `dri`. The journey gets a new version.
    async fn assign_stage_owner(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The stage, the team and its responsibility.")]
        input: AssignStageOwnerInput,
    ) -> Result<AssignStageOwnerPayload> {
        let row = assign_stage_owner(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(AssignStageOwnerPayload {
            ownership: StageOwnership(row),
        })
    }
    /// Changes a stage ownership's responsibility, DRI or note, with the same rules as
    /// `assignStageOwner`. The journey gets a new version.
    async fn change_stage_owner(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ownership and the changes.")] input: ChangeStageOwnerInput,
    ) -> Result<ChangeStageOwnerPayload> {
        let row = change_stage_owner(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(ChangeStageOwnerPayload {
            ownership: StageOwnership(row),
        })
    }
    /// Removes a team's responsibility for a stage. The journey gets a new version.
    async fn remove_stage_owner(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ownership to remove.")] input: RemoveStageOwnerInput,
    ) -> Result<DeletePayload> {
        let deleted_id = remove_stage_owner(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(DeletePayload { deleted_id })
    }
    /// Aligns a team to a persona, or changes the level and motion of an existing alignment.
    async fn align_team_to_persona(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team, the persona and how they align.")]
        input: AlignTeamToPersonaInput,
    ) -> Result<AlignTeamToPersonaPayload> {
        let row = align_team_to_persona(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(AlignTeamToPersonaPayload {
            alignment: TeamAlignment(row),
        })
    }
    /// Ends a team's alignment to a persona.
    async fn unalign_team_from_persona(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The alignment to end.")] input: UnalignTeamFromPersonaInput,
    ) -> Result<DeletePayload> {
        let deleted_id = unalign_team_from_persona(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(DeletePayload { deleted_id })
    }
}
