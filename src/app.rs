//! The running service: its shared state (database, schema, settings, request limits), the
//! router that stacks the HTTP transport's pieces (`crate::http`) with their middleware, and
//! serving with graceful shutdown.

use crate::config::Settings;
use crate::domain::feed::Feed;
use crate::graphql::reader::{StatementObserver, count_statements};
use crate::graphql::{AppSchema, build_schema};
use crate::http::endpoint::{self, GraphqlState};
use crate::http::error_body::panic_response;
use crate::http::graphiql;
use crate::http::health::{health, ready};
use crate::http::limits::{self, Guard};
use crate::http::live::{self, Closing, LiveState};
use crate::http::memory::MemoryBudget;
use crate::http::ratelimit::{self, RateLimit};
use crate::http::response_cache::ResponseCache;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use sea_orm::DatabaseConnection;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    pub settings: Arc<Settings>,
    /// The request limits of `/graphql`.
    pub guard: Arc<Guard>,
    /// Whether the database answers, as last seen: requests fail at once while it does not.
    pub health: crate::db::Health,
    /// Every committed change, as subscriptions and the response cache hear of it.
    pub feed: Feed,
    /// Ends subscriptions when the server shuts down.
    pub closing: Closing,
    /// Answers to read requests, kept while the catalog does not change.
    pub responses: Arc<ResponseCache>,
    /// Told of each statement a query request runs on the connection it holds; the pool's
    /// own statements go to its metric callback (see `graphql::reader`).
    pub statements: StatementObserver,
}

impl AppState {
    /// State over a connected, migrated database, with the default settings.
    pub fn new(db: DatabaseConnection) -> Self {
        Self::with_settings(db, Settings::default())
    }

    /// State over a connected, migrated database, with `settings`.
    pub fn with_settings(db: DatabaseConnection, settings: Settings) -> Self {
        let feed = Feed::start(db.clone());
        let closing = Closing::new();
        let schema = build_schema(db.clone(), &settings, &feed);
        let guard = Arc::new(Guard::new(&settings, &schema.sdl()));
        let responses = Arc::new(ResponseCache::new(settings.response_cache_bytes));
        Self {
            responses,
            db,
            schema,
            settings: Arc::new(settings),
            guard,
            health: crate::db::Health::assumed(),
            feed,
            closing,
            statements: count_statements(),
        }
    }

    /// The same state, with the statements of query requests told to `observer` (give it the
    /// callback the pool's `set_metric_callback` has, to see every statement).
    #[must_use]
    pub fn with_statement_observer(mut self, observer: StatementObserver) -> Self {
        self.statements = observer;
        self
    }

    /// The same state, with the database's health watched as `health` says.
    #[must_use]
    pub fn with_health(mut self, health: crate::db::Health) -> Self {
        self.health = health;
        self
    }
}

/// The service's routes: `/graphql`, `/graphiql`, `/`, `/dashboard`, `/schema.graphql`,
/// `/health`, `/ready` and (unless it has an address of its own) `/metrics`; every request
/// gets a request id, an access-log line and its metrics (`crate::http::observe`).
pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    let memory = Arc::new(MemoryBudget::new(
        settings.memory_budget_bytes,
        settings.max_json_values,
        settings.max_body_bytes,
    ));
    let gql = GraphqlState {
        memory: memory.clone(),
        schema: state.schema.clone(),
        db: state.db.clone(),
        guard: state.guard.clone(),
        reads_require_token: settings.reads_require_token,
        responses: state.responses.clone(),
        executing: Arc::new(tokio::sync::Semaphore::new(settings.max_executing.max(1))),
        last_used: crate::auth::LastUsed::default(),
        health: state.health.clone(),
        feed: state.feed.clone(),
        statements: state.statements.clone(),
    };
    // `/graphql` answers every refusal as a GraphQL error body: the guard turns an oversized
    // body or a missed deadline into one, the rate limit refuses before the body is read.
    let mut graphql = Router::new()
        .route("/graphql", get(endpoint::get).post(endpoint::post))
        .with_state(gql)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(settings.max_body_bytes))
        .layer(from_fn_with_state(
            memory.clone(),
            crate::http::memory::admit,
        ))
        .layer(from_fn_with_state(state.guard.clone(), limits::http_guard))
        .layer(from_fn_with_state(live_state(&state), live::dispatch));
    if let Some(limiter) = RateLimit::from_settings(&settings) {
        graphql = graphql.layer(from_fn_with_state(Arc::new(limiter), ratelimit::limit));
    }
    let router = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state((state.db.clone(), state.health.clone()))
        .merge(graphiql::router())
        .merge(crate::http::dashboard::router(state.schema.sdl()))
        .merge(if settings.metrics_on_main {
            metrics_router(&state)
        } else {
            Router::new()
        })
        .layer(RequestBodyLimitLayer::new(settings.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            settings.request_timeout,
        ))
        .merge(graphql);
    let router = match cors(&settings.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(crate::http::observe::observe))
}

