//! Who owns what: stage ownership (RACI), team-persona alignment, and the dashboard queries
//! `ownershipMatrix` and `ownershipGaps`.

use super::enums::{AlignmentLevel, Motion, Provenance, Responsibility};
use super::journey::{Journey, Stage, journey_by_slug};
use super::loaders::{JourneyById, PersonById, PersonaById, StageById, TeamById};
use super::persona::Persona;
use super::team::{Person, Team};
use super::{db, id, loader};
use crate::error::AppResult;
use async_graphql::{Context, ID, Object, Result, ResultExt, SimpleObject};
use entity::{enums, journey_stage, stage_ownership, team_persona_alignment};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use std::collections::BTreeMap;

/// A team's RACI responsibility for one journey stage, with an optional DRI.
pub struct StageOwnership(pub stage_ownership::Model);

#[Object]
impl StageOwnership {
    /// Global ID.
    async fn id(&self) -> ID {
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
        let row = loader(ctx).extend()?.load_one(StageById(self.0.stage_id)).await.extend()?;
        Ok(row.map(Stage))
    }
    /// The owning team.
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        let row = loader(ctx).extend()?.load_one(TeamById(self.0.team_id)).await.extend()?;
        Ok(row.map(Team))
    }
    /// The directly responsible individual, a member of the team, when set.
    async fn dri(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        let Some(person_id) = self.0.person_id else { return Ok(None) };
        let row = loader(ctx).extend()?.load_one(PersonById(person_id)).await.extend()?;
        Ok(row.map(Person))
    }
}

/// A team aligned to a persona.
pub struct TeamAlignment(pub team_persona_alignment::Model);

#[Object]
impl TeamAlignment {
    /// Global ID.
    async fn id(&self) -> ID {
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
        let row = loader(ctx).extend()?.load_one(TeamById(self.0.team_id)).await.extend()?;
        Ok(row.map(Team))
    }
    /// The persona.
    async fn persona(&self, ctx: &Context<'_>) -> Result<Option<Persona>> {
        let row = loader(ctx).extend()?.load_one(PersonaById(self.0.persona_id)).await.extend()?;
        Ok(row.map(Persona))
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

async fn matrix(ctx: &Context<'_>, db: &DatabaseConnection, slug: &str) -> AppResult<OwnershipMatrix> {
    let journey = journey_by_slug(db, slug).await?;
    let stages = journey_stage::Entity::find()
        .filter(journey_stage::Column::JourneyId.eq(journey.id))
        .order_by_asc(journey_stage::Column::Position)
        .all(db)
        .await?;
    let owners = stage_ownership::Entity::find()
        .filter(stage_ownership::Column::StageId.is_in(stages.iter().map(|s| s.id)))
        .all(db)
        .await?;
    let loader = loader(ctx)?;
    let teams = loader.load_many(owners.iter().map(|o| TeamById(o.team_id))).await?;
    let mut by_team: BTreeMap<(String, i32), Vec<stage_ownership::Model>> = BTreeMap::new();
    for o in owners {
        if let Some(t) = teams.get(&TeamById(o.team_id)) {
            by_team.entry((t.name.clone(), t.id)).or_default().push(o);
        }
    }
    let rows = by_team
        .into_iter()
        .filter_map(|((_, team_id), owned)| {
            let team = teams.get(&TeamById(team_id))?.clone();
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
            Some(OwnershipMatrixRow { team: Team(team), cells })
        })
        .collect();
    Ok(OwnershipMatrix { journey: Journey(journey), stages: stages.into_iter().map(Stage).collect(), rows })
}

async fn gaps(ctx: &Context<'_>, db: &DatabaseConnection, slug: Option<&str>) -> AppResult<Vec<OwnershipGap>> {
    let accountable = Query::select()
        .column(stage_ownership::Column::StageId)
        .from(stage_ownership::Entity)
        .and_where(Expr::col(stage_ownership::Column::Responsibility).eq(enums::Responsibility::Accountable.as_str()))
        .to_owned();
    let mut q = journey_stage::Entity::find().filter(journey_stage::Column::Id.not_in_subquery(accountable));
    if let Some(slug) = slug {
        let journey = journey_by_slug(db, slug).await?;
        q = q.filter(journey_stage::Column::JourneyId.eq(journey.id));
    }
    let stages = q
        .order_by_asc(journey_stage::Column::JourneyId)
        .order_by_asc(journey_stage::Column::Position)
        .all(db)
        .await?;
    let journeys = loader(ctx)?.load_many(stages.iter().map(|s| JourneyById(s.journey_id))).await?;
    Ok(stages
        .into_iter()
        .filter_map(|s| {
            let journey = journeys.get(&JourneyById(s.journey_id))?.clone();
            Some(OwnershipGap { journey: Journey(journey), stage: Stage(s) })
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
        gaps(ctx, db(ctx).extend()?, journey.as_deref()).await.extend()
    }
}
