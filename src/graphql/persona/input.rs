//! The inputs of the persona mutations and their conversion into domain commands: every value
//! is validated here, named as the input names it.

use super::super::enums::{PainIntensity, PersonaKind, PersonaLinkKind, Status, ValuePropScope};
use super::super::id;
use super::super::input::{enum_patch, optional_text, text_patch, url_patch};
use crate::domain::persona::{self as domain, link, role};
use crate::domain::types::{Name, Slug, TextList, Url};
use crate::error::AppResult;
use async_graphql::{ID, InputObject, MaybeUndefined};

/// Input of `createPersona`.
#[derive(InputObject)]
pub struct CreatePersonaInput {
    /// Kebab-case key, unique and immutable.
    pub slug: String,
    /// Display name (1 to 200 characters).
    pub name: String,
    /// Developer, buyer or admin.
    pub kind: PersonaKind,
    /// Active unless given.
    pub status: Option<Status>,
    /// One-line summary.
    pub summary: Option<String>,
    /// Longer description.
    pub description: Option<String>,
    /// The pains this persona feels.
    #[graphql(default)]
    pub pain_points: Vec<String>,
    /// What motivates this persona.
    #[graphql(default)]
    pub motivations: Vec<String>,
    /// How acutely the persona feels the pain.
    pub pain_intensity: Option<PainIntensity>,
    /// The source's words on the pain intensity.
    pub pain_intensity_note: Option<String>,
    /// How broad the value proposition is.
    pub value_prop_scope: Option<ValuePropScope>,
    /// Position in the default ordering; 0 unless given.
    #[graphql(default)]
    pub sort_order: i32,
    /// The page this persona is described on.
    pub source_url: Option<String>,
    /// Example job titles, in order.
    #[graphql(default)]
    pub roles: Vec<String>,
}

/// Input of `updatePersona`: fields left out keep their value; null clears an optional one.
#[derive(InputObject)]
pub struct UpdatePersonaInput {
    /// The persona to change.
    pub slug: String,
    /// The version the editor last read; a different current version answers `CONFLICT`.
    pub expected_version: i32,
    /// New display name.
    pub name: Option<String>,
    /// New kind.
    pub kind: Option<PersonaKind>,
    /// New status.
    pub status: Option<Status>,
    /// New summary.
    pub summary: MaybeUndefined<String>,
    /// New description.
    pub description: MaybeUndefined<String>,
    /// New pain points (replaces the list).
    pub pain_points: Option<Vec<String>>,
    /// New motivations (replaces the list).
    pub motivations: Option<Vec<String>>,
    /// New pain intensity.
    pub pain_intensity: MaybeUndefined<PainIntensity>,
    /// New pain-intensity note.
    pub pain_intensity_note: MaybeUndefined<String>,
    /// New value-proposition scope.
    pub value_prop_scope: MaybeUndefined<ValuePropScope>,
    /// New sort order.
    pub sort_order: Option<i32>,
    /// New source URL.
    pub source_url: MaybeUndefined<String>,
}

/// Input of `archivePersona`.
#[derive(InputObject)]
pub struct ArchivePersonaInput {
    /// The persona to archive.
    pub slug: String,
    /// The version the editor last read, if the archive must not override a newer change.
    pub expected_version: Option<i32>,
}

/// Input of `deletePersona`.
#[derive(InputObject)]
pub struct DeletePersonaInput {
    /// The persona to delete, with its roles, links, alignments and relevance.
    pub slug: String,
}

/// Input of `addRole`.
#[derive(InputObject)]
pub struct AddRoleInput {
    /// The persona's slug.
    pub persona: String,
    /// The job title (unique per persona, ignoring case).
    pub title: String,
    /// Sort order; after the last role unless given.
    pub sort_order: Option<i32>,
}

/// Input of `updateRole`.
#[derive(InputObject)]
pub struct UpdateRoleInput {
    /// The role's ID.
    pub id: ID,
    /// New title.
    pub title: Option<String>,
    /// New sort order.
    pub sort_order: Option<i32>,
}

/// Input of `removeRole`.
#[derive(InputObject)]
pub struct RemoveRoleInput {
    /// The role's ID.
    pub id: ID,
}

/// Input of `linkPersonas`.
#[derive(InputObject)]
pub struct LinkPersonasInput {
    /// Slug of the persona the link starts from.
    pub from: String,
    /// Slug of the persona the link points at (a different persona).
    pub to: String,
    /// How they relate.
    pub kind: PersonaLinkKind,
    /// Free-text note.
    pub note: Option<String>,
}