/// The `/metrics` route alone, for an address of its own (`METRICS_BIND`).
pub fn metrics_router(state: &AppState) -> Router {
    crate::http::metrics::router(crate::http::metrics::MetricsState {
        db: state.db.clone(),
        feed: state.feed.clone(),
        responses: state.responses.clone(),
        token: state.settings.metrics_token.as_deref().map(Arc::from),
    })
}

/// What the subscription transports share.
fn live_state(state: &AppState) -> LiveState {
    let settings = &state.settings;
    LiveState {
        schema: state.schema.clone(),
        db: state.db.clone(),
        guard: state.guard.clone(),
        feed: state.feed.clone(),
        reads_require_token: settings.reads_require_token,
        last_used: crate::auth::LastUsed::default(),
        open: Arc::new(tokio::sync::Semaphore::new(
            settings
                .max_subscriptions
                .min(tokio::sync::Semaphore::MAX_PERMITS),
        )),
        per_connection: settings.max_subscriptions_per_connection,
        keepalive: settings.subscription_keepalive,
        send_timeout: settings.subscription_send_timeout,
        max_message_bytes: settings.max_body_bytes,
        closing: state.closing.clone(),
    }
}

/// Cross-origin access for the configured origins only; none when the list is empty (then
/// browsers keep other sites' pages from calling the API).
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| if let Ok(v) = HeaderValue::from_str(o.trim_end_matches('/')) { Some(v) } else {
            tracing::warn!(origin = %o, "ignoring a CORS origin that is not a valid header value");
            None
        })
        .collect();
    if allowed.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT])
            .expose_headers([header::RETRY_AFTER])
            .max_age(Duration::from_mins(10)),
    )
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight finish
/// (with no bound: see [`serve_with_grace`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_capped(
        listener,
        router,
        shutdown,
        Settings::default().max_connections,
    )
    .await
}

/// [`serve`], with at most `max_connections` connections open at once (more wait to be
/// accepted).
pub async fn serve_capped(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    max_connections: usize,
) -> std::io::Result<()> {
    // With the peer (its address, which the rate limit keys clients by, and its place under
    // the cap, which a WebSocket gives back once upgraded).
    axum::serve(
        crate::http::connections::Capped::new(listener, max_connections),
        router.into_make_service_with_connect_info::<crate::http::connections::Peer>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Serves `router` on `listener` until `shutdown` completes. Then the listener closes at once
/// (new connections are refused), idle connections close, and requests in flight get `grace`
/// to finish; any still running after it are dropped (their transactions roll back) and this
/// returns.
pub async fn serve_with_grace(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
    max_connections: usize,
) -> std::io::Result<()> {
    let (began, beginning) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = began.send(());
    };
    let server = serve_capped(listener, router, signal, max_connections);
    tokio::pin!(server);
    let deadline = async move {
        match beginning.await {
            Ok(()) => tokio::time::sleep(grace).await,
            // The server ended without a shutdown signal; `server` has the outcome.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        result = &mut server => result,
        () = deadline => {
            tracing::warn!(
                grace_secs = grace.as_secs_f64(),
                "requests still in flight when the shutdown grace period ended; dropping them"
            );
            Ok(())
        }
    }
}
