//! The one write transaction every change to the catalog takes: begin, apply commands, record
//! history, bump the versions of the aggregates touched, commit, then announce.
//!
//! The version rule, written here once: a persona, journey or team has a `version`, and every
//! committed change that touches the aggregate advances it by exactly one, whatever the change
//! and however many of its rows it writes. A persona's roles, links and product relevance are
//! part of the persona; a journey's stages, their owners and its persona narrowing are part of
//! the journey; a team's members and persona alignments are part of the team; an external
//! link is part of what it is attached to. People, products and tokens have no version.

pub use super::aggregate::Aggregate;
use super::audit::{self, Actor, Event, Subject, snapshot};
use super::events::{Committed, Listener, Notice, Silent};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use entity::{journey, persona, team};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QuerySelect,
};
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

/// How many times a command that lost a race with a concurrent transaction (and was rolled
/// back whole) is run again before the editor hears `CONFLICT`.
const CONTENTION_RETRIES: usize = 2;

/// One change to the catalog: a plain value, checked when it was built (its fields are
/// validated types), applied inside a [`Change`].
pub trait Command: Send + Sync {
    /// What applying it gives back (the row as it is now, a deleted row's ID, ...).
    type Output: Send;

    /// Applies the command within `change`. On an error nothing of the change commits.
    fn apply(&self, change: &mut Change) -> impl Future<Output = AppResult<Self::Output>> + Send;
}

/// The road into the catalog: runs commands in write transactions and announces what they
/// committed. Cheap to clone; every writer of a process shares one listener.
#[derive(Clone)]
pub struct Writer {
    db: DatabaseConnection,
    listener: Arc<dyn Listener>,
}

impl Writer {
    /// A writer on `db` whose commits nobody listens to yet.
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            listener: Arc::new(Silent),
        }
    }

    /// The same writer, announcing every commit to `listener`.
    #[must_use]
    pub fn with_listener(mut self, listener: Arc<dyn Listener>) -> Self {
        self.listener = listener;
        self
    }

    /// The database written to.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Applies `cmd` as `actor` in a transaction of its own. A transaction the database rolled
    /// back to let a concurrent one through is run again from the start (it applied nothing,
    /// so it cannot apply twice); after the last try the editor hears `CONFLICT`.
    pub async fn run<C: Command>(&self, actor: &Actor, cmd: &C) -> AppResult<C::Output> {
        let mut tries = 0;
        loop {
            let attempt = async {
                let mut change = self.begin(actor).await?;
                let out = cmd.apply(&mut change).await?;
                self.commit(change).await?;
                Ok(out)
            };
            match attempt.await {
                Err(AppError::Contention) if tries < CONTENTION_RETRIES => tries += 1,
                result => return result,
            }
        }
    }

    /// Opens a change for several commands that commit together (a catalog file).
    pub async fn begin(&self, actor: &Actor) -> AppResult<Change> {
        let txn = crate::db::begin_write(&self.db).await?;
        Ok(Change {
            txn,
            actor: actor.clone(),
            now: Utc::now(),
            touched: HashMap::new(),
            notices: Vec::new(),
            log_seq: None,
        })
    }

    /// Commits `change`, then tells the listener what it committed.
    pub async fn commit(&self, change: Change) -> AppResult<()> {
        let Change {
            txn,
            actor,
            now,
            notices,
            ..
        } = change;
        txn.commit().await?;
        if !notices.is_empty() {
            self.listener.committed(&Committed {
                actor: actor.name,
                at: now,
                notices,
            });
        }
        Ok(())
    }
}

/// An open write transaction: what commands read and write through, and where they record
/// their history. Dropped without [`Writer::commit`], it rolls back.
pub struct Change {
    txn: DatabaseTransaction,
    actor: Actor,
    now: DateTime<Utc>,
    /// The aggregates this change counts against, with their versions after it.
    touched: HashMap<Aggregate, i32>,
    notices: Vec<Notice>,
    /// `SQLite`: this change's place in the change log, taken with its first history event.
    log_seq: Option<i64>,
}

