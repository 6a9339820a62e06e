//! `/health` (the process is up) and `/ready` (the database answers), for load balancers and
//! orchestrators.

use crate::db::Health;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::DatabaseConnection;
use std::time::Duration;

/// Answers while the process is up.
pub async fn health() -> &'static str {
    "ok"
}

/// Answers 200 only while the database answers; 503 with `Retry-After` otherwise. While the
/// database is known to be down (or not reached yet) it answers at once from that state; else
/// it pings (for at most a second), and a failed ping counts as an outage.
pub async fn ready(State((db, health)): State<(DatabaseConnection, Health)>) -> Response {
    let unavailable = || {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(
                header::RETRY_AFTER,
                crate::error::RETRY_AFTER_SECS.to_string(),
            )],
            "database unavailable",
        )
            .into_response()
    };
    if !health.is_up() {
        return unavailable();
    }
    match tokio::time::timeout(Duration::from_secs(1), db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            health.lost();
            unavailable()
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            health.lost();
            unavailable()
        }
    }
}
