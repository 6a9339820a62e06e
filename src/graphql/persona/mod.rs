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
