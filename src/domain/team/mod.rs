//! Teams. A deleted team takes its memberships, stage ownerships, persona alignments and
//! external links with it; its members and their changes are in [`membership`].

mod membership;

pub use membership::{AddTeamMember, ChangeTeamMemberRole, RemoveTeamMember, membership};

use super::audit::Subject;
use super::change::{Aggregate, Change, Command};
use super::ownership::{owned_stages, touch_journeys_of_stages};
use super::types::{LongText, Name, Slug};
use crate::error::{AppError, AppResult};
use entity::enums::{Department, SubjectType};
use entity::{stage_ownership, team, team_membership};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect,
};

/// Creates a team.
#[derive(Debug, Clone)]
pub struct CreateTeam {
    /// Its key, unique and immutable.
    pub slug: Slug,
    /// Display name.
    pub name: Name,
    /// The department it belongs to.
    pub department: Department,
    /// What it does.
    pub description: Option<LongText>,
}

/// Changes a team the editor read at `expected_version`; `None` keeps a field.
#[derive(Debug, Clone)]
pub struct UpdateTeam {
    /// The team's slug.
    pub slug: String,
    /// The version the editor last read.
    pub expected_version: i32,
    /// New display name.
    pub name: Option<Name>,
    /// New department.
    pub department: Option<Department>,
    /// New description; `Some(None)` clears it.
    pub description: Option<Option<LongText>>,
}

/// Deletes a team with its memberships, stage ownerships, alignments and links.
#[derive(Debug, Clone)]
pub struct DeleteTeam {
    /// The team's slug.
    pub slug: String,
}

impl Command for CreateTeam {
    type Output = team::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<team::Model> {
        let now = change.now();
        let row = team::ActiveModel {
            slug: Set(self.slug.to_string()),
            name: Set(self.name.to_string()),
            department: Set(self.department),
            description: Set(self.description.clone().map(String::from)),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(change.db())
        .await
        .map_err(|e| {
            AppError::on_unique(e, format!("a team with slug {} already exists", self.slug))
        })?;
        // Version 1 holds whatever else this change adds to it (a catalog file's members).
        change.new_aggregate(Aggregate::Team(row.id));
        change
            .created("createTeam", Subject::team(&row), &row)
            .await?;
        Ok(row)
    }
}

impl Command for UpdateTeam {
    type Output = team::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<team::Model> {
        use team::Column as C;
        let current = super::find::team_by_slug(change.db(), &self.slug).await?;
        // Versions only grow, so `current` (read at or after the editor's read) is the row the
        // update changes exactly when the version check passes.
        change
            .touch_at(
                Aggregate::Team(current.id),
                &self.slug,
                self.expected_version,
            )
            .await?;
        let mut update = team::Entity::update_many().filter(C::Id.eq(current.id));
        let mut changed = false;
        if let Some(v) = &self.name {
            update = update.col_expr(C::Name, Expr::value(v.to_string()));
            changed = true;
        }
        if let Some(v) = self.department {
            update = update.col_expr(C::Department, Expr::value(v));
            changed = true;
        }
        if let Some(v) = &self.description {
            update = update.col_expr(C::Description, Expr::value(v.clone().map(String::from)));
            changed = true;
        }
        if changed {
            update.exec(change.db()).await?;
        }
        let row = reload(change.db(), current.id, &self.slug).await?;
        change
            .updated("updateTeam", Subject::team(&row), &current, &row)
            .await?;
        Ok(row)
    }
}

impl Command for DeleteTeam {
    /// The deleted team's row ID.
    type Output = i32;

