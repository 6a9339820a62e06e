//! Personas: create, change, archive and delete one. A persona is an aggregate with its roles
//! ([`role`]), its links to other personas ([`link`]) and its product relevance; a change to
//! any of them advances the persona's version once.

pub mod link;
pub mod role;

use super::audit::{Subject, snapshot, snapshot_with};
use super::change::{Aggregate, Change, Command, stale};
use super::journey::narrowing;
use super::link::remove_links_of;
use super::types::{LongText, Name, ShortText, Slug, TextList, Url, text_of};
use crate::error::{AppError, AppResult};
use entity::enums::{PainIntensity, PersonaKind, Provenance, Status, SubjectType, ValuePropScope};
use entity::{persona, role as role_row};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

/// Creates a persona with its roles.
#[derive(Debug, Clone)]
pub struct CreatePersona {
    /// Kebab-case key, unique and immutable.
    pub slug: Slug,
    /// Display name.
    pub name: Name,
    /// Developer, buyer or admin.
    pub kind: PersonaKind,
    /// Whether it is in use.
    pub status: Status,
    /// One-line summary.
    pub summary: Option<ShortText>,
    /// Longer description.
    pub description: Option<LongText>,
    /// The pains it feels.
    pub pain_points: TextList,
    /// What motivates it.
    pub motivations: TextList,
    /// How acutely it feels the pain.
    pub pain_intensity: Option<PainIntensity>,
    /// The source's words on the pain intensity.
    pub pain_intensity_note: Option<ShortText>,
    /// How broad the value proposition is.
    pub value_prop_scope: Option<ValuePropScope>,
    /// Position in the default ordering.
    pub sort_order: i32,
    /// The page it is described on.
    pub source_url: Option<Url>,
    /// Example job titles, in order (unique ignoring case: `roles[i]` names a repeat).
    pub roles: Vec<Name>,
    /// Where it comes from: an editor, or the source a catalog file names.
    pub provenance: Provenance,
}

/// Changes a persona's own fields; `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone)]
pub struct UpdatePersona {
    /// The persona's slug.
    pub slug: String,
    /// The version the editor last read: `CONFLICT` when it is not the current one.
    pub expected_version: i32,
    /// New display name.
    pub name: Option<Name>,
    /// New kind; every journey narrowed to the persona must be of it.
    pub kind: Option<PersonaKind>,
    /// New status.
    pub status: Option<Status>,
    /// New summary.
    pub summary: Option<Option<ShortText>>,
    /// New description.
    pub description: Option<Option<LongText>>,
    /// New pain points (replaces the list).
    pub pain_points: Option<TextList>,
    /// New motivations (replaces the list).
    pub motivations: Option<TextList>,
    /// New pain intensity.
    pub pain_intensity: Option<Option<PainIntensity>>,
    /// New pain-intensity note.
    pub pain_intensity_note: Option<Option<ShortText>>,
    /// New value-proposition scope.
    pub value_prop_scope: Option<Option<ValuePropScope>>,
    /// New sort order.
    pub sort_order: Option<i32>,
    /// New source URL.
    pub source_url: Option<Option<Url>>,
}

/// Marks a persona archived; it stays readable.
#[derive(Debug, Clone)]
pub struct ArchivePersona {
    /// The persona's slug.
    pub slug: String,
    /// The version the editor last read, if the archive must not override a newer change.
    pub expected_version: Option<i32>,
}

/// Deletes a persona with its roles, links, alignments and relevance.
#[derive(Debug, Clone)]
pub struct DeletePersona {
    /// The persona's slug.
    pub slug: String,
}

