//! GraphQL over HTTP: `POST /graphql` (JSON), `GET /graphql` (queries only), content
//! negotiation between `application/graphql-response+json` and `application/json`, and the
//! status codes of the GraphQL-over-HTTP specification.

use super::AppSchema;
use super::loaders::{Batches, loaders};
use super::response_cache::{Key, ResponseCache};
use crate::auth::{self, AuthFailure, Caller};
use crate::limits::selected_operation;
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, Request, Response, Variables};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use entity::api_token::TokenRole;
use sea_orm::DatabaseConnection;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value, json};

/// The media type of the GraphQL-over-HTTP specification.
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
/// The most requests one batched POST may carry.
pub const MAX_BATCH: usize = 10;

/// What the GraphQL handlers need.
#[derive(Clone)]
pub struct GraphqlState {
    pub schema: AppSchema,
    pub db: DatabaseConnection,
    /// The request limits, checked before anything runs.
    pub guard: std::sync::Arc<crate::limits::Guard>,
    /// Whether reads need a bearer token too (writes always do).
    pub reads_require_token: bool,
    /// Answers to read requests, kept while the catalog does not change.
    pub responses: std::sync::Arc<ResponseCache>,
    /// Requests executing at once; the others wait their turn (see [`execute`]).
    pub executing: std::sync::Arc<tokio::sync::Semaphore>,
}

/// One GraphQL request as sent on the wire; stricter than async-graphql's own parser so that
/// malformed requests are told apart from malformed documents.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRequest {
    query: String,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Option<Map<String, Value>>,
    #[serde(default)]
    extensions: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireBody {
    Single(WireRequest),
    Batch(Vec<WireRequest>),
}

impl WireRequest {
    fn into_request(self) -> Request {
        let mut req = Request::new(self.query);
        if let Some(name) = self.operation_name {
            req = req.operation_name(name);
        }
        if let Some(vars) = self.variables {
            req = req.variables(Variables::from_json(Value::Object(vars)));
        }
        if let Some(ext) = self.extensions {
            for (k, v) in ext {
                if let Ok(v) = async_graphql::Value::from_json(v) {
                    req.extensions.insert(k, v);
                }
            }
        }
        req
    }
}

/// Which media type the client accepts for the response.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Media {
    GraphqlResponseJson,
    Json,
}

pub(crate) fn negotiate(headers: &HeaderMap) -> Media {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut best: Option<(Media, f32)> = None;
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let media = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let m = match media.as_str() {
            GRAPHQL_RESPONSE_JSON => Media::GraphqlResponseJson,
            "application/json" | "application/*" | "*/*" => Media::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(_, bq)| q > bq) {
            best = Some((m, q));
        }
    }
    best.map_or(Media::Json, |(m, _)| m)
}

pub(crate) fn content_type(media: Media) -> HeaderValue {
    match media {
        Media::GraphqlResponseJson => {
            HeaderValue::from_static("application/graphql-response+json; charset=utf-8")
        }
        Media::Json => HeaderValue::from_static("application/json; charset=utf-8"),
    }
}

/// An error about the HTTP request itself, before any GraphQL ran.
fn request_error(status: StatusCode, media: Media, message: &str) -> HttpResponse {
    let body =
        json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_REQUEST" } }] });
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, content_type(media));
    resp
}

/// A response whose GraphQL errors all happened before execution (no data at all).
fn is_request_error(resp: &Response) -> bool {
    resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty())
}

/// One response as written on the wire: async-graphql's own serialisation (which keeps fields in
/// selection order), except that a request error has no `data` entry. The GraphQL spec leaves it
/// out when an error was raised before execution began; `"data": null` would tell the client
/// that execution ran and failed.
struct WireResponse<'a>(&'a Response);

impl Serialize for WireResponse<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let resp = self.0;
        if !is_request_error(resp) {
            return resp.serialize(serializer);
        }
        let mut map = serializer.serialize_map(None)?;
        if !resp.extensions.is_empty() {
            map.serialize_entry("extensions", &resp.extensions)?;
        }
        map.serialize_entry("errors", &resp.errors)?;
        map.end()
    }
}

fn batch_body(batch: &BatchResponse) -> serde_json::Result<String> {
    match batch {
        BatchResponse::Single(r) => serde_json::to_string(&WireResponse(r)),
        BatchResponse::Batch(list) => {
            serde_json::to_string(&list.iter().map(WireResponse).collect::<Vec<_>>())
        }
    }
}

