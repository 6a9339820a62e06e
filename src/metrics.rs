//! The process's metrics, in the Prometheus (OpenMetrics) text format at `GET /metrics`:
//! requests by route, operation and outcome, their latency, GraphQL errors by code, SQL
//! statements per request, the database pool, the response cache, rate-limit refusals, open
//! subscriptions and the events they delivered, and the catalog version.
//!
//! Counters are process-wide (one registry, [`METRICS`]); what is only known at scrape time (the
//! pool, the cache's size, the catalog version) is read when `/metrics` is asked for. Label
//! values are bounded: routes are a fixed set, outcomes are the service's error codes, and
//! operation names are the first [`MAX_OPERATIONS`] distinct ones seen (later ones count as
//! `other`; requests without an operation name as `anonymous`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::cell::Cell;
use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, PoisonError};

/// The most distinct operation names given labels of their own.
pub const MAX_OPERATIONS: usize = 200;

/// The labels of a request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `graphql`, `graphiql`, `dashboard`, `health`, `metrics` or `other`.
    pub route: &'static str,
    /// The GraphQL operation name (bounded, see the module's documentation).
    pub operation: String,
    /// `ok`, or the code of the answer's first error.
    pub outcome: String,
}

/// The labels of a latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// As in [`RequestLabels`].
    pub route: &'static str,
    /// As in [`RequestLabels`].
    pub operation: String,
}

/// The label of an error code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    /// The error's `extensions.code`.
    pub code: String,
}

/// The label of a pool connection's state.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    /// `in_use` or `idle`.
    pub state: &'static str,
}

type HistogramMaker = fn() -> Histogram;

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    /// Requests answered.
    pub requests: Family<RequestLabels, Counter>,
    /// Time to answer, in seconds.
    pub latency: Family<RouteLabels, Histogram, HistogramMaker>,
    /// GraphQL errors answered, by code.
    pub errors: Family<CodeLabel, Counter>,
    /// SQL statements run per `/graphql` request.
    pub statements: Histogram,
    /// Pool connections by state (read at scrape time).
    pub pool: Family<StateLabel, Gauge>,
    /// The pool's size limit.
    pub pool_max: Gauge,
    /// Requests that gave up waiting for a pool connection.
    pub pool_timeouts: Counter,
    /// `/graphql` requests that arrived while every pool connection was in use, so that their
    /// statements waited for one.
    pub pool_waits: Counter,
    /// Reads answered from the response cache.
    pub cache_hits: Counter,
    /// Cacheable reads that were not in the cache.
    pub cache_misses: Counter,
    /// Bytes of answers the response cache holds (read at scrape time).
    pub cache_bytes: Gauge,
    /// Requests refused by the rate limit.
    pub rate_limited: Counter,
    /// Subscriptions open.
    pub subscriptions: Gauge,
    /// Events sent to subscribers.
    pub events: Counter,
    /// The catalog's version (read at scrape time).
    pub catalog_version: Gauge,
    /// 1 while the change feed hears every change as it commits.
    pub feed_listening: Gauge,
    operations: Mutex<HashSet<String>>,
}

