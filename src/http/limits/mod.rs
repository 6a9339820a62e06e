//! Request limits of `/graphql`: every request of a batch parsed (once, through a small
//! document cache) and checked before anything runs, the batch costed as a whole, and
//! everything cut off at the request's deadline. What a document costs is in `cost`, what
//! the schema's fields return in `shape`, and the HTTP-level refusals (overlong URL, missed
//! deadline, oversized body) in `middleware`. Every refusal has a stable code.

mod cost;
mod middleware;
mod shape;

use crate::config::Settings;
use crate::http::error_body::{refused, server_error, with_code};
use async_graphql::parser::parse_query;
use async_graphql::parser::types::{ExecutableDocument, OperationDefinition, OperationType};
use async_graphql::{
    BatchRequest, BatchResponse, Positioned, Request, Response, ServerError, Variables,
};
use cost::{Tally, Walker, bracket_depth, has_nul, nul_error};
use lru::LruCache;
use shape::Shape;
use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError};
use tokio::time::Instant;

pub use crate::graphql::limits::{Limits, MAX_DIRECTIVES};
pub use middleware::http_guard;

/// The document nests deeper than `max_depth` fields (or brackets far beyond it).
pub const QUERY_TOO_DEEP: &str = "QUERY_TOO_DEEP";
/// The estimated cost of the request is above `max_complexity`.
pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
/// More aliased fields than `max_aliases`.
pub const TOO_MANY_ALIASES: &str = "TOO_MANY_ALIASES";
/// More fields at the root of an operation than `max_root_fields`.
pub const TOO_MANY_ROOT_FIELDS: &str = "TOO_MANY_ROOT_FIELDS";
/// More directives on one field, fragment or operation than [`MAX_DIRECTIVES`].
pub const TOO_MANY_DIRECTIVES: &str = "TOO_MANY_DIRECTIVES";
/// `__schema` or `__type` while introspection is switched off.
pub const INTROSPECTION_DISABLED: &str = "INTROSPECTION_DISABLED";
/// The request did not finish within the request timeout.
pub const TIMEOUT: &str = "TIMEOUT";
/// The request body is larger than `max_body_bytes`.
pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
/// The URL of a GET request is longer than [`MAX_URL_QUERY_BYTES`].
pub const URI_TOO_LONG: &str = "URI_TOO_LONG";

/// What a plain list field (not a paginated connection) multiplies the cost of its
/// selection by: the number of items it is assumed to hold.
pub const LIST_FACTOR: u64 = 5;
/// Most selections (fields, fragment spreads, inline fragments) a document may hold once its
/// fragments are expanded, summed over its operations.
pub const MAX_SELECTIONS: u64 = 10_000;
/// Most introspection lists of types along one path (`__Schema.types`, and a `__Type`'s
/// `fields`, `inputFields`, `interfaces` and `possibleTypes`): `GraphiQL`'s schema query needs
/// two (every type's fields); each level more multiplies the answer by the schema's size.
pub const MAX_TYPE_EXPANSIONS: usize = 2;
/// Longest query string a GET request may carry, in bytes. (A URL over 64 KiB never reaches
/// the service: the HTTP layer answers it `414` with no body.)
pub const MAX_URL_QUERY_BYTES: usize = 32 * 1024;
/// How many parsed documents are kept, by text: a dashboard polling the same query is parsed
/// once.
const DOC_CACHE_CAPACITY: usize = 512;
/// Longer documents are parsed every time: keeping them would let a client fill memory.
const MAX_CACHED_BYTES: usize = 16 * 1024;
/// Longest parse-error message sent back; the parser quotes the offending line, which can be
/// the whole document.
const MAX_MESSAGE_CHARS: usize = 400;

/// The operation of `doc` a request runs: the one named, or the first.
pub fn selected_operation<'a>(
    doc: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    let mut ops = doc.operations.iter();
    match operation_name {
        Some(name) => ops
            .find(|(n, _)| n.map(async_graphql::Name::as_str) == Some(name))
            .map(|(_, op)| op),
        None => ops.next().map(|(_, op)| op),
    }
}

/// The cost of one admitted request, for the batch's total.
#[derive(Debug, Clone, Copy, Default)]
struct Admitted {
    cost: u64,
    aliases: u64,
}

/// The limits and what they need to know about the schema; one per running service.
pub struct Guard {
    limits: Limits,
    shape: Shape,
    /// Recently parsed documents by text: a polling dashboard's query is parsed once.
    docs: Mutex<LruCache<String, ExecutableDocument>>,
    /// The largest request body accepted, for the message that refuses a larger one.
    body_limit: usize,
}

