//! What operators see of each request: its id (taken from `x-request-id` when the client or a
//! proxy sent a usable one, else made here, and returned in the same header), one access-log
//! line at `info` (method, path, status, duration, operation name, outcome code, request id,
//! token name; never the token), and the request metrics (`crate::metrics`).
//!
//! Handlers say what the log cannot see from outside by leaving an [`Outcome`] in the
//! response's extensions: the GraphQL operation, the error codes answered, the token's name.

use crate::metrics::{CodeLabel, METRICS, RequestLabels, RouteLabels, counting_statements};
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Response};
use axum::middleware::Next;
use axum::response::Response as HttpResponse;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The request id header.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What a handler tells the access log and the metrics about its answer.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The GraphQL operation name the client gave.
    pub operation: Option<String>,
    /// The `extensions.code` of each error answered, in order.
    pub codes: Vec<String>,
    /// The name of the caller's API token.
    pub token: Option<String>,
}

impl Outcome {
    /// Adds `more` to the outcome `resp` carries (or gives it one).
    pub fn add<B>(resp: &mut Response<B>, more: Self) {
        let outcome = resp.extensions_mut().get_or_insert_default::<Self>();
        if more.operation.is_some() {
            outcome.operation = more.operation;
        }
        if more.token.is_some() {
            outcome.token = more.token;
        }
        outcome.codes.extend(more.codes);
    }
}

/// The route a path belongs to, as metrics label it (a fixed set).
fn route(path: &str) -> &'static str {
    match path {
        "/graphql" => "graphql",
        "/health" | "/ready" => "health",
        "/metrics" => "metrics",
        "/" | "/schema.graphql" => "pages",
        p if p.starts_with("/graphiql") => "graphiql",
        p if p.starts_with("/dashboard") => "dashboard",
        _ => "other",
    }
}

/// A request id the client sent, if it is one worth keeping: 1 to 128 visible ASCII
/// characters of `[A-Za-z0-9._:-]`.
fn given_id(value: &HeaderValue) -> Option<&str> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    ok.then_some(s)
}

/// A new request id: unique in this process, and unlikely to repeat across processes.
fn new_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static START: std::sync::LazyLock<u64> = std::sync::LazyLock::new(|| {
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed).ok();
        u64::from_le_bytes(seed)
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}{n:08x}", *START)
}

/// The middleware: request id, access log, metrics.
pub async fn observe(mut req: Request, next: Next) -> HttpResponse {
    let started = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(given_id)
        .map_or_else(new_id, str::to_owned);
    if let Ok(value) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = route(&path);
    let (mut resp, statements) = counting_statements(next.run(req)).await;
    let elapsed = started.elapsed();
    if let Ok(value) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    let outcome = resp
        .extensions_mut()
        .remove::<Outcome>()
        .unwrap_or_default();
    let status = resp.status();
    let code = match outcome.codes.first() {
        Some(code) => code.clone(),
        None if status.is_client_error() || status.is_server_error() => {
            format!("HTTP_{}", status.as_u16())
        }
        None => "ok".to_owned(),
    };
    let operation = METRICS.operation(outcome.operation.as_deref());
    METRICS
        .requests
        .get_or_create(&RequestLabels {
            route,
            operation: operation.clone(),
            outcome: code.clone(),
        })
        .inc();
    METRICS
        .latency
        .get_or_create(&RouteLabels {
            route,
            operation: operation.clone(),
        })
        .observe(elapsed.as_secs_f64());
    for c in &outcome.codes {
        METRICS
            .errors
            .get_or_create(&CodeLabel { code: c.clone() })
            .inc();
    }
    if route == "graphql" {
        #[expect(clippy::cast_precision_loss, reason = "statement counts are small")]
        METRICS.statements.observe(statements as f64);
    }
    tracing::info!(
        target: "persona_graph::access",
        method = %method,
        path = %path,
        status = status.as_u16(),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        operation = outcome.operation.as_deref().unwrap_or(""),
        outcome = %code,
        request_id = %id,
        token = outcome.token.as_deref().unwrap_or(""),
        statements,
        "request"
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_clients_are_kept_only_when_well_formed() {
        let ok = HeaderValue::from_static("req-42.a_b:c");
        assert_eq!(given_id(&ok), Some("req-42.a_b:c"));
        for bad in ["", "has space", "semi;colon", &"x".repeat(129)] {
            let v = HeaderValue::from_str(bad).unwrap();
            assert_eq!(given_id(&v), None, "{bad:?}");
        }
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn routes_are_a_fixed_set() {
        assert_eq!(route("/graphql"), "graphql");
        assert_eq!(route("/graphiql/assets/x.js"), "graphiql");
        assert_eq!(route("/dashboard"), "dashboard");
        assert_eq!(route("/anything/else"), "other");
    }
}
