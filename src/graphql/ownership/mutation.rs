//! Changing who owns what: the inputs of the stage-ownership and alignment mutations, their
//! conversion into the commands of `domain::ownership` and `domain::alignment`, and the
//! mutations that apply them.

use super::{StageOwnership, TeamAlignment};
use crate::domain::types::ShortText;
use crate::domain::{alignment, ownership};
use crate::error::{AppError, AppResult};
use crate::graphql::enums::{AlignmentLevel, Motion, Responsibility};
use crate::graphql::input::{optional_text, text_patch};
use crate::graphql::persona::DeletePayload;
use crate::graphql::{apply, id};
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

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
    /// The ownership's ID; or leave it out and name the ownership by `journey`, `stage` and
    /// `team`.
    pub id: Option<ID>,
    /// The journey's slug (with `stage` and `team`, instead of `id`).
    pub journey: Option<String>,
    /// The stage's key in that journey (with `journey` and `team`, instead of `id`).
    pub stage: Option<String>,
    /// The owning team's slug (with `journey` and `stage`, instead of `id`).
    pub team: Option<String>,
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
    /// The ownership's ID; or leave it out and name the ownership by `journey`, `stage` and
    /// `team`.
    pub id: Option<ID>,
    /// The journey's slug (with `stage` and `team`, instead of `id`).
    pub journey: Option<String>,
    /// The stage's key in that journey (with `journey` and `team`, instead of `id`).
    pub stage: Option<String>,
    /// The owning team's slug (with `journey` and `stage`, instead of `id`).
    pub team: Option<String>,
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

impl AssignStageOwnerInput {
    fn command(self) -> AppResult<ownership::AssignStageOwner> {
        Ok(ownership::AssignStageOwner {
            note: optional_text("note", self.note.as_deref())?,
            journey: self.journey,
            stage: self.stage,
            team: self.team,
            responsibility: self.responsibility.into(),
            dri: self.dri,
        })
    }
}

impl ChangeStageOwnerInput {
    fn command(self) -> AppResult<ownership::ChangeStageOwner> {
        let (which, key) = which(self.id, self.journey, self.stage, self.team)?;
        let note: Option<Option<ShortText>> = text_patch("note", &self.note)?;
        let dri = match self.dri {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(slug) => Some(Some(slug)),
        };
        Ok(ownership::ChangeStageOwner {
            which,
            key,
            responsibility: self.responsibility.map(Into::into),
            dri,
            note,
        })
    }
}

impl RemoveStageOwnerInput {
    fn command(self) -> AppResult<ownership::RemoveStageOwner> {
        let (which, key) = which(self.id, self.journey, self.stage, self.team)?;
        Ok(ownership::RemoveStageOwner { which, key })
    }
}

/// The ownership an input names, by `id` or by `journey`, `stage` and `team` (one way, not
/// both), with the key a `NOT_FOUND` names it by.
fn which(
    id: Option<ID>,
    journey: Option<String>,
    stage: Option<String>,
    team: Option<String>,
) -> AppResult<(ownership::OwnershipRef, String)> {
    match (id, journey, stage, team) {
        (Some(gid), None, None, None) => Ok((
            ownership::OwnershipRef::Id(id::decode_as(&gid, "StageOwnership", "id")?),
            gid.to_string(),
        )),
        (None, Some(journey), Some(stage), Some(team)) => {
            let key = format!("{journey}/{stage} {team}");
            Ok((
                ownership::OwnershipRef::Stage {
                    journey,
                    stage,
                    team,
                },
                key,
            ))
        }
        _ => Err(AppError::bad_input(
            "id",
            "name the ownership by its id, or by journey, stage and team (not both)",
        )),
    }
}

impl AlignTeamToPersonaInput {
    fn command(self) -> AppResult<alignment::AlignTeamToPersona> {
        Ok(alignment::AlignTeamToPersona {
            team: self.team,
            persona: self.persona,
            level: self.level.into(),
            motion: self.motion.map(Into::into),
            provenance: entity::enums::Provenance::Editor,
        })
    }
}

impl UnalignTeamFromPersonaInput {
    fn command(self) -> AppResult<alignment::UnalignTeamFromPersona> {
        Ok(alignment::UnalignTeamFromPersona {
            team: self.team,
            persona: self.persona,
        })
    }
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
        let row = apply(ctx, input.command()).await?;
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
        let row = apply(ctx, input.command()).await?;
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
        let removed = apply(ctx, input.command()).await?;
        Ok(DeletePayload {
            deleted_id: id::encode("StageOwnership", removed),
        })
    }
    /// Aligns a team to a persona, or changes the level and motion of an existing alignment.
    async fn align_team_to_persona(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team, the persona and how they align.")]
        input: AlignTeamToPersonaInput,
    ) -> Result<AlignTeamToPersonaPayload> {
        let row = apply(ctx, input.command()).await?;
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
        let deleted_id = id::encode("TeamAlignment", apply(ctx, input.command()).await?);
        Ok(DeletePayload { deleted_id })
    }
}
