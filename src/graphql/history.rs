//! The audit history over GraphQL: the `AuditEvent` object, the `history` connection of
//! personas, journeys, stages and teams, and the admins' global feed `auditLog`. Read-only:
//! no mutation edits or deletes history (and the database refuses it too).

use super::id;
use super::loaders::{History, newest_first};
use super::pagination::{self, Conn, PageArgs};
use crate::auth::RequireRole;
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, Result, ResultExt};
use chrono::{DateTime, Utc};
use entity::api_token::TokenRole;
use entity::audit_event::{self, AuditSubject};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// The kind of record a change belongs to.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AuditSubjectType {
    /// A persona (also its roles, links and product relevance).
    Persona,
    /// A journey (also its persona narrowing and the order of its stages).
    Journey,
    /// A journey stage (also its owners).
    Stage,
    /// A team (also its members and persona alignments).
    Team,
    /// A person.
    Person,
    /// A product.
    Product,
    /// An API token (created or revoked).
    ApiToken,
}

impl From<AuditSubject> for AuditSubjectType {
    fn from(s: AuditSubject) -> Self {
        match s {
            AuditSubject::Persona => Self::Persona,
            AuditSubject::Journey => Self::Journey,
            AuditSubject::Stage => Self::Stage,
            AuditSubject::Team => Self::Team,
            AuditSubject::Person => Self::Person,
            AuditSubject::Product => Self::Product,
            AuditSubject::ApiToken => Self::ApiToken,
        }
    }
}

impl From<AuditSubjectType> for AuditSubject {
    fn from(s: AuditSubjectType) -> Self {
        match s {
            AuditSubjectType::Persona => Self::Persona,
            AuditSubjectType::Journey => Self::Journey,
            AuditSubjectType::Stage => Self::Stage,
            AuditSubjectType::Team => Self::Team,
            AuditSubjectType::Person => Self::Person,
            AuditSubjectType::Product => Self::Product,
            AuditSubjectType::ApiToken => Self::ApiToken,
        }
    }
}

/// The GraphQL type name of a subject, for its global ID.
pub(super) fn type_name(s: AuditSubject) -> &'static str {
    match s {
        AuditSubject::Persona => "Persona",
        AuditSubject::Journey => "Journey",
        AuditSubject::Stage => "Stage",
        AuditSubject::Team => "Team",
        AuditSubject::Person => "Person",
        AuditSubject::Product => "Product",
        AuditSubject::ApiToken => "ApiToken",
    }
}

/// One recorded change: who made it, when, with which mutation, to what, and the values
/// before and after.
pub struct AuditEvent(pub audit_event::Model);

/// One recorded change: who made it, when, with which mutation, to what, and the values
/// before and after.
#[Object]
impl AuditEvent {
    /// Global ID of the event.
    async fn id(&self) -> ID {
        id::encode("AuditEvent", self.0.id)
    }
    /// When the change was made (the server's clock).
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// Who made it: the name of the API token, or `cli` for the command line.
    async fn actor(&self) -> &str {
        &self.0.actor_name
    }
    /// The global ID of the API token that made it; null for the command line.
    async fn actor_token_id(&self) -> Option<ID> {
        self.0.actor_token_id.map(|t| id::encode("ApiToken", t))
    }
    /// The mutation that made it, e.g. `updatePersona`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The kind of record it belongs to.
    async fn subject_type(&self) -> AuditSubjectType {
        self.0.subject_type.into()
    }
    /// The global ID of that record (which may no longer exist).
    async fn subject_id(&self) -> ID {
        id::encode(type_name(self.0.subject_type), self.0.subject_id)
    }
    /// The record's human key when it has one: a slug, `journey/key` for a stage, a token's
    /// name.
    async fn subject_key(&self) -> Option<&str> {
        self.0.subject_key.as_deref()
    }
    /// The changed row before the change, as JSON; null when it was created.
    async fn before(&self) -> Option<Json<&serde_json::Value>> {
        self.0.before.as_ref().map(Json)
    }
    /// The changed row after the change, as JSON; null when it was deleted.
    async fn after(&self) -> Option<Json<&serde_json::Value>> {
        self.0.after.as_ref().map(Json)
    }
}

/// The history of one record, newest first, a page at a time.
pub async fn history(
    ctx: &Context<'_>,
    subject: AuditSubject,
    subject_id: i32,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Conn<AuditEvent>> {
    let args = PageArgs {
        after,
        first,
        ..PageArgs::default()
    };
    super::child_connection(ctx, History(subject), subject_id, args, AuditEvent).await
}

/// Which events `auditLog` lists.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Only changes to records of this kind.
    pub subject_type: Option<AuditSubjectType>,
    /// Only changes made by this mutation, e.g. `deletePersona`.
    pub action: Option<String>,
    /// Only changes made by this actor (a token's name, or `cli`).
    pub actor: Option<String>,
}

/// The global audit feed.
#[derive(Default)]
pub struct HistoryQuery;

#[Object]
impl HistoryQuery {
    /// Every recorded change, newest first, a page at a time. Admins only.
    #[graphql(guard = "RequireRole(TokenRole::Admin)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which changes to list.")] filter: Option<AuditLogFilter>,
        #[graphql(desc = "At most this many events (at most 100; 20 by default).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Events after (older than) this cursor.")] after: Option<String>,
    ) -> Result<Conn<AuditEvent>> {
        let db = super::db(ctx).extend()?;
        let f = filter.unwrap_or_default();
        let mut q = audit_event::Entity::find();
        if let Some(s) = f.subject_type {
            q = q.filter(audit_event::Column::SubjectType.eq(AuditSubject::from(s)));
        }
        if let Some(a) = f.action {
            q = q.filter(audit_event::Column::Action.eq(a));
        }
        if let Some(a) = f.actor {
            q = q.filter(audit_event::Column::ActorName.eq(a));
        }
        let args = PageArgs {
            after,
            first,
            ..PageArgs::default()
        };
        pagination::paginate(db, q, newest_first(), args, AuditEvent)
            .await
            .extend()
    }
}

/// The actor of a mutation (see [`crate::auth::actor`]), as a GraphQL error when there is none.
pub fn actor(ctx: &Context<'_>) -> Result<crate::domain::audit::Actor> {
    crate::auth::actor(ctx).map_err(|e| async_graphql::ErrorExtensions::extend(&e))
}