impl Command for CreatePersona {
    type Output = persona::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<persona::Model> {
        role::check_titles(&self.roles)?;
        let now = change.now();
        let slug = self.slug.as_str();
        let row = persona::ActiveModel {
            slug: Set(slug.to_owned()),
            name: Set(self.name.to_string()),
            kind: Set(self.kind),
            status: Set(self.status),
            summary: Set(text_of(self.summary.clone())),
            description: Set(text_of(self.description.clone())),
            pain_points: Set(self.pain_points.to_json()),
            motivations: Set(self.motivations.to_json()),
            pain_intensity: Set(self.pain_intensity),
            pain_intensity_note: Set(text_of(self.pain_intensity_note.clone())),
            value_prop_scope: Set(self.value_prop_scope),
            sort_order: Set(self.sort_order),
            provenance: Set(self.provenance),
            source_url: Set(self.source_url.as_ref().map(ToString::to_string)),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(change.db())
        .await
        .map_err(|e| {
            AppError::on_unique(e, format!("a persona with slug {slug} already exists"))
        })?;
        // Its roles are part of its first version.
        change.new_aggregate(Aggregate::Persona(row.id));
        let roles = role::insert_all(change, row.id, &self.roles).await?;
        let after = snapshot_with(&row, &[("roles", snapshot(&roles))]);
        change
            .created("createPersona", Subject::persona(&row), &after)
            .await?;
        Ok(row)
    }
}

impl Command for UpdatePersona {
    type Output = persona::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<persona::Model> {
        use persona::Column as C;
        let current = super::find::persona_by_slug(change.db(), &self.slug).await?;
        if let Some(kind) = self.kind {
            narrowing::check_persona_kind(change.db(), &current, kind).await?;
        }
        // Versions only grow, so when the version read is the expected one and the version
        // check below passes, `current` is exactly the row this change changes: the history's
        // `before`.
        if current.version != self.expected_version {
            return Err(stale("persona", &self.slug, current.version));
        }
        change
            .touch_at(
                Aggregate::Persona(current.id),
                &self.slug,
                self.expected_version,
            )
            .await?;
        let mut cols: Vec<(C, Expr)> = Vec::new();
        if let Some(v) = &self.name {
            cols.push((C::Name, Expr::value(v.to_string())));
        }
        if let Some(v) = self.kind {
            cols.push((C::Kind, Expr::value(v)));
        }
        if let Some(v) = self.status {
            cols.push((C::Status, Expr::value(v)));
        }
        if let Some(v) = &self.summary {
            cols.push((C::Summary, Expr::value(text_of(v.clone()))));
        }
        if let Some(v) = &self.description {
            cols.push((C::Description, Expr::value(text_of(v.clone()))));
        }
        if let Some(v) = &self.pain_points {
            cols.push((C::PainPoints, Expr::value(v.to_json())));
        }
        if let Some(v) = &self.motivations {
            cols.push((C::Motivations, Expr::value(v.to_json())));
        }
        if let Some(v) = self.pain_intensity {
            cols.push((C::PainIntensity, Expr::value(v)));
        }
        if let Some(v) = &self.pain_intensity_note {
            cols.push((C::PainIntensityNote, Expr::value(text_of(v.clone()))));
        }
        if let Some(v) = self.value_prop_scope {
            cols.push((C::ValuePropScope, Expr::value(v)));
        }
        if let Some(v) = self.sort_order {
            cols.push((C::SortOrder, Expr::value(v)));
        }
        if let Some(v) = &self.source_url {
            cols.push((
                C::SourceUrl,
                Expr::value(v.as_ref().map(ToString::to_string)),
            ));
        }
        if !cols.is_empty() {
            let mut update = persona::Entity::update_many().filter(C::Id.eq(current.id));
            for (col, value) in cols {
                update = update.col_expr(col, value);
            }
            update.exec(change.db()).await?;
        }
        let row = reload(change.db(), current.id).await?;
        change
            .updated("updatePersona", Subject::persona(&row), &current, &row)
            .await?;
        Ok(row)
    }
}

impl Command for ArchivePersona {
    type Output = persona::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<persona::Model> {
        use persona::Column as C;
        let current = super::find::persona_by_slug(change.db(), &self.slug).await?;
        // Locked now rather than by the update, so `current` is what the update changes.
        let current = persona::Entity::find_by_id(current.id)
            .lock(LockType::NoKeyUpdate)
            .one(change.db())
            .await?
            .ok_or_else(|| AppError::not_found("persona", &self.slug))?;
        let aggregate = Aggregate::Persona(current.id);
        change
            .touch_expecting(aggregate, &self.slug, self.expected_version)
            .await?;
        persona::Entity::update_many()
            .col_expr(C::Status, Expr::value(Status::Archived))
            .filter(C::Id.eq(current.id))
            .exec(change.db())
            .await?;
        let row = reload(change.db(), current.id).await?;
        change
            .updated("archivePersona", Subject::persona(&row), &current, &row)
            .await?;
        Ok(row)
    }
}

impl Command for DeletePersona {
    type Output = persona::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<persona::Model> {
        let found = super::find::persona_by_slug(change.db(), &self.slug).await?;
        let current = narrowing::release_persona(change, &found).await?;
        touch_neighbours(change, current.id).await?;
        remove_links_of(change, SubjectType::Persona, [current.id]).await?;
        let roles = role_row::Entity::find()
            .filter(role_row::Column::PersonaId.eq(current.id))
            .order_by_asc(role_row::Column::SortOrder)
            .all(change.db())
            .await?;
        // Roles, links between personas, alignments, relevance and narrowing rows go by
        // foreign-key cascade.
        persona::Entity::delete_by_id(current.id)
            .exec(change.db())
            .await?;
        let before = snapshot_with(&current, &[("roles", snapshot(&roles))]);
        change
            .deleted("deletePersona", Subject::persona(&current), &before)
            .await?;
        Ok(current)
    }
}

/// The aggregates that lose a part when persona `id` goes: the teams aligned to it and the
/// personas whose links point at it (the cascade removes those rows), each touched once, in
/// ID order. Run with the persona locked, so no new alignment or link to it can start.
async fn touch_neighbours(change: &mut Change, id: i32) -> AppResult<()> {
    use entity::{persona_link, team, team_persona_alignment as alignment};
    let team_ids: Vec<i32> = alignment::Entity::find()
        .filter(alignment::Column::PersonaId.eq(id))
        .all(change.db())
        .await?
        .into_iter()
        .map(|a| a.team_id)
        .collect();
    let teams = team::Entity::find()
        .filter(team::Column::Id.is_in(team_ids))
        .order_by_asc(team::Column::Id)
        .all(change.db())
        .await?;
    for t in teams {
        change.touch(Aggregate::Team(t.id), &t.slug).await?;
    }
    let from_ids: Vec<i32> = persona_link::Entity::find()
        .filter(persona_link::Column::ToPersonaId.eq(id))
        .filter(persona_link::Column::FromPersonaId.ne(id))
        .all(change.db())
        .await?
        .into_iter()
        .map(|l| l.from_persona_id)
        .collect();
    let personas = persona::Entity::find()
        .filter(persona::Column::Id.is_in(from_ids))
        .order_by_asc(persona::Column::Id)
        .all(change.db())
        .await?;
    for p in personas {
        change.touch(Aggregate::Persona(p.id), &p.slug).await?;
    }
    Ok(())
}

/// Reads persona `id` back inside the change.
pub(crate) async fn reload(db: &impl ConnectionTrait, id: i32) -> AppResult<persona::Model> {
    persona::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("persona", id))
}

#[cfg(test)]
mod tests;
