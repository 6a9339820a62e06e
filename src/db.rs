//! Connecting to the database: pool sizes and timeouts, SQLite pragmas, migrations, and telling
//! an unreachable database apart from a failed statement.

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnAcquireErr, ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, IsolationLevel, RuntimeErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
    sqlx,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How the connection pool behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// Longest a request waits for a connection, including opening one. While the database is
    /// unreachable every request fails after this long with `DATABASE_UNAVAILABLE`, so it is
    /// short: a client should hear "unavailable" well before its own timeout.
    pub acquire_timeout: Duration,
    /// Longest an `SQLite` write waits for another writer's lock before it fails.
    pub busy_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// How long a pooled connection may sit idle before it is pinged as it is handed out.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// Opens a pool on `url` with `max_connections` and the default timeouts.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_with(
        url,
        &PoolSettings {
            max_connections,
            ..PoolSettings::default()
        },
    )
    .await
}

/// Opens a pool on `url`. `SQLite` gets WAL, a busy timeout and enforced foreign keys.
///
/// The pool heals itself after an outage. sqlx pings every connection as it comes back to the
/// pool and discards one that does not answer; a connection idle for a second or more is also
/// pinged before it is handed out, so one broken by a database restart (or dropped by a proxy)
/// while idle is replaced; and a connection that cannot be opened is retried until the
/// acquire timeout. A connection in steady use is not pinged before each statement: that
/// would add a round trip to every statement.
pub async fn connect_with(url: &str, pool: &PoolSettings) -> Result<DatabaseConnection, DbErr> {
    let mut attempt = 0;
    let mut conn = loop {
        match Database::connect(options(url, pool)).await {
            // A new SQLite file switched to WAL by several processes at once: the losers are
            // told the database is locked, without waiting on the busy timeout. They try again.
            Err(DbErr::Conn(RuntimeErr::SqlxError(e))) if attempt < 50 && sqlite_busy(&e) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => break other?,
        }
    };
    // Statements per request, for the metrics.
    conn.set_metric_callback(|_| crate::metrics::statement_ran());
    Ok(conn)
}

/// Whether `err` is `SQLite`'s `SQLITE_BUSY` (code 5).
fn sqlite_busy(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(d) if d.code().as_deref() == Some("5"))
}

/// The pool options of [`connect_with`].
fn options(url: &str, pool: &PoolSettings) -> ConnectOptions {
    let busy_timeout = pool.busy_timeout;
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(pool.max_connections.max(1))
        .min_connections(1)
        .connect_timeout(pool.acquire_timeout)
        .acquire_timeout(pool.acquire_timeout)
        .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
        .idle_timeout(Duration::from_mins(10))
        .max_lifetime(Duration::from_mins(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(busy_timeout)
                .foreign_keys(true)
        });
    opts
}

/// What a database error means for the request that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The database cannot be reached, is shutting down or starting, or (`SQLite`) stayed locked
    /// past the busy timeout: nothing is wrong with the request, and a retry may succeed.
    Unavailable,
    /// A deadlock or serialisation failure (PostgreSQL): the transaction was rolled back
    /// because of a concurrent one.
    Contention,
    /// Anything else.
    Other,
}

/// Classifies `err` (see [`Failure`]).
pub fn failure(err: &DbErr) -> Failure {
    match err {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout | ConnAcquireErr::ConnectionClosed) => {
            Failure::Unavailable
        }
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_failure(e),
        _ => Failure::Other,
    }
}

fn sqlx_failure(err: &sqlx::Error) -> Failure {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Failure::Unavailable,
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // PostgreSQL: deadlock_detected, serialization_failure.
            Some("40P01" | "40001") => Failure::Contention,
            // PostgreSQL: admin_shutdown, crash_shutdown, cannot_connect_now,
            // too_many_connections, and class 08 (connection exceptions).
            Some("57P01" | "57P02" | "57P03" | "53300") => Failure::Unavailable,
            Some(code) if code.starts_with("08") => Failure::Unavailable,
            // SQLite: SQLITE_BUSY and its extended codes (low byte 5), SQLITE_LOCKED (6).
            Some(code) if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() => {
                match code.parse::<i32>() {
                    Ok(n) if n & 0xff == 5 || n & 0xff == 6 => Failure::Unavailable,
                    _ => Failure::Other,
                }
            }
            _ => Failure::Other,
        },
        _ => Failure::Other,
    }
}

/// What the service knows of its database right now, so that while it is down requests fail
/// at once (`DATABASE_UNAVAILABLE`) instead of each waiting out the pool's acquire timeout.
///
/// A request that meets an unreachable database reports it ([`Health::lost`]); from then on
/// the database counts as down, and one background probe opens a fresh connection (which a
/// stopped server refuses at once) with a growing pause between tries, logging the real cause,
/// until one succeeds. `SQLite` is a file: it is never down, and never probed.
#[derive(Debug, Clone)]
pub struct Health(Arc<HealthState>);

#[derive(Debug)]
struct HealthState {
    /// The server to probe; `None` for `SQLite`.
    url: Option<String>,
    up: AtomicBool,
    probing: AtomicBool,
}

/// The first pause between probes; it doubles up to [`PROBE_PAUSE_MAX`].
const PROBE_PAUSE: Duration = Duration::from_millis(100);
const PROBE_PAUSE_MAX: Duration = Duration::from_secs(2);
/// How long one probe may take to connect.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

impl Health {
    /// The health of the database at `url`, which was just reached (connected and migrated).
    pub fn up(url: &str) -> Self {
        Self::new(url, true)
    }

