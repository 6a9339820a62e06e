//! Child lists read together with the rows they refer to, in one statement.
//!
//! A to-one relation (an ownership's stage and that stage's journey, an ownership's team and
//! DRI, a membership's person) costs a loader level of its own: one more statement, and one
//! more round trip before the request can go on. When a query asks for those rows, the list's
//! resolver loads the list with them joined in (keys here), and feeds them to the request's
//! loader, where the fields that follow the relation find them without a statement.

use super::loaders::{CatalogLoader, JourneyById, Loaders, PersonById, StageById, TeamById};
use super::pagination::one_of_expr;
use crate::error::{AppError, AppResult};
use async_graphql::dataloader::Loader;
use entity::{journey, journey_stage, person, stage_ownership, team, team_membership};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryResult};
use std::collections::HashMap;

/// Adds every column of `E`, read from `table`, to `q`, each named `{prefix}{column}` (how
/// `FromQueryResult` reads a model back under a prefix).
fn columns<E: EntityTrait>(q: &mut SelectStatement, table: &str, prefix: &str) {
    for c in E::Column::iter() {
        q.expr_as(
            Expr::col((Alias::new(table), c)),
            Alias::new(format!("{prefix}{}", c.as_str())),
        );
    }
}

/// `to`'s row (aliased `alias`) whose ID is `from_column` of `from`, left-joined into `q`.
fn join(q: &mut SelectStatement, to: &str, alias: &str, from: &str, from_column: &str) {
    q.join_as(
        JoinType::LeftJoin,
        Alias::new(to),
        Alias::new(alias),
        Expr::col((Alias::new(alias), Alias::new("id")))
            .equals((Alias::new(from), Alias::new(from_column))),
    );
}

/// The rows of `q`, read through the request's connection.
async fn rows(db: &impl ConnectionTrait, q: &SelectStatement) -> AppResult<Vec<QueryResult>> {
    Ok(db.query_all(q).await?)
}

/// A stage ownership with its stage, the stage's journey, its team and its DRI.
#[derive(Clone)]
pub struct OwnershipRow {
    pub ownership: stage_ownership::Model,
    pub stage: Option<journey_stage::Model>,
    pub journey: Option<journey::Model>,
    pub team: Option<team::Model>,
    pub dri: Option<person::Model>,
}

/// The ownerships whose `parent` column is the key, in ID order, with what they refer to.
async fn ownerships(
    db: &impl ConnectionTrait,
    parent: stage_ownership::Column,
    keys: impl IntoIterator<Item = i32>,
) -> AppResult<HashMap<i32, Vec<OwnershipRow>>> {
    let mut q = Query::select();
    q.from_as(stage_ownership::Entity, Alias::new("o"));
    columns::<stage_ownership::Entity>(&mut q, "o", "o_");
    columns::<journey_stage::Entity>(&mut q, "s", "s_");
    columns::<journey::Entity>(&mut q, "j", "j_");
    columns::<team::Entity>(&mut q, "t", "t_");
    columns::<person::Entity>(&mut q, "p", "p_");
    join(&mut q, "journey_stage", "s", "o", "stage_id");
    join(&mut q, "journey", "j", "s", "journey_id");
    join(&mut q, "team", "t", "o", "team_id");
    join(&mut q, "person", "p", "o", "person_id");
    let parent_column = Expr::col((Alias::new("o"), Alias::new(parent.as_str())));
    q.and_where(one_of_expr(db, parent_column, keys))
        .order_by((Alias::new("o"), Alias::new("id")), Order::Asc);
    let mut map: HashMap<i32, Vec<OwnershipRow>> = HashMap::new();
    for row in rows(db, &q).await? {
        let ownership = stage_ownership::Model::from_query_result(&row, "o_")?;
        let key = match parent {
            stage_ownership::Column::StageId => ownership.stage_id,
            _ => ownership.team_id,
        };
        map.entry(key).or_default().push(OwnershipRow {
            stage: journey_stage::Model::from_query_result_optional(&row, "s_")?,
            journey: journey::Model::from_query_result_optional(&row, "j_")?,
            team: team::Model::from_query_result_optional(&row, "t_")?,
            dri: person::Model::from_query_result_optional(&row, "p_")?,
            ownership,
        });
    }
    Ok(map)
}

/// The stages a team owns, with each stage, its journey and the DRI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnershipsByTeamJoined(pub i32);

/// The owners of a stage, with each team and DRI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnershipsByStageJoined(pub i32);

impl Loader<OwnershipsByTeamJoined> for CatalogLoader {
    type Value = Vec<OwnershipRow>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[OwnershipsByTeamJoined],
    ) -> AppResult<HashMap<OwnershipsByTeamJoined, Self::Value>> {
        let map = ownerships(
            self.reader(),
            stage_ownership::Column::TeamId,
            keys.iter().map(|k| k.0),
        )
        .await?;
        Ok(map
            .into_iter()
            .map(|(k, v)| (OwnershipsByTeamJoined(k), v))
            .collect())
    }
}

