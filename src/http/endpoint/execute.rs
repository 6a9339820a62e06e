//! Running one admitted `/graphql` request against the schema: the access rule for mutations,
//! the cap on requests executing at once, a fresh `DataLoader` per request, and stable codes for
//! async-graphql's own errors. (A mutation that loses a race is run again by the domain's
//! write transaction, not here.)

use super::GraphqlState;
use crate::auth::{self, Caller};
use crate::graphql::loaders::{Batches, loaders};
use crate::graphql::reader::Reader;
use crate::http::error_body;
use crate::http::limits::{
    QUERY_TOO_COMPLEX, QUERY_TOO_DEEP, TOO_MANY_DIRECTIVES, selected_operation,
};
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, Request, Response};
use entity::api_token::TokenRole;

/// Runs one admitted request with its own `DataLoader` (so caches never outlive a request),
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
    run(state, req).await
}

/// Executes one request with its own `DataLoader`, and gives async-graphql's errors their codes.
///
/// A query reads through one connection held for the whole request (see `graphql::reader`);
/// a mutation through the pool, since its write transaction takes a connection of its own.
async fn run(state: &GraphqlState, mut req: Request) -> Response {
    let batches = Batches::default();
    // The document the request already holds, parsed once (see `mutation_refusal`).
    let operation_name = req.operation_name.clone();
    let query = req
        .parsed_query()
        .ok()
        .and_then(|doc| selected_operation(doc, operation_name.as_deref()))
        .is_some_and(|op| op.node.ty == OperationType::Query);
    let reader = if query {
        Reader::held(state.db.clone(), state.statements.clone())
    } else {
        Reader::pooled(state.db.clone())
    };
    let mut req = req
        .data(reader.clone())
        .data(loaders(reader.clone(), &batches));
    // `changeCursor` is read before anything else of the request, so a snapshot read with it
    // shows nothing committed after the cursor that a subscription from it would not replay.
    if req.query.contains("changeCursor")
        && let Ok(cursor) = state.feed.cursor().await
    {
        req = req.data(crate::graphql::live::CursorAtStart(cursor));
    }
    let mut resp = batches.run(state.schema.execute(req)).await;
    reader.release().await;
    tag_error_codes(&mut resp);
    resp
}

/// The answer to a mutation from a caller without an editor or admin token: the error of its
/// first field, before any resolver runs (so it changes nothing).
pub fn mutation_refusal(req: &mut Request, caller: &Caller) -> Option<Response> {
    let operation_name = req.operation_name.clone();
    let doc = req.parsed_query().ok()?;
    let op = selected_operation(doc, operation_name.as_deref())?;
    if op.node.ty != OperationType::Mutation {
        return None;
    }
    let refused = auth::require(Some(caller), TokenRole::Editor).err()?;
    let mut err = error_body::from_error(&refused);
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
    Some(error_body::refused(vec![err]))
}

/// Runs `batch` within the request limits: each request checked, the batch costed as a
/// whole, and everything cut off at the request's deadline.
pub(super) async fn guarded(
    state: &GraphqlState,
    batch: BatchRequest,
    caller: &Caller,
) -> BatchResponse {
    state.guard.run(batch, |r| execute(state, r, caller)).await
}

/// Gives every error that async-graphql itself raised (validation, coercion of arguments and
/// variables, its own limits) a stable `extensions.code`; errors of resolvers carry theirs.
pub fn tag_error_codes(resp: &mut Response) {
    for err in &mut resp.errors {
        let ext = err.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", input_code(&err.message));
        }
    }
}

/// Errors about a value the client sent (a bad enum value, a wrong type) are user input errors.
fn input_code(message: &str) -> &'static str {
    if message == "Query is nested too deep." || message.starts_with("The recursion depth") {
        QUERY_TOO_DEEP
    } else if message == "Query is too complex." {
        QUERY_TOO_COMPLEX
    } else if message.starts_with("The number of directives") {
        TOO_MANY_DIRECTIVES
    } else if message.starts_with("Invalid value for argument")
        || message.starts_with("Failed to parse")
        || message.contains("Variable \"")
    {
        "BAD_USER_INPUT"
    } else {
        "GRAPHQL_VALIDATION_FAILED"
    }
}
