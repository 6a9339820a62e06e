//! External links: documents about a persona, journey, stage or team (slides the handbook
//! cannot show). A link has no foreign key to its subject, so removing a subject removes its
//! links here ([`remove_links_of`]), once, for every command that removes one.

use super::audit::Subject;
use super::change::{Change, Command};
use super::types::{Name, Url};
use crate::error::{AppError, AppResult};
use entity::audit_event::AuditSubject;
use entity::enums::{LinkAccess, LinkKind, SubjectType};
use entity::{external_link, journey, journey_stage, persona, team};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect,
};

/// What a link is attached to: a subject type and its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkSubject {
    /// Persona, journey, stage or team.
    pub kind: SubjectType,
    /// The subject's row ID.
    pub id: i32,
}

/// Attaches a link to a subject.
#[derive(Debug, Clone)]
pub struct AddExternalLink {
    /// What the link is about.
    pub subject: LinkSubject,
    /// The subject as the caller named it, for `NOT_FOUND`.
    pub subject_key: String,
    /// What the link shows.
    pub label: Name,
    /// Where it points.
    pub url: Url,
    /// The kind of document.
    pub kind: LinkKind,
    /// Who can open it.
    pub access: LinkAccess,
}

/// Changes a link; `None` keeps a field.
#[derive(Debug, Clone)]
pub struct UpdateExternalLink {
    /// The link's row ID.
    pub id: i32,
    /// The link as the caller named it, for `NOT_FOUND`.
    pub key: String,
    /// New label.
    pub label: Option<Name>,
    /// New URL.
    pub url: Option<Url>,
    /// New kind.
    pub kind: Option<LinkKind>,
    /// New access.
    pub access: Option<LinkAccess>,
}

/// Removes a link.
#[derive(Debug, Clone)]
pub struct RemoveExternalLink {
    /// The link's row ID.
    pub id: i32,
    /// The link as the caller named it, for `NOT_FOUND`.
    pub key: String,
}

impl Command for AddExternalLink {
    type Output = external_link::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<external_link::Model> {
        if !exists(change.db(), self.subject).await? {
            return Err(AppError::not_found("subject", &self.subject_key));
        }
        let now = change.now();
        let row = external_link::ActiveModel {
            subject_type: Set(self.subject.kind),
            subject_id: Set(self.subject.id),
            label: Set(self.label.to_string()),
            url: Set(self.url.to_string()),
            kind: Set(self.kind),
            access: Set(self.access),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(change.db())
        .await?;
        let subject = subject_of(change.db(), &row).await?;
        change.created("addExternalLink", subject, &row).await?;
        Ok(row)
    }
}

impl Command for UpdateExternalLink {
    type Output = external_link::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<external_link::Model> {
        let current = by_id(change.db(), self.id, &self.key, LockType::NoKeyUpdate).await?;
        let mut row = current.clone().into_active_model();
        if let Some(label) = &self.label {
            row.label = Set(label.to_string());
        }
        if let Some(url) = &self.url {
            row.url = Set(url.to_string());
        }
        if let Some(kind) = self.kind {
            row.kind = Set(kind);
        }
        if let Some(access) = self.access {
            row.access = Set(access);
        }
        row.updated_at = Set(change.now());
        let row = row.update(change.db()).await?;
        let subject = subject_of(change.db(), &row).await?;
        change
            .updated("updateExternalLink", subject, &current, &row)
            .await?;
        Ok(row)
    }
}

impl Command for RemoveExternalLink {
    type Output = ();

    async fn apply(&self, change: &mut Change) -> AppResult<()> {
        let row = by_id(change.db(), self.id, &self.key, LockType::Update).await?;
        external_link::Entity::delete_by_id(row.id)
            .exec(change.db())
            .await?;
        let subject = subject_of(change.db(), &row).await?;
        change.deleted("removeExternalLink", subject, &row).await?;
        Ok(())
    }
}

/// Removes the links of the subjects of type `kind` with rows `ids`: run it by every command
/// that deletes a persona, journey, stage or team, since nothing cascades to links.
pub async fn remove_links_of(
    change: &Change,
    kind: SubjectType,
    ids: impl IntoIterator<Item = i32>,
) -> AppResult<()> {
    let ids: Vec<i32> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(());
    }
    external_link::Entity::delete_many()
        .filter(
            Condition::all()
                .add(external_link::Column::SubjectType.eq(kind))
                .add(external_link::Column::SubjectId.is_in(ids)),
        )
        .exec(change.db())
        .await?;
    Ok(())
}