impl Loader<OwnershipsByStageJoined> for CatalogLoader {
    type Value = Vec<OwnershipRow>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[OwnershipsByStageJoined],
    ) -> AppResult<HashMap<OwnershipsByStageJoined, Self::Value>> {
        let map = ownerships(
            self.reader(),
            stage_ownership::Column::StageId,
            keys.iter().map(|k| k.0),
        )
        .await?;
        Ok(map
            .into_iter()
            .map(|(k, v)| (OwnershipsByStageJoined(k), v))
            .collect())
    }
}

/// A membership with its person.
#[derive(Clone)]
pub struct MembershipRow {
    pub membership: team_membership::Model,
    pub person: Option<person::Model>,
}

/// The members of a team, with each person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MembershipsByTeamJoined(pub i32);

impl Loader<MembershipsByTeamJoined> for CatalogLoader {
    type Value = Vec<MembershipRow>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[MembershipsByTeamJoined],
    ) -> AppResult<HashMap<MembershipsByTeamJoined, Self::Value>> {
        let db = self.reader();
        let mut q = Query::select();
        q.from_as(team_membership::Entity, Alias::new("m"));
        columns::<team_membership::Entity>(&mut q, "m", "m_");
        columns::<person::Entity>(&mut q, "p", "p_");
        join(&mut q, "person", "p", "m", "person_id");
        let team_column = Expr::col((Alias::new("m"), Alias::new("team_id")));
        q.and_where(one_of_expr(db, team_column, keys.iter().map(|k| k.0)))
            .order_by((Alias::new("m"), Alias::new("id")), Order::Asc);
        let mut map: HashMap<MembershipsByTeamJoined, Self::Value> = HashMap::new();
        for row in rows(db, &q).await? {
            let membership = team_membership::Model::from_query_result(&row, "m_")?;
            map.entry(MembershipsByTeamJoined(membership.team_id))
                .or_default()
                .push(MembershipRow {
                    person: person::Model::from_query_result_optional(&row, "p_")?,
                    membership,
                });
        }
        Ok(map)
    }
}

/// Hands the rows `rows` refer to to `loader`, for the fields that follow those relations.
pub async fn feed_ownerships(loader: &Loaders, rows: &[OwnershipRow]) {
    let stages = rows
        .iter()
        .filter_map(|r| r.stage.clone())
        .map(|s| (StageById(s.id), s));
    loader.feed_many(stages).await;
    let journeys = rows
        .iter()
        .filter_map(|r| r.journey.clone())
        .map(|j| (JourneyById(j.id), j));
    loader.feed_many(journeys).await;
    let teams = rows
        .iter()
        .filter_map(|r| r.team.clone())
        .map(|t| (TeamById(t.id), t));
    loader.feed_many(teams).await;
    let dris = rows
        .iter()
        .filter_map(|r| r.dri.clone())
        .map(|p| (PersonById(p.id), p));
    loader.feed_many(dris).await;
}

/// Hands the people of `rows` to `loader`.
pub async fn feed_members(loader: &Loaders, rows: &[MembershipRow]) {
    let people = rows
        .iter()
        .filter_map(|r| r.person.clone())
        .map(|p| (PersonById(p.id), p));
    loader.feed_many(people).await;
}

/// Whether the selection of the current field follows any of `fields`.
pub fn asks_for(ctx: &async_graphql::Context<'_>, fields: &[&str]) -> bool {
    let look = ctx.look_ahead();
    fields.iter().any(|f| look.field(f).exists())
}

/// The ownerships `key` lists, each with what it refers to fed to the request's loader.
pub async fn ownerships_joined<K>(
    ctx: &async_graphql::Context<'_>,
    key: K,
) -> AppResult<Vec<stage_ownership::Model>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    CatalogLoader: Loader<K, Value = Vec<OwnershipRow>, Error = AppError>,
{
    let loader = super::loader(ctx)?;
    let rows = loader.load_one(key).await?.unwrap_or_default();
    feed_ownerships(loader, &rows).await;
    Ok(rows.into_iter().map(|r| r.ownership).collect())
}

/// The memberships of team `team`, each person fed to the request's loader.
pub async fn members_joined(
    ctx: &async_graphql::Context<'_>,
    team: i32,
) -> AppResult<Vec<team_membership::Model>> {
    let loader = super::loader(ctx)?;
    let rows = loader
        .load_one(MembershipsByTeamJoined(team))
        .await?
        .unwrap_or_default();
    feed_members(loader, &rows).await;
    Ok(rows.into_iter().map(|r| r.membership).collect())
}
