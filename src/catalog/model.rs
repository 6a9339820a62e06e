//! The shape of the seed catalog file (`handbook-catalog.yaml`): serde types, camelCase keys.
//!
//! Unknown keys are rejected so that a typo in the file fails the load instead of silently
//! dropping a field. Optional fields left out of the file are "not part of the catalog": a
//! rerun never overwrites what an editor put there.

use entity::enums::{
    AlignmentLevel, Department, LinkAccess, LinkKind, MembershipRole, Motion, PainIntensity,
    PersonaKind, PersonaLinkKind, Provenance, RelevanceLevel, Status, ValuePropScope,
};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The whole catalog file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catalog {
    /// Products the personas are sold.
    #[serde(default)]
    pub products: Vec<ProductEntry>,
    /// Personas, with their roles, product relevance and links to documents.
    #[serde(default)]
    pub personas: Vec<PersonaEntry>,
    /// Directed links between personas.
    #[serde(default)]
    pub persona_links: Vec<PersonaLinkEntry>,
    /// Teams.
    #[serde(default)]
    pub teams: Vec<TeamEntry>,
    /// People and the team each belongs to.
    #[serde(default)]
    pub people: Vec<PersonEntry>,
    /// Team-to-persona alignments.
    #[serde(default)]
    pub alignments: Vec<AlignmentEntry>,
    /// Journeys and their stages, in order.
    #[serde(default)]
    pub journeys: Vec<JourneyEntry>,
    /// RACI per stage: journey slug -> stage key -> letters.
    #[serde(default)]
    pub ownership: BTreeMap<String, BTreeMap<String, Raci>>,
}

/// A product.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductEntry {
    pub slug: String,
    pub name: String,
    pub provenance: Option<Provenance>,
}

/// A persona.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonaEntry {
    pub slug: String,
    pub name: String,
    pub kind: PersonaKind,
    pub status: Option<Status>,
    pub sort_order: Option<i32>,
    pub provenance: Option<Provenance>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub pain_points: Option<Vec<String>>,
    pub motivations: Option<Vec<String>>,
    pub pain_intensity: Option<PainIntensity>,
    pub pain_intensity_note: Option<String>,
    pub value_prop_scope: Option<ValuePropScope>,
    pub source_url: Option<String>,
    /// Example job titles, in order.
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub product_relevance: Vec<RelevanceEntry>,
    #[serde(default)]
    pub external_links: Vec<ExternalLinkEntry>,
}

/// How relevant a product is to the enclosing persona.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelevanceEntry {
    pub product: String,
    pub level: RelevanceLevel,
    pub note: Option<String>,
    pub provenance: Option<Provenance>,
}

/// A link to a document about the enclosing item.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalLinkEntry {
    pub kind: LinkKind,
    pub access: LinkAccess,
    pub label: String,
    pub url: String,
}

/// A directed link between two personas.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonaLinkEntry {
    pub from: String,
    pub to: String,
    pub kind: PersonaLinkKind,
    pub note: Option<String>,
    pub provenance: Option<Provenance>,
}

/// A team.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamEntry {
    pub slug: String,
    pub name: String,
    pub department: Department,
    pub description: Option<String>,
    #[serde(default)]
    pub external_links: Vec<ExternalLinkEntry>,
}

/// A person and the team they belong to.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonEntry {
    pub slug: String,
    pub name: String,
    pub email: Option<String>,
    pub team: Option<String>,
    /// MEMBER unless given.
    pub role: Option<MembershipRole>,
}

/// A team aligned to a persona.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlignmentEntry {
    pub team: String,
    pub persona: String,
    pub level: AlignmentLevel,
    pub motion: Option<Motion>,
    pub provenance: Option<Provenance>,
}

/// A journey with its stages in order.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JourneyEntry {
    pub slug: String,
    pub name: String,
    pub persona_kind: PersonaKind,
    pub status: Option<Status>,
    pub provenance: Option<Provenance>,
    pub description: Option<String>,
    /// Narrows the journey to these personas (slugs); all of its kind when empty.
    #[serde(default)]
    pub personas: Vec<String>,
    #[serde(default)]
    pub external_links: Vec<ExternalLinkEntry>,
    #[serde(default)]
    pub stages: Vec<StageEntry>,
}

/// One stage of a journey; its position is its place in the list.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageEntry {
    pub key: String,
    pub name: String,
    pub goal: Option<String>,
    pub entry_criteria: Option<String>,
    pub exit_criteria: Option<String>,
    #[serde(default)]
    pub external_links: Vec<ExternalLinkEntry>,
}

/// The RACI letters of one stage: team slugs per responsibility, and the DRI of the
/// accountable team.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raci {
    #[serde(rename = "A")]
    pub accountable: Option<String>,
    #[serde(rename = "R", default)]
    pub responsible: Vec<String>,
    #[serde(rename = "C", default)]
    pub consulted: Vec<String>,
    #[serde(rename = "I", default)]
    pub informed: Vec<String>,
    /// A person slug; goes on the ACCOUNTABLE row and must be a member of that team.
    pub dri: Option<String>,
}
