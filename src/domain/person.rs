//! People: who belongs to teams and may be the DRI of a stage. A person has no version; a
//! deleted person leaves their teams (a change to each of them) and stops being the DRI of any
//! stage, whose owning team stays.

use super::audit::Subject;
use super::change::{Aggregate, Change, Command};
use super::ownership::clear_dris;
use super::types::{Email, Name, Slug};
use crate::error::{AppError, AppResult};
use entity::{person, stage_ownership, team, team_membership};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};

/// Creates a person.
#[derive(Debug, Clone)]
pub struct CreatePerson {
    /// Their key, unique and immutable.
    pub slug: Slug,
    /// Display name.
    pub name: Name,
    /// E-mail address.
    pub email: Option<Email>,
}

/// Changes a person; `None` keeps a field.
#[derive(Debug, Clone)]
pub struct UpdatePerson {
    /// The person's slug.
    pub slug: String,
    /// New display name.
    pub name: Option<Name>,
    /// New e-mail address; `Some(None)` clears it.
    pub email: Option<Option<Email>>,
}

/// Deletes a person with their memberships; stages they were the DRI of lose the DRI.
#[derive(Debug, Clone)]
pub struct DeletePerson {
    /// The person's slug.
    pub slug: String,
}

impl Command for CreatePerson {
    type Output = person::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<person::Model> {
        let now = change.now();
        let row = person::ActiveModel {
            slug: Set(self.slug.to_string()),
            name: Set(self.name.to_string()),
            email: Set(self.email.clone().map(String::from)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(change.db())
        .await
        .map_err(|e| {
            AppError::on_unique(
                e,
                format!("a person with slug {} already exists", self.slug),
            )
        })?;
        change
            .created("createPerson", Subject::person(&row), &row)
            .await?;
        Ok(row)
    }
}

impl Command for UpdatePerson {
    type Output = person::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<person::Model> {
        let current = super::find::person_by_slug(change.db(), &self.slug).await?;
        // Locked now rather than by the update, so `current` is what the update changes.
        let current = person::Entity::find_by_id(current.id)
            .lock(LockType::NoKeyUpdate)
            .one(change.db())
            .await?
            .ok_or_else(|| AppError::not_found("person", &self.slug))?;
        let mut active = current.clone().into_active_model();
        if let Some(n) = &self.name {
            active.name = Set(n.to_string());
        }
        if let Some(e) = &self.email {
            active.email = Set(e.clone().map(String::from));
        }
        active.updated_at = Set(change.now());
        let row = active.update(change.db()).await?;
        change
            .updated("updatePerson", Subject::person(&row), &current, &row)
            .await?;
        Ok(row)
    }
}

impl Command for DeletePerson {
    /// The deleted person's row ID.
    type Output = i32;

    async fn apply(&self, change: &mut Change) -> AppResult<i32> {
        let current = super::find::person_by_slug(change.db(), &self.slug).await?;
        // The teams they leave, read before the memberships go.
        let teams: Vec<(i32, String)> = team::Entity::find()
            .select_only()
            .column(team::Column::Id)
            .column(team::Column::Slug)
            .filter(
                team::Column::Id.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(team_membership::Column::TeamId)
                        .from(team_membership::Entity)
                        .and_where(Expr::col(team_membership::Column::PersonId).eq(current.id))
                        .to_owned(),
                ),
            )
            .order_by_asc(team::Column::Id)
            .into_tuple()
            .all(change.db())
            .await?;
        // Memberships first, as in removeTeamMember.
        team_membership::Entity::delete_many()
            .filter(team_membership::Column::PersonId.eq(current.id))
            .exec(change.db())
            .await?;
        // The foreign key would null these too; doing it here keeps the journeys' versions
        // honest and does not depend on the backend enforcing foreign keys.
        clear_dris(
            change,
            Condition::all().add(stage_ownership::Column::PersonId.eq(current.id)),
        )
        .await?;
        // Each team they left has one member fewer: a change to it, counted after the
        // memberships and journeys, the order removeTeamMember and deleteTeam take them in.
        for (id, slug) in teams {
            match change.touch(Aggregate::Team(id), &slug).await {
                // A team deleted meanwhile has no version left to advance.
                Err(AppError::NotFound { .. }) => {}
                other => other?,
            }
        }
        // Read again with the lock the delete takes, where the delete takes it.
        let current = person::Entity::find_by_id(current.id)
            .lock_exclusive()
            .one(change.db())
            .await?
            .ok_or_else(|| AppError::not_found("person", &self.slug))?;
        person::Entity::delete_by_id(current.id)
            .exec(change.db())
            .await?;
        change
            .deleted("deletePerson", Subject::person(&current), &current)
            .await?;
        Ok(current.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ownership::tests::{
        assign, events, journey, journey_version, member, owners, person, team, team_version,
    };
    use crate::domain::testing::{editor, writer};
    use entity::enums::Responsibility;

    #[tokio::test]
    async fn a_taken_slug_is_a_conflict_and_writes_nothing() {
        let w = writer().await;
        person(&w, "ann").await;
        let again = CreatePerson {
            slug: Slug::parse("slug", "ann").unwrap(),
            name: Name::parse("name", "Other").unwrap(),
            email: None,
        };
        let err = w.run(&editor(), &again).await.unwrap_err();
        assert_eq!(err.to_string(), "a person with slug ann already exists");
        assert_eq!(events(&w).await.len(), 1);
    }

    #[tokio::test]
    async fn a_deleted_person_leaves_their_teams_and_stops_being_a_dri() {
        let w = writer().await;
        let j = journey(&w, "j", &["a"]).await;
        let t = team(&w, "pm").await;
        person(&w, "ann").await;
        member(&w, "pm", "ann").await;
        let r = Responsibility::Accountable;
        w.run(&editor(), &assign("a", "pm", r, Some("ann")))
            .await
            .unwrap();
        assert_eq!(team_version(&w, t.id).await, 2);
        let delete = DeletePerson { slug: "ann".into() };
        w.run(&editor(), &delete).await.unwrap();
        let owned = owners(&w).await;
        assert_eq!(owned.len(), 1, "the team stays the owner");
        assert_eq!(owned[0].person_id, None);
        assert_eq!(journey_version(&w, j.id).await, 3);
        assert_eq!(team_version(&w, t.id).await, 3, "the team lost a member");
        let memberships = team_membership::Entity::find().all(w.db()).await.unwrap();
        assert!(memberships.is_empty());
        assert_eq!(events(&w).await.pop().unwrap().action, "deletePerson");
    }
}
