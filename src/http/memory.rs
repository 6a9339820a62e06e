//! The memory budget of `/graphql`: what requests in flight may hold at once, in bytes.
//!
//! A request is charged twice. Before its body is read, for the bytes it declares
//! (`Content-Length`, or the body limit when it declares none) plus a fixed amount for the
//! request itself; once read, for the parsed form of its JSON, estimated from the number of
//! values the body holds ([`json_values`], counted before anything is parsed). A request whose
//! charge is not available answers `503 OVERLOADED` with `Retry-After` at once, and one that
//! could never fit (more values than `max_json_values`, or a charge larger than the whole
//! budget) answers `413`. Charges are given back when the answer has been produced, so memory
//! under load is bounded by the budget, not by how many requests arrive.

use crate::http::error_body::error_response;
use crate::http::wire::negotiate;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response as HttpResponse;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget is out for now: other requests hold it. Sent with `Retry-After`.
pub const OVERLOADED: &str = "OVERLOADED";
/// The body holds more JSON values than `max_json_values`.
pub const TOO_MANY_VALUES: &str = "TOO_MANY_VALUES";
/// The budget's unit: charges are rounded up to whole KiB.
const UNIT: usize = 1024;
/// What every request is charged beyond its body: headers, the parsed document, the answer.
pub const REQUEST_BYTES: usize = 16 * 1024;
/// What one JSON value of a body is charged once parsed: `serde_json`'s value, async-graphql's
/// copy of it, the slots of their lists and maps, and what coercing it to an input allocates
/// (measured: a 200,000-item list of short strings took about 30 MiB at its peak).
pub const VALUE_BYTES: usize = 160;
/// `Retry-After` of an `OVERLOADED` answer, in seconds: the budget frees as requests finish,
/// which takes milliseconds.
const RETRY_AFTER_SECS: u32 = 1;

/// The bytes requests in flight may hold at once.
pub struct MemoryBudget {
    units: Arc<Semaphore>,
    total_units: usize,
    max_json_values: usize,
    body_limit: usize,
}

/// Held while a request runs; gives its charge back when dropped.
#[derive(Debug)]
pub struct Charge {
    _permit: Option<OwnedSemaphorePermit>,
}

/// Why a charge was not made.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Other requests hold the budget: try again shortly (503).
    Busy,
    /// The request could never fit (413), with the code and message that say why.
    TooLarge(&'static str, String),
}

impl MemoryBudget {
    /// A budget of `bytes` (0: none, every request admitted), with at most `max_json_values`
    /// values in one body (0: no such cap) and the body limit bodies that declare no length
    /// are charged for.
    pub fn new(bytes: usize, max_json_values: usize, body_limit: usize) -> Self {
        let total_units = bytes.div_ceil(UNIT).min(Semaphore::MAX_PERMITS);
        Self {
            units: Arc::new(Semaphore::new(total_units)),
            total_units,
            max_json_values,
            body_limit,
        }
    }

    /// Charges `bytes`, or says why not.
    pub fn charge(&self, bytes: usize) -> Result<Charge, Refusal> {
        if self.total_units == 0 {
            return Ok(Charge { _permit: None });
        }
        let units = bytes.div_ceil(UNIT).max(1);
        if units > self.total_units {
            return Err(Refusal::TooLarge(
                crate::http::limits::PAYLOAD_TOO_LARGE,
                format!(
                    "the request needs about {units} KiB of memory; the server gives all requests together {} KiB",
                    self.total_units
                ),
            ));
        }
        let units = u32::try_from(units).map_err(|_| Refusal::Busy)?;
        self.units
            .clone()
            .try_acquire_many_owned(units)
            .map(|p| Charge { _permit: Some(p) })
            .map_err(|_| Refusal::Busy)
    }

    /// Charges the parsed form of `body` (JSON text), or says why not.
    pub fn charge_parsed(&self, body: &[u8]) -> Result<Charge, Refusal> {
        if self.total_units == 0 && self.max_json_values == 0 {
            return Ok(Charge { _permit: None });
        }
        let values = json_values(body);
        if self.max_json_values > 0 && values > self.max_json_values {
            return Err(Refusal::TooLarge(
                TOO_MANY_VALUES,
                format!(
                    "the request holds {values} JSON values; the limit is {} (send long lists in several requests)",
                    self.max_json_values
                ),
            ));
        }
        self.charge(values.saturating_mul(VALUE_BYTES))
    }

