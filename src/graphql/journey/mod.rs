//! Journeys and their ordered stages: the `Journey` and `Stage` objects, their queries, and
//! their mutations, which hand their commands to `domain::journey`.

mod input;
mod mutation;
mod object;
mod query;

pub use input::{
    AddStageInput, ArchiveJourneyInput, CreateJourneyInput, DeleteJourneyInput, MoveStageInput,
    NewStageInput, RemoveStageInput, ReorderStagesInput, SetJourneyPersonasInput,
    UpdateJourneyInput, UpdateStageInput,
};
pub use mutation::{
    AddStagePayload, ArchiveJourneyPayload, CreateJourneyPayload, JourneyMutation,
    MoveStagePayload, ReorderStagesPayload, SetJourneyPersonasPayload, UpdateJourneyPayload,
    UpdateStagePayload,
};
pub use object::{Journey, Stage};
pub use query::{JourneyFilter, JourneyOrder, JourneyOrderField, JourneyQuery};

use crate::error::{AppError, AppResult};
use entity::journey;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// Counts a change to journey `journey`'s stages against it (bumps `version` and
/// `updated_at`, and on PostgreSQL locks its row), for the stage-owner resolvers not yet on
/// the domain (`ownership.rs`); goes when they use `Change::touch`.
pub(super) async fn touch(db: &impl ConnectionTrait, journey: &journey::Model) -> AppResult<()> {
    use journey::Column as C;
    let result = journey::Entity::update_many()
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .col_expr(C::UpdatedAt, Expr::value(chrono::Utc::now()))
        .filter(C::Id.eq(journey.id))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::not_found("journey", &journey.slug));
    }
    Ok(())
}
