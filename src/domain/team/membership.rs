//! A team's members. The members are part of the team: adding, promoting and removing one is
//! a change to the team, in its history, and gives it a new version (counted after the
//! membership, the order every membership change and deleteTeam take them in). A member who
//! leaves stops being the DRI of the team's stages.

use crate::domain::audit::{Subject, snapshot_with};
use crate::domain::change::{Change, Command};
use crate::domain::find;
use crate::domain::ownership::clear_dris;
use crate::error::{AppError, AppResult};
use entity::audit_event::AuditSubject;
use entity::enums::MembershipRole;
use entity::{stage_ownership, team_membership};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect,
};

/// Adds a person to a team.
#[derive(Debug, Clone)]
pub struct AddTeamMember {
    /// The team's slug.
    pub team: String,
    /// The person's slug.
    pub person: String,
    /// Lead or member.
    pub role: MembershipRole,
}

/// Changes a member's role.
#[derive(Debug, Clone)]
pub struct ChangeTeamMemberRole {
    /// The team's slug.
    pub team: String,
    /// The member's slug.
    pub person: String,
    /// The new role.
    pub role: MembershipRole,
}

/// Removes a person from a team.
#[derive(Debug, Clone)]
pub struct RemoveTeamMember {
    /// The team's slug.
    pub team: String,
    /// The member's slug.
    pub person: String,
}

impl Command for AddTeamMember {
    type Output = team_membership::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<team_membership::Model> {
        let team = find::team_by_slug(change.db(), &self.team).await?;
        let person = find::person_by_slug(change.db(), &self.person).await?;
        let duplicate = || format!("{} is already a member of team {}", person.slug, team.slug);
        if membership(change.db(), team.id, person.id).await?.is_some() {
            return Err(AppError::conflict(duplicate()));
        }
        let now = change.now();
        let row = team_membership::ActiveModel {
            team_id: Set(team.id),
            person_id: Set(person.id),
            role: Set(self.role),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(change.db())
        .await
        .map_err(|e| AppError::on_unique(e, duplicate()))?;
        let after = snapshot_with(&row, &[("person", person.slug.clone().into())]);
        // The team's version moves last, after the membership, as in every membership change
        // and in deleteTeam (memberships, journeys, then the team).
        change
            .created("addTeamMember", Subject::team(&team), &after)
            .await?;
        Ok(row)
    }
}

impl Command for ChangeTeamMemberRole {
    type Output = team_membership::Model;

    async fn apply(&self, change: &mut Change) -> AppResult<team_membership::Model> {
        let member = member_by_slugs(change.db(), &self.team, &self.person).await?;
        // Locked now rather than by the update, so `before` is what the update changes.
        let before = team_membership::Entity::find_by_id(member.id)
            .lock(LockType::NoKeyUpdate)
            .one(change.db())
            .await?
            .unwrap_or_else(|| member.clone());
        let mut active = member.into_active_model();
        active.role = Set(self.role);
        active.updated_at = Set(change.now());
        // A removal that committed since the read above leaves nothing to update.
        let row = active.update(change.db()).await.map_err(|e| match e {
            sea_orm::DbErr::RecordNotUpdated => not_a_member(&self.team, &self.person),
            e => AppError::from(e),
        })?;
        let subject = Subject::load(change.db(), AuditSubject::Team, row.team_id).await?;
        let person = [("person", self.person.clone().into())];
        change
            .updated(
                "changeTeamMemberRole",
                subject,
                &snapshot_with(&before, &person),
                &snapshot_with(&row, &person),
            )
            .await?;
        Ok(row)
    }
}

impl Command for RemoveTeamMember {
    /// The ended membership's row ID.
    type Output = i32;

