//! The journey and stage mutations: each hands its input's command to `domain::journey` and
//! wraps the result in its payload.

use super::super::persona::DeletePayload;
use super::super::{apply, id};
use super::input::{
    AddStageInput, ArchiveJourneyInput, CreateJourneyInput, DeleteJourneyInput, MoveStageInput,
    RemoveStageInput, ReorderStagesInput, SetJourneyPersonasInput, UpdateJourneyInput,
    UpdateStageInput,
};
use super::{Journey, Stage};
use async_graphql::{Context, Object, Result, SimpleObject};

/// Result of `createJourney`.
#[derive(SimpleObject)]
pub struct CreateJourneyPayload {
    /// The new journey.
    pub journey: Journey,
}

/// Result of `updateJourney`.
#[derive(SimpleObject)]
pub struct UpdateJourneyPayload {
    /// The journey as it is now.
    pub journey: Journey,
}

/// Result of `archiveJourney`.
#[derive(SimpleObject)]
pub struct ArchiveJourneyPayload {
    /// The journey as it is now.
    pub journey: Journey,
}

/// Result of `setJourneyPersonas`.
#[derive(SimpleObject)]
pub struct SetJourneyPersonasPayload {
    /// The journey as it is now.
    pub journey: Journey,
}

/// Result of `addStage`.
#[derive(SimpleObject)]
pub struct AddStagePayload {
    /// The new stage.
    pub stage: Stage,
}

/// Result of `updateStage`.
#[derive(SimpleObject)]
pub struct UpdateStagePayload {
    /// The stage as it is now.
    pub stage: Stage,
}

/// Result of `moveStage`.
#[derive(SimpleObject)]
pub struct MoveStagePayload {
    /// The journey, with its stages renumbered.
    pub journey: Journey,
}

/// Result of `reorderStages`.
#[derive(SimpleObject)]
pub struct ReorderStagesPayload {
    /// The journey, with its stages renumbered.
    pub journey: Journey,
}

/// Journey and stage mutations.
#[derive(Default)]
pub struct JourneyMutation;

#[Object]
impl JourneyMutation {
    /// Creates a journey, with its stages and optional persona narrowing.
    async fn create_journey(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: CreateJourneyInput,
    ) -> Result<CreateJourneyPayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(CreateJourneyPayload {
            journey: Journey(row),
        })
    }
    /// Changes a journey; fails with `CONFLICT` when `expectedVersion` is stale.
    async fn update_journey(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: UpdateJourneyInput,
    ) -> Result<UpdateJourneyPayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(UpdateJourneyPayload {
            journey: Journey(row),
        })
    }
    /// Marks a journey archived; it stays readable.
    async fn archive_journey(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: ArchiveJourneyInput,
    ) -> Result<ArchiveJourneyPayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(ArchiveJourneyPayload {
            journey: Journey(row),
        })
    }
    /// Deletes a journey with its stages, their owners and the links about them.
    async fn delete_journey(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: DeleteJourneyInput,
    ) -> Result<DeletePayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(DeletePayload {
            deleted_id: id::encode("Journey", row.id),
        })
    }
    /// Replaces the personas a journey is narrowed to.
    async fn set_journey_personas(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: SetJourneyPersonasInput,
    ) -> Result<SetJourneyPersonasPayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(SetJourneyPersonasPayload {
            journey: Journey(row),
        })
    }
    /// Adds a stage to a journey, at the end or at a given position.
    async fn add_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: AddStageInput,
    ) -> Result<AddStagePayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(AddStagePayload { stage: Stage(row) })
    }
    /// Changes a stage's name, goal or criteria.
    async fn update_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: UpdateStageInput,
    ) -> Result<UpdateStagePayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(UpdateStagePayload { stage: Stage(row) })
    }
    /// Moves a stage to another position; the stages between shift by one.
    async fn move_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: MoveStageInput,
    ) -> Result<MoveStagePayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(MoveStagePayload {
            journey: Journey(row),
        })
    }
    /// Puts all of a journey's stages in a new order, atomically.
    async fn reorder_stages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: ReorderStagesInput,
    ) -> Result<ReorderStagesPayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(ReorderStagesPayload {
            journey: Journey(row),
        })
    }
    /// Removes a stage with its owners; later stages close the gap.
    async fn remove_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: RemoveStageInput,
    ) -> Result<DeletePayload> {
        apply(ctx, input.command()).await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }
}