    /// What is free now, in bytes (for tests and logs).
    pub fn available(&self) -> usize {
        self.units.available_permits() * UNIT
    }
}

impl Refusal {
    /// The refusal as an HTTP answer, its body a GraphQL error with a stable code.
    pub fn response(&self, headers: &axum::http::HeaderMap) -> HttpResponse {
        let media = negotiate(headers);
        match self {
            Refusal::Busy => error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                media,
                OVERLOADED,
                "the server is busy with other large requests; try again shortly",
                &[(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS))],
            ),
            Refusal::TooLarge(code, message) => {
                error_response(StatusCode::PAYLOAD_TOO_LARGE, media, code, message, &[])
            }
        }
    }
}

/// The middleware of `/graphql`: charges a request for the body it declares before the body is
/// read, and holds the charge until the answer is produced.
pub async fn admit(
    State(budget): State<Arc<MemoryBudget>>,
    req: Request,
    next: Next,
) -> HttpResponse {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // A body with no declared length may be as long as the limit allows; a longer declared one
    // is refused by the body limit below without being read.
    let body = match (req.method(), declared) {
        (&axum::http::Method::GET, _) => 0,
        (_, Some(n)) => n.min(budget.body_limit),
        (_, None) => budget.body_limit,
    };
    match budget.charge(body.saturating_add(REQUEST_BYTES)) {
        Ok(charge) => {
            let resp = next.run(req).await;
            drop(charge);
            resp
        }
        Err(refusal) => {
            // The body is not read: the connection closes after the answer, which frees what
            // it holds (reading the body of every refused request would grow each connection's
            // buffers instead).
            let mut resp = refusal.response(req.headers());
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp
        }
    }
}

/// How many JSON values `json` holds, counted from its structure without parsing it: one per
/// value and one per object key, over-counted by at most one per container. Strings are
/// skipped (escapes included), so a long string is one value, and text that is not JSON counts
/// as what its brackets and commas would make (the parser refuses it later).
pub fn json_values(json: &[u8]) -> usize {
    let mut count = 1;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' | b',' | b':' => count += 1,
            _ => {}
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_counted_outside_strings_only() {
        assert_eq!(json_values(b"1"), 1);
        assert_eq!(json_values(br#""a,b:[{""#), 1);
        assert_eq!(json_values(br#""a\"," "#), 1);
        // [ 1 , 2 , 3 ]: the list and three items (plus one for the outer value).
        assert_eq!(json_values(b"[1,2,3]"), 4);
        // An object of two keys and two values.
        assert_eq!(json_values(br#"{"a":1,"b":"x,y"}"#), 5);
        let list = format!("[{}]", vec!["\"ab\""; 1000].join(","));
        assert_eq!(json_values(list.as_bytes()), 1001);
    }

    #[test]
    fn charges_are_given_back_when_dropped() {
        let budget = MemoryBudget::new(64 * 1024, 0, 1024);
        let a = budget.charge(40 * 1024).unwrap();
        assert_eq!(budget.charge(40 * 1024).unwrap_err(), Refusal::Busy);
        drop(a);
        assert!(budget.charge(40 * 1024).is_ok());
        assert_eq!(budget.available(), 64 * 1024);
    }

    #[test]
    fn what_could_never_fit_is_too_large() {
        let budget = MemoryBudget::new(64 * 1024, 100, 1024);
        assert!(matches!(
            budget.charge(65 * 1024),
            Err(Refusal::TooLarge(crate::http::limits::PAYLOAD_TOO_LARGE, _))
        ));
        let list = format!("[{}]", vec!["1"; 200].join(","));
        let Err(Refusal::TooLarge(TOO_MANY_VALUES, message)) =
            budget.charge_parsed(list.as_bytes())
        else {
            panic!("a body of 201 values was admitted under a cap of 100");
        };
        assert!(message.contains("201 JSON values"), "{message}");
    }

    #[test]
    fn no_budget_admits_everything() {
        let budget = MemoryBudget::new(0, 0, 1024);
        let held: Vec<_> = (0..100).map(|_| budget.charge(1 << 30).unwrap()).collect();
        assert_eq!(held.len(), 100);
    }
}
