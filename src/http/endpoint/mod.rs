//! `POST /graphql` (JSON, single or batched) and `GET /graphql` (queries only): reading the
//! request, identifying the caller, answering from the response cache or running the request
//! within the limits, and writing the answer.

mod execute;

use super::error_body::{self, error_response};
use super::observe::Outcome;
use super::response_cache::{Key, ResponseCache};
use super::wire::{
    GRAPHQL_RESPONSE_JSON, Media, WireBody, WireRequest, body_response, encode, negotiate,
};
use crate::auth::{self, AuthFailure, Caller};
use crate::graphql::AppSchema;
use crate::metrics::METRICS;
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response as HttpResponse;
use entity::api_token::TokenRole;
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;

pub use execute::{mutation_refusal, tag_error_codes};

/// The most requests one batched POST may carry.
pub const MAX_BATCH: usize = 10;

/// What the GraphQL handlers need.
#[derive(Clone)]
pub struct GraphqlState {
    pub schema: AppSchema,
    pub db: DatabaseConnection,
    /// The request limits, checked before anything runs.
    pub guard: Arc<super::limits::Guard>,
    /// Whether reads need a bearer token too (writes always do).
    pub reads_require_token: bool,
    /// Answers to read requests, kept while the catalog does not change.
    pub responses: Arc<ResponseCache>,
    /// Requests executing at once; the others wait their turn (see `execute`).
    pub executing: Arc<tokio::sync::Semaphore>,
    /// Tokens' last uses, noted in the background, one write per token at a time.
    pub last_used: auth::LastUsed,
    /// Whether the database answers: while it does not, requests fail at once.
    pub health: crate::db::Health,
    /// What requests in flight may hold; the parsed form of a body is charged here.
    pub memory: Arc<super::memory::MemoryBudget>,
    /// The change feed: while it hears every change as it commits, the response cache asks
    /// it, not the database, whether the catalog changed.
    pub feed: crate::domain::feed::Feed,
    /// Told of each statement a query's held connection runs (see `graphql::reader`).
    pub statements: crate::graphql::reader::StatementObserver,
}

/// What the response cache may answer for `batch` from `caller`: single requests of callers
/// whose answers do not depend on who they are beyond their role (admins see tokens and the
/// audit log, so their answers are never kept).
fn cache_key(state: &GraphqlState, batch: &BatchRequest, caller: &Caller) -> Option<Key> {
    if !state.responses.enabled() {
        return None;
    }
    let BatchRequest::Single(req) = batch else {
        return None;
    };
    // Keyed by the token itself, not its role: some answers (`currentToken`) differ per token.
    let access = match caller {
        Caller::Anonymous => "anonymous".to_owned(),
        Caller::Token(p) if p.role == TokenRole::Admin => return None,
        Caller::Token(p) => format!("token:{}", p.token_id),
    };
    Some(Key {
        query: req.query.clone(),
        operation_name: req.operation_name.clone(),
        variables: serde_json::to_string(&req.variables).ok()?,
        access,
    })
}

/// Answers `batch` (see [`answer`]), telling the access log and the metrics which operation it
/// was and whose token asked.
async fn respond(
    state: &GraphqlState,
    media: Media,
    batch: BatchRequest,
    caller: Caller,
) -> HttpResponse {
    let single = match &batch {
        BatchRequest::Single(r) => Some((r.query.clone(), r.operation_name.clone())),
        BatchRequest::Batch(_) => None,
    };
    let token = match &caller {
        Caller::Token(p) => Some(p.name.clone()),
        Caller::Anonymous => None,
    };
    crate::metrics::note_pool_wait(&state.db);
    let mut resp = answer(state, media, batch, caller).await;
    // Read after the answer, when the limits have parsed (and cached) the document.
    let operation = match single {
        Some((query, name)) => state.guard.operation_name(&query, name.as_deref()),
        None => Some("batch".to_owned()),
    };
    Outcome::add(
        &mut resp,
        Outcome {
            operation,
            token,
            codes: Vec::new(),
        },
    );
    resp
}

