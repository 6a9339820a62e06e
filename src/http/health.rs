//! `/health` (the process is up) and `/ready` (the database answers), for load balancers and
//! orchestrators.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::DatabaseConnection;
use std::time::Duration;

/// Answers while the process is up.
pub async fn health() -> &'static str {
    "ok"
}

/// Answers 200 only while the database answers (within 2 seconds); 503 with `Retry-After`
/// otherwise. The pool reconnects by itself, so this turns 200 again once the database is back.
pub async fn ready(State(db): State<DatabaseConnection>) -> Response {
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
    match tokio::time::timeout(Duration::from_secs(2), db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            unavailable()
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            unavailable()
        }
    }
}
