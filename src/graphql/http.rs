//! GraphQL over HTTP: `POST /graphql` (JSON), `GET /graphql` (queries only), content
//! negotiation between `application/graphql-response+json` and `application/json`, and the
//! status codes of the GraphQL-over-HTTP specification.

use super::AppSchema;
use super::loaders::{Batches, loaders};
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, Request, Response, Variables};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
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
enum Media {
    GraphqlResponseJson,
    Json,
}

fn negotiate(headers: &HeaderMap) -> Media {
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

fn content_type(media: Media) -> HeaderValue {
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

fn graphql_response(media: Media, batch: BatchResponse) -> HttpResponse {
    let status = match (&batch, media) {
        (BatchResponse::Single(r), Media::GraphqlResponseJson) if is_request_error(r) => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    };
    let body = match batch_body(&batch) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "could not serialise a GraphQL response");
            return request_error(StatusCode::INTERNAL_SERVER_ERROR, media, "internal error");
        }
    };
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, content_type(media));
    resp
}

async fn execute(state: &GraphqlState, batch: BatchRequest) -> BatchResponse {
    // Each request of a batch gets its own loader, so caches never outlive one request.
    let batches = Batches::default();
    let with_loader = |r: Request| r.data(loaders(state.db.clone(), &batches));
    let batch = match batch {
        BatchRequest::Single(r) => BatchRequest::Single(with_loader(r)),
        BatchRequest::Batch(list) => {
            BatchRequest::Batch(list.into_iter().map(with_loader).collect())
        }
    };
    batches.run(state.schema.execute_batch(batch)).await
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
    graphql_response(media, execute(&state, batch).await)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// The operation a GET request would run, if the document parses.
fn operation_type(query: &str, operation_name: Option<&str>) -> Option<OperationType> {
    let doc = async_graphql::parser::parse_query(query).ok()?;
    let mut ops = doc.operations.iter();
    match operation_name {
        Some(name) => ops
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name))
            .map(|(_, op)| op.node.ty),
        None => {
            let (_, op) = ops.next()?;
            Some(op.node.ty)
        }
    }
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
    if operation_type(&wire.query, wire.operation_name.as_deref()) == Some(OperationType::Mutation)
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
    graphql_response(
        media,
        execute(&state, BatchRequest::Single(wire.into_request())).await,
    )
}
