//! The persona mutations: each hands its input's command to `domain::persona` and wraps the
//! result in its payload.

use super::super::{apply, id};
use super::input::{
    AddRoleInput, ArchivePersonaInput, CreatePersonaInput, DeletePersonaInput, LinkPersonasInput,
    RemoveRoleInput, UnlinkPersonasInput, UpdatePersonaInput, UpdateRoleInput,
};
use super::{Persona, PersonaLink, Role};
use async_graphql::{Context, ID, Object, Result, SimpleObject};

/// Result of `createPersona`.
#[derive(SimpleObject)]
pub struct CreatePersonaPayload {
    /// The new persona.
    pub persona: Persona,
}

/// Result of `updatePersona`, `archivePersona`.
#[derive(SimpleObject)]
pub struct UpdatePersonaPayload {
    /// The persona as it is now.
    pub persona: Persona,
}

/// Result of a delete.
#[derive(SimpleObject)]
pub struct DeletePayload {
    /// The global ID of what was deleted.
    pub deleted_id: ID,
}

/// Result of `addRole` and `updateRole`.
#[derive(SimpleObject)]
pub struct RolePayload {
    /// The role as it is now.
    pub role: Role,
}

/// Result of `linkPersonas`.
#[derive(SimpleObject)]
pub struct LinkPersonasPayload {
    /// The new link.
    pub link: PersonaLink,
}

/// Persona mutations.
#[derive(Default)]
pub struct PersonaMutation;

#[Object]
impl PersonaMutation {
    /// Creates a persona, with its roles.
    async fn create_persona(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: CreatePersonaInput,
    ) -> Result<CreatePersonaPayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(CreatePersonaPayload {
            persona: Persona(row),
        })
    }
    /// Changes a persona; fails with `CONFLICT` when `expectedVersion` is stale.
    async fn update_persona(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: UpdatePersonaInput,
    ) -> Result<UpdatePersonaPayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(UpdatePersonaPayload {
            persona: Persona(row),
        })
    }
    /// Marks a persona archived; it stays readable.
    async fn archive_persona(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: ArchivePersonaInput,
    ) -> Result<UpdatePersonaPayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(UpdatePersonaPayload {
            persona: Persona(row),
        })
    }
    /// Deletes a persona and everything that belongs to it.
    async fn delete_persona(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: DeletePersonaInput,
    ) -> Result<DeletePayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(DeletePayload {
            deleted_id: id::encode("Persona", row.id),
        })
    }
    /// Adds an example job title to a persona.
    async fn add_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: AddRoleInput,
    ) -> Result<RolePayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(RolePayload { role: Role(row) })
    }
    /// Renames or reorders a role.
    async fn update_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: UpdateRoleInput,
    ) -> Result<RolePayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(RolePayload { role: Role(row) })
    }
    /// Removes a role.
    async fn remove_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: RemoveRoleInput,
    ) -> Result<DeletePayload> {
        apply(ctx, input.command()).await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }
    /// Links one persona to another.
    async fn link_personas(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: LinkPersonasInput,
    ) -> Result<LinkPersonasPayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(LinkPersonasPayload {
            link: PersonaLink(row),
        })
    }
    /// Removes a link between personas.
    async fn unlink_personas(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: UnlinkPersonasInput,
    ) -> Result<DeletePayload> {
        apply(ctx, input.command()).await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }
}
