//! Links to documents about a persona, journey, stage or team: the `ExternalLink` object and
//! its mutations.

use super::enums::{LinkAccess, LinkKind};
use super::persona::DeletePayload;
use super::{begin_write, db, history, id, validate};
use crate::audit::{self, Actor, Change, Subject};
use crate::error::{AppError, AppResult};
use async_graphql::{Context, ID, InputObject, Object, Result, ResultExt, SimpleObject};
use chrono::Utc;
use entity::audit_event::AuditSubject;
use entity::{enums, external_link};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::LockType;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    QuerySelect,
};

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

/// Resolves a subject's global ID to its stored type and row, checking that it exists.
async fn subject(db: &impl ConnectionTrait, gid: &ID) -> AppResult<(enums::SubjectType, i32)> {
    let (type_name, row) = id::decode(gid).ok_or_else(|| {
        AppError::bad_input(
            "subject",
            "must be the ID of a persona, journey, stage or team",
        )
    })?;
    let (kind, exists) = match type_name.as_str() {
        "Persona" => (
            enums::SubjectType::Persona,
            entity::persona::Entity::find_by_id(row)
                .one(db)
                .await?
                .is_some(),
        ),
        "Journey" => (
            enums::SubjectType::Journey,
            entity::journey::Entity::find_by_id(row)
                .one(db)
                .await?
                .is_some(),
        ),
        "Stage" => (
            enums::SubjectType::Stage,
            entity::journey_stage::Entity::find_by_id(row)
                .one(db)
                .await?
                .is_some(),
        ),
        "Team" => (
            enums::SubjectType::Team,
            entity::team::Entity::find_by_id(row)
                .one(db)
                .await?
                .is_some(),
        ),
        _ => {
            return Err(AppError::bad_input(
                "subject",
                "must be the ID of a persona, journey, stage or team",
            ));
        }
    };
    if !exists {
        return Err(AppError::not_found("subject", &**gid));
    }
    Ok((kind, row))
}

/// The record a link belongs to, as the history names it.
async fn link_subject(
    db: &impl ConnectionTrait,
    link: &external_link::Model,
) -> AppResult<Subject> {
    let kind = match link.subject_type {
        enums::SubjectType::Persona => AuditSubject::Persona,
        enums::SubjectType::Journey => AuditSubject::Journey,
        enums::SubjectType::Stage => AuditSubject::Stage,
        enums::SubjectType::Team => AuditSubject::Team,
    };
    Subject::load(db, kind, link.subject_id).await
}

async fn add_link(
    db: &DatabaseConnection,
    actor: &Actor,
    input: AddExternalLinkInput,
) -> AppResult<external_link::Model> {
    let label = validate::name("label", &input.label)?;
    let url = validate::url("url", &input.url)?;
    let txn = begin_write(db).await?;
    let (subject_type, subject_id) = subject(&txn, &input.subject).await?;
    let now = Utc::now();
    let row = external_link::ActiveModel {
        subject_type: Set(subject_type),
        subject_id: Set(subject_id),
        label: Set(label),
        url: Set(url),
        kind: Set(input.kind.into()),
        access: Set(input.access.unwrap_or(LinkAccess::Internal).into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let subject = link_subject(&txn, &row).await?;
    let change = Change::created("addExternalLink", subject, audit::snapshot(&row));
    audit::record(&txn, actor, change).await?;
    txn.commit().await?;
    Ok(row)
}

/// The link `gid`, locked as a change to it would lock it (so it is what the change changes).
async fn link_by_id(
    db: &impl ConnectionTrait,
    gid: &ID,
    lock: LockType,
) -> AppResult<external_link::Model> {
    let row = id::decode_as(gid, "ExternalLink", "id")?;
    external_link::Entity::find_by_id(row)
        .lock(lock)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("external link", &**gid))
}

async fn update_link(
    db: &DatabaseConnection,
    actor: &Actor,
    input: UpdateExternalLinkInput,
) -> AppResult<external_link::Model> {
    let label = input
        .label
        .as_deref()
        .map(|l| validate::name("label", l))
        .transpose()?;
    let url = input
        .url
        .as_deref()
        .map(|u| validate::url("url", u))
        .transpose()?;
    let txn = begin_write(db).await?;
    let current = link_by_id(&txn, &input.id, LockType::NoKeyUpdate).await?;
    let mut row = current.clone().into_active_model();
    if let Some(label) = label {
        row.label = Set(label);
    }
    if let Some(url) = url {
        row.url = Set(url);
    }
    if let Some(kind) = input.kind {
        row.kind = Set(kind.into());
    }
    if let Some(access) = input.access {
        row.access = Set(access.into());
    }
    row.updated_at = Set(Utc::now());
    let row = row.update(&txn).await?;
    let subject = link_subject(&txn, &row).await?;
    let change = Change::updated(
        "updateExternalLink",
        subject,
        audit::snapshot(&current),
        audit::snapshot(&row),
    );
    audit::record(&txn, actor, change).await?;
    txn.commit().await?;
    Ok(row)
}

async fn remove_link(
    db: &DatabaseConnection,
    actor: &Actor,
    input: RemoveExternalLinkInput,
) -> AppResult<ID> {
    let txn = begin_write(db).await?;
    let row = link_by_id(&txn, &input.id, LockType::Update).await?;
    external_link::Entity::delete_by_id(row.id)
        .exec(&txn)
        .await?;
    let subject = link_subject(&txn, &row).await?;
    let change = Change::deleted("removeExternalLink", subject, audit::snapshot(&row));
    audit::record(&txn, actor, change).await?;
    txn.commit().await?;
    Ok(input.id)
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
        let row = add_link(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
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
        let row = update_link(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
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
        let deleted_id = remove_link(db(ctx).extend()?, &history::actor(ctx)?, input)
            .await
            .extend()?;
        Ok(DeletePayload { deleted_id })
    }
}
