//! A journey's stages and their order: keys unique per journey, positions 1..n without gaps
//! (every command that adds, moves, reorders or removes a stage renumbers the rest in the same
//! change), at most [`STAGES_MAX`] given at once. Every stage change is a change to the journey,
//! so each command locks the journey first: on `PostgreSQL` that serialises concurrent edits of
//! one journey's stages, and the positions read afterwards stay valid.

use super::super::audit::Subject;
use super::super::change::{Aggregate, Change, Command};
use super::super::link::remove_links_of;
use super::super::types::{Name, Position, STAGES_MAX, ShortText, Slug, list_len, text_of};
use crate::error::{AppError, AppResult};
use entity::enums::SubjectType;
use entity::{journey, journey_stage};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

/// A stage to create: its key and texts, validated.
#[derive(Debug, Clone)]
pub struct NewStage {
    /// Key, unique within the journey.
    pub key: Slug,
    /// Display name.
    pub name: Name,
    /// What the persona achieves in this stage.
    pub goal: Option<ShortText>,
    /// What must hold to enter the stage.
    pub entry_criteria: Option<ShortText>,
    /// What must hold to leave the stage.
    pub exit_criteria: Option<ShortText>,
}

/// Adds a stage to a journey, at the end or at a given position.
#[derive(Debug, Clone)]
pub struct AddStage {
    /// The journey's slug.
    pub journey: String,
    /// The stage.
    pub stage: NewStage,
    /// Where to insert it, from 1 to the number of stages + 1 (later stages move down); after
    /// the last stage when `None`.
    pub position: Option<i32>,
}

/// Changes a stage's texts; `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone)]
pub struct UpdateStage {
    /// The stage's row ID.
    pub id: i32,
    /// The stage as the caller named it, for `NOT_FOUND`.
    pub key: String,
    /// New display name.
    pub name: Option<Name>,
    /// New goal.
    pub goal: Option<Option<ShortText>>,
    /// New entry criteria.
    pub entry_criteria: Option<Option<ShortText>>,
    /// New exit criteria.
    pub exit_criteria: Option<Option<ShortText>>,
}

/// Moves a stage to another position; the stages between shift by one.
#[derive(Debug, Clone)]
pub struct MoveStage {
    /// The stage's row ID.
    pub id: i32,
    /// The stage as the caller named it, for `NOT_FOUND`.
    pub key: String,
    /// Its new position, from 1 to the number of stages.
    pub position: i32,
}

/// Puts all of a journey's stages in a new order, atomically.
#[derive(Debug, Clone)]
pub struct ReorderStages {
    /// The journey's slug.
    pub journey: String,
    /// Every stage key of the journey, once each, in the new order.
    pub keys: Vec<String>,
}

/// Removes a stage with its owners and links; later stages close the gap.
#[derive(Debug, Clone)]
pub struct RemoveStage {
    /// The stage's row ID.
    pub id: i32,
    /// The stage as the caller named it, for `NOT_FOUND`.
    pub key: String,
}

/// The stages a new journey is created with: at most [`STAGES_MAX`], keys unique
/// (`stages[i].key` names the first repeat).
pub(crate) fn check_new(stages: &[NewStage]) -> AppResult<()> {
    list_len("stages", stages.len(), STAGES_MAX)?;
    for (i, s) in stages.iter().enumerate() {
        if stages[..i].iter().any(|o| o.key == s.key) {
            return Err(AppError::bad_input(
                format!("stages[{i}].key"),
                format!("repeats stage key {}", s.key),
            ));
        }
    }
    Ok(())
}

/// Creates `stages` (checked by [`check_new`]) in journey `journey_id` at positions 1..n.
pub(crate) async fn insert_new(
    change: &Change,
    journey_id: i32,
    stages: &[NewStage],
) -> AppResult<Vec<journey_stage::Model>> {
    let mut created = Vec::with_capacity(stages.len());
    for (index, s) in stages.iter().enumerate() {
        created.push(insert(change, journey_id, s, Position::of_index(index).get()).await?);
    }
    Ok(created)
}

