//! Which personas a team focuses on: one alignment per (team, persona), with a level and a
//! go-to-market motion. An alignment is part of the team: aligning, realigning and unaligning
//! are changes to the team, recorded in its history, and give it a new version.

use super::audit::{Event, Subject, snapshot_with};
use super::change::{Change, Command};
use crate::error::{AppError, AppResult};
use entity::enums::{AlignmentLevel, Motion, Provenance};
use entity::team_persona_alignment::{self, Column as C};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{LockType, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

/// Aligns a team to a persona, or changes the level and motion of their alignment.
#[derive(Debug, Clone)]
pub struct AlignTeamToPersona {
    /// The team's slug.
    pub team: String,
    /// The persona's slug.
    pub persona: String,
    /// Primary or secondary focus.
    pub level: AlignmentLevel,
    /// The go-to-market motion, if any.
    pub motion: Option<Motion>,
    /// Where the alignment comes from: an editor, or the source a catalog file names.
    pub provenance: Provenance,
}

/// Ends a team's alignment to a persona.
#[derive(Debug, Clone)]
pub struct UnalignTeamFromPersona {
    /// The team's slug.
    pub team: String,
    /// The persona's slug.
    pub persona: String,
}

impl Command for AlignTeamToPersona {
    type Output = team_persona_alignment::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<team_persona_alignment::Model> {
        let team = super::find::team_by_slug(change.db(), &self.team).await?;
        let persona = super::find::persona_by_slug(change.db(), &self.persona).await?;
        // Locked when it exists, so `before` is what the upsert overwrites.
        let before = team_persona_alignment::Entity::find()
            .filter(C::TeamId.eq(team.id))
            .filter(C::PersonaId.eq(persona.id))
            .lock(LockType::NoKeyUpdate)
            .one(change.db())
            .await?;
        let now = change.now();
        // An upsert in one statement: realigning rewrites level and motion, and two editors
        // aligning the same pair at once cannot collide.
        team_persona_alignment::Entity::insert(team_persona_alignment::ActiveModel {
            team_id: Set(team.id),
            persona_id: Set(persona.id),
            level: Set(self.level),
            motion: Set(self.motion),
            provenance: Set(self.provenance),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([C::TeamId, C::PersonaId])
                .update_columns([C::Level, C::Motion, C::Provenance, C::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(change.db())
        .await?;
        let row = team_persona_alignment::Entity::find()
            .filter(C::TeamId.eq(team.id))
            .filter(C::PersonaId.eq(persona.id))
            .one(change.db())
            .await?
            .ok_or_else(|| AppError::internal("the upserted alignment is missing"))?;
        let slug = [("persona", persona.slug.clone().into())];
        let after = snapshot_with(&row, &slug);
        let event = match before {
            Some(b) => Event::updated(
                "alignTeamToPersona",
                Subject::team(&team),
                snapshot_with(&b, &slug),
                after,
            ),
            None => Event::created("alignTeamToPersona", Subject::team(&team), after),
        };
        change.record(event).await?;
        Ok(row)
    }
}

impl Command for UnalignTeamFromPersona {
    /// The ended alignment's row ID.
    type Output = i32;

    async fn apply(&self, change: &mut Change) -> AppResult<i32> {
        let team = super::find::team_by_slug(change.db(), &self.team).await?;
        let persona = super::find::persona_by_slug(change.db(), &self.persona).await?;
        let current = team_persona_alignment::Entity::find()
            .filter(C::TeamId.eq(team.id))
            .filter(C::PersonaId.eq(persona.id))
            .lock_exclusive()
            .one(change.db())
            .await?
            .ok_or_else(|| {
                AppError::not_found(
                    "team alignment",
                    format!("team {} to persona {}", team.slug, persona.slug),
                )
            })?;
        team_persona_alignment::Entity::delete_by_id(current.id)
            .exec(change.db())
            .await?;
        let before = snapshot_with(&current, &[("persona", persona.slug.clone().into())]);
        change
            .deleted("unalignTeamFromPersona", Subject::team(&team), &before)
            .await?;
        Ok(current.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ownership::tests::{events, team, team_version};
    use crate::domain::testing::{editor, persona, writer};

    #[tokio::test]
    async fn aligning_realigning_and_unaligning_each_bump_the_team_and_are_in_its_history() {
        let w = writer().await;
        let t = team(&w, "pm").await;
        persona(&w, "cto").await;
        let align = |level| AlignTeamToPersona {
            team: "pm".into(),
            persona: "cto".into(),
            level,
            motion: None,
            provenance: Provenance::Editor,
        };
        w.run(&editor(), &align(AlignmentLevel::Primary))
            .await
            .unwrap();
        let row = w
            .run(&editor(), &align(AlignmentLevel::Secondary))
            .await
            .unwrap();
        assert_eq!(row.level, AlignmentLevel::Secondary);
        let unalign = UnalignTeamFromPersona {
            team: "pm".into(),
            persona: "cto".into(),
        };
        assert_eq!(w.run(&editor(), &unalign).await.unwrap(), row.id);
        assert_eq!(team_version(&w, t.id).await, 4);
        let err = w.run(&editor(), &unalign).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "team alignment not found: team pm to persona cto"
        );
        assert_eq!(team_version(&w, t.id).await, 4);
        let history: Vec<_> = events(&w)
            .await
            .into_iter()
            .map(|e| (e.action, e.before.is_some(), e.after.is_some()))
            .collect();
        assert_eq!(
            history[1..],
            [
                ("alignTeamToPersona".to_owned(), false, true),
                ("alignTeamToPersona".to_owned(), true, true),
                ("unalignTeamFromPersona".to_owned(), true, false),
            ]
        );
    }
}
