//! `GET /metrics`: the process's metrics (`crate::metrics`) in the OpenMetrics text format,
//! which Prometheus scrapes. The figures only known at scrape time (the database pool, the
//! response cache's size, the catalog version, whether the change feed listens) are read here.
//! With `METRICS_TOKEN` set, a scrape must carry `Authorization: Bearer <that token>`; with
//! `METRICS_BIND` set, `/metrics` is served on that address only (see `main`).

use super::response_cache::ResponseCache;
use crate::domain::feed::Feed;
use crate::metrics::{METRICS, StateLabel};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What a scrape reads.
#[derive(Clone)]
pub struct MetricsState {
    /// The database, whose pool and catalog version are reported.
    pub db: DatabaseConnection,
    /// The change feed.
    pub feed: Feed,
    /// The response cache, whose size is reported.
    pub responses: Arc<ResponseCache>,
    /// The bearer token a scrape must carry, if any.
    pub token: Option<Arc<str>>,
}

/// The `/metrics` route.
pub fn router(state: MetricsState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<MetricsState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
            let mut resp = (
                StatusCode::UNAUTHORIZED,
                "/metrics needs `Authorization: Bearer <METRICS_TOKEN>`\n",
            )
                .into_response();
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"persona-graph metrics\""),
            );
            return resp;
        }
    }
    read_gauges(&state).await;
    let mut resp = METRICS.encode().into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Reads the figures known only now into their gauges.
async fn read_gauges(state: &MetricsState) {
    let (size, idle, max) = crate::metrics::pool_figures(&state.db);
    let idle = i64::try_from(idle).unwrap_or(i64::MAX);
    let gauge = |state| METRICS.pool.get_or_create(&StateLabel { state }).clone();
    gauge("in_use").set(i64::from(size) - idle);
    gauge("idle").set(idle);
    METRICS.pool_max.set(i64::from(max));
    METRICS
        .cache_bytes
        .set(i64::try_from(state.responses.held()).unwrap_or(i64::MAX));
    METRICS
        .feed_listening
        .set(i64::from(state.feed.listening()));
    if let Ok(version) = ResponseCache::version(&state.db).await {
        METRICS.catalog_version.set(version);
    }
}

/// Compares two secrets in time that depends on their lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