async fn insert(
    change: &Change,
    journey_id: i32,
    s: &NewStage,
    position: i32,
) -> Result<journey_stage::Model, sea_orm::DbErr> {
    let now = change.now();
    journey_stage::ActiveModel {
        journey_id: Set(journey_id),
        key: Set(s.key.to_string()),
        name: Set(s.name.to_string()),
        position: Set(position),
        goal: Set(text_of(s.goal.clone())),
        entry_criteria: Set(text_of(s.entry_criteria.clone())),
        exit_criteria: Set(text_of(s.exit_criteria.clone())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(change.db())
    .await
}

fn duplicate_key_message(journey: &str, key: &str) -> String {
    format!("journey {journey} already has a stage with key {key}")
}

impl Command for AddStage {
    type Output = journey_stage::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<journey_stage::Model> {
        let journey = super::super::find::journey_by_slug(change.db(), &self.journey).await?;
        change
            .touch(Aggregate::Journey(journey.id), &journey.slug)
            .await?;
        let mut order = stages_of(change.db(), journey.id).await?;
        let last = order.len() + 1;
        let position = match self.position {
            Some(p) => Position::parse("position", p, last)?,
            None => Position::of_index(order.len()),
        };
        let key = self.stage.key.as_str();
        if order.iter().any(|s| s.key == key) {
            return Err(AppError::conflict(duplicate_key_message(
                &journey.slug,
                key,
            )));
        }
        // Inserted after the last stage (a free position), then moved into place with the rest.
        let row = insert(
            change,
            journey.id,
            &self.stage,
            Position::of_index(order.len()).get(),
        )
        .await
        .map_err(|e| AppError::on_unique(e, duplicate_key_message(&journey.slug, key)))?;
        order.insert(index_of(position), row.clone());
        renumber(change, &order).await?;
        let row = stage_by_id(change.db(), row.id, &row.key).await?;
        change
            .created("addStage", Subject::stage(&journey, &row), &row)
            .await?;
        Ok(row)
    }
}

impl Command for UpdateStage {
    type Output = journey_stage::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<journey_stage::Model> {
        use journey_stage::Column as C;
        let stage = stage_by_id(change.db(), self.id, &self.key).await?;
        let journey = super::reload(change.db(), stage.journey_id).await?;
        change
            .touch(Aggregate::Journey(journey.id), &journey.slug)
            .await?;
        // Read again under the journey's lock, which every change to its stages takes first.
        let stage = stage_by_id(change.db(), self.id, &self.key).await?;
        let mut update =
            journey_stage::Entity::update_many().col_expr(C::UpdatedAt, Expr::value(change.now()));
        if let Some(v) = &self.name {
            update = update.col_expr(C::Name, Expr::value(v.to_string()));
        }
        if let Some(v) = &self.goal {
            update = update.col_expr(C::Goal, Expr::value(text_of(v.clone())));
        }
        if let Some(v) = &self.entry_criteria {
            update = update.col_expr(C::EntryCriteria, Expr::value(text_of(v.clone())));
        }
        if let Some(v) = &self.exit_criteria {
            update = update.col_expr(C::ExitCriteria, Expr::value(text_of(v.clone())));
        }
        let result = update.filter(C::Id.eq(stage.id)).exec(change.db()).await?;
        if result.rows_affected == 0 {
            return Err(AppError::not_found("stage", &self.key));
        }
        let row = stage_by_id(change.db(), self.id, &self.key).await?;
        change
            .updated("updateStage", Subject::stage(&journey, &row), &stage, &row)
            .await?;
        Ok(row)
    }
}

impl Command for MoveStage {
    type Output = journey::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<journey::Model> {
        let (journey, mut order, index) = locate(change, self.id, &self.key).await?;
        let before = stage_order(&order);
        let position = Position::parse("position", self.position, order.len())?;
        let stage = order.remove(index);
        order.insert(index_of(position), stage);
        renumber(change, &order).await?;
        let row = super::reload(change.db(), journey.id).await?;
        change
            .updated(
                "moveStage",
                Subject::journey(&row),
                &before,
                &stage_order(&order),
            )
            .await?;
        Ok(row)
    }
}

impl Command for ReorderStages {
    type Output = journey::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<journey::Model> {
        let journey = super::super::find::journey_by_slug(change.db(), &self.journey).await?;
        change
            .touch(Aggregate::Journey(journey.id), &journey.slug)
            .await?;
        let current = stages_of(change.db(), journey.id).await?;
        let before = stage_order(&current);
        let order = permutation(current, &self.keys)?;
        renumber(change, &order).await?;
        let row = super::reload(change.db(), journey.id).await?;
        change
            .updated(
                "reorderStages",
                Subject::journey(&row),
                &before,
                &stage_order(&order),
            )
            .await?;
        Ok(row)
    }
}

impl Command for RemoveStage {
    type Output = ();

    async fn apply(&self, change: &mut Change) -> AppResult<()> {
        let (journey, mut order, index) = locate(change, self.id, &self.key).await?;
        let stage = order.remove(index);
        // Ownerships go by foreign-key cascade; external links have no foreign key.
        remove_links_of(change, SubjectType::Stage, [stage.id]).await?;
        journey_stage::Entity::delete_by_id(stage.id)
            .exec(change.db())
            .await?;
        renumber(change, &order).await?;
        change
            .deleted("removeStage", Subject::stage(&journey, &stage), &stage)
            .await?;
        Ok(())
    }
}

/// `stages` (every stage of one journey) in the order of `keys`, which must name each of them
/// exactly once (`keys` names the first key that repeats, is unknown or is missing).
fn permutation(
    stages: Vec<journey_stage::Model>,
    keys: &[String],
) -> AppResult<Vec<journey_stage::Model>> {
    let mut stages: Vec<Option<journey_stage::Model>> = stages.into_iter().map(Some).collect();
    let mut order = Vec::with_capacity(stages.len());
    for (i, key) in keys.iter().enumerate() {
        if keys[..i].contains(key) {
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
    Ok(order)
}

/// The list index of `position`.
fn index_of(position: Position) -> usize {
    usize::try_from(position.get() - 1).unwrap_or(0)
}

/// The stages of a journey, in position order.
pub(crate) async fn stages_of(
    db: &impl ConnectionTrait,
    journey_id: i32,
) -> AppResult<Vec<journey_stage::Model>> {
    Ok(journey_stage::Entity::find()
        .filter(journey_stage::Column::JourneyId.eq(journey_id))
        .order_by_asc(journey_stage::Column::Position)
        .all(db)
        .await?)
}

/// Stage `id`, or `NOT_FOUND` naming it as the caller did.
async fn stage_by_id(
    db: &impl ConnectionTrait,
    id: i32,
    key: &str,
) -> AppResult<journey_stage::Model> {
    journey_stage::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("stage", key))
}

/// Locks the journey of stage `id` and returns it with its stages and the stage's index.
async fn locate(
    change: &mut Change,
    id: i32,
    key: &str,
) -> AppResult<(journey::Model, Vec<journey_stage::Model>, usize)> {
    let stage = stage_by_id(change.db(), id, key).await?;
    let journey = super::reload(change.db(), stage.journey_id).await?;
    change
        .touch(Aggregate::Journey(journey.id), &journey.slug)
        .await?;
    let stages = stages_of(change.db(), journey.id).await?;
    let index = stages
        .iter()
        .position(|s| s.id == stage.id)
        .ok_or_else(|| AppError::not_found("stage", key))?;
    Ok((journey, stages, index))
}

/// Gives `order` (every stage of one journey, in the wanted order) the positions 1..n.
///
/// `(journey_id, position)` is unique and checked row by row, so the stages that move are
/// first parked at their negated positions (free, as real positions are positive) and only
/// then given their final ones; stages already in place are left alone.
async fn renumber(change: &Change, order: &[journey_stage::Model]) -> AppResult<()> {
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
        .exec(change.db())
        .await?;
    for (id, target) in moving {
        journey_stage::Entity::update_many()
            .col_expr(C::Position, Expr::value(target))
            .col_expr(C::UpdatedAt, Expr::value(change.now()))
            .filter(C::Id.eq(id))
            .exec(change.db())
            .await?;
    }
    Ok(())
}

/// The keys of `stages` in order, as the history records a journey's stage order.
fn stage_order(stages: &[journey_stage::Model]) -> serde_json::Value {
    let keys: Vec<&str> = stages.iter().map(|s| s.key.as_str()).collect();
    serde_json::json!({ "stages": keys })
}
