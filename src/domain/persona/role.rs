//! A persona's roles (example job titles): titles unique per persona ignoring case. A role
//! change is a change to its persona.

use super::super::audit::{Subject, snapshot};
use super::super::change::{Aggregate, Change, Command};
use super::super::types::Name;
use crate::error::{AppError, AppResult};
use entity::audit_event::AuditSubject;
use entity::{persona, role};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};

/// Adds an example job title to a persona.
#[derive(Debug, Clone)]
pub struct AddRole {
    /// The persona's slug.
    pub persona: String,
    /// The job title (unique per persona, ignoring case).
    pub title: Name,
    /// Sort order; after the last role when `None`.
    pub sort_order: Option<i32>,
}

/// Renames or reorders a role; `None` keeps a field.
#[derive(Debug, Clone)]
pub struct UpdateRole {
    /// The role's row ID.
    pub id: i32,
    /// The role as the caller named it, for `NOT_FOUND`.
    pub key: String,
    /// New title.
    pub title: Option<Name>,
    /// New sort order.
    pub sort_order: Option<i32>,
}

/// Removes a role.
#[derive(Debug, Clone)]
pub struct RemoveRole {
    /// The role's row ID.
    pub id: i32,
    /// The role as the caller named it, for `NOT_FOUND`.
    pub key: String,
}

/// The titles of a new persona's roles: none repeats another, ignoring case (`roles[i]` names
/// the first repeat).
pub(crate) fn check_titles(titles: &[Name]) -> AppResult<()> {
    for (i, t) in titles.iter().enumerate() {
        if titles[..i].iter().any(|o| o.same_as(t.as_str())) {
            return Err(AppError::bad_input(
                format!("roles[{i}]"),
                "must not repeat another role",
            ));
        }
    }
    Ok(())
}

/// Creates roles `titles` (checked by [`check_titles`]) of persona `persona_id`, sorted 1..n.
pub(crate) async fn insert_all(
    change: &Change,
    persona_id: i32,
    titles: &[Name],
) -> AppResult<Vec<role::Model>> {
    let now = change.now();
    let mut created = Vec::with_capacity(titles.len());
    for (title, sort_order) in titles.iter().zip(1..) {
        let r = role::ActiveModel {
            persona_id: Set(persona_id),
            title: Set(title.to_string()),
            sort_order: Set(sort_order),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(change.db())
        .await?;
        created.push(r);
    }
    Ok(created)
}

impl Command for AddRole {
    type Output = role::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<role::Model> {
        let persona = super::super::find::persona_by_slug(change.db(), &self.persona).await?;
        // The persona first: concurrent changes to its roles then run one after the other, so
        // the titles read here are the ones the new title must not repeat.
        change
            .touch(Aggregate::Persona(persona.id), &persona.slug)
            .await?;
        let existing = role::Entity::find()
            .filter(role::Column::PersonaId.eq(persona.id))
            .order_by_desc(role::Column::SortOrder)
            .all(change.db())
            .await?;
        let taken = || {
            format!(
                "persona {} already has the role {}",
                persona.slug, self.title
            )
        };
        if existing.iter().any(|r| self.title.same_as(&r.title)) {
            return Err(AppError::conflict(taken()));
        }
        let sort_order = self
            .sort_order
            .unwrap_or_else(|| existing.first().map_or(1, |r| r.sort_order + 1));
        let now = change.now();
        let row = role::ActiveModel {
            persona_id: Set(persona.id),
            title: Set(self.title.to_string()),
            sort_order: Set(sort_order),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(change.db())
        .await
        .map_err(|e| AppError::on_unique(e, taken()))?;
        change
            .created("addRole", Subject::persona(&persona), &row)
            .await?;
        Ok(row)
    }
}

impl Command for UpdateRole {
    type Output = role::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<role::Model> {
        let current = lock(change, self.id, &self.key, LockType::NoKeyUpdate).await?;
        let before = snapshot(&current);
        let mut active = current.into_active_model();
        if let Some(t) = &self.title {
            active.title = Set(t.to_string());
        }
        if let Some(s) = self.sort_order {
            active.sort_order = Set(s);
        }
        active.updated_at = Set(change.now());
        let row = active.update(change.db()).await.map_err(|e| {
            AppError::on_unique(
                e,
                format!(
                    "the persona already has the role {}",
                    self.title.as_ref().map(Name::as_str).unwrap_or_default()
                ),
            )
        })?;
        let subject = Subject::load(change.db(), AuditSubject::Persona, row.persona_id).await?;
        change.updated("updateRole", subject, &before, &row).await?;
        Ok(row)
    }
}

impl Command for RemoveRole {
    type Output = ();

    async fn apply(&self, change: &mut Change) -> AppResult<()> {
        // Locked as the delete would lock it, so the history records what was deleted.
        let current = lock(change, self.id, &self.key, LockType::Update).await?;
        let subject = Subject::load(change.db(), AuditSubject::Persona, current.persona_id).await?;
        let res = role::Entity::delete_by_id(current.id)
            .exec(change.db())
            .await?;
        if res.rows_affected == 0 {
            return Err(AppError::not_found("role", &self.key));
        }
        change.deleted("removeRole", subject, &current).await?;
        Ok(())
    }
}

/// Role `id` locked with `lock`, after its persona: deletePersona locks the persona before the
/// cascade reaches its roles, so a role change that locked the role first could deadlock
/// with it on `PostgreSQL`.
async fn lock(change: &mut Change, id: i32, key: &str, lock: LockType) -> AppResult<role::Model> {
    let found = by_id(change.db(), id, key, None).await?;
    let persona = persona::Entity::find_by_id(found.persona_id)
        .one(change.db())
        .await?
        .ok_or_else(|| AppError::not_found("role", key))?;
    change
        .touch(Aggregate::Persona(persona.id), &persona.slug)
        .await?;
    by_id(change.db(), id, key, Some(lock)).await
}

async fn by_id(
    db: &impl ConnectionTrait,
    id: i32,
    key: &str,
    lock: Option<LockType>,
) -> AppResult<role::Model> {
    let mut q = role::Entity::find_by_id(id);
    if let Some(l) = lock {
        q = q.lock(l);
    }
    q.one(db)
        .await?
        .ok_or_else(|| AppError::not_found("role", key))
}