    async fn apply(&self, change: &mut Change) -> AppResult<i32> {
        let current = super::find::team_by_slug(change.db(), &self.slug).await?;
        // Memberships before journeys, the order assignStageOwner locks them in (its DRI's
        // membership, then the journey); the cascade from the team row would take them last.
        team_membership::Entity::delete_many()
            .filter(team_membership::Column::TeamId.eq(current.id))
            .exec(change.db())
            .await?;
        // The team's ownerships go with it: a change to the owners of those journeys' stages.
        let stages = owned_stages(
            change.db(),
            Condition::all().add(stage_ownership::Column::TeamId.eq(current.id)),
        )
        .await?;
        touch_journeys_of_stages(change, stages).await?;
        // Links have no foreign key to their subject; memberships, ownerships and alignments
        // cascade.
        super::link::remove_links_of(change, SubjectType::Team, [current.id]).await?;
        // Read again with the lock the delete takes, where the delete takes it (an earlier
        // lock on the team would invert the order ownership assignments lock things in).
        let current = team::Entity::find_by_id(current.id)
            .lock_exclusive()
            .one(change.db())
            .await?
            .ok_or_else(|| AppError::not_found("team", &self.slug))?;
        team::Entity::delete_by_id(current.id)
            .exec(change.db())
            .await?;
        change
            .deleted("deleteTeam", Subject::team(&current), &current)
            .await?;
        Ok(current.id)
    }
}

/// The team `id` as it is now, or `NOT_FOUND` as `slug`.
async fn reload(db: &impl ConnectionTrait, id: i32, slug: &str) -> AppResult<team::Model> {
    team::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("team", slug))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::link::{AddExternalLink, LinkSubject};
    use crate::domain::ownership::tests::{
        assign, events, journey, journey_version, member, owners, person, team,
    };
    use crate::domain::testing::{editor, writer};
    use crate::domain::types::Url;
    use entity::enums::{LinkAccess, LinkKind, Responsibility};
    use entity::{external_link, person as people};

    fn rename(expected_version: i32, name: &str) -> UpdateTeam {
        UpdateTeam {
            slug: "pm".into(),
            expected_version,
            name: Some(Name::parse("name", name).unwrap()),
            department: None,
            description: None,
        }
    }

    #[tokio::test]
    async fn a_new_team_is_at_version_1_and_an_update_from_a_stale_version_changes_nothing() {
        let w = writer().await;
        let t = team(&w, "pm").await;
        assert_eq!(t.version, 1);
        let row = w.run(&editor(), &rename(1, "First")).await.unwrap();
        assert_eq!((row.version, row.name.as_str()), (2, "First"));
        let err = w.run(&editor(), &rename(1, "Second")).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "team pm was changed by someone else (current version 2); reload it and retry"
        );
        let now = super::super::find::team_by_slug(w.db(), "pm")
            .await
            .unwrap();
        assert_eq!((now.version, now.name.as_str()), (2, "First"));
        let actions: Vec<_> = events(&w).await.into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["createTeam", "updateTeam"]);
    }

    #[tokio::test]
    async fn a_deleted_team_takes_its_links_and_ownerships_and_bumps_their_journeys() {
        let w = writer().await;
        let j = journey(&w, "j", &["a", "b"]).await;
        let t = team(&w, "pm").await;
        person(&w, "ann").await;
        member(&w, "pm", "ann").await;
        for stage in ["a", "b"] {
            let r = Responsibility::Informed;
            w.run(&editor(), &assign(stage, "pm", r, Some("ann")))
                .await
                .unwrap();
        }
        let link = AddExternalLink {
            subject: LinkSubject {
                kind: SubjectType::Team,
                id: t.id,
            },
            subject_key: "pm".into(),
            label: Name::parse("label", "Charter").unwrap(),
            url: Url::parse("url", "https://example.com/charter").unwrap(),
            kind: LinkKind::Doc,
            access: LinkAccess::Internal,
        };
        w.run(&editor(), &link).await.unwrap();
        let delete = DeleteTeam { slug: "pm".into() };
        assert_eq!(w.run(&editor(), &delete).await.unwrap(), t.id);
        assert!(owners(&w).await.is_empty());
        let links = external_link::Entity::find().all(w.db()).await.unwrap();
        assert!(links.is_empty());
        let memberships = team_membership::Entity::find().all(w.db()).await.unwrap();
        assert!(memberships.is_empty());
        assert_eq!(people::Entity::find().all(w.db()).await.unwrap().len(), 1);
        assert_eq!(
            journey_version(&w, j.id).await,
            4,
            "one bump for both stages"
        );
        assert_eq!(events(&w).await.pop().unwrap().action, "deleteTeam");
        let err = w.run(&editor(), &delete).await.unwrap_err();
        assert_eq!(err.to_string(), "team not found: pm");
    }
}
