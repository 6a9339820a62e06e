//! The one place GraphQL error bodies are built, for every refusal made outside execution:
//! malformed requests, authentication, the GET refusal of mutations, the request limits, the
//! deadline, oversized bodies, the rate limit, an unavailable database and a panic. Each body
//! is `{"errors":[{"message":...,"extensions":{"code":...}}]}`, the same shape as the errors
//! execution answers, so a client reads every failure one way.

use super::wire::{Media, WireResponse, body_response};
use async_graphql::{ErrorExtensionValues, ErrorExtensions, Response, ServerError};
use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response as HttpResponse;

/// `err` with the stable `extensions.code` `code` (its other extensions replaced).
pub fn with_code(mut err: ServerError, code: &str) -> ServerError {
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code);
    err.extensions = Some(ext);
    err
}

/// A GraphQL error raised outside execution, with its stable `extensions.code`.
pub fn server_error(code: &str, message: impl Into<String>) -> ServerError {
    with_code(ServerError::new(message, None), code)
}

/// A service error (an `AppError`, an access refusal) as a GraphQL error: its client-safe
/// message, its code and, for bad input, the failing `field`.
pub fn from_error(err: &impl ErrorExtensions) -> ServerError {
    err.extend()
        .into_server_error(async_graphql::Pos::default())
}

/// The answer to a request refused before execution: `errors`, and no `data` at all.
pub fn refused(errors: Vec<ServerError>) -> Response {
    Response::from_errors(errors)
}

/// The body of an answer holding only `errors`.
pub fn body(errors: Vec<ServerError>) -> Bytes {
    // Serialising strings and numbers into memory cannot fail.
    Bytes::from(serde_json::to_vec(&WireResponse(&refused(errors))).unwrap_or_default())
}

/// The body of the opaque internal error (the cause is in the log).
pub fn internal() -> Bytes {
    body(vec![server_error("INTERNAL", "internal error")])
}

/// An HTTP response carrying one GraphQL error with `code` and `message`, in `media`, with
/// `headers` added (a 503 also gets `Retry-After`).
pub fn error_response(
    status: StatusCode,
    media: Media,
    code: &str,
    message: &str,
    headers: &[(HeaderName, HeaderValue)],
) -> HttpResponse {
    let mut resp = body_response(status, media, body(vec![server_error(code, message)]));
    crate::http::observe::Outcome::add(
        &mut resp,
        crate::http::observe::Outcome {
            codes: vec![code.to_owned()],
            ..Default::default()
        },
    );
    for (name, value) in headers {
        resp.headers_mut().insert(name.clone(), value.clone());
    }
    resp
}

/// A panic while serving `/graphql`: the connection survives and the client gets the opaque
/// internal error (the panic itself is logged).
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> HttpResponse {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown");
    tracing::error!(panic = %detail, "a /graphql request panicked");
    // The request's headers are gone by now, so no negotiation: plain JSON.
    body_response(StatusCode::INTERNAL_SERVER_ERROR, Media::Json, internal())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    async fn text(resp: HttpResponse) -> String {
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_refusal_is_one_error_with_its_code_and_no_data() {
        let resp = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            Media::GraphqlResponseJson,
            "RATE_LIMITED",
            "slow down",
            &[(header::RETRY_AFTER, HeaderValue::from_static("3"))],
        );
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "3");
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "application/graphql-response+json; charset=utf-8"
        );
        assert_eq!(
            text(resp).await,
            r#"{"errors":[{"message":"slow down","extensions":{"code":"RATE_LIMITED"}}]}"#
        );
    }

    #[tokio::test]
    async fn every_503_says_when_to_retry() {
        let resp = error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            Media::Json,
            crate::error::DATABASE_UNAVAILABLE,
            "down",
            &[],
        );
        assert_eq!(
            resp.headers()[header::RETRY_AFTER],
            crate::error::RETRY_AFTER_SECS.to_string().as_str()
        );
    }

    #[tokio::test]
    async fn a_panic_answers_the_opaque_internal_error() {
        let resp = panic_response(Box::new("boom"));
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "application/json; charset=utf-8"
        );
        assert_eq!(
            text(resp).await,
            r#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#
        );
    }
}
