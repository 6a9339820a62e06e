//! The audit history: who changed what, when, with the values before and after, written in the
//! same transaction as the change it records.
//!
//! Every mutation records one event per subject it changes. The subjects and what their
//! events hold:
//!
//! | subject | changes recorded on it |
//! | --- | --- |
//! | persona | the persona; its roles, links to other personas (on the `from` persona), product relevance |
//! | journey | the journey; its persona narrowing; the order of its stages (`moveStage`, `reorderStages`) |
//! | stage | the stage; its owners (`assignStageOwner`, `changeStageOwner`, `removeStageOwner`) |
//! | team | the team; its members; its persona alignments |
//! | person, product | the row itself |
//! | API token | created and revoked tokens (never the secret or its hash) |
//!
//! External links are history of the persona, journey, stage or team they are attached to.
//! `before` and `after` are the changed row as JSON (null `before` on a create, null `after` on
//! a delete), with the slugs of the rows it refers to added for readability. Every change is
//! recorded through [`super::change::Change::record`], whoever makes it (the API, `seed`, the
//! catalog importer); only `generate`, a bulk fill of an empty database, writes none.

use super::aggregate::Aggregate;
use crate::error::{AppError, AppResult};
use chrono::Utc;
use entity::audit_event::{self, AuditSubject};
use entity::{journey, journey_stage, person, persona, product, team};
use sea_orm::{ActiveModelTrait, ActiveValue, ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde::Serialize;
use serde_json::Value;

/// The actor name of changes made with the command line (`persona-graph token ...`).
pub const CLI_ACTOR: &str = "cli";

/// The actor name of changes loaded from a catalog file (`persona-graph seed`).
pub const CATALOG_ACTOR: &str = "catalog";

/// Who makes a change: an API token, the command line, or a catalog file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The token's row ID; `None` for the command line.
    pub token_id: Option<i32>,
    /// The token's name, or [`CLI_ACTOR`].
    pub name: String,
}

impl Actor {
    /// The command line, run by whoever has access to the database.
    pub fn cli() -> Self {
        Self {
            token_id: None,
            name: CLI_ACTOR.to_owned(),
        }
    }

    /// A catalog file, loaded by `persona-graph seed` or at start-up.
    pub fn catalog() -> Self {
        Self {
            token_id: None,
            name: CATALOG_ACTOR.to_owned(),
        }
    }
}

/// The record a change belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// What kind of record it is.
    pub kind: AuditSubject,
    /// Its row ID.
    pub id: i32,
    /// The human key: a slug, `journey/key` for a stage, the name of a token.
    pub key: Option<String>,
    /// The versioned aggregate the record belongs to, whose `version` the change bumps: the
    /// persona, journey or team itself, a stage's journey; none for people, products, tokens.
    pub root: Option<Aggregate>,
}

impl Subject {
    /// A persona (its roles, links and relevance are changes to it).
    pub fn persona(m: &persona::Model) -> Self {
        Self::keyed(
            AuditSubject::Persona,
            m.id,
            &m.slug,
            Some(Aggregate::Persona(m.id)),
        )
    }
    /// A journey (its narrowing and stage order are changes to it).
    pub fn journey(m: &journey::Model) -> Self {
        Self::keyed(
            AuditSubject::Journey,
            m.id,
            &m.slug,
            Some(Aggregate::Journey(m.id)),
        )
    }
    /// A stage of `journey` (its owners are changes to it, and it to the journey).
    pub fn stage(journey: &journey::Model, m: &journey_stage::Model) -> Self {
        Self::keyed(
            AuditSubject::Stage,
            m.id,
            &format!("{}/{}", journey.slug, m.key),
            Some(Aggregate::Journey(journey.id)),
        )
    }
    /// A team (its members and alignments are changes to it).
    pub fn team(m: &team::Model) -> Self {
        Self::keyed(
            AuditSubject::Team,
            m.id,
            &m.slug,
            Some(Aggregate::Team(m.id)),
        )
    }
    /// A person.
    pub fn person(m: &person::Model) -> Self {
        Self::keyed(AuditSubject::Person, m.id, &m.slug, None)
    }
    /// A product.
    pub fn product(m: &product::Model) -> Self {
        Self::keyed(AuditSubject::Product, m.id, &m.slug, None)
    }
    /// An API token.
    pub fn api_token(m: &entity::api_token::Model) -> Self {
        Self::keyed(AuditSubject::ApiToken, m.id, &m.name, None)
    }

