//! The database connection one request reads through.
//!
//! sqlx checks every pooled connection as it is given back (a round trip to the database, which
//! wakes its server process), so a request whose n statements each borrow a connection of their
//! own costs the database 2n round trips. A query request instead reads through one connection,
//! taken from the pool at its first statement and given back when the request ends: n
//! statements and one check. Statements of the request that are ready at the same time (sibling
//! loader batches) take turns on it.
//!
//! Mutations and subscriptions read through the pool ([`Reader::pooled`]): a mutation's write
//! transaction takes a connection of its own, and a subscription lives far longer than a
//! request should hold one.

use crate::metrics;
use sea_orm::metric::Info;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, Postgres, Sqlite};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult,
    RuntimeErr, Statement, Values,
};
use sea_query_sqlx::SqlxValues;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tokio::sync::Mutex;

/// Told of each statement a held connection runs, as the pool's metric callback is told of
/// the pool's own (`DatabaseConnection::set_metric_callback`): the same callback, given to both.
pub type StatementObserver = Arc<dyn Fn(&Info<'_>) + Send + Sync>;

/// The observer of a service that only counts statements, for the metrics and the access log.
pub fn count_statements() -> StatementObserver {
    Arc::new(|_| metrics::statement_ran())
}

/// Reads of one request: through one held connection ([`Reader::held`]) or the pool.
#[derive(Clone)]
pub struct Reader(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    /// `None` for a reader that borrows a connection per statement.
    held: Option<Mutex<Option<Held>>>,
    /// Set once part of the request took a connection of its own: from then on the reader
    /// borrows one per statement, so that part never waits on a connection the request holds.
    detached: AtomicBool,
    observer: Option<StatementObserver>,
}

/// A connection taken from the pool, of the pool's backend.
enum Held {
    Postgres(PoolConnection<Postgres>),
    Sqlite(PoolConnection<Sqlite>),
}

impl Reader {
    /// A reader that takes one connection at its first statement and keeps it until
    /// [`Reader::release`] (or until the last clone is dropped).
    pub fn held(db: DatabaseConnection, observer: StatementObserver) -> Self {
        let holds = matches!(
            db.get_database_backend(),
            DbBackend::Postgres | DbBackend::Sqlite
        );
        Self(Arc::new(Inner {
            db,
            held: holds.then(|| Mutex::new(None)),
            detached: AtomicBool::new(false),
            observer: Some(observer),
        }))
    }

    /// A reader that borrows a pooled connection for each statement.
    pub fn pooled(db: DatabaseConnection) -> Self {
        Self(Arc::new(Inner {
            db,
            held: None,
            detached: AtomicBool::new(false),
            observer: None,
        }))
    }

    /// The pool behind this reader.
    pub fn pool(&self) -> &DatabaseConnection {
        &self.0.db
    }

    /// The pool, for work that takes a connection of its own (a transaction). The held
    /// connection is given back first, and the rest of the request's statements borrow one
    /// each: that work never waits on a connection its own request holds, however small the
    /// pool.
    pub async fn for_transaction(&self) -> &DatabaseConnection {
        self.0.detached.store(true, Ordering::SeqCst);
        self.release().await;
        &self.0.db
    }

    /// The held slot, unless the reader borrows per statement.
    fn slot(&self) -> Option<&Mutex<Option<Held>>> {
        if self.0.detached.load(Ordering::SeqCst) {
            return None;
        }
        self.0.held.as_ref()
    }

    /// Gives the held connection back to the pool (the request has no more statements).
    pub async fn release(&self) {
        if let Some(slot) = &self.0.held {
            slot.lock().await.take();
        }
    }

    /// Runs `stmt` (for at most one row when `one`) on the held connection, taken from the
    /// pool first if need be. A connection
    /// whose statement failed goes back to the pool, which checks it before handing it out
    /// again; the next statement takes another.
    async fn fetch(
        &self,
        slot: &Mutex<Option<Held>>,
        stmt: &Statement,
        one: bool,
    ) -> Result<Vec<QueryResult>, DbErr> {
        let mut guard = slot.lock().await;
        // Detached while this statement waited its turn: it borrows, as those after it will.
        if self.0.detached.load(Ordering::SeqCst) {
            drop(guard);
            return if one {
                Ok(self
                    .0
                    .db
                    .query_one_raw(stmt.clone())
                    .await?
                    .into_iter()
                    .collect())
            } else {
                self.0.db.query_all_raw(stmt.clone()).await
            };
        }
        if guard.is_none() {
            *guard = Some(self.acquire().await?);
        }
        let start = Instant::now();
        let sql = sqlx::AssertSqlSafe(stmt.sql.as_str());
        let values = SqlxValues(stmt.values.clone().unwrap_or(Values(Vec::new())));
        let rows: Result<Vec<QueryResult>, sqlx::Error> = match guard.as_mut() {
            Some(Held::Postgres(conn)) if one => sqlx::query_with(sql, values)
                .fetch_optional(&mut **conn)
                .await
                .map(|row| row.into_iter().map(QueryResult::from).collect()),
            Some(Held::Postgres(conn)) => sqlx::query_with(sql, values)
                .fetch_all(&mut **conn)
                .await
                .map(|rows| rows.into_iter().map(QueryResult::from).collect()),
            Some(Held::Sqlite(conn)) if one => sqlx::query_with(sql, values)
                .fetch_optional(&mut **conn)
                .await
                .map(|row| row.into_iter().map(QueryResult::from).collect()),
            Some(Held::Sqlite(conn)) => sqlx::query_with(sql, values)
                .fetch_all(&mut **conn)
                .await
                .map(|rows| rows.into_iter().map(QueryResult::from).collect()),
            None => return Err(DbErr::Custom("no connection to read through".to_owned())),
        };
        if let Some(observe) = &self.0.observer {
            observe(&Info {
                elapsed: start.elapsed(),
                statement: stmt,
                failed: rows.is_err(),
            });
        }
        rows.map_err(|e| {
            guard.take();
            DbErr::Query(RuntimeErr::SqlxError(e.into()))
        })
    }

    async fn acquire(&self) -> Result<Held, DbErr> {
        let held = match self.0.db.get_database_backend() {
            DbBackend::Postgres => self
                .0
                .db
                .get_postgres_connection_pool()
                .acquire()
                .await
                .map(Held::Postgres),
            _ => self
                .0
                .db
                .get_sqlite_connection_pool()
                .acquire()
                .await
                .map(Held::Sqlite),
        };
        // As sea-orm maps a failure to take a pooled connection, so that it means the same.
        held.map_err(|e| match e {
            sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            e => DbErr::Conn(RuntimeErr::SqlxError(e.into())),
        })
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Reader {
    fn get_database_backend(&self) -> DbBackend {
        self.0.db.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.0.db.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.0.db.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self.slot() {
            Some(slot) => Ok(self.fetch(slot, &stmt, true).await?.into_iter().next()),
            None => self.0.db.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self.slot() {
            Some(slot) => self.fetch(slot, &stmt, false).await,
            None => self.0.db.query_all_raw(stmt).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn statement(sql: &str) -> Statement {
        Statement::from_string(DbBackend::Sqlite, sql)
    }

    #[tokio::test]
    async fn a_held_reader_keeps_one_connection_until_released() {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        let seen = Arc::new(AtomicUsize::new(0));
        let counted = seen.clone();
        let observer: StatementObserver = Arc::new(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let reader = Reader::held(db.clone(), observer);
        let pool = db.get_sqlite_connection_pool();

        let one = reader.query_one_raw(statement("SELECT 1 AS n")).await;
        let n: i32 = one.unwrap().unwrap().try_get("", "n").unwrap();
        assert_eq!(n, 1);
        // The pool's only connection stays with the reader between statements.
        assert!(pool.try_acquire().is_none());
        let rows = reader
            .query_all_raw(statement("SELECT 1 AS n UNION ALL SELECT 2"))
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);

        // A failed statement gives its connection back; the next statement takes one again.
        let failed = reader
            .query_all_raw(statement("SELECT * FROM no_such_table"))
            .await;
        assert!(failed.is_err());
        let again = reader.query_one_raw(statement("SELECT 3 AS n")).await;
        assert!(again.unwrap().is_some());
        assert!(pool.try_acquire().is_none());
        assert_eq!(seen.load(Ordering::SeqCst), 4, "every statement observed");

        // Released, the connection is the pool's again.
        reader.release().await;
        let back = pool.acquire().await;
        assert!(back.is_ok());
    }

    #[tokio::test]
    async fn work_with_a_transaction_of_its_own_finds_the_held_connection_given_back() {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        let reader = Reader::held(db.clone(), count_statements());
        let one = reader.query_one_raw(statement("SELECT 1 AS n")).await;
        assert!(one.unwrap().is_some());
        // A pool of one: the work gets the connection the reader held...
        let pool = reader.for_transaction().await;
        let own = pool.get_sqlite_connection_pool().acquire().await;
        assert!(own.is_ok());
        drop(own);
        // ...and the reader's later statements borrow one each, holding nothing between them.
        let again = reader.query_one_raw(statement("SELECT 2 AS n")).await;
        assert!(again.unwrap().is_some());
        assert!(pool.get_sqlite_connection_pool().acquire().await.is_ok());
    }

    #[tokio::test]
    async fn a_pooled_reader_holds_nothing_between_statements() {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        let reader = Reader::pooled(db.clone());
        let one = reader.query_one_raw(statement("SELECT 1 AS n")).await;
        assert!(one.unwrap().is_some());
        // Given back (after the pool's check of it) as the statement ends.
        assert!(db.get_sqlite_connection_pool().acquire().await.is_ok());
    }
}
