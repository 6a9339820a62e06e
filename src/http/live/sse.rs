//! GraphQL over Server-Sent Events at `/graphql`: the `graphql-sse` protocol's distinct
//! connections mode, for clients that cannot open a WebSocket. A `POST` (JSON body) or `GET`
//! (query string) that accepts `text/event-stream` gets one stream per operation: a `next`
//! event per result, then `complete`. The token goes in the `Authorization` header; a stream
//! whose token is revoked or expires ends with an `UNAUTHENTICATED` error.

use super::session::Session;
use super::{LiveState, SessionExecutor};
use crate::http::error_body::{self, error_response};
use crate::http::wire::Media;
use async_graphql::{Executor, Request};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use std::convert::Infallible;
use std::sync::Arc;

/// Whether `req` asks for an event stream.
pub fn wants_events(req: &axum::extract::Request) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"))
}

/// Runs one operation and streams its results.
pub async fn stream(State(state): State<LiveState>, req: axum::extract::Request) -> Response {
    let bad = |message: &str| {
        error_response(
            StatusCode::BAD_REQUEST,
            Media::Json,
            "BAD_REQUEST",
            message,
            &[],
        )
    };
    let (parts, body) = req.into_parts();
    let request: Request = if parts.method == Method::GET {
        match parts
            .uri
            .query()
            .map(async_graphql::http::parse_query_string)
        {
            Some(Ok(r)) => r,
            _ => {
                return bad(
                    "a GET event stream needs `query` (and optionally `variables`) in the URL",
                );
            }
        }
    } else {
        let Ok(bytes) = axum::body::to_bytes(Body::new(body), state.max_message_bytes).await else {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                Media::Json,
                "PAYLOAD_TOO_LARGE",
                "the request body is larger than the service accepts",
                &[],
            );
        };
        match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(_) => {
                return bad(
                    "the body must be a GraphQL request as JSON: {\"query\": \"...\", \"variables\": {...}}",
                );
            }
        }
    };
    let session = Arc::new(Session::default());
    let credentials = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    if let Err(message) = session.sign_in(&state, credentials).await {
        return error_response(
            StatusCode::UNAUTHORIZED,
            Media::Json,
            "UNAUTHENTICATED",
            &message,
            &[(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"persona-graph\""),
            )],
        );
    }
    let executor = SessionExecutor::new(state.clone(), session.clone());
    let mut responses = executor.execute_stream(request, None);
    let keepalive = state.keepalive;
    let events = async_stream::stream! {
        let _open = state.closing.enter();
        let closing = state.closing.signalled();
        tokio::pin!(closing);
        let guard = session.guard_token(&state, &state.feed);
        tokio::pin!(guard);
        let mut guarded = false;
        loop {
            tokio::select! {
                r = responses.next() => match r {
                    Some(r) => {
                        let data = serde_json::to_string(&r).unwrap_or_default();
                        yield Event::default().event("next").data(data);
                    }
                    None => break,
                },
                () = &mut guard, if !guarded => guarded = true,
                (_, reason) = session.ended() => {
                    let err = error_body::server_error("UNAUTHENTICATED", reason);
                    let body = serde_json::json!({ "errors": [err] });
                    yield Event::default().event("next").data(body.to_string());
                    break;
                }
                () = &mut closing => break,
            }
        }
        yield Event::default().event("complete").data("");
    };
    Sse::new(events.map(Ok::<_, Infallible>))
        .keep_alive(KeepAlive::new().interval(keepalive))
        .into_response()
}