    fn keyed(kind: AuditSubject, id: i32, key: &str, root: Option<Aggregate>) -> Self {
        Self {
            kind,
            id,
            key: Some(key.to_owned()),
            root,
        }
    }

    /// The subject `kind` / `id`, with its key read from the database (inside the change's
    /// transaction, so a row deleted by the same change must be loaded before it goes).
    pub async fn load(db: &impl ConnectionTrait, kind: AuditSubject, id: i32) -> AppResult<Self> {
        let mut root = match kind {
            AuditSubject::Persona => Some(Aggregate::Persona(id)),
            AuditSubject::Journey => Some(Aggregate::Journey(id)),
            AuditSubject::Team => Some(Aggregate::Team(id)),
            _ => None,
        };
        let key = match kind {
            AuditSubject::Persona => persona::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|m| m.slug),
            AuditSubject::Journey => journey::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|m| m.slug),
            AuditSubject::Stage => match journey_stage::Entity::find_by_id(id).one(db).await? {
                Some(s) => {
                    root = Some(Aggregate::Journey(s.journey_id));
                    journey::Entity::find_by_id(s.journey_id)
                        .one(db)
                        .await?
                        .map(|j| format!("{}/{}", j.slug, s.key))
                }
                None => None,
            },
            AuditSubject::Team => team::Entity::find_by_id(id).one(db).await?.map(|m| m.slug),
            AuditSubject::Person => person::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|m| m.slug),
            AuditSubject::Product => product::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|m| m.slug),
            AuditSubject::ApiToken => entity::api_token::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|m| m.name),
        };
        Ok(Self {
            kind,
            id,
            key,
            root,
        })
    }
}

/// One change to record.
#[derive(Debug, Clone)]
pub struct Event {
    /// The command that made it, named as its mutation, e.g. `updatePersona`.
    pub action: &'static str,
    /// The record changed.
    pub subject: Subject,
    /// The record before (null for a create).
    pub before: Option<Value>,
    /// The record after (null for a delete).
    pub after: Option<Value>,
}

impl Event {
    /// A new row.
    pub fn created(action: &'static str, subject: Subject, after: Value) -> Self {
        Self {
            action,
            subject,
            before: None,
            after: Some(after),
        }
    }
    /// A changed row.
    pub fn updated(action: &'static str, subject: Subject, before: Value, after: Value) -> Self {
        Self {
            action,
            subject,
            before: Some(before),
            after: Some(after),
        }
    }
    /// A deleted row.
    pub fn deleted(action: &'static str, subject: Subject, before: Value) -> Self {
        Self {
            action,
            subject,
            before: Some(before),
            after: None,
        }
    }
}

/// `value` as JSON: a row's columns by name, enums as their stored text.
pub fn snapshot<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| {
        // Only maps with non-string keys fail, and no row has one.
        tracing::error!(error = %e, "cannot serialise an audit snapshot");
        Value::Null
    })
}

/// [`snapshot`] of `value` with extra entries (e.g. the slug of a row it refers to by ID).
pub fn snapshot_with<T: Serialize>(value: &T, extra: &[(&str, Value)]) -> Value {
    let mut v = snapshot(value);
    if let Value::Object(map) = &mut v {
        for (k, x) in extra {
            map.insert((*k).to_owned(), x.clone());
        }
    }
    v
}

/// Writes `change` as made by `actor`. Only [`super::change::Change::record`] calls it, with
/// the change's transaction, before commit: the event then exists exactly when the change does.
///
/// `txn` is the change's place in the change log where the writer assigns it (`SQLite`; on
/// `PostgreSQL` the column's default, the transaction ID, links the event to its change), and
/// `version` the version of the subject's aggregate after the change.
pub(super) async fn write(
    db: &impl ConnectionTrait,
    actor: &Actor,
    change: &Event,
    txn: Option<i64>,
    version: Option<i32>,
) -> AppResult<()> {
    audit_event::ActiveModel {
        occurred_at: Set(Utc::now()),
        actor_token_id: Set(actor.token_id),
        actor_name: Set(actor.name.clone()),
        action: Set(change.action.to_owned()),
        subject_type: Set(change.subject.kind),
        subject_id: Set(change.subject.id),
        subject_key: Set(change.subject.key.clone()),
        before: Set(change.before.clone()),
        after: Set(change.after.clone()),
        txn: txn.map_or(ActiveValue::NotSet, |t| Set(Some(t))),
        version: Set(version),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(AppError::from)?;
    Ok(())
}
