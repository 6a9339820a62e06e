//! Who owns a journey stage: each team's RACI responsibility for it, with an optional DRI. The
//! rules, written here once: a team has one ownership per stage; a stage has at most one
//! ACCOUNTABLE owner (checked first, and the database's partial unique index answers the same
//! `CONFLICT` to a race past the check); a DRI is a member of the owning team, and stops being
//! one when they leave it ([`clear_dris`]). Every change to a stage's owners is a change to the
//! stage's journey, which gets a new version.

pub mod health;

use super::audit::{Subject, snapshot_with};
use super::change::{Aggregate, Change, Command};
use super::types::ShortText;
use crate::error::{AppError, AppResult};
use entity::audit_event::AuditSubject;
use entity::enums::Responsibility;
use entity::{journey, journey_stage, person, stage_ownership, team, team_membership};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, SqlErr,
};

/// Gives a team a responsibility for a stage.
#[derive(Debug, Clone)]
pub struct AssignStageOwner {
    /// The journey's slug.
    pub journey: String,
    /// The stage's key within the journey.
    pub stage: String,
    /// The owning team's slug.
    pub team: String,
    /// The team's RACI responsibility.
    pub responsibility: Responsibility,
    /// Slug of the directly responsible individual, a member of the team.
    pub dri: Option<String>,
    /// Free-text note.
    pub note: Option<ShortText>,
}

/// Changes an ownership; `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone)]
pub struct ChangeStageOwner {
    /// The ownership to change.
    pub which: OwnershipRef,
    /// The ownership as the caller named it, for `NOT_FOUND`.
    pub key: String,
    /// New responsibility.
    pub responsibility: Option<Responsibility>,
    /// Slug of the new DRI, a member of the owning team.
    pub dri: Option<Option<String>>,
    /// New note.
    pub note: Option<Option<ShortText>>,
}

/// Which ownership a command names: its row ID, or the stage (journey and stage key) and the
/// team, which an editor knows without looking anything up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnershipRef {
    /// The ownership's row ID.
    Id(i32),
    /// The ownership of `team` (a slug) for stage `stage` (a key) of journey `journey`.
    Stage {
        /// The journey's slug.
        journey: String,
        /// The stage's key.
        stage: String,
        /// The owning team's slug.
        team: String,
    },
}

/// Ends a team's responsibility for a stage.
#[derive(Debug, Clone)]
pub struct RemoveStageOwner {
    /// The ownership to end.
    pub which: OwnershipRef,
    /// The ownership as the caller named it, for `NOT_FOUND`.
    pub key: String,
}