/// Whether some request of `batch` met an unavailable database: the service's fault, not the
/// request's, so the answer is 503 with `Retry-After`.
fn database_unavailable(batch: &BatchResponse) -> bool {
    let hit = |r: &Response| {
        r.errors.iter().any(|e| {
            matches!(
                e.extensions.as_ref().and_then(|x| x.get("code")),
                Some(async_graphql::Value::String(c)) if c == crate::error::DATABASE_UNAVAILABLE
            )
        })
    };
    match batch {
        BatchResponse::Single(r) => hit(r),
        BatchResponse::Batch(list) => list.iter().any(hit),
    }
}

/// The status and body of `batch`'s answer (an `INTERNAL` error should it not serialise).
fn encode(media: Media, batch: &BatchResponse) -> (StatusCode, Bytes) {
    let status = match (batch, media) {
        _ if database_unavailable(batch) => StatusCode::SERVICE_UNAVAILABLE,
        (BatchResponse::Single(r), Media::GraphqlResponseJson) if is_request_error(r) => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    };
    match batch_body(batch) {
        Ok(b) => (status, Bytes::from(b)),
        Err(e) => {
            tracing::error!(error = %e, "could not serialise a GraphQL response");
            let body = json!({ "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL" } }] });
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Bytes::from(body.to_string()),
            )
        }
    }
}

/// Tells a client answered 503 when to try again.
fn retry_after_if_unavailable(resp: &mut HttpResponse) {
    if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(crate::error::RETRY_AFTER_SECS),
        );
    }
}

/// Runs one admitted request with its own DataLoader (so caches never outlive a request),
/// after refusing a mutation to a caller who may not write.
///
/// The access rule and the error codes are applied here rather than by schema extensions: an
/// extension of any kind makes async-graphql wrap every resolved field in its extension chain,
/// which cost a third of the time of a large read.
async fn execute(state: &GraphqlState, mut req: Request, caller: &Caller) -> Response {
    if let Some(refusal) = mutation_refusal(&mut req, caller) {
        return refusal;
    }
    // On a few cores, running every request at once only interleaves them: each takes as long
    // as all together, and all their partial answers are in memory at the same time. A few at
    // a time give the same throughput with a fraction of the latency and memory. The permit is
    // never closed, so waiting cannot fail; the request deadline still applies while waiting.
    let _permit = state.executing.acquire().await.ok();
    let retry = retryable(&mut req, caller);
    let mut resp = run(state, req).await;
    // A mutation of one field that lost a deadlock or serialisation race was rolled back
    // whole by PostgreSQL, so running it again cannot apply it twice; it then either applies
    // or meets the ordinary conflicts (a stale version, a removed row). Two more tries.
    if let Some(again) = retry {
        for _ in 0..2 {
            if !lost_a_race(&resp) {
                break;
            }
            resp = run(state, again()).await;
        }
    }
    resp
}

/// Executes one request with its own DataLoader, and gives async-graphql's errors their codes.
async fn run(state: &GraphqlState, req: Request) -> Response {
    let batches = Batches::default();
    let req = req.data(loaders(state.db.clone(), &batches));
    let mut resp = batches.run(state.schema.execute(req)).await;
    super::tag_error_codes(&mut resp);
    resp
}

/// Whether `resp` failed because a concurrent transaction got in the way (and was rolled back).
fn lost_a_race(resp: &Response) -> bool {
    resp.errors
        .iter()
        .any(|e| e.message == crate::error::CONTENTION)
}

/// For a mutation with exactly one root field (so nothing of it can have committed when it
/// fails), a way to build the same request again.
fn retryable(req: &mut Request, caller: &Caller) -> Option<impl Fn() -> Request + use<>> {
    let operation_name = req.operation_name.clone();
    let query = req.query.clone();
    let variables = req.variables.clone();
    let doc = req.parsed_query().ok()?;
    let op = selected_operation(doc, operation_name.as_deref())?;
    if op.node.ty != OperationType::Mutation || op.node.selection_set.node.items.len() != 1 {
        return None;
    }
    // Only now: every query would pay for copying its document.
    let doc = doc.clone();
    let caller = caller.clone();
    Some(move || {
        let mut req = Request::new(query.clone()).variables(variables.clone());
        if let Some(name) = &operation_name {
            req = req.operation_name(name.clone());
        }
        req.set_parsed_query(doc.clone());
        req.data(caller.clone())
    })
}

