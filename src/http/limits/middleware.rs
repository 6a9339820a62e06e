//! The middleware of `/graphql` that the request limits need at the HTTP level: overlong URLs
//! refused, the request's deadline set (and a body that never arrives cut off after it), and
//! what the layers below answer in plain text (an oversized body) turned into GraphQL error
//! bodies.

use super::{Guard, MAX_URL_QUERY_BYTES, PAYLOAD_TOO_LARGE, TIMEOUT, URI_TOO_LONG};
use crate::http::error_body::error_response;
use crate::http::wire::negotiate;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response as HttpResponse;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long after the deadline the HTTP layer gives up on a request whose body has not even
/// arrived (the handler answers at the deadline itself once it runs).
const BODY_GRACE: Duration = Duration::from_millis(500);

tokio::task_local! {
    /// When the request being served must be answered by.
    pub(super) static DEADLINE: Instant;
}

/// The middleware of `/graphql`: refuses overlong URLs, sets the request's deadline, and turns
/// what the layers below answer in plain text (an oversized body, a body that never arrived)
/// into GraphQL error bodies.
pub async fn http_guard(
    State(guard): State<Arc<Guard>>,
    req: axum::extract::Request,
    next: Next,
) -> HttpResponse {
    // Negotiated now: the request, headers and all, is handed on below.
    let media = negotiate(req.headers());
    let query_len = req.uri().query().map_or(0, str::len);
    if query_len > MAX_URL_QUERY_BYTES {
        return error_response(
            StatusCode::URI_TOO_LONG,
            media,
            URI_TOO_LONG,
            &format!(
                "the URL's query string is {query_len} bytes; the limit is {MAX_URL_QUERY_BYTES} (send large documents with POST)"
            ),
            &[],
        );
    }
    let deadline = Instant::now() + guard.limits.request_timeout;
    let run = DEADLINE.scope(deadline, next.run(req));
    let Ok(resp) = tokio::time::timeout_at(deadline + BODY_GRACE, run).await else {
        return error_response(
            StatusCode::REQUEST_TIMEOUT,
            media,
            TIMEOUT,
            &guard.timeout_message(),
            &[],
        );
    };
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json || resp.status().is_success() {
        return resp;
    }
    let (code, message) = match resp.status() {
        StatusCode::PAYLOAD_TOO_LARGE => (
            PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than the {} bytes this server accepts",
                guard.body_limit
            ),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "METHOD_NOT_ALLOWED",
            "/graphql answers GET (queries) and POST".to_owned(),
        ),
        s if s.is_server_error() => ("INTERNAL", "internal error".to_owned()),
        _ => (
            "BAD_REQUEST",
            "the request could not be read as a GraphQL request".to_owned(),
        ),
    };
    let allow: Vec<_> = resp
        .headers()
        .get(header::ALLOW)
        .map(|v| (header::ALLOW, v.clone()))
        .into_iter()
        .collect();
    error_response(resp.status(), media, code, &message, &allow)
}