impl Command for AssignStageOwner {
    type Output = stage_ownership::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<stage_ownership::Model> {
        let journey = super::find::journey_by_slug(change.db(), &self.journey).await?;
        let team = super::find::team_by_slug(change.db(), &self.team).await?;
        let dri = match self.dri.as_deref() {
            Some(slug) => Some(dri_of(change.db(), &team, slug).await?),
            None => None,
        };
        // The journey's new version, first: its row lock queues this assignment behind a
        // concurrent removeStage or deleteJourney (or them behind it), so the stage read next
        // either exists until commit or is already gone (NOT_FOUND), never a foreign-key error.
        change
            .touch(Aggregate::Journey(journey.id), &journey.slug)
            .await?;
        let stage = stage_by_key(change.db(), &journey, &self.stage).await?;
        let existing = stage_ownership::Entity::find()
            .filter(stage_ownership::Column::StageId.eq(stage.id))
            .filter(stage_ownership::Column::TeamId.eq(team.id))
            .one(change.db())
            .await?;
        if existing.is_some() {
            return Err(team_owns_already(&stage.key, &team.slug));
        }
        if self.responsibility == Responsibility::Accountable {
            check_one_accountable(change.db(), &stage, None).await?;
        }
        let now = change.now();
        let row = stage_ownership::ActiveModel {
            stage_id: Set(stage.id),
            team_id: Set(team.id),
            person_id: Set(dri),
            responsibility: Set(self.responsibility),
            note: Set(self.note.clone().map(String::from)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(change.db())
        .await
        .map_err(|e| ownership_conflict(e, &stage.key, &team.slug))?;
        let after = ownership_snapshot(change.db(), &row).await?;
        change
            .created("assignStageOwner", Subject::stage(&journey, &stage), &after)
            .await?;
        Ok(row)
    }
}

impl Command for ChangeStageOwner {
    type Output = stage_ownership::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<stage_ownership::Model> {
        let gone = || AppError::not_found("stage ownership", &self.key);
        let id = resolve(change.db(), &self.which, &self.key).await?;
        let current = ownership_by_id(change.db(), id, &self.key).await?;
        let stage = journey_stage::Entity::find_by_id(current.stage_id)
            .one(change.db())
            .await?
            .ok_or_else(gone)?;
        let journey = journey::Entity::find_by_id(stage.journey_id)
            .one(change.db())
            .await?
            .ok_or_else(gone)?;
        let team = team::Entity::find_by_id(current.team_id)
            .one(change.db())
            .await?
            .ok_or_else(|| AppError::not_found("team", current.team_id))?;
        let dri = match &self.dri {
            Some(Some(slug)) => Some(dri_of(change.db(), &team, slug).await?),
            _ => None,
        };
        // As in assignStageOwner: lock the journey, then read the ownership again, which a
        // concurrent removeStage or deleteJourney may have taken with its stage.
        change
            .touch(Aggregate::Journey(journey.id), &journey.slug)
            .await?;
        let current = ownership_by_id(change.db(), id, &self.key).await?;
        let before = ownership_snapshot(change.db(), &current).await?;
        let mut active = current.into_active_model();
        if self.dri.is_some() {
            active.person_id = Set(dri);
        }
        if let Some(r) = self.responsibility {
            if r == Responsibility::Accountable {
                check_one_accountable(change.db(), &stage, Some(id)).await?;
            }
            active.responsibility = Set(r);
        }
        if let Some(n) = &self.note {
            active.note = Set(n.clone().map(String::from));
        }
        active.updated_at = Set(change.now());
        // The stage and team do not change, so only the one-accountable index can be violated.
        let row = active
            .update(change.db())
            .await
            .map_err(|e| AppError::on_unique(e, accountable_taken(&stage.key, None).to_string()))?;
        let after = ownership_snapshot(change.db(), &row).await?;
        change
            .updated(
                "changeStageOwner",
                Subject::stage(&journey, &stage),
                &before,
                &after,
            )
            .await?;
        Ok(row)
    }
}

impl Command for RemoveStageOwner {
    type Output = i32;

    async fn apply(&self, change: &mut Change) -> AppResult<i32> {
        let gone = || AppError::not_found("stage ownership", &self.key);
        let id = resolve(change.db(), &self.which, &self.key).await?;
        let current = ownership_by_id(change.db(), id, &self.key).await?;
        // The journey before the ownership, the order assignStageOwner and changeStageOwner
        // lock them in: the other order deadlocks with them on PostgreSQL. A journey (or
        // stage) deleted meanwhile took the ownership with it.
        let stage = journey_stage::Entity::find_by_id(current.stage_id)
            .one(change.db())
            .await?
            .ok_or_else(gone)?;
        match change
            .touch(Aggregate::Journey(stage.journey_id), &self.key)
            .await
        {
            Err(AppError::NotFound { .. }) => return Err(gone()),
            other => other?,
        }
        // Read again under the journey's lock, which every change to its ownerships takes
        // first; a removal that committed meanwhile has taken the row already.
        let current = stage_ownership::Entity::find_by_id(current.id)
            .one(change.db())
            .await?
            .ok_or_else(gone)?;
        let before = ownership_snapshot(change.db(), &current).await?;
        let subject = Subject::load(change.db(), AuditSubject::Stage, current.stage_id).await?;
        let deleted = stage_ownership::Entity::delete_by_id(current.id)
            .exec(change.db())
            .await?;
        if deleted.rows_affected == 0 {
            return Err(gone());
        }
        change.deleted("removeStageOwner", subject, &before).await?;
        Ok(id)
    }
}

/// The stages whose ownership rows match `which`: their journeys change with those rows.
pub(super) async fn owned_stages(
    db: &impl ConnectionTrait,
    which: Condition,
) -> AppResult<Vec<i32>> {
    Ok(stage_ownership::Entity::find()
        .select_only()
        .column(stage_ownership::Column::StageId)
        .filter(which)
        .into_tuple()
        .all(db)
        .await?)
}

/// Counts a change to the owners of `stage_ids` against their journeys, locking them in ID
/// order (the same order for every change, so two of them cannot deadlock on `PostgreSQL`). A
/// journey deleted meanwhile took its stages and their owners with it: nothing to count.
pub(super) async fn touch_journeys_of_stages(
    change: &mut Change,
    stage_ids: Vec<i32>,
) -> AppResult<()> {
    if stage_ids.is_empty() {
        return Ok(());
    }
    let journeys: Vec<(i32, String)> = journey::Entity::find()
        .select_only()
        .column(journey::Column::Id)
        .column(journey::Column::Slug)
        .filter(
            journey::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(journey_stage::Column::JourneyId)
                    .from(journey_stage::Entity)
                    .and_where(Expr::col(journey_stage::Column::Id).is_in(stage_ids))
                    .to_owned(),
            ),
        )
        .order_by_asc(journey::Column::Id)
        .into_tuple()
        .all(change.db())
        .await?;
    for (id, slug) in journeys {
        match change.touch(Aggregate::Journey(id), &slug).await {
            Err(AppError::NotFound { .. }) => {}
            other => other?,
        }
    }
    Ok(())
}

/// Clears the DRI of the ownerships matching `which`, whose memberships the caller has just
/// deleted (a DRI is a member of the owning team), and counts the change against their
/// journeys.
///
/// Deleting the membership first is what keeps every DRI a member on `PostgreSQL`, where
/// writes run under READ COMMITTED: an assignment locks the membership it relies on
/// ([`dri_of`], FOR SHARE), so the DELETE waited for any such assignment to commit, each
/// statement here sees those commits, and later assignments find no membership.
///
/// The journeys are locked before the ownership rows, the order removeStage and deleteJourney
/// take them in (journey, then the stage's ownerships by cascade).
pub(super) async fn clear_dris(change: &mut Change, which: Condition) -> AppResult<()> {
    let stages = owned_stages(change.db(), which.clone()).await?;
    touch_journeys_of_stages(change, stages).await?;
    stage_ownership::Entity::update_many()
        .col_expr(
            stage_ownership::Column::PersonId,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(
            stage_ownership::Column::UpdatedAt,
            Expr::value(change.now()),
        )
        .filter(which)
        .exec(change.db())
        .await?;
    Ok(())
}

/// The row ID of the ownership `which` names, or `NOT_FOUND` (naming the journey, stage or
/// team that does not exist, or `key` when the team does not own the stage).
async fn resolve(db: &impl ConnectionTrait, which: &OwnershipRef, key: &str) -> AppResult<i32> {
    let (journey, stage, team) = match which {
        OwnershipRef::Id(id) => return Ok(*id),
        OwnershipRef::Stage {
            journey,
            stage,
            team,
        } => (journey, stage, team),
    };
    let journey = super::find::journey_by_slug(db, journey).await?;
    let stage = stage_by_key(db, &journey, stage).await?;
    let team = super::find::team_by_slug(db, team).await?;
    stage_ownership::Entity::find()
        .filter(stage_ownership::Column::StageId.eq(stage.id))
        .filter(stage_ownership::Column::TeamId.eq(team.id))
        .one(db)
        .await?
        .map(|o| o.id)
        .ok_or_else(|| AppError::not_found("stage ownership", key))
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
/// The membership is read with a share lock (on `PostgreSQL`; `SQLite`'s writers are serialised
/// already) held to the end of the transaction: `removeTeamMember` and `deletePerson` delete
/// the membership before they clear DRIs, so they either wait for this assignment to commit
/// and then clear it, or have deleted the membership and this finds none.
///
/// Call it before locking the journey: removals hold the membership and then lock journeys,
/// and taking the two in the same order cannot deadlock.
async fn dri_of(db: &impl ConnectionTrait, team: &team::Model, slug: &str) -> AppResult<i32> {
    let person = super::find::person_by_slug(db, slug).await?;
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

/// The stage ownership with row ID `id` (named `key` by the caller), or `NOT_FOUND`.
async fn ownership_by_id(
    db: &impl ConnectionTrait,
    id: i32,
    key: &str,
) -> AppResult<stage_ownership::Model> {
    stage_ownership::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("stage ownership", key))
}

/// Refuses a second ACCOUNTABLE owner of `stage` (other than the ownership `except`).
async fn check_one_accountable(
    db: &impl ConnectionTrait,
    stage: &journey_stage::Model,
    except: Option<i32>,
) -> AppResult<()> {
    let mut q = stage_ownership::Entity::find()
        .filter(stage_ownership::Column::StageId.eq(stage.id))
        .filter(stage_ownership::Column::Responsibility.eq(Responsibility::Accountable));
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
/// `PostgreSQL` names the index, `SQLite` the columns.
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
    Ok(snapshot_with(
        row,
        &[
            ("team", team.map(|t| t.slug).into()),
            ("dri", dri.map(|p| p.slug).into()),
        ],
    ))
}

#[cfg(test)]
pub(crate) mod tests;