/// Input of `unlinkPersonas`.
#[derive(InputObject)]
pub struct UnlinkPersonasInput {
    /// The link's ID.
    pub id: ID,
}

impl CreatePersonaInput {
    /// The domain command, every value validated and named as the input names it.
    pub(super) fn command(self) -> AppResult<domain::CreatePersona> {
        Ok(domain::CreatePersona {
            slug: Slug::parse("slug", &self.slug)?,
            name: Name::parse("name", &self.name)?,
            summary: optional_text("summary", self.summary.as_deref())?,
            description: optional_text("description", self.description.as_deref())?,
            pain_points: TextList::parse("painPoints", &self.pain_points)?,
            motivations: TextList::parse("motivations", &self.motivations)?,
            pain_intensity_note: optional_text(
                "painIntensityNote",
                self.pain_intensity_note.as_deref(),
            )?,
            source_url: self
                .source_url
                .as_deref()
                .map(|u| Url::parse("sourceUrl", u))
                .transpose()?,
            roles: self
                .roles
                .iter()
                .enumerate()
                .map(|(i, t)| Name::parse(&format!("roles[{i}]"), t))
                .collect::<AppResult<Vec<_>>>()?,
            kind: self.kind.into(),
            status: self.status.unwrap_or(Status::Active).into(),
            pain_intensity: self.pain_intensity.map(Into::into),
            value_prop_scope: self.value_prop_scope.map(Into::into),
            sort_order: self.sort_order,
            provenance: entity::enums::Provenance::Editor,
        })
    }
}

impl UpdatePersonaInput {
    pub(super) fn command(self) -> AppResult<domain::UpdatePersona> {
        Ok(domain::UpdatePersona {
            name: self
                .name
                .as_deref()
                .map(|v| Name::parse("name", v))
                .transpose()?,
            summary: text_patch("summary", &self.summary)?,
            description: text_patch("description", &self.description)?,
            pain_points: self
                .pain_points
                .as_deref()
                .map(|v| TextList::parse("painPoints", v))
                .transpose()?,
            motivations: self
                .motivations
                .as_deref()
                .map(|v| TextList::parse("motivations", v))
                .transpose()?,
            pain_intensity_note: text_patch("painIntensityNote", &self.pain_intensity_note)?,
            source_url: url_patch("sourceUrl", &self.source_url)?,
            kind: self.kind.map(Into::into),
            status: self.status.map(Into::into),
            pain_intensity: enum_patch(&self.pain_intensity),
            value_prop_scope: enum_patch(&self.value_prop_scope),
            sort_order: self.sort_order,
            slug: self.slug,
            expected_version: self.expected_version,
        })
    }
}

impl ArchivePersonaInput {
    pub(super) fn command(self) -> AppResult<domain::ArchivePersona> {
        Ok(domain::ArchivePersona {
            slug: self.slug,
            expected_version: self.expected_version,
        })
    }
}

impl DeletePersonaInput {
    pub(super) fn command(self) -> AppResult<domain::DeletePersona> {
        Ok(domain::DeletePersona { slug: self.slug })
    }
}

impl AddRoleInput {
    pub(super) fn command(self) -> AppResult<role::AddRole> {
        Ok(role::AddRole {
            title: Name::parse("title", &self.title)?,
            persona: self.persona,
            sort_order: self.sort_order,
        })
    }
}

impl UpdateRoleInput {
    pub(super) fn command(self) -> AppResult<role::UpdateRole> {
        Ok(role::UpdateRole {
            id: id::decode_as(&self.id, "Role", "id")?,
            title: self
                .title
                .as_deref()
                .map(|t| Name::parse("title", t))
                .transpose()?,
            sort_order: self.sort_order,
            key: self.id.to_string(),
        })
    }
}

impl RemoveRoleInput {
    pub(super) fn command(&self) -> AppResult<role::RemoveRole> {
        Ok(role::RemoveRole {
            id: id::decode_as(&self.id, "Role", "id")?,
            key: self.id.to_string(),
        })
    }
}

impl LinkPersonasInput {
    pub(super) fn command(self) -> AppResult<link::LinkPersonas> {
        Ok(link::LinkPersonas {
            note: optional_text("note", self.note.as_deref())?,
            kind: self.kind.into(),
            from: self.from,
            to: self.to,
            provenance: entity::enums::Provenance::Editor,
        })
    }
}

impl UnlinkPersonasInput {
    pub(super) fn command(&self) -> AppResult<link::UnlinkPersonas> {
        Ok(link::UnlinkPersonas {
            id: id::decode_as(&self.id, "PersonaLink", "id")?,
            key: self.id.to_string(),
        })
    }
}
