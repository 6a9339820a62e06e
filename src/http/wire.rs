//! GraphQL over HTTP on the wire: content negotiation between
//! `application/graphql-response+json` and `application/json`, the JSON request format, and how
//! a response is written (its status per the GraphQL-over-HTTP specification, body and headers).

use async_graphql::{BatchResponse, Request, Response, Variables};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// The media type of the GraphQL-over-HTTP specification.
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// One GraphQL request as sent on the wire; stricter than async-graphql's own parser so that
/// malformed requests are told apart from malformed documents.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireRequest {
    pub query: String,
    #[serde(default)]
    pub operation_name: Option<String>,
    #[serde(default)]
    pub variables: Option<Map<String, Value>>,
    #[serde(default)]
    pub extensions: Option<Map<String, Value>>,
}

/// A POST body: one request or a batch of them.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum WireBody {
    Single(WireRequest),
    Batch(Vec<WireRequest>),
}

impl WireRequest {
    pub(crate) fn into_request(self) -> Request {
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
pub enum Media {
    GraphqlResponseJson,
    Json,
}

/// The media type of the answer, from the request's `Accept` (`application/json` when it
/// names neither).
pub fn negotiate(headers: &HeaderMap) -> Media {
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

/// The `Content-Type` of an answer in `media`.
pub fn content_type(media: Media) -> HeaderValue {
    match media {
        Media::GraphqlResponseJson => {
            HeaderValue::from_static("application/graphql-response+json; charset=utf-8")
        }
        Media::Json => HeaderValue::from_static("application/json; charset=utf-8"),
    }
}

/// A response whose GraphQL errors all happened before execution (no data at all).
pub(crate) fn is_request_error(resp: &Response) -> bool {
    resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty())
}

/// One response as written on the wire: async-graphql's own serialisation (which keeps fields in
/// selection order), except that a request error has no `data` entry. The GraphQL spec leaves it
/// out when an error was raised before execution began; `"data": null` would tell the client
/// that execution ran and failed.
pub(crate) struct WireResponse<'a>(pub &'a Response);

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

/// The status and body of `batch`'s answer; the error when it does not serialise (the caller
/// answers `INTERNAL`).
pub(crate) fn encode(
    media: Media,
    batch: &BatchResponse,
) -> serde_json::Result<(StatusCode, Bytes)> {
    let status = match (batch, media) {
        _ if database_unavailable(batch) => StatusCode::SERVICE_UNAVAILABLE,
        (BatchResponse::Single(r), Media::GraphqlResponseJson) if is_request_error(r) => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    };
    Ok((status, Bytes::from(batch_body(batch)?)))
}

/// A response carrying an encoded GraphQL body in `media`; a 503 also tells the client when to
/// try again.
pub fn body_response(status: StatusCode, media: Media, body: Bytes) -> HttpResponse {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, content_type(media));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(crate::error::RETRY_AFTER_SECS),
        );
    }
    resp
}
