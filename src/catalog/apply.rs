//! Running a plan's steps: each step's domain command, inside the one change of the apply.

use super::plan::{Action, Op, Plan};
use crate::domain::change::Change;
use crate::domain::find;
use crate::domain::link::{AddExternalLink, LinkSubject};
use crate::error::{AppError, AppResult};
use entity::enums::SubjectType;
use entity::journey_stage;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// Runs every step of `plan` that changes something, in order; the first refusal names its
/// record.
pub(super) async fn run(change: &mut Change, plan: &Plan) -> Result<(), (String, AppError)> {
    for s in &plan.steps {
        if s.action == Action::Keep {
            continue;
        }
        let Some(op) = &s.op else { continue };
        step(change, op)
            .await
            .map_err(|e| (format!("{} {}", s.kind, s.key), e))?;
    }
    Ok(())
}

async fn step(change: &mut Change, op: &Op) -> AppResult<()> {
    match op {
        Op::CreateProduct(c) => change.apply(c).await.map(drop),
        Op::UpdateProduct(c) => change.apply(c).await.map(drop),
        Op::DeleteProduct(c) => change.apply(c).await.map(drop),
        Op::CreatePersona(c) => change.apply(c.as_ref()).await.map(drop),
        Op::UpdatePersona(c) => {
            // Steps before this one (a pruned role, say) may have bumped the version the plan
            // read; the apply as a whole is what `--expect-version` guards.
            let mut c = (**c).clone();
            c.expected_version = find::persona_by_slug(change.db(), &c.slug).await?.version;
            change.apply(&c).await.map(drop)
        }
        Op::DeletePersona(c) => change.apply(c).await.map(drop),
        Op::AddRole(c) => change.apply(c).await.map(drop),
        Op::UpdateRole(c) => change.apply(c).await.map(drop),
        Op::RemoveRole(c) => change.apply(c).await.map(drop),
        Op::SetRelevance(c) => change.apply(c).await.map(drop),
        Op::RemoveRelevance(c) => change.apply(c).await.map(drop),
        Op::Link(c) => change.apply(c).await.map(drop),
        Op::Relink(old, new) => {
            change.apply(old).await?;
            change.apply(new).await.map(drop)
        }
        Op::Unlink(c) => change.apply(c).await.map(drop),
        Op::CreateTeam(c) => change.apply(c).await.map(drop),
        Op::UpdateTeam(c) => {
            let mut c = c.clone();
            c.expected_version = find::team_by_slug(change.db(), &c.slug).await?.version;
            change.apply(&c).await.map(drop)
        }
        Op::DeleteTeam(c) => change.apply(c).await.map(drop),
        Op::CreatePerson(c) => change.apply(c).await.map(drop),
        Op::UpdatePerson(c) => change.apply(c).await.map(drop),
        Op::DeletePerson(c) => change.apply(c).await.map(drop),
        Op::AddMember(c) => change.apply(c).await.map(drop),
        Op::ChangeMember(c) => change.apply(c).await.map(drop),
        Op::RemoveMember(c) => change.apply(c).await.map(drop),
        Op::Align(c) => change.apply(c).await.map(drop),
        Op::Unalign(c) => change.apply(c).await.map(drop),
        Op::CreateJourney(c) => change.apply(c).await.map(drop),
        Op::UpdateJourney(c) => {
            let mut c = c.clone();
            c.expected_version = find::journey_by_slug(change.db(), &c.slug).await?.version;
            change.apply(&c).await.map(drop)
        }
        Op::DeleteJourney(c) => change.apply(c).await.map(drop),
        Op::Narrow(c) => change.apply(c).await.map(drop),
        Op::AddStage(c) => change.apply(c).await.map(drop),
        Op::UpdateStage(c) => change.apply(c).await.map(drop),
        Op::Reorder(c) => change.apply(c).await.map(drop),
        Op::RemoveStage(c) => change.apply(c).await.map(drop),
        Op::AddLink {
            subject,
            key,
            label,
            url,
            kind,
            access,
        } => {
            let id = subject_id(change, *subject, key).await?;
            let cmd = AddExternalLink {
                subject: LinkSubject { kind: *subject, id },
                subject_key: key.clone(),
                label: label.clone(),
                url: url.clone(),
                kind: *kind,
                access: *access,
            };
            change.apply(&cmd).await.map(drop)
        }
        Op::UpdateLink(c) => change.apply(c).await.map(drop),
        Op::RemoveLink(c) => change.apply(c).await.map(drop),
        Op::Assign(c) => change.apply(c).await.map(drop),
        Op::ChangeOwner(c) => change.apply(c).await.map(drop),
        Op::RemoveOwner(c) => change.apply(c).await.map(drop),
    }
}

/// The row ID of a link's subject, by its key (a slug, or `journey/stage` for a stage).
async fn subject_id(change: &Change, subject: SubjectType, key: &str) -> AppResult<i32> {
    let db = change.db();
    Ok(match subject {
        SubjectType::Persona => find::persona_by_slug(db, key).await?.id,
        SubjectType::Team => find::team_by_slug(db, key).await?.id,
        SubjectType::Journey => find::journey_by_slug(db, key).await?.id,
        SubjectType::Stage => {
            let (journey, stage) = key.split_once('/').unwrap_or((key, ""));
            let j = find::journey_by_slug(db, journey).await?;
            journey_stage::Entity::find()
                .filter(journey_stage::Column::JourneyId.eq(j.id))
                .filter(journey_stage::Column::Key.eq(stage))
                .one(db)
                .await?
                .ok_or_else(|| AppError::not_found("stage", key))?
                .id
        }
    })
}