impl Change {
    /// The transaction, for the command's reads and writes.
    pub fn db(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The time of the change: every row it writes gets it as `created_at` / `updated_at`.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Who makes the change.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Applies one more command within this change.
    pub async fn apply<C: Command>(&mut self, cmd: &C) -> AppResult<C::Output> {
        cmd.apply(self).await
    }

    /// Counts this change against `aggregate` now: its version advances by one (once per
    /// change) and, on `PostgreSQL`, its row stays locked until commit, so concurrent edits of
    /// the same aggregate are serialised from here on. `NOT_FOUND` when it no longer exists.
    pub async fn touch(&mut self, aggregate: Aggregate, key: &str) -> AppResult<()> {
        if self.touched.contains_key(&aggregate) {
            return Ok(());
        }
        let Some(version) = self.bump(aggregate, None).await? else {
            return Err(AppError::not_found(aggregate.what(), key));
        };
        self.touched.insert(aggregate, version);
        Ok(())
    }

    /// Marks `aggregate` as created by this change: it starts at version 1, and what else the
    /// change adds to it (roles, stages, members) is part of that first version.
    pub fn new_aggregate(&mut self, aggregate: Aggregate) {
        self.touched.insert(aggregate, 1);
    }

    /// [`Change::touch`] for an editor who read the aggregate at version `expected`: `CONFLICT`
    /// (changing nothing) when someone else changed it since.
    pub async fn touch_at(
        &mut self,
        aggregate: Aggregate,
        key: &str,
        expected: i32,
    ) -> AppResult<()> {
        if let Some(version) = self.bump(aggregate, Some(expected)).await? {
            self.touched.insert(aggregate, version);
            return Ok(());
        }
        match self.version_of(aggregate).await? {
            Some(current) => Err(stale(aggregate.what(), key, current)),
            None => Err(AppError::not_found(aggregate.what(), key)),
        }
    }

    /// Records `event` in the history (actor, before, after) and counts it against the
    /// aggregate its subject belongs to (see [`Change::touch`]); an aggregate this change
    /// deleted has no version left to advance.
    pub async fn record(&mut self, event: Event) -> AppResult<()> {
        if let Some(root) = event.subject.root
            && !self.touched.contains_key(&root)
            && let Some(version) = self.bump(root, None).await?
        {
            self.touched.insert(root, version);
        }
        // The version the subject's aggregate has after this change; none once it is deleted.
        let version = match event.subject.root {
            Some(root)
                if !(event.after.is_none()
                    && root.is_root(event.subject.kind, event.subject.id)) =>
            {
                self.touched.get(&root).copied()
            }
            _ => None,
        };
        if self.log_seq.is_none() && self.txn.get_database_backend() != DbBackend::Postgres {
            self.log_seq = Some(super::feed::log::allocate(&self.txn, self.now).await?);
        }
        audit::write(&self.txn, &self.actor, &event, self.log_seq, version).await?;
        self.notices.push(Notice::of(&event, version));
        Ok(())
    }

    /// Records that `action` created `after` (a row, or a row with the keys it refers to).
    pub async fn created(
        &mut self,
        action: &'static str,
        subject: Subject,
        after: &impl Serialize,
    ) -> AppResult<()> {
        self.record(Event::created(action, subject, snapshot(after)))
            .await
    }

    /// Records that `action` changed `before` into `after`.
    pub async fn updated(
        &mut self,
        action: &'static str,
        subject: Subject,
        before: &impl Serialize,
        after: &impl Serialize,
    ) -> AppResult<()> {
        self.record(Event::updated(
            action,
            subject,
            snapshot(before),
            snapshot(after),
        ))
        .await
    }

    /// Records that `action` deleted `before`.
    pub async fn deleted(
        &mut self,
        action: &'static str,
        subject: Subject,
        before: &impl Serialize,
    ) -> AppResult<()> {
        self.record(Event::deleted(action, subject, snapshot(before)))
            .await
    }

    /// [`Change::touch`] or, when the editor named the version they read, [`Change::touch_at`].
    pub async fn touch_expecting(
        &mut self,
        aggregate: Aggregate,
        key: &str,
        expected: Option<i32>,
    ) -> AppResult<()> {
        match expected {
            Some(v) => self.touch_at(aggregate, key, v).await,
            None => self.touch(aggregate, key).await,
        }
    }

    /// Advances `aggregate`'s version (only from `expected`, when given): the new version, or
    /// `None` when no row was changed.
    async fn bump(&self, aggregate: Aggregate, expected: Option<i32>) -> AppResult<Option<i32>> {
        let (id, db, now) = (aggregate.id(), &self.txn, self.now);
        Ok(match aggregate {
            Aggregate::Persona(_) => {
                use persona::Column as C;
                let cols = [C::Id, C::Version, C::UpdatedAt];
                bump::<persona::Entity>(db, cols, id, expected, now)
                    .await?
                    .map(|m| m.version)
            }
            Aggregate::Journey(_) => {
                use journey::Column as C;
                let cols = [C::Id, C::Version, C::UpdatedAt];
                bump::<journey::Entity>(db, cols, id, expected, now)
                    .await?
                    .map(|m| m.version)
            }
            Aggregate::Team(_) => {
                use team::Column as C;
                let cols = [C::Id, C::Version, C::UpdatedAt];
                bump::<team::Entity>(db, cols, id, expected, now)
                    .await?
                    .map(|m| m.version)
            }
        })
    }

    /// The current version of `aggregate`, if it exists.
    async fn version_of(&self, aggregate: Aggregate) -> AppResult<Option<i32>> {
        let (id, db) = (aggregate.id(), &self.txn);
        Ok(match aggregate {
            Aggregate::Persona(_) => {
                version::<persona::Entity>(db, persona::Column::Id, persona::Column::Version, id)
                    .await?
            }
            Aggregate::Journey(_) => {
                version::<journey::Entity>(db, journey::Column::Id, journey::Column::Version, id)
                    .await?
            }
            Aggregate::Team(_) => {
                version::<team::Entity>(db, team::Column::Id, team::Column::Version, id).await?
            }
        })
    }
}

/// `version = version + 1, updated_at = now` on row `id` of `E` (only at version `expected`,
/// when given), with its `[id, version, updated_at]` columns; the row as it is now, if one was
/// changed (one statement: `UPDATE ... RETURNING`).
async fn bump<E: EntityTrait>(
    db: &impl ConnectionTrait,
    [id_col, version_col, updated_col]: [E::Column; 3],
    id: i32,
    expected: Option<i32>,
    now: DateTime<Utc>,
) -> AppResult<Option<E::Model>> {
    let mut q = E::update_many()
        .col_expr(version_col, Expr::col(version_col).add(1))
        .col_expr(updated_col, Expr::value(now))
        .filter(id_col.eq(id));
    if let Some(v) = expected {
        q = q.filter(version_col.eq(v));
    }
    Ok(q.exec_with_returning(db).await?.into_iter().next())
}

async fn version<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id_col: E::Column,
    version_col: E::Column,
    id: i32,
) -> AppResult<Option<i32>> {
    Ok(E::find()
        .select_only()
        .column(version_col)
        .filter(id_col.eq(id))
        .into_tuple::<i32>()
        .one(db)
        .await?)
}

