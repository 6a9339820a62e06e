//! The shape of a catalog file (`handbook-catalog.yaml`, and what `export` writes): serde
//! types, camelCase keys, natural keys (slugs, stage keys) and never database IDs.
//!
//! Unknown keys are rejected so that a typo in the file fails the load instead of silently
//! dropping a field. Optional fields left out of the file are "not part of the catalog": a
//! load never overwrites what an editor put there. `export` writes every field that has a
//! value, and leaves out empty lists and absent values, so its output reads like the seed.

use entity::enums::{
    AlignmentLevel, Department, LinkAccess, LinkKind, MembershipRole, Motion, PainIntensity,
    PersonaKind, PersonaLinkKind, Provenance, RelevanceLevel, Status, ValuePropScope,
};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// The whole catalog file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catalog {
    /// The catalog version the file was exported at (`export` writes it; a load ignores it:
    /// `apply --expect-version` is what refuses a stale plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_version: Option<i64>,
    /// Products the personas are sold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<ProductEntry>,
    /// Personas, with their roles, product relevance and links to documents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub personas: Vec<PersonaEntry>,
    /// Directed links between personas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub persona_links: Vec<PersonaLinkEntry>,
    /// Teams.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<TeamEntry>,
    /// People and the team each belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<PersonEntry>,
    /// Team-to-persona alignments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alignments: Vec<AlignmentEntry>,
    /// Journeys and their stages, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub journeys: Vec<JourneyEntry>,
    /// RACI per stage: journey slug -> stage key -> letters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ownership: BTreeMap<String, BTreeMap<String, Raci>>,
}

/// A product.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductEntry {
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// A persona.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonaEntry {
    pub slug: String,
    pub name: String,
    pub kind: PersonaKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pain_points: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motivations: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pain_intensity: Option<PainIntensity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pain_intensity_note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_prop_scope: Option<ValuePropScope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// Example job titles, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub product_relevance: Vec<RelevanceEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<ExternalLinkEntry>,
}

/// How relevant a product is to the enclosing persona.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelevanceEntry {
    pub product: String,
    pub level: RelevanceLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// A link to a document about the enclosing item.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalLinkEntry {
    pub kind: LinkKind,
    pub access: LinkAccess,
    pub label: String,
    pub url: String,
}

/// A directed link between two personas.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonaLinkEntry {
    pub from: String,
    pub to: String,
    pub kind: PersonaLinkKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// A team.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamEntry {
    pub slug: String,
    pub name: String,
    pub department: Department,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<ExternalLinkEntry>,
}

/// A person and the team they belong to.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonEntry {
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// MEMBER unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<MembershipRole>,
    /// Every team the person belongs to, for a person in more than one (`team` and `role`
    /// are the short form for one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memberships: Vec<MembershipEntry>,
}

/// A person's membership of a team.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MembershipEntry {
    pub team: String,
    /// MEMBER unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<MembershipRole>,
}

impl PersonEntry {
    /// The person's memberships, short form and long form together: (team, role).
    pub fn teams(&self) -> Vec<(&str, MembershipRole)> {
        let mut out: Vec<(&str, MembershipRole)> = self
            .team
            .iter()
            .map(|t| (t.as_str(), self.role.unwrap_or(MembershipRole::Member)))
            .collect();
        out.extend(
            self.memberships
                .iter()
                .map(|m| (m.team.as_str(), m.role.unwrap_or(MembershipRole::Member))),
        );
        out
    }
}

/// A team aligned to a persona.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlignmentEntry {
    pub team: String,
    pub persona: String,
    pub level: AlignmentLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion: Option<Motion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// A journey with its stages in order.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JourneyEntry {
    pub slug: String,
    pub name: String,
    pub persona_kind: PersonaKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Narrows the journey to these personas (slugs); all of its kind when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub personas: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<ExternalLinkEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageEntry>,
}

/// One stage of a journey; its position is its place in the list.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageEntry {
    pub key: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_criteria: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_criteria: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<ExternalLinkEntry>,
}

/// The RACI letters of one stage: team slugs per responsibility, and the DRI of the
/// accountable team.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Raci {
    #[serde(rename = "A", default, skip_serializing_if = "Option::is_none")]
    pub accountable: Option<Owner>,
    #[serde(rename = "R", default, skip_serializing_if = "Vec::is_empty")]
    pub responsible: Vec<Owner>,
    #[serde(rename = "C", default, skip_serializing_if = "Vec::is_empty")]
    pub consulted: Vec<Owner>,
    #[serde(rename = "I", default, skip_serializing_if = "Vec::is_empty")]
    pub informed: Vec<Owner>,
    /// A person slug: the DRI of the accountable team, who must be a member of it (the short
    /// form of `A: { team: ..., dri: ... }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dri: Option<String>,
}

/// One team's letter at a stage: its slug, or `{ team, dri, note }` for a DRI (who must be
/// a member of the team) or a note.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Owner {
    /// Just the team.
    Team(String),
    /// The team with its DRI or note.
    Detailed(OwnerDetail),
}

/// A team's letter with its DRI and note.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnerDetail {
    pub team: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Owner {
    /// The team's slug.
    pub fn team(&self) -> &str {
        match self {
            Owner::Team(t) => t,
            Owner::Detailed(d) => &d.team,
        }
    }

    /// The DRI named on this letter itself.
    pub fn dri(&self) -> Option<&str> {
        match self {
            Owner::Team(_) => None,
            Owner::Detailed(d) => d.dri.as_deref(),
        }
    }

    /// The note on this letter.
    pub fn note(&self) -> Option<&str> {
        match self {
            Owner::Team(_) => None,
            Owner::Detailed(d) => d.note.as_deref(),
        }
    }
}

// By hand rather than `untagged`, so that a mistyped key inside `{ team, dri, note }` is
// reported by name instead of as "did not match any variant".
impl<'de> Deserialize<'de> for Owner {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Owner;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a team slug or { team, dri, note }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Owner, E> {
                Ok(Owner::Team(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Owner, A::Error> {
                OwnerDetail::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Owner::Detailed)
            }
        }
        deserializer.deserialize_any(Visit)
    }
}
