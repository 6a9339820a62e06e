//! Personas, their roles and links: the `Persona`, `Role` and `PersonaLink` objects, their
//! queries and their mutations.

use super::enums::{
    OrderDirection, PainIntensity, PersonaKind, PersonaLinkKind, Provenance, Status, ValuePropScope,
};
use super::external_link::ExternalLink;
use super::journey::{Journey, touch};
use super::loaders::{
    AlignmentsByPersona, JourneyPersonasByJourney, JourneysByKind, LinksByFromPersona,
    LinksBySubject, PersonaById, RelevancesByPersona, RolesByPersona,
};
use super::ownership::TeamAlignment;
use super::pagination::{self, Conn, Ordering, PageArgs, SortValue};
use super::product::ProductRelevance;
use super::{begin_write, db, history, id, loader, referenced, related, validate};
use crate::domain::audit::{self, Actor, Event, Subject};
use crate::error::{AppError, AppResult};
use async_graphql::{
    Context, ID, InputObject, MaybeUndefined, Object, Result, ResultExt, SimpleObject,
};
use chrono::{DateTime, Utc};
use entity::audit_event::AuditSubject;
use entity::{enums, journey, journey_persona, persona, persona_link, role};
use sea_orm::sea_query::{Expr, ExprTrait, LockType, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashSet;

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
        related(ctx, RelevancesByPersona(self.0.id), ProductRelevance).await
    }
    /// Teams aligned to this persona.
    async fn aligned_teams(&self, ctx: &Context<'_>) -> Result<Vec<TeamAlignment>> {
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

/// Which personas to list.
#[derive(InputObject, Default)]
pub struct PersonaFilter {
    /// Only personas of this kind.
    pub kind: Option<PersonaKind>,
    /// Only personas with this status.
    pub status: Option<Status>,
    /// Only personas whose slug, name or summary contains this text (case-insensitive).
    pub search: Option<String>,
}

/// What personas can be ordered by.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum PersonaOrderField {
    /// The catalog's own order.
    #[default]
    SortOrder,
    /// Display name.
    Name,
    /// Slug.
    Slug,
}

/// The order of a persona list.
#[derive(InputObject, Default)]
pub struct PersonaOrder {
    /// The field to order by.
    #[graphql(default)]
    pub field: PersonaOrderField,
    /// Ascending or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Persona queries.
#[derive(Default)]
pub struct PersonaQuery;

#[Object]
impl PersonaQuery {
    /// One persona by slug, or null.
    async fn persona(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The persona's slug.")] slug: String,
    ) -> Result<Option<Persona>> {
        let db = db(ctx).extend()?;
        let find = persona::Entity::find().filter(persona::Column::Slug.eq(slug));
        if !ctx.look_ahead().field("roles").exists() {
            let row = find.one(db).await;
            return Ok(row.map_err(AppError::from).extend()?.map(Persona));
        }
        // The persona and its roles in one statement; the roles go into the request's loader,
        // where the `roles` field finds them.
        let rows = find
            .find_with_related(role::Entity)
            .order_by_asc(role::Column::SortOrder)
            .order_by_asc(role::Column::Id)
            .all(db)
            .await
            .map_err(AppError::from)
            .extend()?;
        let Some((persona, roles)) = rows.into_iter().next() else {
            return Ok(None);
        };
        loader(ctx)
            .extend()?
            .feed_one(RolesByPersona(persona.id), roles)
            .await;
        Ok(Some(Persona(persona)))
    }