/// The `CONFLICT` of an update whose `expectedVersion` is not the current one.
pub fn stale(what: &str, key: &str, current: i32) -> AppError {
    AppError::conflict(format!(
        "{what} {key} was changed by someone else (current version {current}); reload it and retry"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::testing::{editor, persona, writer};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Renames persona `dev`, failing with `fail` the first `fails` times it is applied.
    struct Rename {
        tries: AtomicUsize,
        fails: usize,
        fail: fn() -> AppError,
    }

    impl Command for Rename {
        type Output = ();

        async fn apply(&self, change: &mut Change) -> AppResult<()> {
            let p = super::super::find::persona_by_slug(change.db(), "dev").await?;
            change.touch(Aggregate::Persona(p.id), "dev").await?;
            if self.tries.fetch_add(1, Ordering::SeqCst) < self.fails {
                return Err((self.fail)());
            }
            change
                .updated("renamePersona", Subject::persona(&p), &p, &p)
                .await
        }
    }

    fn rename(fails: usize, fail: fn() -> AppError) -> Rename {
        Rename {
            tries: AtomicUsize::new(0),
            fails,
            fail,
        }
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Committed>>);

    impl Listener for Recorder {
        fn committed(&self, change: &Committed) {
            self.0.lock().unwrap().push(change.clone());
        }
    }

    async fn version(w: &Writer) -> i32 {
        super::super::find::persona_by_slug(w.db(), "dev")
            .await
            .unwrap()
            .version
    }

    #[tokio::test]
    async fn a_lost_race_is_run_again_and_applies_once() {
        let w = writer().await;
        persona(&w, "dev").await;
        let cmd = rename(2, || AppError::Contention);
        w.run(&editor(), &cmd).await.unwrap();
        assert_eq!(cmd.tries.load(Ordering::SeqCst), 3);
        assert_eq!(version(&w).await, 2, "the rolled-back tries bumped nothing");
    }

    #[tokio::test]
    async fn a_race_lost_every_time_is_a_conflict_and_other_errors_are_not_retried() {
        let w = writer().await;
        persona(&w, "dev").await;
        let cmd = rename(usize::MAX, || AppError::Contention);
        let err = w.run(&editor(), &cmd).await.unwrap_err();
        assert_eq!(err.code(), "CONFLICT");
        assert_eq!(cmd.tries.load(Ordering::SeqCst), 1 + CONTENTION_RETRIES);
        let cmd = rename(usize::MAX, || AppError::conflict("stale"));
        w.run(&editor(), &cmd).await.unwrap_err();
        assert_eq!(cmd.tries.load(Ordering::SeqCst), 1);
        assert_eq!(version(&w).await, 1);
    }

    #[tokio::test]
    async fn listeners_hear_each_commit_once_and_never_a_rollback() {
        let recorder = Arc::new(Recorder::default());
        let w = writer().await.with_listener(recorder.clone());
        persona(&w, "dev").await;
        w.run(&editor(), &rename(1, || AppError::Contention))
            .await
            .unwrap();
        w.run(&editor(), &rename(usize::MAX, || AppError::conflict("no")))
            .await
            .unwrap_err();
        let heard = recorder.0.lock().unwrap().clone();
        assert_eq!(heard.len(), 1, "{heard:?}");
        assert_eq!(heard[0].actor, "editor");
        assert_eq!(heard[0].notices.len(), 1);
        assert_eq!(heard[0].notices[0].action, "renamePersona");
        assert_eq!(heard[0].notices[0].key.as_deref(), Some("dev"));
    }
}
