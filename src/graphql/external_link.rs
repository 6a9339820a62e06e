//! Links to documents about a persona, journey, stage or team: the `ExternalLink` object and
//! its mutations, which hand their commands to `domain::link`.

use super::enums::{LinkAccess, LinkKind};
use super::persona::DeletePayload;
use super::{apply, id};
use crate::domain::link;
use crate::domain::types::{Name, Url};
use crate::error::{AppError, AppResult};
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use entity::enums::SubjectType;
use entity::external_link;

/// A link to a document about a catalog item, such as slides the handbook cannot show.
pub struct ExternalLink(pub external_link::Model);

/// A link to a document about a catalog item, such as slides the handbook cannot show.
#[Object]
impl ExternalLink {
    /// Global ID.
    pub async fn id(&self) -> ID {
        id::encode("ExternalLink", self.0.id)
    }
    /// What the link shows.
    async fn label(&self) -> &str {
        &self.0.label
    }
    /// Where it points.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// The kind of document.
    async fn kind(&self) -> LinkKind {
        self.0.kind.into()
    }
    /// Who can open it.
    async fn access(&self) -> LinkAccess {
        self.0.access.into()
    }
}

/// Input of `addExternalLink`.
#[derive(InputObject)]
pub struct AddExternalLinkInput {
    /// Global ID of the persona, journey, stage or team the document is about.
    pub subject: ID,
    /// What the link shows (1 to 200 characters).
    pub label: String,
    /// An absolute http or https URL.
    pub url: String,
    /// The kind of document.
    pub kind: LinkKind,
    /// Who can open it; INTERNAL unless given.
    pub access: Option<LinkAccess>,
}

/// Input of `updateExternalLink`: fields left out keep their value.
#[derive(InputObject)]
pub struct UpdateExternalLinkInput {
    /// The link's ID.
    pub id: ID,
    /// New label.
    pub label: Option<String>,
    /// New URL.
    pub url: Option<String>,
    /// New kind.
    pub kind: Option<LinkKind>,
    /// New access.
    pub access: Option<LinkAccess>,
}

/// Input of `removeExternalLink`.
#[derive(InputObject)]
pub struct RemoveExternalLinkInput {
    /// The link's ID.
    pub id: ID,
}

/// Result of `addExternalLink` and `updateExternalLink`.
#[derive(SimpleObject)]
pub struct ExternalLinkPayload {
    /// The link as it is now.
    pub link: ExternalLink,
}

impl AddExternalLinkInput {
    /// The domain command, with the subject's global ID decoded and every value validated.
    fn command(self) -> AppResult<link::AddExternalLink> {
        let subject = subject(&self.subject)?;
        Ok(link::AddExternalLink {
            subject,
            subject_key: self.subject.to_string(),
            label: Name::parse("label", &self.label)?,
            url: Url::parse("url", &self.url)?,
            kind: self.kind.into(),
            access: self.access.unwrap_or(LinkAccess::Internal).into(),
        })
    }
}

impl UpdateExternalLinkInput {
    fn command(self) -> AppResult<link::UpdateExternalLink> {
        Ok(link::UpdateExternalLink {
            id: id::decode_as(&self.id, "ExternalLink", "id")?,
            label: self
                .label
                .as_deref()
                .map(|l| Name::parse("label", l))
                .transpose()?,
            url: self
                .url
                .as_deref()
                .map(|u| Url::parse("url", u))
                .transpose()?,
            kind: self.kind.map(Into::into),
            access: self.access.map(Into::into),
            key: self.id.to_string(),
        })
    }
}

impl RemoveExternalLinkInput {
    fn command(&self) -> AppResult<link::RemoveExternalLink> {
        Ok(link::RemoveExternalLink {
            id: id::decode_as(&self.id, "ExternalLink", "id")?,
            key: self.id.to_string(),
        })
    }
}

/// The subject a global ID names: a persona, journey, stage or team (existence is checked
/// by the command).
fn subject(gid: &ID) -> AppResult<link::LinkSubject> {
    let wrong = || {
        AppError::bad_input(
            "subject",
            "must be the ID of a persona, journey, stage or team",
        )
    };
    let (type_name, id) = id::decode(gid).ok_or_else(wrong)?;
    let kind = match type_name.as_str() {
        "Persona" => SubjectType::Persona,
        "Journey" => SubjectType::Journey,
        "Stage" => SubjectType::Stage,
        "Team" => SubjectType::Team,
        _ => return Err(wrong()),
    };
    Ok(link::LinkSubject { kind, id })
}

/// External link mutations.
#[derive(Default)]
pub struct ExternalLinkMutation;

#[Object]
impl ExternalLinkMutation {
    /// Attaches a link to a document to a persona, journey, stage or team.
    async fn add_external_link(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The subject and the link.")] input: AddExternalLinkInput,
    ) -> Result<ExternalLinkPayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(ExternalLinkPayload {
            link: ExternalLink(row),
        })
    }
    /// Changes a link.
    async fn update_external_link(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The link and its new values.")] input: UpdateExternalLinkInput,
    ) -> Result<ExternalLinkPayload> {
        let row = apply(ctx, input.command()).await?;
        Ok(ExternalLinkPayload {
            link: ExternalLink(row),
        })
    }
    /// Removes a link.
    async fn remove_external_link(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The link to remove.")] input: RemoveExternalLinkInput,
    ) -> Result<DeletePayload> {
        apply(ctx, input.command()).await?;
        Ok(DeletePayload {
            deleted_id: input.id,
        })
    }
}