/// The process's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("persona_graph");
        let m = Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as HistogramMaker),
            errors: Family::default(),
            statements: Histogram::new([0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0]),
            pool: Family::default(),
            pool_max: Gauge::default(),
            pool_timeouts: Counter::default(),
            pool_waits: Counter::default(),
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            cache_bytes: Gauge::default(),
            rate_limited: Counter::default(),
            subscriptions: Gauge::default(),
            events: Counter::default(),
            catalog_version: Gauge::default(),
            feed_listening: Gauge::default(),
            operations: Mutex::new(HashSet::new()),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests answered, by route, GraphQL operation name and outcome (ok or the first error's code)",
            m.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer, by route and operation name",
            m.latency.clone(),
        );
        registry.register(
            "graphql_errors",
            "GraphQL errors answered, by extensions.code",
            m.errors.clone(),
        );
        registry.register(
            "db_statements_per_request",
            "SQL statements run to answer one /graphql request",
            m.statements.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections, by state (in_use, idle)",
            m.pool.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "The most connections the database pool opens",
            m.pool_max.clone(),
        );
        registry.register(
            "db_pool_acquire_timeouts",
            "Statements that gave up waiting for a free pool connection",
            m.pool_timeouts.clone(),
        );
        registry.register(
            "db_pool_waits",
            "/graphql requests that arrived while every pool connection was in use (they wait for one)",
            m.pool_waits.clone(),
        );
        registry.register(
            "response_cache_hits",
            "Reads answered from the response cache",
            m.cache_hits.clone(),
        );
        registry.register(
            "response_cache_misses",
            "Cacheable reads that had to be resolved",
            m.cache_misses.clone(),
        );
        registry.register(
            "response_cache_bytes",
            "Bytes of answers the response cache holds",
            m.cache_bytes.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by the rate limit (429)",
            m.rate_limited.clone(),
        );
        registry.register(
            "subscriptions_open",
            "Subscriptions open (WebSocket and Server-Sent Events)",
            m.subscriptions.clone(),
        );
        registry.register(
            "subscription_events",
            "Events sent to subscribers",
            m.events.clone(),
        );
        registry.register(
            "catalog_version",
            "The catalog's version: it grows with every committed change",
            m.catalog_version.clone(),
        );
        registry.register(
            "change_feed_listening",
            "1 while this process hears every committed change as it commits (LISTEN on PostgreSQL, in process on SQLite), else 0",
            m.feed_listening.clone(),
        );
        Self { registry, ..m }
    }

    /// The label for operation `name`: itself while fewer than [`MAX_OPERATIONS`] names are
    /// known (and it is a GraphQL name of at most 100 characters), else `other`.
    pub fn operation(&self, name: Option<&str>) -> String {
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return "anonymous".to_owned();
        };
        let valid = name.len() <= 100
            && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return "other".to_owned();
        }
        let mut known = self
            .operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if known.contains(name) {
            return name.to_owned();
        }
        if known.len() < MAX_OPERATIONS {
            known.insert(name.to_owned());
            return name.to_owned();
        }
        "other".to_owned()
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The database pool's connections now: open, idle, and the most it opens.
pub fn pool_figures(db: &sea_orm::DatabaseConnection) -> (u32, usize, u32) {
    use sea_orm::DatabaseConnectionType;
    match &db.inner {
        // The variant is checked first: the getters panic on any other.
        DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
            let pool = db.get_postgres_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
            let pool = db.get_sqlite_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        DatabaseConnectionType::Disconnected => (0, 0, 0),
    }
}

/// Counts a request that arrives while no pool connection is free (see [`Metrics::pool_waits`]).
pub fn note_pool_wait(db: &sea_orm::DatabaseConnection) {
    let (size, idle, max) = pool_figures(db);
    if idle == 0 && size >= max && max > 0 {
        METRICS.pool_waits.inc();
    }
}

tokio::task_local! {
    /// The statements run so far by the request this task answers.
    static STATEMENTS: Cell<u64>;
}

/// Runs `fut` counting the SQL statements it runs (in its own task); their number, with its
/// output.
pub async fn counting_statements<F: Future>(fut: F) -> (F::Output, u64) {
    STATEMENTS
        .scope(Cell::new(0), async {
            let out = fut.await;
            (out, STATEMENTS.with(Cell::get))
        })
        .await
}

/// Notes that a statement ran (called by the database connection after each one).
pub fn statement_ran() {
    let _ = STATEMENTS.try_with(|c| c.set(c.get() + 1));
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::TransactionTrait;

    #[test]
    fn operation_labels_are_bounded_and_valid_names_only() {
        let m = Metrics::new();
        assert_eq!(m.operation(None), "anonymous");
        assert_eq!(m.operation(Some("")), "anonymous");
        assert_eq!(m.operation(Some("not a name")), "other");
        assert_eq!(m.operation(Some(&"x".repeat(101))), "other");
        for n in 0..MAX_OPERATIONS {
            assert_eq!(m.operation(Some(&format!("Op{n}"))), format!("Op{n}"));
        }
        assert_eq!(m.operation(Some("OneTooMany")), "other");
        // Names already known keep their label.
        assert_eq!(m.operation(Some("Op7")), "Op7");
    }

    #[tokio::test]
    async fn a_request_arriving_while_every_pool_connection_is_taken_counts_as_a_wait() {
        use sea_orm::ConnectionTrait;
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        // The one connection is open; it goes back to the pool on a task of the pool's own.
        db.execute_unprepared("SELECT 1").await.unwrap();
        for _ in 0..100_000 {
            if pool_figures(&db).1 == 1 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(pool_figures(&db), (1, 1, 1));
        let before = METRICS.pool_waits.get();
        // A free connection: no wait (no other unit test answers requests).
        note_pool_wait(&db);
        assert_eq!(METRICS.pool_waits.get(), before);
        let held = db.begin().await.unwrap();
        note_pool_wait(&db);
        assert_eq!(METRICS.pool_waits.get(), before + 1);
        held.rollback().await.unwrap();
    }
}
