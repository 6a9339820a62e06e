//! A journey's persona narrowing: the personas of its kind it applies to (none means all of
//! them). The rule "a narrowed journey matches its persona kind" is checked here from each
//! side that can break it (the narrowing, the journey's kind, a persona's kind), and deleting
//! a persona settles the journeys narrowed to it here.

use super::super::audit::Subject;
use super::super::change::{Aggregate, Change, Command};
use crate::error::{AppError, AppResult};
use entity::enums::PersonaKind;
use entity::{journey, journey_persona, persona};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use std::collections::HashSet;

/// Replaces the personas a journey is narrowed to; an empty list opens it to every persona
/// of its kind.
#[derive(Debug, Clone)]
pub struct SetJourneyPersonas {
    /// The journey's slug.
    pub journey: String,
    /// Slugs of the personas to narrow it to, as the caller gave them (each must exist, appear
    /// once and be of the journey's kind).
    pub personas: Vec<String>,
}

impl Command for SetJourneyPersonas {
    type Output = journey::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<journey::Model> {
        let current = super::super::find::journey_by_slug(change.db(), &self.journey).await?;
        // The journey first, then (FOR SHARE) its personas: deletePersona takes them in the
        // same order, so the two cannot deadlock.
        change
            .touch(Aggregate::Journey(current.id), &current.slug)
            .await?;
        let before = slugs_of(change.db(), current.id).await?;
        let personas = resolve(change.db(), current.persona_kind, &self.personas).await?;
        journey_persona::Entity::delete_many()
            .filter(journey_persona::Column::JourneyId.eq(current.id))
            .exec(change.db())
            .await?;
        insert(change, current.id, &personas).await?;
        let row = super::reload(change.db(), current.id).await?;
        let after = slugs_of(change.db(), current.id).await?;
        change
            .updated(
                "setJourneyPersonas",
                Subject::journey(&row),
                &serde_json::json!({ "personas": before }),
                &serde_json::json!({ "personas": after }),
            )
            .await?;
        Ok(row)
    }
}

/// Resolves the persona slugs of a narrowing for a journey of `kind`: each must exist, appear
/// once, and be of the journey's kind (`personas[i]` names the one that is not).
pub(crate) async fn resolve(
    db: &impl ConnectionTrait,
    kind: PersonaKind,
    slugs: &[String],
) -> AppResult<Vec<persona::Model>> {
    let mut personas: Vec<persona::Model> = Vec::with_capacity(slugs.len());
    for (i, slug) in slugs.iter().enumerate() {
        if slugs[..i].contains(slug) {
            return Err(AppError::bad_input(
                format!("personas[{i}]"),
                format!("repeats persona {slug}"),
            ));
        }
        // FOR SHARE on PostgreSQL: a concurrent updatePersona cannot change the kind checked
        // here until this transaction ends (SQLite serialises writers anyway).
        let p = persona::Entity::find()
            .filter(persona::Column::Slug.eq(slug.as_str()))
            .lock_shared()
            .one(db)
            .await?
            .ok_or_else(|| AppError::not_found("persona", slug))?;
        if p.kind != kind {
            return Err(AppError::bad_input(
                format!("personas[{i}]"),
                format!(
                    "persona {slug} is of kind {}, not the journey's kind {}",
                    p.kind.as_str(),
                    kind.as_str()
                ),
            ));
        }
        personas.push(p);
    }
    Ok(personas)
}

