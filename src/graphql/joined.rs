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
use entity::{
    journey, journey_stage, person, persona_product_relevance, product, stage_ownership, team,
    team_membership, team_persona_alignment,
};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Order, Query, SelectStatement};
use sea_orm::{
    ConnectionTrait, EntityName, EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryResult,
};
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
    join(
        &mut q,
        journey_stage::Entity.table_name(),
        "s",
        "o",
        "stage_id",
    );
    join(&mut q, journey::Entity.table_name(), "j", "s", "journey_id");
    join(&mut q, team::Entity.table_name(), "t", "o", "team_id");
    join(&mut q, person::Entity.table_name(), "p", "o", "person_id");
    let parent_column = Expr::col((Alias::new("o"), Alias::new(parent.as_str())));
    q.and_where(one_of_expr(db, parent_column, keys))
        .order_by((Alias::new("o"), Alias::new("id")), Order::Asc);
    let mut map: HashMap<i32, Vec<OwnershipRow>> = HashMap::new();
    for row in rows(db, &q).await? {
        let key: i32 = row.try_get("o_", parent.as_str())?;
        let ownership = stage_ownership::Model::from_query_result(&row, "o_")?;
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

/// Declares a key type loading the ownerships whose `$column` is the key, with what they
/// refer to.
macro_rules! ownerships_by {
    ($(#[$meta:meta])* $name:ident => $column:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub i32);

        impl Loader<$name> for CatalogLoader {
            type Value = Vec<OwnershipRow>;
            type Error = AppError;

            async fn load(&self, keys: &[$name]) -> AppResult<HashMap<$name, Self::Value>> {
                let column = stage_ownership::Column::$column;
                let map = ownerships(self.reader(), column, keys.iter().map(|k| k.0)).await?;
                Ok(map.into_iter().map(|(k, v)| ($name(k), v)).collect())
            }
        }
    };
}

ownerships_by!(/// The stages a team owns, with each stage, its journey and the DRI.
    OwnershipsByTeamJoined => TeamId);
ownerships_by!(/// The owners of a stage, with each team and DRI.
    OwnershipsByStageJoined => StageId);

/// The rows of child table `C` whose `key` column is one of `keys`, in ID order, each with
/// the row of `R` its `fk` column refers to; paired with the key.
async fn with_one<C, R>(
    db: &impl ConnectionTrait,
    key: &str,
    fk: &str,
    keys: impl IntoIterator<Item = i32>,
) -> AppResult<Vec<(i32, C::Model, Option<R::Model>)>>
where
    C: EntityTrait + Default,
    R: EntityTrait + Default,
{
    let (child, related) = (C::default(), R::default());
    let mut q = Query::select();
    q.from_as(child, Alias::new("c"));
    columns::<C>(&mut q, "c", "c_");
    columns::<R>(&mut q, "r", "r_");
    join(&mut q, related.table_name(), "r", "c", fk);
    let key_column = Expr::col((Alias::new("c"), Alias::new(key)));
    q.and_where(one_of_expr(db, key_column, keys))
        .order_by((Alias::new("c"), Alias::new("id")), Order::Asc);
    let mut out = Vec::new();
    for row in rows(db, &q).await? {
        let parent: i32 = row.try_get("c_", key)?;
        out.push((
            parent,
            C::Model::from_query_result(&row, "c_")?,
            R::Model::from_query_result_optional(&row, "r_")?,
        ));
    }
    Ok(out)
}

/// Declares a key type loading the rows of `$child` whose `$key` column is the key, each
/// with the `$related` row its `$fk` column refers to.
macro_rules! with_one {
    ($(#[$meta:meta])* $name:ident => $child:ident . $key:literal, $fk:literal => $related:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub i32);

        impl Loader<$name> for CatalogLoader {
            type Value = Vec<($child::Model, Option<$related::Model>)>;
            type Error = AppError;

            async fn load(&self, keys: &[$name]) -> AppResult<HashMap<$name, Self::Value>> {
                let rows = with_one::<$child::Entity, $related::Entity>(
                    self.reader(),
                    $key,
                    $fk,
                    keys.iter().map(|k| k.0),
                )
                .await?;
                let mut map: HashMap<$name, Self::Value> = HashMap::new();
                for (parent, child, related) in rows {
                    map.entry($name(parent)).or_default().push((child, related));
                }
                Ok(map)
            }
        }
    };
}

with_one!(/// The members of a team, each with the person.
    MembershipsByTeamJoined => team_membership."team_id", "person_id" => person);
with_one!(/// The product relevance of a persona, each with the product.
    RelevancesByPersonaJoined => persona_product_relevance."persona_id", "product_id" => product);
with_one!(/// The team alignments of a persona, each with the team.
    AlignmentsByPersonaJoined => team_persona_alignment."persona_id", "team_id" => team);

/// The rows `key` lists, each with the row it refers to fed to the request's loader as `by_id`.
pub async fn with_one_fed<K, C, R, I>(
    ctx: &async_graphql::Context<'_>,
    key: K,
    by_id: fn(&R) -> I,
) -> AppResult<Vec<C>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    CatalogLoader: Loader<K, Value = Vec<(C, Option<R>)>, Error = AppError>
        + Loader<I, Value = R, Error = AppError>,
    C: Clone + Send + Sync + 'static,
    R: Clone + Send + Sync + 'static,
    I: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
{
    let loader = super::loader(ctx)?;
    let rows = loader.load_one(key).await?.unwrap_or_default();
    let related = keyed(rows.iter().map(|(_, r)| r.as_ref()), by_id);
    loader.feed_many(related).await;
    Ok(rows.into_iter().map(|(c, _)| c).collect())
}

/// Hands the rows `rows` refer to to `loader`, for the fields that follow those relations.
async fn feed_ownerships(loader: &Loaders, rows: &[OwnershipRow]) {
    let stages = keyed(rows.iter().map(|r| r.stage.as_ref()), |s| StageById(s.id));
    loader.feed_many(stages).await;
    let journeys = keyed(rows.iter().map(|r| r.journey.as_ref()), |j| {
        JourneyById(j.id)
    });
    loader.feed_many(journeys).await;
    let teams = keyed(rows.iter().map(|r| r.team.as_ref()), |t| TeamById(t.id));
    loader.feed_many(teams).await;
    let dris = keyed(rows.iter().map(|r| r.dri.as_ref()), |p| PersonById(p.id));
    loader.feed_many(dris).await;
}

/// The rows present among `rows`, each with its loader key `key`, to feed a loader.
fn keyed<'a, K, M: Clone + 'a>(
    rows: impl Iterator<Item = Option<&'a M>>,
    key: impl Fn(&M) -> K,
) -> Vec<(K, M)> {
    rows.flatten().map(|m| (key(m), m.clone())).collect()
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
