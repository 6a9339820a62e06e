//! The inputs of the journey and stage mutations and their conversion into domain commands:
//! every value is validated here, named as the input names it.

use super::super::enums::{PersonaKind, Status};
use super::super::id;
use super::super::input::{optional_text, text_patch};
use crate::domain::journey::stage::{self, NewStage};
use crate::domain::journey::{self as domain, narrowing};
use crate::domain::types::{Name, Slug};
use crate::error::AppResult;
use async_graphql::{ID, InputObject, MaybeUndefined};

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

/// Input of `archiveJourney`.
#[derive(InputObject)]
pub struct ArchiveJourneyInput {
    /// The journey to archive.
    pub slug: String,
    /// The version the editor last read, if the archive must not override a newer change.
    pub expected_version: Option<i32>,
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

/// Input of `moveStage`.
#[derive(InputObject)]
pub struct MoveStageInput {
    /// The stage's ID.
    pub id: ID,
    /// Its new position, from 1 to the number of stages.
    pub position: i32,
}

/// Input of `reorderStages`.
#[derive(InputObject)]
pub struct ReorderStagesInput {
    /// The journey's slug.
    pub journey: String,
    /// Every stage key of the journey, once each, in the new order.
    pub keys: Vec<String>,
}

/// Input of `removeStage`.
#[derive(InputObject)]
pub struct RemoveStageInput {
    /// The stage's ID.
    pub id: ID,
}

/// A stage's key and texts, validated; `prefix` locates the stage in the input (`stages[2].`).
fn new_stage(
    prefix: &str,
    key: &str,
    name: &str,
    goal: Option<&str>,
    entry: Option<&str>,
    exit: Option<&str>,
) -> AppResult<NewStage> {
    Ok(NewStage {
        key: Slug::parse(&format!("{prefix}key"), key)?,
        name: Name::parse(&format!("{prefix}name"), name)?,
        goal: optional_text(&format!("{prefix}goal"), goal)?,
        entry_criteria: optional_text(&format!("{prefix}entryCriteria"), entry)?,
        exit_criteria: optional_text(&format!("{prefix}exitCriteria"), exit)?,
    })
}

impl CreateJourneyInput {
    /// The domain command, every value validated and named as the input names it.
    pub(super) fn command(self) -> AppResult<domain::CreateJourney> {
        Ok(domain::CreateJourney {
            slug: Slug::parse("slug", &self.slug)?,
            name: Name::parse("name", &self.name)?,
            description: optional_text("description", self.description.as_deref())?,
            stages: self
                .stages
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    new_stage(
                        &format!("stages[{i}]."),
                        &s.key,
                        &s.name,
                        s.goal.as_deref(),
                        s.entry_criteria.as_deref(),
                        s.exit_criteria.as_deref(),
                    )
                })
                .collect::<AppResult<Vec<_>>>()?,
            persona_kind: self.persona_kind.into(),
            status: self.status.unwrap_or(Status::Active).into(),
            personas: self.personas,
            provenance: entity::enums::Provenance::Editor,
        })
    }
}

impl UpdateJourneyInput {
    pub(super) fn command(self) -> AppResult<domain::UpdateJourney> {
        Ok(domain::UpdateJourney {
            name: self
                .name
                .as_deref()
                .map(|v| Name::parse("name", v))
                .transpose()?,
            description: text_patch("description", &self.description)?,
            persona_kind: self.persona_kind.map(Into::into),
            status: self.status.map(Into::into),
            slug: self.slug,
            expected_version: self.expected_version,
        })
    }
}

impl ArchiveJourneyInput {
    pub(super) fn command(self) -> AppResult<domain::ArchiveJourney> {
        Ok(domain::ArchiveJourney {
            slug: self.slug,
            expected_version: self.expected_version,
        })
    }
}

impl DeleteJourneyInput {
    pub(super) fn command(self) -> AppResult<domain::DeleteJourney> {
        Ok(domain::DeleteJourney { slug: self.slug })
    }
}

impl SetJourneyPersonasInput {
    pub(super) fn command(self) -> AppResult<narrowing::SetJourneyPersonas> {
        Ok(narrowing::SetJourneyPersonas {
            journey: self.journey,
            personas: self.personas,
        })
    }
}

impl AddStageInput {
    pub(super) fn command(self) -> AppResult<stage::AddStage> {
        Ok(stage::AddStage {
            stage: new_stage(
                "",
                &self.key,
                &self.name,
                self.goal.as_deref(),
                self.entry_criteria.as_deref(),
                self.exit_criteria.as_deref(),
            )?,
            journey: self.journey,
            position: self.position,
        })
    }
}

impl UpdateStageInput {
    pub(super) fn command(self) -> AppResult<stage::UpdateStage> {
        Ok(stage::UpdateStage {
            id: id::decode_as(&self.id, "Stage", "id")?,
            name: self
                .name
                .as_deref()
                .map(|v| Name::parse("name", v))
                .transpose()?,
            goal: text_patch("goal", &self.goal)?,
            entry_criteria: text_patch("entryCriteria", &self.entry_criteria)?,
            exit_criteria: text_patch("exitCriteria", &self.exit_criteria)?,
            key: self.id.to_string(),
        })
    }
}

impl MoveStageInput {
    pub(super) fn command(self) -> AppResult<stage::MoveStage> {
        Ok(stage::MoveStage {
            id: id::decode_as(&self.id, "Stage", "id")?,
            key: self.id.to_string(),
            position: self.position,
        })
    }
}

impl ReorderStagesInput {
    pub(super) fn command(self) -> AppResult<stage::ReorderStages> {
        Ok(stage::ReorderStages {
            journey: self.journey,
            keys: self.keys,
        })
    }
}

impl RemoveStageInput {
    pub(super) fn command(&self) -> AppResult<stage::RemoveStage> {
        Ok(stage::RemoveStage {
            id: id::decode_as(&self.id, "Stage", "id")?,
            key: self.id.to_string(),
        })
    }
}