/// The error codes of `batch`'s answer, in order.
fn codes(batch: &BatchResponse) -> Vec<String> {
    let errors: Vec<&async_graphql::ServerError> = match batch {
        BatchResponse::Single(r) => r.errors.iter().collect(),
        BatchResponse::Batch(list) => list.iter().flat_map(|r| &r.errors).collect(),
    };
    errors
        .into_iter()
        .map(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .and_then(|c| match c {
                    async_graphql::Value::String(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "INTERNAL".to_owned())
        })
        .collect()
}

/// `batch`'s answer as a response, its error codes noted for the access log and the metrics.
fn answered(status: StatusCode, media: Media, body: Bytes, batch: &BatchResponse) -> HttpResponse {
    let mut resp = body_response(status, media, body);
    Outcome::add(
        &mut resp,
        Outcome {
            codes: codes(batch),
            ..Outcome::default()
        },
    );
    resp
}

/// Answers `batch`: from the response cache when the catalog has not changed since the same
/// request was answered, else by running it (and keeping a successful query's answer).
async fn answer(
    state: &GraphqlState,
    media: Media,
    mut batch: BatchRequest,
    caller: Caller,
) -> HttpResponse {
    let key = cache_key(state, &batch, &caller);
    // A request the cache would look up is checked against the limits first, so that one they
    // refuse is answered before the cache's version read asks the database anything. (Others
    // meet the limits before any statement anyway, in `execute::guarded`.)
    if key.is_some()
        && let BatchRequest::Single(req) = &mut batch
        && let Some(refusal) = state.guard.refusal(req)
    {
        let refusal = BatchResponse::Single(refusal);
        let (status, body) = encoded(media, &refusal);
        return answered(status, media, body, &refusal);
    }
    // An unreachable database answers at once (rather than again when the request runs);
    // any other failure to read the version lets the request run uncached.
    let version = match &key {
        Some(_) if state.feed.listening() => {
            Some(ResponseCache::announced(state.feed.generation()))
        }
        Some(_) => match ResponseCache::version(&state.db).await {
            Ok(v) => Some(v),
            Err(e) => {
                let err = crate::error::AppError::from(e);
                if err.code() == crate::error::DATABASE_UNAVAILABLE {
                    state.health.lost();
                    let answer =
                        BatchResponse::Single(error_body::refused(vec![error_body::from_error(
                            &err,
                        )]));
                    let (status, body) = encoded(media, &answer);
                    return answered(status, media, body, &answer);
                }
                None
            }
        },
        None => None,
    };
    if let (Some(key), Some(version)) = (&key, version) {
        if let Some(body) = state.responses.get(key, version) {
            METRICS.cache_hits.inc();
            return body_response(StatusCode::OK, media, body);
        }
        METRICS.cache_misses.inc();
    }
    let batch = with_caller(batch, caller.clone());
    let answer = execute::guarded(state, batch, &caller).await;
    let keep = match (&answer, key, version) {
        (BatchResponse::Single(r), Some(key), Some(version)) if r.errors.is_empty() => (state
            .guard)
            .operation_type(&key.query, key.operation_name.as_deref())
            .filter(|t| *t == OperationType::Query)
            .map(|_| (key, version)),
        _ => None,
    };
    let (status, body) = encoded(media, &answer);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        state.health.lost();
    }
    if let Some((key, version)) = keep {
        state.responses.put(key, version, body.clone());
    }
    answered(status, media, body, &answer)
}

/// Identifies the caller from the `Authorization` header, or answers the refusal: 401 for
/// bad credentials (and for none when reads require a token), with RFC 6750's
/// `WWW-Authenticate`.
async fn caller(
    state: &GraphqlState,
    headers: &HeaderMap,
    media: Media,
) -> Result<Caller, HttpResponse> {
    let header = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    let unauthenticated = |message: &str, challenge: &'static str| {
        error_response(
            StatusCode::UNAUTHORIZED,
            media,
            "UNAUTHENTICATED",
            message,
            &[(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            )],
        )
    };
    // While the database is known to be down, every request is answered at once, before the
    // token lookup or anything else would wait out the pool's acquire timeout.
    if !state.health.is_up() {
        let err = crate::error::AppError::Unavailable;
        return Err(error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            media,
            err.code(),
            &err.to_string(),
            &[],
        ));
    }
    match auth::authenticate(&state.db, &state.last_used, header).await {
        Ok(Caller::Anonymous) if state.reads_require_token => Err(unauthenticated(
            "this service requires a bearer token (`Authorization: Bearer <token>`)",
            "Bearer realm=\"persona-graph\"",
        )),
        Ok(caller) => Ok(caller),
        Err(AuthFailure::Access(e)) => Err(unauthenticated(
            &e.to_string(),
            "Bearer realm=\"persona-graph\", error=\"invalid_token\"",
        )),
        Err(AuthFailure::Internal(e)) => {
            let status = if e.code() == "INTERNAL" {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                state.health.lost();
                StatusCode::SERVICE_UNAVAILABLE
            };
            Err(error_response(status, media, e.code(), &e.to_string(), &[]))
        }
    }
}

