//! Live updates over GraphQL: the `Subscription` root (`catalogChanges`, resumable from a
//! cursor, and `ownershipMatrixUpdates`), the `CatalogChange` object, and the `changeCursor`
//! query a client reads before a snapshot to subscribe from exactly there. The changes come
//! from the process's change feed (`domain::feed`); the transports are in `http::live`.

use super::history::{AuditSubjectType, type_name};
use super::id;
use super::loaders::{Generation, Loaders};
use super::ownership::{MatrixRows, OwnershipMatrix, build_matrix, load_matrix};
use crate::auth::Caller;
use crate::domain::feed::{Delivered, Feed, Position};
use crate::error::{AppError, AppResult};
use async_graphql::{Context, ID, Object, Result, ResultExt, Subscription};
use chrono::{DateTime, Utc};
use entity::api_token::TokenRole;
use entity::audit_event::AuditSubject;
use futures_util::{Stream, StreamExt};
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::OnceCell;

/// How long an ownership matrix subscription waits after a change before it reads the matrix
/// again, gathering the changes that follow: a burst of changes within this sends one update.
pub const COALESCE: Duration = Duration::from_millis(100);

/// How long a matrix subscription waits before reading again when the database did not answer.
const RETRY: Duration = Duration::from_millis(500);

/// The cursor of a request, read before anything else of it (see [`LiveQuery::change_cursor`]).
pub struct CursorAtStart(pub Position);

/// One committed change to one record. Its fields are worked out when asked for: a
/// subscriber selects a few, and every subscriber of a change resolves its own.
pub struct CatalogChange(Delivered);

/// One committed change to one record.
#[Object]
impl CatalogChange {
    /// Where this change is in commit order: subscribe with `after:` set to it to receive
    /// every change committed after it (and none before).
    async fn cursor(&self) -> String {
        self.0.position.cursor()
    }
    /// The kind of record changed; null when a change made outside the service (plain SQL)
    /// touched only links.
    async fn subject_type(&self) -> Option<AuditSubjectType> {
        self.0.record().subject.map(Into::into)
    }
    /// The global ID of the record (which may no longer exist); null for a change made
    /// outside the service.
    async fn subject_id(&self) -> Option<ID> {
        let r = self.0.record();
        match (r.subject, r.id) {
            (Some(s), Some(i)) => Some(id::encode(type_name(s), i)),
            _ => None,
        }
    }
    /// The record's human key: a slug, `journey/key` for a stage, a token's name; null for a
    /// change made outside the service.
    async fn subject_key(&self) -> Option<&str> {
        self.0.record().key.as_deref()
    }
    /// The mutation (or command) that made the change, e.g. `updatePersona`; `sql` for a
    /// change made outside the service.
    async fn action(&self) -> &str {
        &self.0.record().action
    }
    /// The version of the persona, journey or team the record belongs to after the change;
    /// null when it has none (people, products, tokens) or the change deleted it.
    async fn version(&self) -> Option<i32> {
        self.0.record().version
    }
    /// Who made it: a token's name, `cli`, `catalog`, or `database` for plain SQL.
    async fn actor(&self) -> &str {
        &self.0.record().actor
    }
    /// When the change committed.
    async fn committed_at(&self) -> DateTime<Utc> {
        self.0.commit.at
    }
}

/// The cursor of the live catalog.
#[derive(Default)]
pub struct LiveQuery;

#[Object]
impl LiveQuery {
    /// The cursor of the last committed change. Read it in the same request as a snapshot (it
    /// is read before the rest of the request), then subscribe to `catalogChanges(after:)`
    /// with it: every change the snapshot may not show arrives, none twice.
    async fn change_cursor(&self, ctx: &Context<'_>) -> Result<String> {
        if let Some(CursorAtStart(p)) = ctx.data_opt::<CursorAtStart>() {
            return Ok(p.cursor());
        }
        Ok(feed(ctx).extend()?.cursor().await.extend()?.cursor())
    }
}

/// Pushes instead of polling.
#[derive(Default)]
pub struct Subscription;

/// Live updates: every committed change (resumable from a cursor), and fresh ownership
/// matrices, pushed over WebSocket (`graphql-transport-ws`) or Server-Sent Events at `/graphql`.
#[Subscription]
impl Subscription {
    /// Every committed change, one event per record changed, in commit order: first the
    /// changes committed after `after` (from history), then each change as it commits, with
    /// no gap and no duplicate between the two. Without `after`, from now on.
    #[allow(clippy::unused_async)] // async-graphql's subscription fields are async.
    async fn catalog_changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Resume after this cursor (a change's `cursor`, or `changeCursor`).")]
        after: Option<String>,
        #[graphql(desc = "Only changes to records of these kinds.")] subjects: Option<
            Vec<AuditSubjectType>,
        >,
        #[graphql(desc = "Only changes to this journey (slug) and its stages.")] journey: Option<
            String,
        >,
    ) -> Result<impl Stream<Item = CatalogChange> + use<>> {
        let from = after
            .as_deref()
            .map(|c| Position::parse("after", c))
            .transpose()
            .extend()?;
        let kinds: Option<Vec<AuditSubject>> =
            subjects.map(|s| s.into_iter().map(Into::into).collect());
        // Tokens are admins' business.
        let admin = matches!(ctx.data_opt::<Caller>(), Some(Caller::Token(p)) if p.role == TokenRole::Admin);
        let stream = feed(ctx).extend()?.follow(from).filter_map(move |d| {
            let r = d.record();
            let wanted = (admin || r.subject != Some(AuditSubject::ApiToken))
                && kinds
                    .as_ref()
                    .is_none_or(|k| r.subject.is_some_and(|s| k.contains(&s)))
                && journey.as_deref().is_none_or(|j| r.concerns_journey(j));
            std::future::ready(wanted.then_some(CatalogChange(d)))
        });
        Ok(stream)
    }