/// Narrows journey `journey_id` to `personas` (resolved by [`resolve`]).
pub(crate) async fn insert(
    change: &Change,
    journey_id: i32,
    personas: &[persona::Model],
) -> AppResult<()> {
    let now = change.now();
    for p in personas {
        journey_persona::ActiveModel {
            journey_id: Set(journey_id),
            persona_id: Set(p.id),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(change.db())
        .await?;
    }
    Ok(())
}

/// The slugs of the personas journey `journey_id` is narrowed to, as the history records them.
pub(crate) async fn slugs_of(
    db: &impl ConnectionTrait,
    journey_id: i32,
) -> AppResult<serde_json::Value> {
    let ids: Vec<i32> = journey_persona::Entity::find()
        .filter(journey_persona::Column::JourneyId.eq(journey_id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.persona_id)
        .collect();
    let slugs: Vec<String> = persona::Entity::find()
        .filter(persona::Column::Id.is_in(ids))
        .order_by_asc(persona::Column::Slug)
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.slug)
        .collect();
    Ok(serde_json::json!(slugs))
}

/// The rule from the journey's side: journey `journey_id` may take persona kind `kind` only if
/// every persona it is narrowed to is of that kind. Changing the kind under them would
/// silently hide the journey from all of them.
pub(crate) async fn check_journey_kind(
    db: &impl ConnectionTrait,
    journey_id: i32,
    kind: PersonaKind,
) -> AppResult<()> {
    let narrowing = journey_persona::Entity::find()
        .filter(journey_persona::Column::JourneyId.eq(journey_id))
        .all(db)
        .await?;
    let other_kind = persona::Entity::find()
        .filter(persona::Column::Id.is_in(narrowing.iter().map(|r| r.persona_id)))
        .filter(persona::Column::Kind.ne(kind))
        .one(db)
        .await?;
    match other_kind {
        Some(p) => Err(AppError::bad_input(
            "personaKind",
            format!(
                "the journey is narrowed to persona {}, of another kind; change its personas first",
                p.slug
            ),
        )),
        None => Ok(()),
    }
}

/// The rule from the persona's side: `persona` may take kind `kind` only if no journey narrowed
/// to it is of another kind (a journey narrowed to a persona shows only to personas of its own
/// kind, so a new kind would silently hide it). Locks the persona first (see [`lock_persona`]),
/// so no narrowing to it can start until the change ends.
pub(crate) async fn check_persona_kind(
    db: &impl ConnectionTrait,
    persona: &persona::Model,
    kind: PersonaKind,
) -> AppResult<()> {
    let locked = lock_persona(db, persona.id, &persona.slug).await?;
    let other_kind = journey::Entity::find()
        .filter(journey::Column::Id.in_subquery(narrowed_by(locked.id)))
        .filter(journey::Column::PersonaKind.ne(kind))
        .order_by_asc(journey::Column::Slug)
        .one(db)
        .await?;
    match other_kind {
        Some(j) => Err(AppError::bad_input(
            "kind",
            format!(
                "journey {} (for {} personas) is narrowed to this persona; change its personas first",
                j.slug,
                j.persona_kind.as_str()
            ),
        )),
        None => Ok(()),
    }
}

/// Settles the journeys narrowed to `persona` before it is deleted: refused (`CONFLICT` naming
/// them) when it is the only persona of any of them, since the cascade would leave such a
/// journey narrowed to nobody, which means open to all; the journeys that keep other personas
/// lose this one, a change to each of them. Returns the persona as locked.
pub(crate) async fn release_persona(
    change: &mut Change,
    persona: &persona::Model,
) -> AppResult<persona::Model> {
    // Journeys before the persona: setJourneyPersonas locks its journey and then, through the
    // foreign key, the persona, so taking the two in the same order cannot deadlock.
    narrowed_journeys(change.db(), persona.id).await?;
    let current = lock_persona(change.db(), persona.id, &persona.slug).await?;
    // Read again now that no narrowing to the persona can be under way.
    let journeys = narrowed_journeys(change.db(), current.id).await?;
    let shared: HashSet<i32> = journey_persona::Entity::find()
        .select_only()
        .column(journey_persona::Column::JourneyId)
        .filter(journey_persona::Column::JourneyId.is_in(journeys.iter().map(|j| j.id)))
        .filter(journey_persona::Column::PersonaId.ne(current.id))
        .into_tuple::<i32>()
        .all(change.db())
        .await?
        .into_iter()
        .collect();
    let (shared, sole): (Vec<_>, Vec<_>) =
        journeys.into_iter().partition(|j| shared.contains(&j.id));
    if !sole.is_empty() {
        return Err(sole_persona_of(&current.slug, &sole));
    }
    // Their narrowing loses a persona: a change to the journey aggregate.
    for j in &shared {
        change.touch(Aggregate::Journey(j.id), &j.slug).await?;
    }
    Ok(current)
}

/// The IDs of the journeys narrowed to persona `persona_id`, as a subquery.
fn narrowed_by(persona_id: i32) -> SelectStatement {
    Query::select()
        .column(journey_persona::Column::JourneyId)
        .from(journey_persona::Entity)
        .and_where(Expr::col(journey_persona::Column::PersonaId).eq(persona_id))
        .to_owned()
}

/// Reads persona `id` again with a row lock (on `PostgreSQL`; `SQLite`'s writers are serialised
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

/// The journeys narrowed to persona `persona_id`, by ID, locked (on `PostgreSQL`).
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
