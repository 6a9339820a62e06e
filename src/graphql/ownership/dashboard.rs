//! The ownership dashboards: who owns each stage of a journey (`ownershipMatrix`), how healthy
//! that ownership is (`journeyHealth`, also the matrix's `health`), and which stages have no
//! ACCOUNTABLE owner (`ownershipGaps`). Reads only.

use super::super::reader::Reader;
use super::health::JourneyHealth;
use super::{StageOwnership, Team};
use crate::error::AppResult;
use crate::graphql::enums::Responsibility;
use crate::graphql::journey::{Journey, Stage};
use crate::graphql::loaders::{JourneyById, Loaders, PersonById, StageById, TeamById};
use crate::graphql::pagination::one_of;
use crate::graphql::{db, loader};
use async_graphql::{Context, Object, Result, ResultExt, SimpleObject};
use entity::{enums, journey, journey_stage, person, stage_ownership, team};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::{BTreeMap, HashMap};

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
    /// The journey's ownership health: gaps, unstaffed stages, handoffs, each team's load.
    pub health: JourneyHealth,
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

/// The rows an ownership matrix is made of, as read: the journey, its stages in order, and
/// their ownerships with each one's team and DRI. Two snapshots are equal when nothing the
/// matrix shows changed.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixRows {
    journey: journey::Model,
    stages: Vec<journey_stage::Model>,
    owned: Vec<(
        stage_ownership::Model,
        Option<team::Model>,
        Option<person::Model>,
    )>,
}

impl MatrixRows {
    /// The ownership health of the journey these rows show.
    fn health(&self) -> JourneyHealth {
        JourneyHealth::new(
            &self.journey,
            &self.stages,
            self.owned.iter().map(|(o, t, _)| (o, t.as_ref())),
        )
    }
}

/// Reads the matrix of journey `slug` (`NOT_FOUND` when there is none). Two statements: the
/// stages joined with their journey, and the stages' ownerships joined with their teams and
/// DRIs.
pub async fn load_matrix(db: &impl ConnectionTrait, slug: &str) -> AppResult<MatrixRows> {
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
        .order_by_asc(stage_ownership::Column::Id)
        .all(db)
        .await?;
    Ok(MatrixRows {
        journey,
        stages,
        owned,
    })
}

/// The matrix made of `rows`. The teams, DRIs and stages go into `loader`, so that the
/// answer's `team`, `dri` and `stage` fields are read from it.
pub async fn build_matrix(rows: MatrixRows, loader: &Loaders) -> OwnershipMatrix {
    let health = rows.health();
    let MatrixRows {
        journey,
        stages,
        owned,
    } = rows;
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
    OwnershipMatrix {
        journey: Journey(journey),
        stages: stages.into_iter().map(Stage).collect(),
        rows,
        health,
    }
}

async fn matrix(ctx: &Context<'_>, db: &Reader, slug: &str) -> AppResult<OwnershipMatrix> {
    let rows = load_matrix(db, slug).await?;
    Ok(build_matrix(rows, loader(ctx)?).await)
}

async fn gaps(ctx: &Context<'_>, db: &Reader, slug: Option<&str>) -> AppResult<Vec<OwnershipGap>> {
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

    /// The ownership health of a journey: stages without an ACCOUNTABLE owner, stages without
    /// a RESPONSIBLE team, handoffs between teams, and each team's load.
    async fn journey_health(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The journey's slug.")] journey: String,
    ) -> Result<JourneyHealth> {
        let rows = load_matrix(db(ctx).extend()?, &journey).await.extend()?;
        Ok(rows.health())
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