/// Gives every request of `batch` its caller, which the access rules read.
fn with_caller(batch: BatchRequest, caller: Caller) -> BatchRequest {
    match batch {
        BatchRequest::Single(r) => BatchRequest::Single(r.data(caller)),
        BatchRequest::Batch(list) => {
            BatchRequest::Batch(list.into_iter().map(|r| r.data(caller.clone())).collect())
        }
    }
}

/// `POST /graphql`.
pub async fn post(
    State(state): State<GraphqlState>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    let media = negotiate(&headers);
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" && essence != GRAPHQL_RESPONSE_JSON {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "requests must be sent as application/json",
        );
    }
    // Charged before the JSON is parsed: a body of many values is refused, or waits for room,
    // rather than growing memory.
    let _parsed = match state.memory.charge_parsed(&body) {
        Ok(charge) => charge,
        Err(refusal) => return refusal.response(&headers),
    };
    let batch = match serde_json::from_slice::<WireBody>(&body) {
        Ok(WireBody::Single(r)) => BatchRequest::Single(r.into_request()),
        Ok(WireBody::Batch(list)) if list.is_empty() || list.len() > MAX_BATCH => {
            return request_error(
                StatusCode::BAD_REQUEST,
                media,
                &format!("a batch must hold between 1 and {MAX_BATCH} requests"),
            );
        }
        Ok(WireBody::Batch(list)) => {
            BatchRequest::Batch(list.into_iter().map(WireRequest::into_request).collect())
        }
        Err(_) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                media,
                "the body must be a JSON object with a string `query` and optional `operationName`, object `variables` and object `extensions`",
            );
        }
    };
    let caller = match caller(&state, &headers, media).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    respond(&state, media, batch, caller).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// `GET /graphql?query=...`: queries only; a mutation answers 405.
pub async fn get(
    State(state): State<GraphqlState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> HttpResponse {
    let media = negotiate(&headers);
    let Ok(params) = serde_urlencoded::from_str::<GetParams>(raw.as_deref().unwrap_or("")) else {
        return request_error(
            StatusCode::BAD_REQUEST,
            media,
            "the query string is malformed",
        );
    };
    let Some(query) = params.query else {
        return request_error(
            StatusCode::BAD_REQUEST,
            media,
            "the `query` parameter is required",
        );
    };
    let mut wire = WireRequest {
        query,
        operation_name: params.operation_name,
        variables: None,
        extensions: None,
    };
    // Held until the answer is produced, like a POST body's.
    let mut charges = Vec::with_capacity(2);
    for (name, text, slot) in [
        ("variables", params.variables, &mut wire.variables),
        ("extensions", params.extensions, &mut wire.extensions),
    ] {
        if let Some(text) = text {
            match state.memory.charge_parsed(text.as_bytes()) {
                Ok(charge) => charges.push(charge),
                Err(refusal) => return refusal.response(&headers),
            }
            match serde_json::from_str::<Option<Map<String, Value>>>(&text) {
                Ok(v) => *slot = v,
                Err(_) => {
                    return request_error(
                        StatusCode::BAD_REQUEST,
                        media,
                        &format!("the `{name}` parameter must be a JSON object"),
                    );
                }
            }
        }
    }
    if state
        .guard
        .operation_type(&wire.query, wire.operation_name.as_deref())
        == Some(OperationType::Mutation)
    {
        return error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            "METHOD_NOT_ALLOWED",
            "mutations must be sent with POST",
            &[(header::ALLOW, HeaderValue::from_static("POST"))],
        );
    }
    let caller = match caller(&state, &headers, media).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    respond(
        &state,
        media,
        BatchRequest::Single(wire.into_request()),
        caller,
    )
    .await
}

/// An error about the HTTP request itself, before any GraphQL ran.
fn request_error(status: StatusCode, media: Media, message: &str) -> HttpResponse {
    error_response(status, media, "BAD_REQUEST", message, &[])
}

/// The status and body of `batch`'s answer, or an `INTERNAL` error should it not serialise.
fn encoded(media: Media, batch: &BatchResponse) -> (StatusCode, Bytes) {
    encode(media, batch).unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not serialise a GraphQL response");
        (StatusCode::INTERNAL_SERVER_ERROR, error_body::internal())
    })
}