    /// Personas, filtered and ordered, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn personas(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which personas to list.")] filter: Option<PersonaFilter>,
        #[graphql(desc = "The order of the list; by sort order when omitted.")] order_by: Option<
            PersonaOrder,
        >,
        #[graphql(desc = "Items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items before this cursor.")] before: Option<String>,
        #[graphql(desc = "At most this many items from the start (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "At most this many items from the end (at most 100).")] last: Option<i32>,
    ) -> Result<Conn<Persona>> {
        let db = db(ctx).extend()?;
        let f = filter.unwrap_or_default();
        let mut q = persona::Entity::find();
        if let Some(k) = f.kind {
            q = q.filter(persona::Column::Kind.eq(enums::PersonaKind::from(k)));
        }
        if let Some(s) = f.status {
            q = q.filter(persona::Column::Status.eq(enums::Status::from(s)));
        }
        if let Some(s) = f.search.as_deref().filter(|s| !s.is_empty()) {
            crate::graphql::validate::search("filter.search", s).extend()?;
            use persona::Column as C;
            q = q.filter(pagination::text_search(s, &[C::Slug, C::Name, C::Summary]));
        }
        let order = order_by.unwrap_or_default();
        let descending = order.direction == OrderDirection::Desc;
        let ordering = match order.field {
            PersonaOrderField::SortOrder => Ordering {
                column: persona::Column::SortOrder,
                id_column: persona::Column::Id,
                descending,
                key: |m: &persona::Model| SortValue::Int(m.sort_order.into()),
            },
            PersonaOrderField::Name => Ordering {
                column: persona::Column::Name,
                id_column: persona::Column::Id,
                descending,
                key: |m: &persona::Model| SortValue::Text(m.name.clone()),
            },
            PersonaOrderField::Slug => Ordering {
                column: persona::Column::Slug,
                id_column: persona::Column::Id,
                descending,
                key: |m: &persona::Model| SortValue::Text(m.slug.clone()),
            },
        };
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        pagination::paginate(db, q, ordering, args, Persona)
            .await
            .extend()
    }
}

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

