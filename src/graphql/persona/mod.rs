//! Personas, their roles and links: the `Persona`, `Role` and `PersonaLink` objects, their
//! queries, and their mutations, which hand their commands to `domain::persona`.

mod input;
mod mutation;
mod object;
mod query;

pub use input::{
    AddRoleInput, ArchivePersonaInput, CreatePersonaInput, DeletePersonaInput, LinkPersonasInput,
    RemoveRoleInput, UnlinkPersonasInput, UpdatePersonaInput, UpdateRoleInput,
};
pub use mutation::{
    CreatePersonaPayload, DeletePayload, LinkPersonasPayload, PersonaMutation, RolePayload,
    UpdatePersonaPayload,
};
pub use object::{Persona, PersonaLink, Role};
pub use query::{PersonaFilter, PersonaOrder, PersonaOrderField, PersonaQuery};

use crate::domain::types::{LONG_TEXT_MAX, TEXT_MAX};
use crate::error::AppResult;
use async_graphql::MaybeUndefined;

/// The `CONFLICT` of a stale `expectedVersion`, for the resolvers not yet on the domain
/// (`team.rs`); goes when they hand their writes to domain commands.
pub use crate::domain::change::stale;

/// A change to an optional text field of at most `max` characters (`TEXT_MAX` or
/// `LONG_TEXT_MAX`), for the resolvers not yet on the domain (`team.rs`, `ownership.rs`);
/// goes when they use [`super::input::text_patch`].
pub fn text_change(
    field: &str,
    v: &MaybeUndefined<String>,
    max: usize,
) -> AppResult<Option<Option<String>>> {
    Ok(if max == LONG_TEXT_MAX {
        super::input::text_patch::<LONG_TEXT_MAX>(field, v)?.map(|t| t.map(String::from))
    } else {
        super::input::text_patch::<TEXT_MAX>(field, v)?.map(|t| t.map(String::from))
    })
}
