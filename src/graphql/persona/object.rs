//! The `Persona`, `Role` and `PersonaLink` objects: what a persona shows, with its roles, its
//! links to other personas, and what it is related to.

use super::super::enums::{
    PainIntensity, PersonaKind, PersonaLinkKind, Provenance, Status, ValuePropScope,
};
use super::super::external_link::ExternalLink;
use super::super::journey::Journey;
use super::super::loaders::{
    AlignmentsByPersona, JourneyPersonasByJourney, JourneysByKind, LinksByFromPersona,
    LinksBySubject, PersonaById, ProductById, RelevancesByPersona, RolesByPersona, TeamById,
};
use super::super::ownership::TeamAlignment;
use super::super::pagination::Conn;
use super::super::product::ProductRelevance;
use super::super::{history, id, joined, loader, referenced, related};
use async_graphql::{Context, ID, Object, Result, ResultExt};
use chrono::{DateTime, Utc};
use entity::audit_event::AuditSubject;
use entity::{enums, persona, persona_link, product, role, team};

/// A go-to-market persona: the individual developer, or a buyer with example job titles.
pub struct Persona(pub persona::Model);

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A go-to-market persona: the individual developer, or a buyer with example job titles.
#[Object]
impl Persona {
    /// Global ID, usable with `node(id:)`.
    pub async fn id(&self) -> ID {
        id::encode("Persona", self.0.id)
    }
    /// Human key: kebab-case, unique, never changes.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Developer, buyer or admin.
    async fn kind(&self) -> PersonaKind {
        self.0.kind.into()
    }
    /// Whether the persona is in use.
    async fn status(&self) -> Status {
        self.0.status.into()
    }
    /// One-line summary.
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }
    /// Longer description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The pains this persona feels.
    async fn pain_points(&self) -> Vec<String> {
        strings(&self.0.pain_points)
    }
    /// What motivates this persona.
    async fn motivations(&self) -> Vec<String> {
        strings(&self.0.motivations)
    }
    /// How acutely the persona feels the pain, when known.
    async fn pain_intensity(&self) -> Option<PainIntensity> {
        self.0.pain_intensity.map(Into::into)
    }
    /// The handbook's words on the pain intensity.
    async fn pain_intensity_note(&self) -> Option<&str> {
        self.0.pain_intensity_note.as_deref()
    }
    /// How broad the value proposition is, when known.
    async fn value_prop_scope(&self) -> Option<ValuePropScope> {
        self.0.value_prop_scope.map(Into::into)
    }
    /// Position in the default ordering of personas.
    async fn sort_order(&self) -> i32 {
        self.0.sort_order
    }
    /// Where this persona comes from.
    async fn provenance(&self) -> Provenance {
        self.0.provenance.into()
    }
    /// The page this persona is described on.
    async fn source_url(&self) -> Option<&str> {
        self.0.source_url.as_deref()
    }
    /// Optimistic-concurrency version; pass it as `expectedVersion` when updating.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the persona was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the persona last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Example job titles, in order.
    async fn roles(&self, ctx: &Context<'_>) -> Result<Vec<Role>> {
        related(ctx, RolesByPersona(self.0.id), Role).await
    }
    /// Links from this persona to other personas.
    async fn links(&self, ctx: &Context<'_>) -> Result<Vec<PersonaLink>> {
        related(ctx, LinksByFromPersona(self.0.id), PersonaLink).await
    }
    /// How relevant each product is to this persona.
    async fn product_relevance(&self, ctx: &Context<'_>) -> Result<Vec<ProductRelevance>> {
        if joined::asks_for(ctx, &["product"]) {
            let key = joined::RelevancesByPersonaJoined(self.0.id);
            let rows = joined::with_one_fed(ctx, key, |p: &product::Model| ProductById(p.id))
                .await
                .extend()?;
            return Ok(rows.into_iter().map(ProductRelevance).collect());
        }
        related(ctx, RelevancesByPersona(self.0.id), ProductRelevance).await
    }
    /// Teams aligned to this persona.
    async fn aligned_teams(&self, ctx: &Context<'_>) -> Result<Vec<TeamAlignment>> {
        if joined::asks_for(ctx, &["team"]) {
            let key = joined::AlignmentsByPersonaJoined(self.0.id);
            let rows = joined::with_one_fed(ctx, key, |t: &team::Model| TeamById(t.id))
                .await
                .extend()?;
            return Ok(rows.into_iter().map(TeamAlignment).collect());
        }
        related(ctx, AlignmentsByPersona(self.0.id), TeamAlignment).await
    }
    /// Journeys this persona goes through: those of its kind, unless a journey is narrowed
    /// to other personas.
    async fn journeys(&self, ctx: &Context<'_>) -> Result<Vec<Journey>> {
        let loader = loader(ctx).extend()?;
        let journeys = loader
            .load_one(JourneysByKind(self.0.kind))
            .await
            .extend()?
            .unwrap_or_default();
        let narrowing = loader
            .load_many(journeys.iter().map(|j| JourneyPersonasByJourney(j.id)))
            .await
            .extend()?;
        Ok(journeys
            .into_iter()
            .filter(|j| match narrowing.get(&JourneyPersonasByJourney(j.id)) {
                Some(rows) if !rows.is_empty() => rows.iter().any(|r| r.persona_id == self.0.id),
                _ => true,
            })
            .map(Journey)
            .collect())
    }
    /// Documents about this persona.
    async fn external_links(&self, ctx: &Context<'_>) -> Result<Vec<ExternalLink>> {
        let key = LinksBySubject(enums::SubjectType::Persona, self.0.id);
        related(ctx, key, ExternalLink).await
    }
    /// Changes to this persona (its roles, links and product relevance too), newest first, a page at a time.
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many changes (at most 100; 20 by default).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Changes after (older than) this cursor.")] after: Option<String>,
    ) -> Result<Conn<history::AuditEvent>> {
        history::history(ctx, AuditSubject::Persona, self.0.id, first, after).await
    }
}

/// An example job title of a persona.
pub struct Role(pub role::Model);

/// An example job title of a persona.
#[Object]
impl Role {
    /// Global ID.
    pub async fn id(&self) -> ID {
        id::encode("Role", self.0.id)
    }
    /// The job title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Position among the persona's roles.
    async fn sort_order(&self) -> i32 {
        self.0.sort_order
    }
    /// The persona this title belongs to.
    async fn persona(&self, ctx: &Context<'_>) -> Result<Option<Persona>> {
        referenced(ctx, PersonaById(self.0.persona_id), Persona).await
    }
}

/// A directed link from one persona to another.
pub struct PersonaLink(pub persona_link::Model);

/// A directed link from one persona to another.
#[Object]
impl PersonaLink {
    /// Global ID.
    pub async fn id(&self) -> ID {
        id::encode("PersonaLink", self.0.id)
    }
    /// How the personas relate.
    async fn kind(&self) -> PersonaLinkKind {
        self.0.kind.into()
    }
    /// Free-text note on the link.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Where this link comes from.
    async fn provenance(&self) -> Provenance {
        self.0.provenance.into()
    }
    /// The persona the link starts from.
    async fn from(&self, ctx: &Context<'_>) -> Result<Option<Persona>> {
        referenced(ctx, PersonaById(self.0.from_persona_id), Persona).await
    }
    /// The persona the link points at.
    async fn to(&self, ctx: &Context<'_>) -> Result<Option<Persona>> {
        referenced(ctx, PersonaById(self.0.to_persona_id), Persona).await
    }
}