/// Result of `createPersona`.
#[derive(SimpleObject)]
pub struct CreatePersonaPayload {
    /// The new persona.
    pub persona: Persona,
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

/// Result of `updatePersona`, `archivePersona`.
#[derive(SimpleObject)]
pub struct UpdatePersonaPayload {
    /// The persona as it is now.
    pub persona: Persona,
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

/// Result of a delete.
#[derive(SimpleObject)]
pub struct DeletePayload {
    /// The global ID of what was deleted.
    pub deleted_id: ID,
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

/// Result of `addRole` and `updateRole`.
#[derive(SimpleObject)]
pub struct RolePayload {
    /// The role as it is now.
    pub role: Role,
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

/// Result of `linkPersonas`.
#[derive(SimpleObject)]
pub struct LinkPersonasPayload {
    /// The new link.
    pub link: PersonaLink,
}

/// Input of `unlinkPersonas`.
#[derive(InputObject)]
pub struct UnlinkPersonasInput {
    /// The link's ID.
    pub id: ID,
}

/// Reads the updated persona back inside the transaction.
async fn reload(db: &impl ConnectionTrait, id: i32) -> AppResult<persona::Model> {
    persona::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("persona", id))
}

fn json_list(items: Vec<String>) -> serde_json::Value {
    serde_json::Value::Array(items.into_iter().map(serde_json::Value::String).collect())
}

fn check_duplicate_titles(titles: &[String]) -> AppResult<()> {
    for (i, t) in titles.iter().enumerate() {
        if titles[..i]
            .iter()
            .any(|o| o.to_lowercase() == t.to_lowercase())
        {
            return Err(AppError::bad_input(
                format!("roles[{i}]"),
                "must not repeat another role",
            ));
        }
    }
    Ok(())
}

async fn create_persona(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: CreatePersonaInput,
) -> AppResult<persona::Model> {
    let slug = validate::slug("slug", &input.slug)?;
    let name = validate::name("name", &input.name)?;
    let summary = validate::optional("summary", input.summary.as_deref(), validate::TEXT_MAX)?;
    let description = validate::optional(
        "description",
        input.description.as_deref(),
        validate::LONG_TEXT_MAX,
    )?;
    let pain_points = validate::text_list("painPoints", &input.pain_points)?;
    let motivations = validate::text_list("motivations", &input.motivations)?;
    let note = validate::optional(
        "painIntensityNote",
        input.pain_intensity_note.as_deref(),
        validate::TEXT_MAX,
    )?;
    let source_url = input
        .source_url
        .as_deref()
        .map(|u| validate::url("sourceUrl", u))
        .transpose()?;
    let roles = input
        .roles
        .iter()
        .enumerate()
        .map(|(i, t)| validate::name(&format!("roles[{i}]"), t))
        .collect::<AppResult<Vec<_>>>()?;
    check_duplicate_titles(&roles)?;

    let txn = begin_write(db).await?;
    let now = Utc::now();
    let row = persona::ActiveModel {
        slug: Set(slug.clone()),
        name: Set(name),
        kind: Set(input.kind.into()),
        status: Set(input.status.unwrap_or(Status::Active).into()),
        summary: Set(summary),
        description: Set(description),
        pain_points: Set(json_list(pain_points)),
        motivations: Set(json_list(motivations)),
        pain_intensity: Set(input.pain_intensity.map(Into::into)),
        pain_intensity_note: Set(note),
        value_prop_scope: Set(input.value_prop_scope.map(Into::into)),
        sort_order: Set(input.sort_order),
        provenance: Set(enums::Provenance::Editor),
        source_url: Set(source_url),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::on_unique(e, format!("a persona with slug {slug} already exists")))?;
    let mut created_roles = Vec::with_capacity(roles.len());
    for (i, title) in roles.into_iter().enumerate() {
        let r = role::ActiveModel {
            persona_id: Set(row.id),
            title: Set(title),
            sort_order: Set(i as i32 + 1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        created_roles.push(r);
    }
    let after = audit::snapshot_with(&row, &[("roles", audit::snapshot(&created_roles))]);
    let change = Event::created("createPersona", Subject::persona(&row), after);
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn update_persona(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: UpdatePersonaInput,
) -> AppResult<persona::Model> {
    use persona::Column as C;
    let mut update = persona::Entity::update_many()
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .col_expr(C::UpdatedAt, Expr::value(Utc::now()));
    if let Some(v) = &input.name {
        update = update.col_expr(C::Name, Expr::value(validate::name("name", v)?));
    }
    if let Some(v) = input.status {
        update = update.col_expr(C::Status, Expr::value(enums::Status::from(v)));
    }
    if let Some(v) = text_change("summary", &input.summary, validate::TEXT_MAX)? {
        update = update.col_expr(C::Summary, Expr::value(v));
    }
    if let Some(v) = text_change("description", &input.description, validate::LONG_TEXT_MAX)? {
        update = update.col_expr(C::Description, Expr::value(v));
    }
    if let Some(v) = &input.pain_points {
        update = update.col_expr(
            C::PainPoints,
            Expr::value(json_list(validate::text_list("painPoints", v)?)),
        );
    }
    if let Some(v) = &input.motivations {
        update = update.col_expr(
            C::Motivations,
            Expr::value(json_list(validate::text_list("motivations", v)?)),
        );
    }
    if let Some(v) = enum_change(&input.pain_intensity) {
        update = update.col_expr(
            C::PainIntensity,
            Expr::value(v.map(enums::PainIntensity::from)),
        );
    }
    if let Some(v) = text_change(
        "painIntensityNote",
        &input.pain_intensity_note,
        validate::TEXT_MAX,
    )? {
        update = update.col_expr(C::PainIntensityNote, Expr::value(v));
    }
    if let Some(v) = enum_change(&input.value_prop_scope) {
        update = update.col_expr(
            C::ValuePropScope,
            Expr::value(v.map(enums::ValuePropScope::from)),
        );
    }
    if let Some(v) = input.sort_order {
        update = update.col_expr(C::SortOrder, Expr::value(v));
    }
    match &input.source_url {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => {
            update = update.col_expr(C::SourceUrl, Expr::value(Option::<String>::None))
        }
        MaybeUndefined::Value(u) => {
            update = update.col_expr(C::SourceUrl, Expr::value(validate::url("sourceUrl", u)?))
        }
    }

    let txn = begin_write(db).await?;
    let current = crate::domain::find::persona_by_slug(&txn, &input.slug).await?;
    if let Some(k) = input.kind.map(enums::PersonaKind::from) {
        // The mirror of updateJourney's rule on personaKind: a journey narrowed to this persona
        // shows only to personas of its own kind, so a new kind would silently hide it.
        let lock = lock_persona(&txn, current.id, &input.slug).await?;
        let other_kind = journey::Entity::find()
            .filter(journey::Column::Id.in_subquery(narrowed_by(lock.id)))
            .filter(journey::Column::PersonaKind.ne(k))
            .order_by_asc(journey::Column::Slug)
            .one(&txn)
            .await?;
        if let Some(j) = other_kind {
            return Err(AppError::bad_input(
                "kind",
                format!(
                    "journey {} (for {} personas) is narrowed to this persona; change its personas first",
                    j.slug,
                    j.persona_kind.as_str()
                ),
            ));
        }
        update = update.col_expr(C::Kind, Expr::value(k));
    }
    // Versions only grow, so when the version read is the expected one and the update below
    // matches it, `current` is exactly the row the update changed: the history's `before`.
    if current.version != input.expected_version {
        return Err(stale("persona", &input.slug, current.version));
    }
    let result = update
        .filter(C::Id.eq(current.id))
        .filter(C::Version.eq(input.expected_version))
        .exec(&txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(stale("persona", &input.slug, current.version));
    }
    let row = reload(&txn, current.id).await?;
    let change = Event::updated(
        "updatePersona",
        Subject::persona(&row),
        audit::snapshot(&current),
        audit::snapshot(&row),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

/// The `CONFLICT` of an update whose `expectedVersion` is not the current one.
pub fn stale(what: &str, key: &str, current: i32) -> AppError {
    AppError::conflict(format!(
        "{what} {key} was changed by someone else (current version {current}); reload it and retry"
    ))
}

/// A change to an optional text field: `None` when the field was left out.
pub fn text_change(
    field: &str,
    v: &MaybeUndefined<String>,
    max: usize,
) -> AppResult<Option<Option<String>>> {
    match v {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(s) => Ok(Some(validate::optional(field, Some(s), max)?)),
    }
}

/// A change to an optional enum field: `None` when the field was left out.
pub fn enum_change<T: Copy>(v: &MaybeUndefined<T>) -> Option<Option<T>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(x) => Some(Some(*x)),
    }
}

async fn archive_persona(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: ArchivePersonaInput,
) -> AppResult<persona::Model> {
    use persona::Column as C;
    let txn = begin_write(db).await?;
    let current = crate::domain::find::persona_by_slug(&txn, &input.slug).await?;
    // Locked now rather than by the update, so `current` is what the update changes.
    let current = persona::Entity::find_by_id(current.id)
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("persona", &input.slug))?;
    let mut update = persona::Entity::update_many()
        .col_expr(C::Status, Expr::value(enums::Status::Archived))
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .col_expr(C::UpdatedAt, Expr::value(Utc::now()))
        .filter(C::Id.eq(current.id));
    if let Some(v) = input.expected_version {
        update = update.filter(C::Version.eq(v));
    }
    if update.exec(&txn).await?.rows_affected == 0 {
        return Err(stale("persona", &input.slug, current.version));
    }
    let row = reload(&txn, current.id).await?;
    let change = Event::updated(
        "archivePersona",
        Subject::persona(&row),
        audit::snapshot(&current),
        audit::snapshot(&row),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

/// The IDs of the journeys narrowed to persona `persona_id`, as a subquery.
fn narrowed_by(persona_id: i32) -> SelectStatement {
    Query::select()
        .column(journey_persona::Column::JourneyId)
        .from(journey_persona::Entity)
        .and_where(Expr::col(journey_persona::Column::PersonaId).eq(persona_id))
        .to_owned()
}

/// Reads persona `id` again with a row lock (on PostgreSQL; SQLite's writers are serialised
/// already). Narrowing a journey to the persona takes a key-share lock on it through the
/// foreign key, so while this lock is held no narrowing to it can start, and those that
/// started first have committed and are visible to the statements that follow.
async fn lock_persona(db: &impl ConnectionTrait, id: i32, slug: &str) -> AppResult<persona::Model> {
    persona::Entity::find_by_id(id)
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("persona", slug))
}

/// The journeys narrowed to persona `persona_id`, by ID, locked (on PostgreSQL).
async fn narrowed_journeys(
    db: &impl ConnectionTrait,
    persona_id: i32,
) -> AppResult<Vec<journey::Model>> {
    Ok(journey::Entity::find()
        .filter(journey::Column::Id.in_subquery(narrowed_by(persona_id)))
        .order_by_asc(journey::Column::Id)
        .lock_exclusive()
        .all(db)
        .await?)
}

/// The CONFLICT of deleting the only persona that journeys `sole` are narrowed to.
fn sole_persona_of(persona: &str, sole: &[journey::Model]) -> AppError {
    let slugs: Vec<&str> = sole.iter().map(|j| j.slug.as_str()).collect();
    let (journeys, are, it, its) = match slugs.as_slice() {
        [one] => (format!("journey {one}"), "is", "it", "its"),
        _ => (
            format!("journeys {}", slugs.join(", ")),
            "are",
            "them",
            "their",
        ),
    };
    AppError::conflict(format!(
        "{journeys} {are} narrowed to persona {persona} alone, and deleting the persona would open \
         {it} to every persona of {its} kind; narrow {it} to other personas or clear {its} \
         narrowing first"
    ))
}

async fn delete_persona(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: DeletePersonaInput,
) -> AppResult<ID> {
    let txn = begin_write(db).await?;
    let current = crate::domain::find::persona_by_slug(&txn, &input.slug).await?;
    // Journeys before the persona: setJourneyPersonas locks its journey and then, through the
    // foreign key, the persona, so taking the two in the same order cannot deadlock.
    narrowed_journeys(&txn, current.id).await?;
    let current = lock_persona(&txn, current.id, &input.slug).await?;
    // Read again now that no narrowing to the persona can be under way.
    let journeys = narrowed_journeys(&txn, current.id).await?;
    let shared: HashSet<i32> = journey_persona::Entity::find()
        .select_only()
        .column(journey_persona::Column::JourneyId)
        .filter(journey_persona::Column::JourneyId.is_in(journeys.iter().map(|j| j.id)))
        .filter(journey_persona::Column::PersonaId.ne(current.id))
        .into_tuple::<i32>()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    let (shared, sole): (Vec<_>, Vec<_>) =
        journeys.into_iter().partition(|j| shared.contains(&j.id));
    // The cascade would leave such a journey narrowed to nobody, which means open to all.
    if !sole.is_empty() {
        return Err(sole_persona_of(&current.slug, &sole));
    }
    // Their narrowing loses a persona: a change to the journey aggregate.
    for j in &shared {
        touch(&txn, j).await?;
    }
    entity::external_link::Entity::delete_many()
        .filter(entity::external_link::Column::SubjectType.eq(enums::SubjectType::Persona))
        .filter(entity::external_link::Column::SubjectId.eq(current.id))
        .exec(&txn)
        .await?;
    let roles = role::Entity::find()
        .filter(role::Column::PersonaId.eq(current.id))
        .order_by_asc(role::Column::SortOrder)
        .all(&txn)
        .await?;
    persona::Entity::delete_by_id(current.id).exec(&txn).await?;
    let before = audit::snapshot_with(&current, &[("roles", audit::snapshot(&roles))]);
    let change = Event::deleted("deletePersona", Subject::persona(&current), before);
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(id::encode("Persona", current.id))
}

async fn add_role(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: AddRoleInput,
) -> AppResult<role::Model> {
    let title = validate::name("title", &input.title)?;
    let txn = begin_write(db).await?;
    let persona = crate::domain::find::persona_by_slug(&txn, &input.persona).await?;
    let existing = role::Entity::find()
        .filter(role::Column::PersonaId.eq(persona.id))
        .order_by_desc(role::Column::SortOrder)
        .all(&txn)
        .await?;
    if existing
        .iter()
        .any(|r| r.title.to_lowercase() == title.to_lowercase())
    {
        return Err(AppError::conflict(format!(
            "persona {} already has the role {title}",
            persona.slug
        )));
    }
    let sort_order = input
        .sort_order
        .unwrap_or_else(|| existing.first().map_or(1, |r| r.sort_order + 1));
    let now = Utc::now();
    let row = role::ActiveModel {
        persona_id: Set(persona.id),
        title: Set(title.clone()),
        sort_order: Set(sort_order),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        AppError::on_unique(
            e,
            format!("persona {} already has the role {title}", persona.slug),
        )
    })?;
    let change = Event::created("addRole", Subject::persona(&persona), audit::snapshot(&row));
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn update_role(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: UpdateRoleInput,
) -> AppResult<role::Model> {
    let role_id = id::decode_as(&input.id, "Role", "id")?;
    let title = input
        .title
        .as_deref()
        .map(|t| validate::name("title", t))
        .transpose()?;
    let txn = begin_write(db).await?;
    let current = role::Entity::find_by_id(role_id)
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("role", &*input.id))?;
    let before = audit::snapshot(&current);
    let mut active = current.into_active_model();
    if let Some(t) = title.clone() {
        active.title = Set(t);
    }
    if let Some(s) = input.sort_order {
        active.sort_order = Set(s);
    }
    active.updated_at = Set(Utc::now());
    let row = active.update(&txn).await.map_err(|e| {
        AppError::on_unique(
            e,
            format!(
                "the persona already has the role {}",
                title.unwrap_or_default()
            ),
        )
    })?;
    let subject = Subject::load(&txn, AuditSubject::Persona, row.persona_id).await?;
    let change = Event::updated("updateRole", subject, before, audit::snapshot(&row));
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn remove_role(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: RemoveRoleInput,
) -> AppResult<ID> {
    let role_id = id::decode_as(&input.id, "Role", "id")?;
    let txn = begin_write(db).await?;
    // Locked as the delete would lock it, so the history records what was deleted.
    let current = role::Entity::find_by_id(role_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("role", &*input.id))?;
    let subject = Subject::load(&txn, AuditSubject::Persona, current.persona_id).await?;
    let res = role::Entity::delete_by_id(role_id).exec(&txn).await?;
    if res.rows_affected == 0 {
        return Err(AppError::not_found("role", &*input.id));
    }
    let change = Event::deleted("removeRole", subject, audit::snapshot(&current));
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(input.id)
}

async fn link_personas(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: LinkPersonasInput,
) -> AppResult<persona_link::Model> {
    if input.from == input.to {
        return Err(AppError::bad_input(
            "to",
            "must be a different persona than from",
        ));
    }
    let note = validate::optional("note", input.note.as_deref(), validate::TEXT_MAX)?;
    let txn = begin_write(db).await?;
    let from = crate::domain::find::persona_by_slug(&txn, &input.from).await?;
    let to = crate::domain::find::persona_by_slug(&txn, &input.to).await?;
    let now = Utc::now();
    let row = persona_link::ActiveModel {
        from_persona_id: Set(from.id),
        to_persona_id: Set(to.id),
        kind: Set(input.kind.into()),
        note: Set(note),
        provenance: Set(enums::Provenance::Editor),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        AppError::on_unique(
            e,
            format!("{} is already linked to {} that way", from.slug, to.slug),
        )
    })?;
    let after = audit::snapshot_with(
        &row,
        &[
            ("from", from.slug.clone().into()),
            ("to", to.slug.clone().into()),
        ],
    );
    let change = Event::created("linkPersonas", Subject::persona(&from), after);
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn unlink_personas(
    db: &sea_orm::DatabaseConnection,
    actor: &Actor,
    input: UnlinkPersonasInput,
) -> AppResult<ID> {
    let link_id = id::decode_as(&input.id, "PersonaLink", "id")?;
    let txn = begin_write(db).await?;
    let current = persona_link::Entity::find_by_id(link_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("persona link", &*input.id))?;
    let from = Subject::load(&txn, AuditSubject::Persona, current.from_persona_id).await?;
    let to = Subject::load(&txn, AuditSubject::Persona, current.to_persona_id).await?;
    let res = persona_link::Entity::delete_by_id(link_id)
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::not_found("persona link", &*input.id));
    }
    let before = audit::snapshot_with(
        &current,
        &[("from", from.key.clone().into()), ("to", to.key.into())],
    );
    let change = Event::deleted("unlinkPersonas", from, before);
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(input.id)
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
        let row = create_persona(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
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
        let row = update_persona(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
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
        let row = archive_persona(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
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
        let deleted_id = delete_persona(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(DeletePayload { deleted_id })
    }
    /// Adds an example job title to a persona.
    async fn add_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: AddRoleInput,
    ) -> Result<RolePayload> {
        let row = add_role(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(RolePayload { role: Role(row) })
    }
    /// Renames or reorders a role.
    async fn update_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: UpdateRoleInput,
    ) -> Result<RolePayload> {
        let row = update_role(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(RolePayload { role: Role(row) })
    }
    /// Removes a role.
    async fn remove_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: RemoveRoleInput,
    ) -> Result<DeletePayload> {
        let deleted_id = remove_role(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(DeletePayload { deleted_id })
    }
    /// Links one persona to another.
    async fn link_personas(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change; see the input type.")] input: LinkPersonasInput,
    ) -> Result<LinkPersonasPayload> {
        let row = link_personas(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
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
        let deleted_id = unlink_personas(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(DeletePayload { deleted_id })
    }
}
