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