    /// The ownership matrix of a journey at once, then again after each committed change that
    /// alters it. Changes are gathered for 100 ms after the first of a burst, so a burst sends
    /// one update; a change that leaves the matrix as it was sends none. Ends with `NOT_FOUND`
    /// when the journey is deleted.
    async fn ownership_matrix_updates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The journey's slug.")] journey: String,
    ) -> Result<impl Stream<Item = Result<OwnershipMatrix>> + use<>> {
        let feed = feed(ctx).extend()?.clone();
        let db = super::db(ctx).extend()?.pool().clone();
        let memo = ctx
            .data::<Arc<MatrixMemo>>()
            .map_err(|e| AppError::internal(e.message))
            .extend()?
            .clone();
        let loaders = ctx
            .data::<Arc<Loaders>>()
            .map_err(|e| AppError::internal(e.message))
            .extend()?
            .clone();
        let generation = ctx
            .data::<Generation>()
            .map_err(|e| AppError::internal(e.message))
            .extend()?
            .clone();
        // The place first, then the matrix: a change committed in between is heard of.
        let from = feed.cursor().await.extend()?;
        let first = load_matrix(&db, &journey).await.extend()?;
        let mut changes = Box::pin(feed.follow(Some(from)));
        Ok(async_stream::stream! {
            let mut last = first.clone();
            yield Ok(build_matrix(first, &loaders).await);
            loop {
                let Some(mut seq) = next_relevant(&mut changes, &journey).await else { return };
                let gathering = tokio::time::sleep(COALESCE);
                tokio::pin!(gathering);
                loop {
                    tokio::select! {
                        () = &mut gathering => break,
                        d = changes.next() => match d {
                            Some(d) => seq = seq.max(d.commit.seq),
                            None => return,
                        },
                    }
                }
                let rows = match memo.matrix(&db, &journey, seq).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        yield Err(e).extend();
                        return;
                    }
                };
                if *rows != last {
                    last = (*rows).clone();
                    // The loader must not answer this update with the last one's rows.
                    generation.advance();
                    yield Ok(build_matrix((*rows).clone(), &loaders).await);
                }
            }
        })
    }
}

/// Waits for a change that may alter the matrix of `journey`: to the journey or its stages, or
/// to any team or person (their names and departments show in it); the change's place.
async fn next_relevant(
    changes: &mut (impl Stream<Item = Delivered> + Unpin),
    journey: &str,
) -> Option<i64> {
    while let Some(d) = changes.next().await {
        let r = d.record();
        if r.concerns_journey(journey)
            || matches!(
                r.subject,
                Some(AuditSubject::Team | AuditSubject::Person) | None
            )
        {
            return Some(d.commit.seq);
        }
    }
    None
}

/// A matrix being read (or read) once for every subscriber who wants it.
type Read = Arc<OnceCell<Arc<MatrixRows>>>;

/// The matrices read for subscribers, the newest per journey, so that every subscriber of a
/// journey reads it once per change rather than once each.
#[derive(Default)]
pub struct MatrixMemo {
    newest: Mutex<HashMap<String, (i64, Read)>>,
}

impl MatrixMemo {
    /// The matrix of `journey` as read after change `seq` committed (or later).
    async fn matrix(
        &self,
        db: &DatabaseConnection,
        journey: &str,
        seq: i64,
    ) -> AppResult<Arc<MatrixRows>> {
        loop {
            let cell = {
                let mut newest = self.newest.lock().unwrap_or_else(PoisonError::into_inner);
                match newest.get(journey) {
                    Some((at, cell)) if *at >= seq => cell.clone(),
                    _ => {
                        let cell = Arc::new(OnceCell::new());
                        newest.insert(journey.to_owned(), (seq, cell.clone()));
                        cell
                    }
                }
            };
            let read = cell
                .get_or_try_init(|| async { load_matrix(db, journey).await.map(Arc::new) })
                .await;
            match read {
                Ok(rows) => return Ok(rows.clone()),
                Err(e) if e.code() == crate::error::DATABASE_UNAVAILABLE => {
                    tokio::time::sleep(RETRY).await;
                }
                Err(e) => {
                    self.newest
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(journey);
                    return Err(e);
                }
            }
        }
    }
}

/// The process's change feed.
fn feed<'a>(ctx: &Context<'a>) -> AppResult<&'a Feed> {
    ctx.data::<Feed>()
        .map_err(|e| AppError::internal(e.message))
}