    /// The health of the database at `url`, not reached yet: down until [`Health::mark_up`].
    pub fn pending(url: &str) -> Self {
        Self::new(url, false)
    }

    fn new(url: &str, up: bool) -> Self {
        let url = url.starts_with("postgres").then(|| url.to_owned());
        Self(Arc::new(HealthState {
            up: AtomicBool::new(up || url.is_none()),
            url,
            probing: AtomicBool::new(false),
        }))
    }

    /// A database that is never probed (tests that build the service around a pool).
    pub fn assumed() -> Self {
        Self::new("", true)
    }

    /// Whether requests should reach the database.
    pub fn is_up(&self) -> bool {
        self.0.up.load(Ordering::Acquire)
    }

    /// Marks the database reachable (after the service reached and migrated it).
    pub fn mark_up(&self) {
        self.0.up.store(true, Ordering::Release);
    }

    /// Notes that a request met an unreachable database: it counts as down until a probe
    /// reaches it again. At most one probe runs at a time.
    pub fn lost(&self) {
        let Some(url) = self.0.url.clone() else {
            return;
        };
        self.0.up.store(false, Ordering::Release);
        if self.0.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let health = self.clone();
        tokio::spawn(async move {
            health.wait_until_reachable(&url).await;
            health.0.probing.store(false, Ordering::Release);
            health.mark_up();
            tracing::info!("the database answers again");
        });
    }

    /// Returns once a fresh connection to `url` opens, logging why it does not meanwhile.
    pub async fn wait_until_reachable(&self, url: &str) {
        let mut pause = PROBE_PAUSE;
        let mut tries: u32 = 0;
        loop {
            let cause = match tokio::time::timeout(PROBE_TIMEOUT, probe(url)).await {
                Ok(Ok(())) => return,
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer within {PROBE_TIMEOUT:?}"),
            };
            tries += 1;
            // Every try while the pause grows, then every twentieth: the log says why without
            // a line per probe for the whole outage.
            if pause < PROBE_PAUSE_MAX || tries.is_multiple_of(20) {
                tracing::warn!(%cause, tries, "the database cannot be reached; retrying");
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(PROBE_PAUSE_MAX);
        }
    }
}

/// Opens and closes one connection to `url` outside the pool.
async fn probe(url: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await?.close().await
}

/// Opens a pool on `url` without connecting: the service can start while its database is
/// down, and connections are made when first asked for.
pub async fn connect_lazy(url: &str, pool: &PoolSettings) -> Result<DatabaseConnection, DbErr> {
    let mut opts = options(url, pool);
    opts.connect_lazy(true);
    let mut conn = Database::connect(opts).await?;
    conn.set_metric_callback(|_| crate::metrics::statement_ran());
    Ok(conn)
}

/// Applies every pending migration.
///
/// On `PostgreSQL` the migrations are serialised across processes by an advisory lock, held
/// on a connection of its own while they run: replicas started together on an empty database
/// all come up, the first applies the migrations and the others find them applied.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return migrate_sqlite(db).await;
    }
    let pool = db.get_postgres_connection_pool();
    let mut lock = pool.acquire().await.map_err(sqlx_err)?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *lock)
        .await
        .map_err(sqlx_err)?;
    let migrated = Migrator::up(db, None).await;
    // Closing the session releases the lock too, should the unlock itself fail.
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *lock)
        .await;
    if unlocked.is_err() {
        lock.detach();
    }
    migrated
}

/// `SQLite` has no advisory lock: a process that meets another's half-applied migration (a
/// table it is about to create already exists, or the file is locked) waits a moment and
/// runs the migrator again, which finds what the other applied and goes on from there.
async fn migrate_sqlite(db: &DatabaseConnection) -> Result<(), DbErr> {
    let mut tries = 0;
    loop {
        match Migrator::up(db, None).await {
            Err(e) if tries < 100 && raced(&e) => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            result => return result,
        }
    }
}

/// Whether `err` is what a migration racing another one meets.
fn raced(err: &DbErr) -> bool {
    let text = err.to_string();
    text.contains("already exists") || text.contains("locked") || text.contains("UNIQUE")
}

/// The advisory lock key that serialises migrations (`persona-graph` in ASCII, truncated).
const MIGRATION_LOCK: i64 = 0x7065_7273_6f6e_6167;

fn sqlx_err(e: sqlx::Error) -> DbErr {
    DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e)))
}

/// Starts a write transaction: `BEGIN IMMEDIATE` on `SQLite`, so a concurrent writer waits on
/// the lock (up to the busy timeout) instead of failing to upgrade a read lock; READ
/// COMMITTED on `PostgreSQL`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let isolation_level = match db.get_database_backend() {
        DbBackend::Postgres => Some(IsolationLevel::ReadCommitted),
        _ => None,
    };
    db.begin_with_options(TransactionOptions {
        isolation_level,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn sqlx_err(e: sqlx::Error) -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
    }

    #[test]
    fn an_unreachable_database_is_unavailable_not_internal() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for err in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            sqlx_err(sqlx::Error::Io(refused)),
            sqlx_err(sqlx::Error::PoolTimedOut),
            DbErr::Conn(RuntimeErr::SqlxError(Arc::new(sqlx::Error::PoolClosed))),
        ] {
            assert_eq!(failure(&err), Failure::Unavailable, "{err}");
        }
    }

    #[test]
    fn other_database_errors_are_neither_unavailable_nor_contention() {
        for err in [
            sqlx_err(sqlx::Error::RowNotFound),
            DbErr::RecordNotUpdated,
            DbErr::Custom("x".into()),
        ] {
            assert_eq!(failure(&err), Failure::Other, "{err}");
        }
    }
}
