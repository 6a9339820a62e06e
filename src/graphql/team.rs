//! Teams, people and memberships: the `Team`, `Person` and `TeamMember` objects, their
//! queries and their mutations.

use super::enums::{Department, MembershipRole, OrderDirection};
use super::external_link::ExternalLink;
use super::loaders::{
    AlignmentsByTeam, LinksBySubject, MembershipsByPerson, MembershipsByTeam, OwnershipsByTeam,
    PersonById, PersonMemberships, TeamAlignments, TeamById, TeamMembers, TeamOwnerships,
};
use super::ownership::{StageOwnership, TeamAlignment, bump_journeys_of_stages};
use super::pagination::{self, Conn, Ordering, PageArgs, SortValue};
use super::persona::{DeletePayload, stale, text_change};
use super::{begin_write, child_connection, db, history, id, referenced, related, validate};
use crate::domain::audit::{self, Actor, Event, Subject};
use crate::error::{AppError, AppResult};
use async_graphql::{
    Context, ID, InputObject, MaybeUndefined, Object, Result, ResultExt, SimpleObject,
};
use chrono::{DateTime, Utc};
use entity::audit_event::AuditSubject;
use entity::{enums, external_link, person, stage_ownership, team, team_membership};
use sea_orm::sea_query::{Expr, ExprTrait, LockType};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
};

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
        related(ctx, MembershipsByTeam(self.0.id), TeamMember).await
    }
    /// The journey stages this team has a responsibility for.
    async fn ownerships(&self, ctx: &Context<'_>) -> Result<Vec<StageOwnership>> {
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

/// Team and person queries.
#[derive(Default)]
pub struct TeamQuery;

#[Object]
impl TeamQuery {
    /// One team by slug, or null.
    async fn team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team's slug.")] slug: String,
    ) -> Result<Option<Team>> {
        let db = db(ctx).extend()?;
        let row = team::Entity::find()
            .filter(team::Column::Slug.eq(slug))
            .one(db)
            .await;
        Ok(row.map_err(AppError::from).extend()?.map(Team))
    }

    /// One person by slug, or null.
    async fn person(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The person's slug.")] slug: String,
    ) -> Result<Option<Person>> {
        let db = db(ctx).extend()?;
        let row = person::Entity::find()
            .filter(person::Column::Slug.eq(slug))
            .one(db)
            .await;
        Ok(row.map_err(AppError::from).extend()?.map(Person))
    }

    /// Teams, filtered and ordered, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn teams(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which teams to list.")] filter: Option<TeamFilter>,
        #[graphql(desc = "The order of the list; by name when omitted.")] order_by: Option<
            TeamOrder,
        >,
        #[graphql(desc = "Items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Items before this cursor.")] before: Option<String>,
        #[graphql(desc = "At most this many items from the start (at most 100; 20 by default).")]
        first: Option<i32>,
        #[graphql(desc = "At most this many items from the end (at most 100).")] last: Option<i32>,
    ) -> Result<Conn<Team>> {
        let db = db(ctx).extend()?;
        let f = filter.unwrap_or_default();
        let mut q = team::Entity::find();
        if let Some(d) = f.department {
            q = q.filter(team::Column::Department.eq(enums::Department::from(d)));
        }
        if let Some(s) = f.search.as_deref().filter(|s| !s.is_empty()) {
            crate::graphql::validate::search("filter.search", s).extend()?;
            use team::Column as C;
            q = q.filter(pagination::text_search(
                s,
                &[C::Slug, C::Name, C::Description],
            ));
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
        let args = PageArgs {
            after,
            before,
            first,
            last,
        };
        pagination::paginate(db, q, ordering, args, Team)
            .await
            .extend()
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

/// Input of `createTeam`.
#[derive(InputObject)]
pub struct CreateTeamInput {
    /// Kebab-case key, unique and immutable.
    pub slug: String,
    /// Display name (1 to 200 characters).
    pub name: String,
    /// The department the team belongs to.
    pub department: Department,
    /// What the team does.
    pub description: Option<String>,
}

/// Result of `createTeam`.
#[derive(SimpleObject)]
pub struct CreateTeamPayload {
    /// The new team.
    pub team: Team,
}

/// Input of `updateTeam`: fields left out keep their value; null clears the description.
#[derive(InputObject)]
pub struct UpdateTeamInput {
    /// The team to change.
    pub slug: String,
    /// The version the editor last read; a different current version answers `CONFLICT`.
    pub expected_version: i32,
    /// New display name.
    pub name: Option<String>,
    /// New department.
    pub department: Option<Department>,
    /// New description.
    pub description: MaybeUndefined<String>,
}

/// Result of `updateTeam`.
#[derive(SimpleObject)]
pub struct UpdateTeamPayload {
    /// The team as it is now.
    pub team: Team,
}

/// Input of `deleteTeam`.
#[derive(InputObject)]
pub struct DeleteTeamInput {
    /// The team to delete, with its memberships, stage ownerships, alignments and links.
    pub slug: String,
}

/// Input of `createPerson`.
#[derive(InputObject)]
pub struct CreatePersonInput {
    /// Kebab-case key, unique and immutable.
    pub slug: String,
    /// Display name (1 to 200 characters).
    pub name: String,
    /// E-mail address.
    pub email: Option<String>,
}

/// Result of `createPerson`.
#[derive(SimpleObject)]
pub struct CreatePersonPayload {
    /// The new person.
    pub person: Person,
}

/// Input of `updatePerson`: fields left out keep their value; null clears the e-mail address.
#[derive(InputObject)]
pub struct UpdatePersonInput {
    /// The person to change.
    pub slug: String,
    /// New display name.
    pub name: Option<String>,
    /// New e-mail address.
    pub email: MaybeUndefined<String>,
}

/// Result of `updatePerson`.
#[derive(SimpleObject)]
pub struct UpdatePersonPayload {
    /// The person as they are now.
    pub person: Person,
}

/// Input of `deletePerson`.
#[derive(InputObject)]
pub struct DeletePersonInput {
    /// The person to delete; their memberships go too and the stages they were DRI of keep
    /// their owner without a DRI.
    pub slug: String,
}

/// Input of `addTeamMember`.
#[derive(InputObject)]
pub struct AddTeamMemberInput {
    /// The team's slug.
    pub team: String,
    /// The person's slug.
    pub person: String,
    /// Lead or member; member unless given.
    #[graphql(default_with = "MembershipRole::Member")]
    pub role: MembershipRole,
}

/// Result of `addTeamMember`.
#[derive(SimpleObject)]
pub struct AddTeamMemberPayload {
    /// The new membership.
    pub member: TeamMember,
}

/// Input of `changeTeamMemberRole`.
#[derive(InputObject)]
pub struct ChangeTeamMemberRoleInput {
    /// The team's slug.
    pub team: String,
    /// The member's slug.
    pub person: String,
    /// The new role.
    pub role: MembershipRole,
}

/// Result of `changeTeamMemberRole`.
#[derive(SimpleObject)]
pub struct ChangeTeamMemberRolePayload {
    /// The membership as it is now.
    pub member: TeamMember,
}

/// Input of `removeTeamMember`.
#[derive(InputObject)]
pub struct RemoveTeamMemberInput {
    /// The team's slug.
    pub team: String,
    /// The member's slug.
    pub person: String,
}

async fn create_team(
    db: &DatabaseConnection,
    actor: &Actor,
    input: CreateTeamInput,
) -> AppResult<team::Model> {
    let slug = validate::slug("slug", &input.slug)?;
    let name = validate::name("name", &input.name)?;
    let description = validate::optional(
        "description",
        input.description.as_deref(),
        validate::LONG_TEXT_MAX,
    )?;
    let txn = begin_write(db).await?;
    let now = Utc::now();
    let row = team::ActiveModel {
        slug: Set(slug.clone()),
        name: Set(name),
        department: Set(input.department.into()),
        description: Set(description),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::on_unique(e, format!("a team with slug {slug} already exists")))?;
    let change = Event::created("createTeam", Subject::team(&row), audit::snapshot(&row));
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn update_team(
    db: &DatabaseConnection,
    actor: &Actor,
    input: UpdateTeamInput,
) -> AppResult<team::Model> {
    use team::Column as C;
    let mut update = team::Entity::update_many()
        .col_expr(C::Version, Expr::col(C::Version).add(1))
        .col_expr(C::UpdatedAt, Expr::value(Utc::now()));
    if let Some(v) = &input.name {
        update = update.col_expr(C::Name, Expr::value(validate::name("name", v)?));
    }
    if let Some(v) = input.department {
        update = update.col_expr(C::Department, Expr::value(enums::Department::from(v)));
    }
    if let Some(v) = text_change("description", &input.description, validate::LONG_TEXT_MAX)? {
        update = update.col_expr(C::Description, Expr::value(v));
    }

    let txn = begin_write(db).await?;
    let current = crate::domain::find::team_by_slug(&txn, &input.slug).await?;
    // As in updatePersona: a matching version makes `current` the row the update changes.
    if current.version != input.expected_version {
        return Err(stale("team", &input.slug, current.version));
    }
    let result = update
        .filter(C::Id.eq(current.id))
        .filter(C::Version.eq(input.expected_version))
        .exec(&txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(stale("team", &input.slug, current.version));
    }
    let row = team::Entity::find_by_id(current.id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("team", &input.slug))?;
    let change = Event::updated(
        "updateTeam",
        Subject::team(&row),
        audit::snapshot(&current),
        audit::snapshot(&row),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

/// The stages whose ownership rows match `condition`: their journeys change with those rows.
async fn owned_stages(
    db: &impl ConnectionTrait,
    condition: sea_orm::Condition,
) -> AppResult<Vec<i32>> {
    Ok(stage_ownership::Entity::find()
        .select_only()
        .column(stage_ownership::Column::StageId)
        .filter(condition)
        .into_tuple()
        .all(db)
        .await?)
}

/// Clears the DRI of the ownerships matching `condition`, whose memberships the caller has
/// just deleted, and gives their journeys a new version.
///
/// Deleting the membership first is what keeps every DRI a member on PostgreSQL, where
/// writes run under READ COMMITTED: an assignment locks the membership it relies on
/// (`dri_of`, FOR SHARE), so the DELETE waited for any such assignment to commit, each
/// statement here sees those commits, and later assignments find no membership.
///
/// The journeys are locked before the ownership rows, the order removeStage and deleteJourney
/// take them in (journey, then the stage's ownerships by cascade).
async fn clear_dri(db: &impl ConnectionTrait, condition: sea_orm::Condition) -> AppResult<()> {
    let stages = owned_stages(db, condition.clone()).await?;
    bump_journeys_of_stages(db, stages).await?;
    stage_ownership::Entity::update_many()
        .col_expr(
            stage_ownership::Column::PersonId,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(stage_ownership::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(condition)
        .exec(db)
        .await?;
    Ok(())
}

async fn delete_team(
    db: &DatabaseConnection,
    actor: &Actor,
    input: DeleteTeamInput,
) -> AppResult<ID> {
    let txn = begin_write(db).await?;
    let current = crate::domain::find::team_by_slug(&txn, &input.slug).await?;
    // Memberships before journeys, the order assignStageOwner locks them in (its DRI's
    // membership, then the journey); the cascade from the team row would take them last.
    team_membership::Entity::delete_many()
        .filter(team_membership::Column::TeamId.eq(current.id))
        .exec(&txn)
        .await?;
    let stages = owned_stages(
        &txn,
        sea_orm::Condition::all().add(stage_ownership::Column::TeamId.eq(current.id)),
    )
    .await?;
    bump_journeys_of_stages(&txn, stages).await?;
    // External links point at their subject without a foreign key, so they go by hand;
    // memberships, ownerships and alignments cascade.
    external_link::Entity::delete_many()
        .filter(external_link::Column::SubjectType.eq(enums::SubjectType::Team))
        .filter(external_link::Column::SubjectId.eq(current.id))
        .exec(&txn)
        .await?;
    // Read again with the lock the delete takes, where the delete takes it (an earlier lock on
    // the team would invert the order ownership assignments lock things in).
    let current = team::Entity::find_by_id(current.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("team", &input.slug))?;
    team::Entity::delete_by_id(current.id).exec(&txn).await?;
    let change = Event::deleted(
        "deleteTeam",
        Subject::team(&current),
        audit::snapshot(&current),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(id::encode("Team", current.id))
}

async fn create_person(
    db: &DatabaseConnection,
    actor: &Actor,
    input: CreatePersonInput,
) -> AppResult<person::Model> {
    let slug = validate::slug("slug", &input.slug)?;
    let name = validate::name("name", &input.name)?;
    let email = validate::email("email", input.email.as_deref())?;
    let txn = begin_write(db).await?;
    let now = Utc::now();
    let row = person::ActiveModel {
        slug: Set(slug.clone()),
        name: Set(name),
        email: Set(email),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::on_unique(e, format!("a person with slug {slug} already exists")))?;
    let change = Event::created("createPerson", Subject::person(&row), audit::snapshot(&row));
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn update_person(
    db: &DatabaseConnection,
    actor: &Actor,
    input: UpdatePersonInput,
) -> AppResult<person::Model> {
    let name = input
        .name
        .as_deref()
        .map(|n| validate::name("name", n))
        .transpose()?;
    let email = match &input.email {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(e) => Some(validate::email("email", Some(e))?),
    };
    let txn = begin_write(db).await?;
    let current = crate::domain::find::person_by_slug(&txn, &input.slug).await?;
    // Locked now rather than by the update, so `current` is what the update changes.
    let current = person::Entity::find_by_id(current.id)
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("person", &input.slug))?;
    let mut active = current.clone().into_active_model();
    if let Some(n) = name {
        active.name = Set(n);
    }
    if let Some(e) = email {
        active.email = Set(e);
    }
    active.updated_at = Set(Utc::now());
    let row = active.update(&txn).await?;
    let change = Event::updated(
        "updatePerson",
        Subject::person(&row),
        audit::snapshot(&current),
        audit::snapshot(&row),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn delete_person(
    db: &DatabaseConnection,
    actor: &Actor,
    input: DeletePersonInput,
) -> AppResult<ID> {
    let txn = begin_write(db).await?;
    let current = crate::domain::find::person_by_slug(&txn, &input.slug).await?;
    // Memberships first, as in removeTeamMember.
    team_membership::Entity::delete_many()
        .filter(team_membership::Column::PersonId.eq(current.id))
        .exec(&txn)
        .await?;
    // The foreign key would null these too; doing it here keeps the journeys' versions honest
    // and does not depend on the backend enforcing foreign keys.
    clear_dri(
        &txn,
        sea_orm::Condition::all().add(stage_ownership::Column::PersonId.eq(current.id)),
    )
    .await?;
    // Read again with the lock the delete takes, where the delete takes it.
    let current = person::Entity::find_by_id(current.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::not_found("person", &input.slug))?;
    person::Entity::delete_by_id(current.id).exec(&txn).await?;
    let change = Event::deleted(
        "deletePerson",
        Subject::person(&current),
        audit::snapshot(&current),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(id::encode("Person", current.id))
}

async fn add_team_member(
    db: &DatabaseConnection,
    actor: &Actor,
    input: AddTeamMemberInput,
) -> AppResult<team_membership::Model> {
    let txn = begin_write(db).await?;
    let team = crate::domain::find::team_by_slug(&txn, &input.team).await?;
    let person = crate::domain::find::person_by_slug(&txn, &input.person).await?;
    let duplicate = || format!("{} is already a member of team {}", person.slug, team.slug);
    if membership(&txn, team.id, person.id).await?.is_some() {
        return Err(AppError::conflict(duplicate()));
    }
    let now = Utc::now();
    let row = team_membership::ActiveModel {
        team_id: Set(team.id),
        person_id: Set(person.id),
        role: Set(input.role.into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::on_unique(e, duplicate()))?;
    let after = audit::snapshot_with(&row, &[("person", person.slug.clone().into())]);
    let change = Event::created("addTeamMember", Subject::team(&team), after);
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

/// The membership of a person (by slug) in a team (by slug), or `NOT_FOUND`.
async fn member_by_slugs(
    db: &impl ConnectionTrait,
    team_slug: &str,
    person_slug: &str,
) -> AppResult<team_membership::Model> {
    let team = crate::domain::find::team_by_slug(db, team_slug).await?;
    let person = crate::domain::find::person_by_slug(db, person_slug).await?;
    membership(db, team.id, person.id).await?.ok_or_else(|| {
        AppError::not_found("team member", format!("{person_slug} in team {team_slug}"))
    })
}

async fn change_team_member_role(
    db: &DatabaseConnection,
    actor: &Actor,
    input: ChangeTeamMemberRoleInput,
) -> AppResult<team_membership::Model> {
    let txn = begin_write(db).await?;
    let member = member_by_slugs(&txn, &input.team, &input.person).await?;
    // Locked now rather than by the update, so `before` is what the update changes.
    let before = team_membership::Entity::find_by_id(member.id)
        .lock(LockType::NoKeyUpdate)
        .one(&txn)
        .await?
        .unwrap_or_else(|| member.clone());
    let mut active = member.into_active_model();
    active.role = Set(input.role.into());
    active.updated_at = Set(Utc::now());
    // A removal that committed since the read above leaves nothing to update.
    let row = active.update(&txn).await.map_err(|e| match e {
        sea_orm::DbErr::RecordNotUpdated => AppError::not_found(
            "team member",
            format!("{} in team {}", input.person, input.team),
        ),
        e => AppError::from(e),
    })?;
    let subject = Subject::load(&txn, AuditSubject::Team, row.team_id).await?;
    let person = [("person", input.person.clone().into())];
    let change = Event::updated(
        "changeTeamMemberRole",
        subject,
        audit::snapshot_with(&before, &person),
        audit::snapshot_with(&row, &person),
    );
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn remove_team_member(
    db: &DatabaseConnection,
    actor: &Actor,
    input: RemoveTeamMemberInput,
) -> AppResult<ID> {
    let txn = begin_write(db).await?;
    let member = member_by_slugs(&txn, &input.team, &input.person).await?;
    // Read again with the lock the delete below takes; gone means a removal committed meanwhile.
    let member = team_membership::Entity::find_by_id(member.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::not_found(
                "team member",
                format!("{} in team {}", input.person, input.team),
            )
        })?;
    // The membership goes first (see `clear_dri`); a removal that committed meanwhile has
    // taken it already.
    let deleted = team_membership::Entity::delete_by_id(member.id)
        .exec(&txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(AppError::not_found(
            "team member",
            format!("{} in team {}", input.person, input.team),
        ));
    }
    // A DRI must be a member of the owning team, so leaving the team ends being its DRI.
    clear_dri(
        &txn,
        sea_orm::Condition::all()
            .add(stage_ownership::Column::TeamId.eq(member.team_id))
            .add(stage_ownership::Column::PersonId.eq(member.person_id)),
    )
    .await?;
    let subject = Subject::load(&txn, AuditSubject::Team, member.team_id).await?;
    let before = audit::snapshot_with(&member, &[("person", input.person.clone().into())]);
    let change = Event::deleted("removeTeamMember", subject, before);
    audit::write(&txn, actor, &change).await?;
    txn.commit().await?;
    Ok(id::encode("TeamMember", member.id))
}

/// Team, person and membership mutations.
#[derive(Default)]
pub struct TeamMutation;

/// Team, person and membership mutations.
#[Object]
impl TeamMutation {
    /// Creates a team; a taken slug answers `CONFLICT`.
    async fn create_team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team to create.")] input: CreateTeamInput,
    ) -> Result<CreateTeamPayload> {
        let row = create_team(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(CreateTeamPayload { team: Team(row) })
    }
    /// Changes a team; fails with `CONFLICT` when `expectedVersion` is stale.
    async fn update_team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team and the changes.")] input: UpdateTeamInput,
    ) -> Result<UpdateTeamPayload> {
        let row = update_team(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(UpdateTeamPayload { team: Team(row) })
    }
    /// Deletes a team with its memberships, stage ownerships, persona alignments and external
    /// links; the journeys it owned stages of get a new version.
    async fn delete_team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team to delete.")] input: DeleteTeamInput,
    ) -> Result<DeletePayload> {
        let deleted_id = delete_team(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(DeletePayload { deleted_id })
    }
    /// Creates a person; a taken slug answers `CONFLICT`.
    async fn create_person(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The person to create.")] input: CreatePersonInput,
    ) -> Result<CreatePersonPayload> {
        let row = create_person(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(CreatePersonPayload {
            person: Person(row),
        })
    }
    /// Renames a person or changes their e-mail address.
    async fn update_person(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The person and the changes.")] input: UpdatePersonInput,
    ) -> Result<UpdatePersonPayload> {
        let row = update_person(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(UpdatePersonPayload {
            person: Person(row),
        })
    }
    /// Deletes a person with their memberships; stages they were the DRI of keep their owning
    /// team and lose the DRI.
    async fn delete_person(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The person to delete.")] input: DeletePersonInput,
    ) -> Result<DeletePayload> {
        let deleted_id = delete_person(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(DeletePayload { deleted_id })
    }
    /// Adds a person to a team; a person already in the team answers `CONFLICT`.
    async fn add_team_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team, the person and their role.")] input: AddTeamMemberInput,
    ) -> Result<AddTeamMemberPayload> {
        let row = add_team_member(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(AddTeamMemberPayload {
            member: TeamMember(row),
        })
    }
    /// Makes a member a lead, or a lead a member.
    async fn change_team_member_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The membership and its new role.")] input: ChangeTeamMemberRoleInput,
    ) -> Result<ChangeTeamMemberRolePayload> {
        let row = change_team_member_role(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(ChangeTeamMemberRolePayload {
            member: TeamMember(row),
        })
    }
    /// Removes a person from a team. Where they were the DRI of a stage owned by that team, the
    /// DRI is cleared in the same transaction (the team stays the owner, without a DRI), since a
    /// DRI must be a member of the owning team.
    async fn remove_team_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The membership to end.")] input: RemoveTeamMemberInput,
    ) -> Result<DeletePayload> {
        let deleted_id = remove_team_member(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(DeletePayload { deleted_id })
    }
}
