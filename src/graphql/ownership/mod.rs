//! Who owns what: the `StageOwnership` and `TeamAlignment` objects here, the dashboard
//! queries `ownershipMatrix`, `journeyHealth` and `ownershipGaps` in `dashboard` (the health
//! objects in `health`), and the mutations (handing
//! commands to `domain::ownership` and `domain::alignment`) in `mutation`.

mod dashboard;
mod health;
mod mutation;

pub use dashboard::{
    MatrixRows, OwnershipCell, OwnershipGap, OwnershipMatrix, OwnershipMatrixRow, OwnershipQuery,
    build_matrix, load_matrix,
};
pub use mutation::*;

use super::enums::{AlignmentLevel, Motion, Provenance, Responsibility};
use super::journey::Stage;
use super::loaders::{PersonById, PersonaById, StageById, TeamById};
use super::persona::Persona;
use super::team::{Person, Team};
use super::{id, referenced};
use async_graphql::{Context, ID, Object, Result};
use entity::{stage_ownership, team_persona_alignment};

/// A team's RACI responsibility for one journey stage, with an optional DRI.
pub struct StageOwnership(pub stage_ownership::Model);

/// A team's RACI responsibility for one journey stage, with an optional DRI.
#[Object]
impl StageOwnership {
    /// Global ID.
    pub async fn id(&self) -> ID {
        id::encode("StageOwnership", self.0.id)
    }
    /// Responsible, accountable, consulted or informed.
    async fn responsibility(&self) -> Responsibility {
        self.0.responsibility.into()
    }
    /// Free-text note.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// The stage.
    async fn stage(&self, ctx: &Context<'_>) -> Result<Option<Stage>> {
        referenced(ctx, StageById(self.0.stage_id), Stage).await
    }
    /// The owning team.
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        referenced(ctx, TeamById(self.0.team_id), Team).await
    }
    /// The directly responsible individual, a member of the team, when set.
    async fn dri(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        let Some(person_id) = self.0.person_id else {
            return Ok(None);
        };
        referenced(ctx, PersonById(person_id), Person).await
    }
}

/// A team aligned to a persona.
pub struct TeamAlignment(pub team_persona_alignment::Model);

/// A team aligned to a persona.
#[Object]
impl TeamAlignment {
    /// Global ID.
    pub async fn id(&self) -> ID {
        id::encode("TeamAlignment", self.0.id)
    }
    /// Primary or secondary focus.
    async fn level(&self) -> AlignmentLevel {
        self.0.level.into()
    }
    /// The go-to-market motion, when set.
    async fn motion(&self) -> Option<Motion> {
        self.0.motion.map(Into::into)
    }
    /// Where this alignment comes from.
    async fn provenance(&self) -> Provenance {
        self.0.provenance.into()
    }
    /// The team.
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        referenced(ctx, TeamById(self.0.team_id), Team).await
    }
    /// The persona.
    async fn persona(&self, ctx: &Context<'_>) -> Result<Option<Persona>> {
        referenced(ctx, PersonaById(self.0.persona_id), Persona).await
    }
}
