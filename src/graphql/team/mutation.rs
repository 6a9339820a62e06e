//! Changing teams, people and memberships: the inputs, their conversion into the commands of
//! `domain::team` and `domain::person`, and the mutations that apply them.

use super::{Person, Team, TeamMember};
use crate::domain::types::{Email, LONG_TEXT_MAX, LongText, Name, Slug};
use crate::domain::{person as people, team as teams};
use crate::error::AppResult;
use crate::graphql::enums::{Department, MembershipRole};
use crate::graphql::input::{optional_text, text_patch};
use crate::graphql::persona::DeletePayload;
use crate::graphql::{apply, id};
use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject};

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

impl CreateTeamInput {
    fn command(self) -> AppResult<teams::CreateTeam> {
        Ok(teams::CreateTeam {
            slug: Slug::parse("slug", &self.slug)?,
            name: Name::parse("name", &self.name)?,
            department: self.department.into(),
            description: optional_text::<LONG_TEXT_MAX>(
                "description",
                self.description.as_deref(),
            )?,
        })
    }
}

impl UpdateTeamInput {
    fn command(self) -> AppResult<teams::UpdateTeam> {
        let description: Option<Option<LongText>> = text_patch("description", &self.description)?;
        Ok(teams::UpdateTeam {
            name: self
                .name
                .as_deref()
                .map(|n| Name::parse("name", n))
                .transpose()?,
            department: self.department.map(Into::into),
            description,
            expected_version: self.expected_version,
            slug: self.slug,
        })
    }
}

impl DeleteTeamInput {
    fn command(self) -> AppResult<teams::DeleteTeam> {
        Ok(teams::DeleteTeam { slug: self.slug })
    }
}

impl CreatePersonInput {
    fn command(self) -> AppResult<people::CreatePerson> {
        Ok(people::CreatePerson {
            slug: Slug::parse("slug", &self.slug)?,
            name: Name::parse("name", &self.name)?,
            email: Email::parse_optional("email", self.email.as_deref())?,
        })
    }
}

impl UpdatePersonInput {
    fn command(self) -> AppResult<people::UpdatePerson> {
        let email = match &self.email {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(e) => Some(Email::parse_optional("email", Some(e))?),
        };
        Ok(people::UpdatePerson {
            name: self
                .name
                .as_deref()
                .map(|n| Name::parse("name", n))
                .transpose()?,
            email,
            slug: self.slug,
        })
    }
}

impl DeletePersonInput {
    fn command(self) -> AppResult<people::DeletePerson> {
        Ok(people::DeletePerson { slug: self.slug })
    }
}

impl AddTeamMemberInput {
    fn command(self) -> AppResult<teams::AddTeamMember> {
        Ok(teams::AddTeamMember {
            team: self.team,
            person: self.person,
            role: self.role.into(),
        })
    }
}

impl ChangeTeamMemberRoleInput {
    fn command(self) -> AppResult<teams::ChangeTeamMemberRole> {
        Ok(teams::ChangeTeamMemberRole {
            team: self.team,
            person: self.person,
            role: self.role.into(),
        })
    }
}

impl RemoveTeamMemberInput {
    fn command(self) -> AppResult<teams::RemoveTeamMember> {
        Ok(teams::RemoveTeamMember {
            team: self.team,
            person: self.person,
        })
    }
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
        let row = apply(ctx, input.command()).await?;
        Ok(CreateTeamPayload { team: Team(row) })
    }
    /// Changes a team; fails with `CONFLICT` when `expectedVersion` is stale.
    async fn update_team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team and the changes.")] input: UpdateTeamInput,
    ) -> Result<UpdateTeamPayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(UpdateTeamPayload { team: Team(row) })
    }
    /// Deletes a team with its memberships, stage ownerships, persona alignments and external
    /// links; the journeys it owned stages of get a new version.
    async fn delete_team(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team to delete.")] input: DeleteTeamInput,
    ) -> Result<DeletePayload> {
        let deleted_id = id::encode("Team", apply(ctx, input.command()).await?);
        Ok(DeletePayload { deleted_id })
    }
    /// Creates a person; a taken slug answers `CONFLICT`.
    async fn create_person(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The person to create.")] input: CreatePersonInput,
    ) -> Result<CreatePersonPayload> {
        let row = apply(ctx, input.command()).await?;
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
        let row = apply(ctx, input.command()).await?;
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
        let deleted_id = id::encode("Person", apply(ctx, input.command()).await?);
        Ok(DeletePayload { deleted_id })
    }
    /// Adds a person to a team; a person already in the team answers `CONFLICT`.
    async fn add_team_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The team, the person and their role.")] input: AddTeamMemberInput,
    ) -> Result<AddTeamMemberPayload> {
        let row = apply(ctx, input.command()).await?;
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
        let row = apply(ctx, input.command()).await?;
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
        let deleted_id = id::encode("TeamMember", apply(ctx, input.command()).await?);
        Ok(DeletePayload { deleted_id })
    }
}