/// The answer to a mutation from a caller without an editor or admin token: the error of its
/// first field, before any resolver runs (so it changes nothing).
fn mutation_refusal(req: &mut Request, caller: &Caller) -> Option<Response> {
    let operation_name = req.operation_name.clone();
    let doc = req.parsed_query().ok()?;
    let op = selected_operation(doc, operation_name.as_deref())?;
    if op.node.ty != OperationType::Mutation {
        return None;
    }
    let refused = auth::require(Some(caller), TokenRole::Editor).err()?;
    let mut err = auth::request_error(&refused);
    let first = op
        .node
        .selection_set
        .node
        .items
        .iter()
        .find_map(|s| match &s.node {
            async_graphql::parser::types::Selection::Field(f) => Some(f),
            _ => None,
        });
    if let Some(field) = first {
        err.locations = vec![field.pos];
        err.path = vec![async_graphql::PathSegment::Field(
            field.node.response_key().node.to_string(),
        )];
    }
    let mut resp = Response::from_errors(vec![err]);
    resp.data = async_graphql::Value::Null;
    Some(resp)
}

/// Runs `batch` within the request limits: each request checked, the batch costed as a
/// whole, and everything cut off at the request's deadline.
async fn guarded(state: &GraphqlState, batch: BatchRequest, caller: &Caller) -> BatchResponse {
    state.guard.run(batch, |r| execute(state, r, caller)).await
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

/// Answers `batch`: from the response cache when the catalog has not changed since the same
/// request was answered, else by running it (and keeping a successful query's answer).
async fn respond(
    state: &GraphqlState,
    media: Media,
    batch: BatchRequest,
    caller: Caller,
) -> HttpResponse {
    let key = cache_key(state, &batch, &caller);
    // An unreachable database answers at once (rather than again when the request runs);
    // any other failure to read the version lets the request run uncached.
    let version = match &key {
        Some(_) => match ResponseCache::version(&state.db).await {
            Ok(v) => Some(v),
            Err(e) => {
                let err = crate::error::AppError::from(e);
                if err.code() == crate::error::DATABASE_UNAVAILABLE {
                    let answer = BatchResponse::Single(Response::from_errors(vec![
                        async_graphql::ErrorExtensions::extend(&err)
                            .into_server_error(Default::default()),
                    ]));
                    let (status, body) = encode(media, &answer);
                    let mut resp = body_response(status, media, body);
                    retry_after_if_unavailable(&mut resp);
                    return resp;
                }
                None
            }
        },
        None => None,
    };
    if let (Some(key), Some(version)) = (&key, version)
        && let Some(body) = state.responses.get(key, version)
    {
        return body_response(StatusCode::OK, media, body);
    }
    let batch = with_caller(batch, caller.clone());
    let answer = guarded(state, batch, &caller).await;
    let keep = match (&answer, key, version) {
        (BatchResponse::Single(r), Some(key), Some(version)) if r.errors.is_empty() => (state
            .guard)
            .operation_type(&key.query, key.operation_name.as_deref())
            .filter(|t| *t == OperationType::Query)
            .map(|_| (key, version)),
        _ => None,
    };
    let (status, body) = encode(media, &answer);
    if let Some((key, version)) = keep {
        state.responses.put(key, version, body.clone());
    }
    let mut resp = body_response(status, media, body);
    retry_after_if_unavailable(&mut resp);
    resp
}

/// A response carrying an encoded GraphQL body.
fn body_response(status: StatusCode, media: Media, body: Bytes) -> HttpResponse {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, content_type(media));
    resp
}

/// An error response with `code`, for refusals decided before any GraphQL ran.
fn coded_error(status: StatusCode, media: Media, code: &str, message: &str) -> HttpResponse {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, content_type(media));
    retry_after_if_unavailable(&mut resp);
    resp
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
        let mut resp = coded_error(StatusCode::UNAUTHORIZED, media, "UNAUTHENTICATED", message);
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
        resp
    };
    match auth::authenticate(&state.db, header).await {
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
                StatusCode::SERVICE_UNAVAILABLE
            };
            Err(coded_error(status, media, e.code(), &e.to_string()))
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
    for (name, text, slot) in [
        ("variables", params.variables, &mut wire.variables),
        ("extensions", params.extensions, &mut wire.extensions),
    ] {
        if let Some(text) = text {
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
        let mut resp = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            "mutations must be sent with POST",
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return resp;
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