/// Whether the subject exists.
async fn exists(db: &impl ConnectionTrait, s: LinkSubject) -> AppResult<bool> {
    Ok(match s.kind {
        SubjectType::Persona => persona::Entity::find_by_id(s.id).one(db).await?.is_some(),
        SubjectType::Journey => journey::Entity::find_by_id(s.id).one(db).await?.is_some(),
        SubjectType::Stage => journey_stage::Entity::find_by_id(s.id)
            .one(db)
            .await?
            .is_some(),
        SubjectType::Team => team::Entity::find_by_id(s.id).one(db).await?.is_some(),
    })
}

/// The link `id`, locked as a change to it would lock it (so it is what the change changes).
async fn by_id(
    db: &impl ConnectionTrait,
    id: i32,
    key: &str,
    lock: LockType,
) -> AppResult<external_link::Model> {
    external_link::Entity::find_by_id(id)
        .lock(lock)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("external link", key))
}

/// The record a link belongs to, as the history names it.
async fn subject_of(db: &impl ConnectionTrait, link: &external_link::Model) -> AppResult<Subject> {
    let kind = match link.subject_type {
        SubjectType::Persona => AuditSubject::Persona,
        SubjectType::Journey => AuditSubject::Journey,
        SubjectType::Stage => AuditSubject::Stage,
        SubjectType::Team => AuditSubject::Team,
    };
    Subject::load(db, kind, link.subject_id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::testing::{editor, persona, writer};

    fn add(id: i32) -> AddExternalLink {
        AddExternalLink {
            subject: LinkSubject {
                kind: SubjectType::Persona,
                id,
            },
            subject_key: "dev".into(),
            label: Name::parse("label", "Deck").unwrap(),
            url: Url::parse("url", "https://example.com/deck").unwrap(),
            kind: LinkKind::Slides,
            access: LinkAccess::Internal,
        }
    }

    #[tokio::test]
    async fn a_link_is_a_change_to_its_subject_and_is_in_its_history() {
        let w = writer().await;
        let p = persona(&w, "dev").await;
        let link = w.run(&editor(), &add(p.id)).await.unwrap();
        let after = persona::Entity::find_by_id(p.id)
            .one(w.db())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.version, 2, "a new link bumps the persona once");
        let events = entity::audit_event::Entity::find()
            .all(w.db())
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "addExternalLink");
        assert_eq!(events[0].subject_key.as_deref(), Some("dev"));
        assert_eq!(events[0].actor_name, "editor");
        let remove = RemoveExternalLink {
            id: link.id,
            key: "x".into(),
        };
        w.run(&editor(), &remove).await.unwrap();
        assert!(matches!(
            w.run(&editor(), &remove).await,
            Err(AppError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn a_link_to_a_missing_subject_is_not_found_and_writes_nothing() {
        let w = writer().await;
        let err = w.run(&editor(), &add(42)).await.unwrap_err();
        assert_eq!(err.to_string(), "subject not found: dev");
        assert_eq!(
            external_link::Entity::find()
                .all(w.db())
                .await
                .unwrap()
                .len(),
            0
        );
        assert_eq!(
            entity::audit_event::Entity::find()
                .all(w.db())
                .await
                .unwrap()
                .len(),
            0
        );
    }

    #[tokio::test]
    async fn removing_a_subjects_links_removes_only_its_own() {
        let w = writer().await;
        let p = persona(&w, "dev").await;
        w.run(&editor(), &add(p.id)).await.unwrap();
        let mut change = w.begin(&editor()).await.unwrap();
        remove_links_of(&change, SubjectType::Team, [p.id])
            .await
            .unwrap();
        assert_eq!(
            external_link::Entity::find()
                .all(change.db())
                .await
                .unwrap()
                .len(),
            1
        );
        remove_links_of(&change, SubjectType::Persona, [p.id])
            .await
            .unwrap();
        assert_eq!(
            external_link::Entity::find()
                .all(change.db())
                .await
                .unwrap()
                .len(),
            0
        );
        change.deleted("x", Subject::persona(&p), &p).await.unwrap();
        w.commit(change).await.unwrap();
    }
}
