//! Teams, people and memberships: the `Team`, `Person` and `TeamMember` objects here, their
//! queries in `query`, their mutations (handing commands to `domain::team` and
//! `domain::person`) in `mutation`.

mod mutation;
mod query;

pub use crate::domain::team::membership;
pub use mutation::*;
pub use query::{TeamFilter, TeamOrder, TeamOrderField, TeamQuery};

use super::enums::{Department, MembershipRole};
use super::external_link::ExternalLink;
use super::loaders::{
    AlignmentsByTeam, LinksBySubject, MembershipsByPerson, MembershipsByTeam, OwnershipsByTeam,
    PersonById, PersonMemberships, TeamAlignments, TeamById, TeamMembers, TeamOwnerships,
};
use super::ownership::{StageOwnership, TeamAlignment};
use super::pagination::{Conn, PageArgs};
use super::{child_connection, history, id, joined, referenced, related};
use async_graphql::{Context, ID, Object, Result, ResultExt};
use chrono::{DateTime, Utc};
use entity::audit_event::AuditSubject;
use entity::{enums, person, team, team_membership};

/// A team that owns stages of journeys and aligns to personas.
pub struct Team(pub team::Model);

/// A team that owns stages of journeys and aligns to personas.
#[Object]
impl Team {
    /// Global ID, usable with `node(id:)`.
    pub async fn id(&self) -> ID {
        id::encode("Team", self.0.id)
    }
    /// Human key: kebab-case, unique, never changes.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The department the team belongs to.
    async fn department(&self) -> Department {
        self.0.department.into()
    }
    /// What the team does.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Optimistic-concurrency version; pass it as `expectedVersion` when updating.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the team was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the team last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The team's members.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<TeamMember>> {
        if joined::asks_for(ctx, &["person"]) {
            let key = joined::MembershipsByTeamJoined(self.0.id);
            let rows = joined::with_one_fed(ctx, key, |p: &person::Model| PersonById(p.id))
                .await
                .extend()?;
            return Ok(rows.into_iter().map(TeamMember).collect());
        }
        related(ctx, MembershipsByTeam(self.0.id), TeamMember).await
    }
    /// The journey stages this team has a responsibility for.
    async fn ownerships(&self, ctx: &Context<'_>) -> Result<Vec<StageOwnership>> {
        if joined::asks_for(ctx, &["stage", "dri", "team"]) {
            let key = joined::OwnershipsByTeamJoined(self.0.id);
            let rows = joined::ownerships_joined(ctx, key).await.extend()?;
            return Ok(rows.into_iter().map(StageOwnership).collect());
        }
        related(ctx, OwnershipsByTeam(self.0.id), StageOwnership).await
    }
    /// The personas this team is aligned to.
    async fn aligned_personas(&self, ctx: &Context<'_>) -> Result<Vec<TeamAlignment>> {
        related(ctx, AlignmentsByTeam(self.0.id), TeamAlignment).await
    }
    /// The team's members, a page at a time, longest-standing first (paginated in SQL, for large teams).
    async fn members_connection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items before this cursor.")] before: Option<String>,
        #[graphql(desc = "At most this many items from the start (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "At most this many items from the end (at most 100).")] last: Option<i32>,
    ) -> Result<Conn<TeamMember>> {
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        child_connection(ctx, TeamMembers, self.0.id, args, TeamMember).await
    }
    /// The journey stages this team has a responsibility for, a page at a time, oldest first.
    async fn ownerships_connection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items before this cursor.")] before: Option<String>,
        #[graphql(desc = "At most this many items from the start (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "At most this many items from the end (at most 100).")] last: Option<i32>,
    ) -> Result<Conn<StageOwnership>> {
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        child_connection(ctx, TeamOwnerships, self.0.id, args, StageOwnership).await
    }
    /// The personas this team is aligned to, a page at a time, oldest alignment first.
    async fn aligned_personas_connection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items before this cursor.")] before: Option<String>,
        #[graphql(desc = "At most this many items from the start (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "At most this many items from the end (at most 100).")] last: Option<i32>,
    ) -> Result<Conn<TeamAlignment>> {
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        child_connection(ctx, TeamAlignments, self.0.id, args, TeamAlignment).await
    }
    /// Documents about this team.
    async fn external_links(&self, ctx: &Context<'_>) -> Result<Vec<ExternalLink>> {
        let key = LinksBySubject(enums::SubjectType::Team, self.0.id);
        related(ctx, key, ExternalLink).await
    }
    /// Changes to this team (its members and persona alignments too), newest first, a page at a time.
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many changes (at most 100; 20 by default).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Changes after (older than) this cursor.")] after: Option<String>,
    ) -> Result<Conn<history::AuditEvent>> {
        history::history(ctx, AuditSubject::Team, self.0.id, first, after).await
    }
}

/// A person who belongs to teams and may be the DRI of a stage.
pub struct Person(pub person::Model);

/// A person who belongs to teams and may be the DRI of a stage.
#[Object]
impl Person {
    /// Global ID, usable with `node(id:)`.
    pub async fn id(&self) -> ID {
        id::encode("Person", self.0.id)
    }
    /// Human key: kebab-case, unique, never changes.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// E-mail address, when known.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// The teams this person belongs to.
    async fn memberships(&self, ctx: &Context<'_>) -> Result<Vec<TeamMember>> {
        related(ctx, MembershipsByPerson(self.0.id), TeamMember).await
    }
    /// The teams this person belongs to, a page at a time, oldest membership first.
    async fn memberships_connection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items before this cursor.")] before: Option<String>,
        #[graphql(desc = "At most this many items from the start (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "At most this many items from the end (at most 100).")] last: Option<i32>,
    ) -> Result<Conn<TeamMember>> {
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        child_connection(ctx, PersonMemberships, self.0.id, args, TeamMember).await
    }
}

/// A person's membership of a team.
pub struct TeamMember(pub team_membership::Model);

/// A person's membership of a team.
#[Object]
impl TeamMember {
    /// Global ID.
    pub async fn id(&self) -> ID {
        id::encode("TeamMember", self.0.id)
    }
    /// Lead or member.
    async fn role(&self) -> MembershipRole {
        self.0.role.into()
    }
    /// The team.
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        referenced(ctx, TeamById(self.0.team_id), Team).await
    }
    /// The person.
    async fn person(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        referenced(ctx, PersonById(self.0.person_id), Person).await
    }
}
