//! Teams, people and memberships: the `Team`, `Person` and `TeamMember` objects, their
//! queries and their mutations.

use super::enums::{Department, MembershipRole, OrderDirection};
use super::external_link::ExternalLink;
use super::loaders::{
    AlignmentsByTeam, LinksBySubject, MembershipsByPerson, MembershipsByTeam, OwnershipsByTeam,
    PersonById, TeamById,
};
use super::ownership::{StageOwnership, TeamAlignment};
use super::pagination::{self, Conn, Ordering, PageArgs, SortValue};
use super::{db, id, loader};
use crate::error::{AppError, AppResult};
use async_graphql::{Context, ID, InputObject, Object, Result, ResultExt};
use chrono::{DateTime, Utc};
use entity::{enums, person, team, team_membership};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// A team that owns stages of journeys and aligns to personas.
pub struct Team(pub team::Model);

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
        let rows = loader(ctx).extend()?.load_one(MembershipsByTeam(self.0.id)).await.extend()?;
        Ok(rows.unwrap_or_default().into_iter().map(TeamMember).collect())
    }
    /// The journey stages this team has a responsibility for.
    async fn ownerships(&self, ctx: &Context<'_>) -> Result<Vec<StageOwnership>> {
        let rows = loader(ctx).extend()?.load_one(OwnershipsByTeam(self.0.id)).await.extend()?;
        Ok(rows.unwrap_or_default().into_iter().map(StageOwnership).collect())
    }
    /// The personas this team is aligned to.
    async fn aligned_personas(&self, ctx: &Context<'_>) -> Result<Vec<TeamAlignment>> {
        let rows = loader(ctx).extend()?.load_one(AlignmentsByTeam(self.0.id)).await.extend()?;
        Ok(rows.unwrap_or_default().into_iter().map(TeamAlignment).collect())
    }
    /// Documents about this team.
    async fn external_links(&self, ctx: &Context<'_>) -> Result<Vec<ExternalLink>> {
        let key = LinksBySubject(enums::SubjectType::Team, self.0.id);
        let rows = loader(ctx).extend()?.load_one(key).await.extend()?;
        Ok(rows.unwrap_or_default().into_iter().map(ExternalLink).collect())
    }
}

/// A person who belongs to teams and may be the DRI of a stage.
pub struct Person(pub person::Model);

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
        let rows = loader(ctx).extend()?.load_one(MembershipsByPerson(self.0.id)).await.extend()?;
        Ok(rows.unwrap_or_default().into_iter().map(TeamMember).collect())
    }
}

/// A person's membership of a team.
pub struct TeamMember(pub team_membership::Model);

#[Object]
impl TeamMember {
    /// Global ID.
    async fn id(&self) -> ID {
        id::encode("TeamMember", self.0.id)
    }
    /// Lead or member.
    async fn role(&self) -> MembershipRole {
        self.0.role.into()
    }
    /// The team.
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        let row = loader(ctx).extend()?.load_one(TeamById(self.0.team_id)).await.extend()?;
        Ok(row.map(Team))
    }
    /// The person.
    async fn person(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        let row = loader(ctx).extend()?.load_one(PersonById(self.0.person_id)).await.extend()?;
        Ok(row.map(Person))
    }
}

/// Which teams to list.
#[derive(InputObject, Default)]
pub struct TeamFilter {
    /// Only teams of this department.
    pub department: Option<Department>,
    /// Only teams whose slug, name or description contains this text (case-insensitive).
    pub search: Option<String>,
}

/// What teams can be ordered by.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum TeamOrderField {
    /// Display name.
    #[default]
    Name,
    /// Slug.
    Slug,
}

/// The order of a team list.
#[derive(InputObject, Default)]
pub struct TeamOrder {
    /// The field to order by.
    #[graphql(default)]
    pub field: TeamOrderField,
    /// Ascending or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Finds a team by slug or answers `NOT_FOUND`.
pub async fn team_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<team::Model> {
    team::Entity::find()
        .filter(team::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("team", slug))
}

/// Finds a person by slug or answers `NOT_FOUND`.
pub async fn person_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<person::Model> {
    person::Entity::find()
        .filter(person::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("person", slug))
}

/// Team and person queries.
#[derive(Default)]
pub struct TeamQuery;

#[Object]
impl TeamQuery {
    /// One team by slug, or null.
    async fn team(&self, ctx: &Context<'_>, #[graphql(desc = "The team's slug.")] slug: String) -> Result<Option<Team>> {
        let db = db(ctx).extend()?;
        let row = team::Entity::find().filter(team::Column::Slug.eq(slug)).one(db).await;
        Ok(row.map_err(AppError::from).extend()?.map(Team))
    }

    /// One person by slug, or null.
    async fn person(&self, ctx: &Context<'_>, #[graphql(desc = "The person's slug.")] slug: String) -> Result<Option<Person>> {
        let db = db(ctx).extend()?;
        let row = person::Entity::find().filter(person::Column::Slug.eq(slug)).one(db).await;
        Ok(row.map_err(AppError::from).extend()?.map(Person))
    }

    /// Teams, filtered and ordered, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn teams(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which teams to list.")] filter: Option<TeamFilter>,
        #[graphql(desc = "The order of the list; by name when omitted.")] order_by: Option<TeamOrder>,
        #[graphql(desc = "Items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items before this cursor.")] before: Option<String>,
        #[graphql(desc = "At most this many items from the start (at most 100; 20 by default).")] first: Option<i32>,
        #[graphql(desc = "At most this many items from the end (at most 100).")] last: Option<i32>,
    ) -> Result<Conn<Team>> {
        let db = db(ctx).extend()?;
        let f = filter.unwrap_or_default();
        let mut q = team::Entity::find();
        if let Some(d) = f.department {
            q = q.filter(team::Column::Department.eq(enums::Department::from(d)));
        }
        if let Some(s) = f.search.as_deref().filter(|s| !s.is_empty()) {
            use team::Column as C;
            q = q.filter(pagination::text_search(s, &[C::Slug, C::Name, C::Description]));
        }
        let order = order_by.unwrap_or_default();
        let descending = order.direction == OrderDirection::Desc;
        let ordering = match order.field {
            TeamOrderField::Name => Ordering {
                column: team::Column::Name,
                id_column: team::Column::Id,
                descending,
                key: |m: &team::Model| SortValue::Text(m.name.clone()),
            },
            TeamOrderField::Slug => Ordering {
                column: team::Column::Slug,
                id_column: team::Column::Id,
                descending,
                key: |m: &team::Model| SortValue::Text(m.slug.clone()),
            },
        };
        let args = PageArgs { after, before, first, last };
        pagination::paginate(db, q, ordering, args, Team).await.extend()
    }
}
