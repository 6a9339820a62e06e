//! Directed links between personas ("is influenced by", ...): a link is part of the persona it
//! starts from, and never points back at that persona.

use super::super::audit::{Subject, snapshot_with};
use super::super::change::{Aggregate, Change, Command};
use super::super::types::ShortText;
use crate::error::{AppError, AppResult};
use entity::audit_event::AuditSubject;
use entity::enums::{PersonaLinkKind, Provenance};
use entity::persona_link;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait, QuerySelect};

/// Links one persona to another.
#[derive(Debug, Clone)]
pub struct LinkPersonas {
    /// Slug of the persona the link starts from.
    pub from: String,
    /// Slug of the persona it points at (a different persona).
    pub to: String,
    /// How they relate.
    pub kind: PersonaLinkKind,
    /// Free-text note.
    pub note: Option<ShortText>,
    /// Where the link comes from: an editor, or the source a catalog file names.
    pub provenance: Provenance,
}

/// Removes a link between personas.
#[derive(Debug, Clone)]
pub struct UnlinkPersonas {
    /// The link's row ID.
    pub id: i32,
    /// The link as the caller named it, for `NOT_FOUND`.
    pub key: String,
}

impl Command for LinkPersonas {
    type Output = persona_link::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<persona_link::Model> {
        if self.from == self.to {
            return Err(AppError::bad_input(
                "to",
                "must be a different persona than from",
            ));
        }
        let from = super::super::find::persona_by_slug(change.db(), &self.from).await?;
        let to = super::super::find::persona_by_slug(change.db(), &self.to).await?;
        let now = change.now();
        let row = persona_link::ActiveModel {
            from_persona_id: Set(from.id),
            to_persona_id: Set(to.id),
            kind: Set(self.kind),
            note: Set(self.note.clone().map(String::from)),
            provenance: Set(self.provenance),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(change.db())
        .await
        .map_err(|e| {
            AppError::on_unique(
                e,
                format!("{} is already linked to {} that way", from.slug, to.slug),
            )
        })?;
        let after = snapshot_with(
            &row,
            &[
                ("from", from.slug.clone().into()),
                ("to", to.slug.clone().into()),
            ],
        );
        change
            .created("linkPersonas", Subject::persona(&from), &after)
            .await?;
        Ok(row)
    }
}

impl Command for UnlinkPersonas {
    type Output = ();

    async fn apply(&self, change: &mut Change) -> AppResult<()> {
        let found = persona_link::Entity::find_by_id(self.id)
            .one(change.db())
            .await?
            .ok_or_else(|| AppError::not_found("persona link", &self.key))?;
        // The `from` persona before the link: deletePersona locks the persona before the
        // cascade reaches its links, so taking the link first could deadlock with it.
        let from = Subject::load(change.db(), AuditSubject::Persona, found.from_persona_id).await?;
        change
            .touch(
                Aggregate::Persona(found.from_persona_id),
                from.key.as_deref().unwrap_or(&self.key),
            )
            .await?;
        // Locked as the delete would lock it, so the history records what was deleted.
        let current = persona_link::Entity::find_by_id(self.id)
            .lock_exclusive()
            .one(change.db())
            .await?
            .ok_or_else(|| AppError::not_found("persona link", &self.key))?;
        let to = Subject::load(change.db(), AuditSubject::Persona, current.to_persona_id).await?;
        let res = persona_link::Entity::delete_by_id(current.id)
            .exec(change.db())
            .await?;
        if res.rows_affected == 0 {
            return Err(AppError::not_found("persona link", &self.key));
        }
        let before = snapshot_with(
            &current,
            &[("from", from.key.clone().into()), ("to", to.key.into())],
        );
        change.deleted("unlinkPersonas", from, &before).await?;
        Ok(())
    }
}
