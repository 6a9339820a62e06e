//! The HTTP application: state, routes, middleware and graceful serving.

use crate::config::Settings;
use crate::graphiql;
use crate::graphql::http::{self, GraphqlState};
use crate::graphql::{AppSchema, build_schema};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use sea_orm::DatabaseConnection;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AppSchema,
    pub settings: Arc<Settings>,
}

impl AppState {
    /// State over a connected, migrated database, with the default settings.
    pub fn new(db: DatabaseConnection) -> Self {
        Self::with_settings(db, Settings::default())
    }

    /// State over a connected, migrated database, with `settings`.
    pub fn with_settings(db: DatabaseConnection, settings: Settings) -> Self {
        let schema = build_schema(db.clone());
        Self {
            db,
            schema,
            settings: Arc::new(settings),
        }
    }
}

/// The service's routes: `/graphql`, `/graphiql`, `/health`, `/ready`.
pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    let gql = GraphqlState {
        schema: state.schema.clone(),
        db: state.db.clone(),
    };
    let graphql = Router::new()
        .route("/graphql", get(http::get).post(http::post))
        .with_state(gql);
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(state)
        .merge(graphql)
        .merge(graphiql::router())
        .layer(RequestBodyLimitLayer::new(settings.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            settings.request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
}

/// Answers while the process is up.
async fn health() -> &'static str {
    "ok"
}

/// Answers 200 only while the database answers.
async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match tokio::time::timeout(Duration::from_secs(2), state.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