impl Guard {
    /// The guard for a schema whose SDL is `sdl`, with the limits of `settings`.
    pub fn new(settings: &Settings, sdl: &str) -> Self {
        Self {
            limits: Limits::from_settings(settings),
            shape: Shape::from_sdl(sdl),
            docs: Mutex::new(LruCache::new(
                NonZeroUsize::new(DOC_CACHE_CAPACITY).unwrap_or(NonZeroUsize::MIN),
            )),
            body_limit: settings.max_body_bytes,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The refusal of a request the limits do not admit, found before anything else (the
    /// database included) is asked; `None` when it is admitted. Its document stays cached, so
    /// admitting it again when it runs parses nothing.
    pub fn refusal(&self, req: &mut Request) -> Option<Response> {
        self.admit(req).err().map(|e| refused(vec![e]))
    }

    /// Parses and checks one request; on success the parsed document is handed to the
    /// request, so async-graphql does not parse it again.
    fn admit(&self, req: &mut Request) -> Result<Admitted, ServerError> {
        if req.variables.values().any(has_nul) {
            let name = req
                .variables
                .iter()
                .find(|(_, v)| has_nul(v))
                .map_or_else(String::new, |(k, _)| format!("${k}"));
            return Err(nul_error(&name));
        }
        let (doc, parsed) = match self.cached(&req.query) {
            Some(doc) => (doc, false),
            None => (self.parse(&req.query)?, true),
        };
        let admitted = self.check(&doc, &req.variables, req.operation_name.as_deref())?;
        // A cached document was moved to the front by the lookup; only a new one is kept.
        if parsed && req.query.len() <= MAX_CACHED_BYTES {
            self.docs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .put(req.query.clone(), doc.clone());
        }
        req.set_parsed_query(doc);
        Ok(admitted)
    }

    /// The type of the operation `query` runs (see [`selected_operation`]), read off the
    /// document cache when the query was admitted lately, else parsed.
    pub fn operation_type(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Option<OperationType> {
        if query.len() <= MAX_CACHED_BYTES
            && let Some(doc) = self
                .docs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .peek(query)
        {
            return selected_operation(doc, operation_name).map(|op| op.node.ty);
        }
        let doc = parse_query(query).ok()?;
        selected_operation(&doc, operation_name).map(|op| op.node.ty)
    }

    /// The name of the operation `query` runs: `operation_name` when the client gave one, else
    /// the name of the document's operation if it is named, read off the document cache only
    /// (never parsed again for this).
    pub fn operation_name(&self, query: &str, operation_name: Option<&str>) -> Option<String> {
        if let Some(name) = operation_name {
            return Some(name.to_owned());
        }
        let docs = self.docs.lock().unwrap_or_else(PoisonError::into_inner);
        let doc = docs.peek(query)?;
        let mut ops = doc.operations.iter();
        let (name, _) = ops.next()?;
        // A document of several operations needs the client's name to pick one.
        if ops.next().is_some() {
            return None;
        }
        name.map(|n| n.as_str().to_owned())
    }

    fn cached(&self, query: &str) -> Option<ExecutableDocument> {
        if query.len() > MAX_CACHED_BYTES {
            return None;
        }
        self.docs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(query)
            .cloned()
    }

    /// Parses a document whose brackets do not nest absurdly deep; a parse error keeps its
    /// position but not the whole offending line the parser quotes.
    fn parse(&self, query: &str) -> Result<ExecutableDocument, ServerError> {
        let brackets = bracket_depth(query);
        let max_brackets = self.limits.max_brackets();
        if brackets > max_brackets {
            return Err(over_limit(
                QUERY_TOO_DEEP,
                format!("the document nests brackets {brackets} deep; the limit is {max_brackets}"),
                max_brackets as u64,
                brackets as u64,
            ));
        }
        parse_query(query).map_err(|e| {
            let mut err = ServerError::from(e);
            if err.message.chars().count() > MAX_MESSAGE_CHARS {
                err.message = err.message.chars().take(MAX_MESSAGE_CHARS).collect();
                err.message.push_str("...");
            }
            with_code(err, "GRAPHQL_PARSE_FAILED")
        })
    }

    /// Checks every operation and fragment of `doc` (validation looks at all of them, so an
    /// unused one must not be able to cost more than a used one), and returns the cost of
    /// the operation that will run.
    fn check(
        &self,
        doc: &ExecutableDocument,
        variables: &Variables,
        operation_name: Option<&str>,
    ) -> Result<Admitted, ServerError> {
        let l = &self.limits;
        let mut walker = Walker::new(&self.shape, doc, variables, l.max_nesting());
        let mut selections: u64 = 0;
        let mut chosen: Option<Tally> = None;
        let mut costliest = Tally::default();
        let single = doc.operations.iter().count() == 1;
        for (name, op) in doc.operations.iter() {
            let op = &op.node;
            walker.directives(op.directives.len(), "an operation")?;
            let root = match op.ty {
                OperationType::Query => self.shape.query.as_str(),
                OperationType::Mutation => self.shape.mutation.as_str(),
                OperationType::Subscription => self.shape.subscription.as_str(),
            };
            let t = walker.selection_set(&op.selection_set.node, Some(root), false, 0)?;
            t.within(l, true)?;
            selections = selections.saturating_add(t.selections);
            if selections > MAX_SELECTIONS {
                return Err(over_limit(
                    QUERY_TOO_COMPLEX,
                    format!(
                        "the document holds {selections} selections once its fragments are expanded; the limit is {MAX_SELECTIONS}"
                    ),
                    MAX_SELECTIONS,
                    selections,
                ));
            }
            let is_chosen = match operation_name {
                Some(wanted) => name.is_some_and(|n| n.as_str() == wanted),
                None => single,
            };
            if is_chosen {
                chosen = Some(t);
            }
            if t.cost > costliest.cost {
                costliest = t;
            }
        }
        for name in doc.fragments.keys() {
            let t = walker.fragment(name.as_str(), false, 1)?;
            t.within(l, false)?;
        }
        let t = chosen.unwrap_or(costliest);
        Ok(Admitted {
            cost: t.cost,
            aliases: t.aliases,
        })
    }

    /// Checks every request of `batch`, and the batch as a whole (its operations' costs and
    /// aliases add up against the limits of one request, so batching cannot multiply them),
    /// then runs the admitted ones one after another with `exec` until the deadline.
    /// Requests refused or cut off by the deadline answer an error with a stable code; the
    /// others their own response.
    pub async fn run<F, Fut>(&self, batch: BatchRequest, mut exec: F) -> BatchResponse
    where
        F: FnMut(Request) -> Fut,
        Fut: Future<Output = Response>,
    {
        let deadline = middleware::DEADLINE
            .try_with(|d| *d)
            .unwrap_or_else(|_| Instant::now() + self.limits.request_timeout);
        let (single, requests) = match batch {
            BatchRequest::Single(r) => (true, vec![r]),
            BatchRequest::Batch(list) => (false, list),
        };
        let mut admitted: Vec<Result<(Request, Admitted), ServerError>> = requests
            .into_iter()
            .map(|mut r| self.admit(&mut r).map(|a| (r, a)))
            .collect();
        if !single {
            let (cost, aliases) = admitted
                .iter()
                .flatten()
                .fold((0u64, 0u64), |(c, a), (_, x)| {
                    (c.saturating_add(x.cost), a.saturating_add(x.aliases))
                });
            let l = &self.limits;
            let refused = if cost > l.max_complexity {
                Some(over_limit(
                    QUERY_TOO_COMPLEX,
                    format!(
                        "the operations of this batch cost {cost} together; a request, batched or not, may cost at most {}",
                        l.max_complexity
                    ),
                    l.max_complexity,
                    cost,
                ))
            } else if aliases > l.max_aliases {
                Some(over_limit(
                    TOO_MANY_ALIASES,
                    format!(
                        "the operations of this batch use {aliases} aliases together; a request, batched or not, may use at most {}",
                        l.max_aliases
                    ),
                    l.max_aliases,
                    aliases,
                ))
            } else {
                None
            };
            if let Some(err) = refused {
                for item in &mut admitted {
                    *item = Err(err.clone());
                }
            }
        }
        let mut responses = Vec::with_capacity(admitted.len());
        for item in admitted {
            let resp = match item {
                Err(e) => refused(vec![e]),
                Ok(_) if Instant::now() >= deadline => self.timeout_response(),
                Ok((req, _)) => match tokio::time::timeout_at(deadline, exec(req)).await {
                    Ok(resp) => resp,
                    // Dropping the request's future drops any open transaction with it, which
                    // rolls back: a mutation cut off here has changed nothing.
                    Err(_) => self.timeout_response(),
                },
            };
            responses.push(resp);
        }
        if single {
            BatchResponse::Single(responses.pop().unwrap_or_default())
        } else {
            BatchResponse::Batch(responses)
        }
    }

    fn timeout_message(&self) -> String {
        format!(
            "the request did not finish within the {} s request timeout and was cancelled; whatever it had not committed was rolled back",
            self.limits.request_timeout.as_secs_f64()
        )
    }

    fn timeout_response(&self) -> Response {
        refused(vec![server_error(TIMEOUT, self.timeout_message())])
    }
}

/// A refusal that also says which limit was exceeded and by how much.
fn over_limit(code: &str, message: String, limit: u64, actual: u64) -> ServerError {
    let mut err = server_error(code, message);
    if let Some(ext) = err.extensions.as_mut() {
        ext.set("limit", limit);
        ext.set("actual", actual);
    }
    err
}