    async fn apply(&self, change: &mut Change) -> AppResult<i32> {
        let gone = || not_a_member(&self.team, &self.person);
        let member = member_by_slugs(change.db(), &self.team, &self.person).await?;
        // Read again with the lock the delete below takes; gone means a removal committed
        // meanwhile.
        let member = team_membership::Entity::find_by_id(member.id)
            .lock_exclusive()
            .one(change.db())
            .await?
            .ok_or_else(gone)?;
        // The membership goes first (see `clear_dris`); a removal that committed meanwhile
        // has taken it already.
        let deleted = team_membership::Entity::delete_by_id(member.id)
            .exec(change.db())
            .await?;
        if deleted.rows_affected == 0 {
            return Err(gone());
        }
        // A DRI must be a member of the owning team, so leaving the team ends being its DRI.
        clear_dris(
            change,
            Condition::all()
                .add(stage_ownership::Column::TeamId.eq(member.team_id))
                .add(stage_ownership::Column::PersonId.eq(member.person_id)),
        )
        .await?;
        let subject = Subject::load(change.db(), AuditSubject::Team, member.team_id).await?;
        let before = snapshot_with(&member, &[("person", self.person.clone().into())]);
        change.deleted("removeTeamMember", subject, &before).await?;
        Ok(member.id)
    }
}

/// The membership of `person_id` in `team_id`, if any.
pub async fn membership(
    db: &impl ConnectionTrait,
    team_id: i32,
    person_id: i32,
) -> AppResult<Option<team_membership::Model>> {
    Ok(team_membership::Entity::find()
        .filter(team_membership::Column::TeamId.eq(team_id))
        .filter(team_membership::Column::PersonId.eq(person_id))
        .one(db)
        .await?)
}

/// The membership of a person (by slug) in a team (by slug), or `NOT_FOUND`.
async fn member_by_slugs(
    db: &impl ConnectionTrait,
    team_slug: &str,
    person_slug: &str,
) -> AppResult<team_membership::Model> {
    let team = find::team_by_slug(db, team_slug).await?;
    let person = find::person_by_slug(db, person_slug).await?;
    membership(db, team.id, person.id)
        .await?
        .ok_or_else(|| not_a_member(team_slug, person_slug))
}

fn not_a_member(team: &str, person: &str) -> AppError {
    AppError::not_found("team member", format!("{person} in team {team}"))
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
    async fn each_member_change_bumps_the_team_once_and_is_in_its_history() {
        let w = writer().await;
        let t = team(&w, "pm").await;
        person(&w, "ann").await;
        member(&w, "pm", "ann").await;
        assert_eq!(team_version(&w, t.id).await, 2);
        let promote = ChangeTeamMemberRole {
            team: "pm".into(),
            person: "ann".into(),
            role: MembershipRole::Lead,
        };
        assert_eq!(
            w.run(&editor(), &promote).await.unwrap().role,
            MembershipRole::Lead
        );
        assert_eq!(team_version(&w, t.id).await, 3);
        let twice = AddTeamMember {
            team: "pm".into(),
            person: "ann".into(),
            role: MembershipRole::Member,
        };
        let err = w.run(&editor(), &twice).await.unwrap_err();
        assert_eq!(err.to_string(), "ann is already a member of team pm");
        assert_eq!(
            team_version(&w, t.id).await,
            3,
            "the refusal changed nothing"
        );
        let remove = RemoveTeamMember {
            team: "pm".into(),
            person: "ann".into(),
        };
        w.run(&editor(), &remove).await.unwrap();
        assert_eq!(team_version(&w, t.id).await, 4);
        let err = w.run(&editor(), &remove).await.unwrap_err();
        assert_eq!(err.to_string(), "team member not found: ann in team pm");
        let team_events: Vec<_> = events(&w)
            .await
            .into_iter()
            .filter(|e| e.subject_key.as_deref() == Some("pm"))
            .map(|e| e.action)
            .collect();
        assert_eq!(
            team_events,
            [
                "createTeam",
                "addTeamMember",
                "changeTeamMemberRole",
                "removeTeamMember"
            ]
        );
    }

    #[tokio::test]
    async fn a_member_who_leaves_stops_being_a_dri_of_that_team_only() {
        let w = writer().await;
        let j = journey(&w, "j", &["a"]).await;
        team(&w, "pm").await;
        team(&w, "eng").await;
        person(&w, "ann").await;
        member(&w, "pm", "ann").await;
        member(&w, "eng", "ann").await;
        for t in ["pm", "eng"] {
            let r = Responsibility::Responsible;
            w.run(&editor(), &assign("a", t, r, Some("ann")))
                .await
                .unwrap();
        }
        assert_eq!(journey_version(&w, j.id).await, 3);
        let remove = RemoveTeamMember {
            team: "pm".into(),
            person: "ann".into(),
        };
        w.run(&editor(), &remove).await.unwrap();
        let dris: Vec<_> = owners(&w)
            .await
            .into_iter()
            .map(|o| o.person_id.is_some())
            .collect();
        assert_eq!(dris, [false, true]);
        assert_eq!(
            journey_version(&w, j.id).await,
            4,
            "the DRI is the journey's"
        );
    }
}
