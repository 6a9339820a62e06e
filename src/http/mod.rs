//! The HTTP transport: `POST`/`GET /graphql`, GraphiQL, the dashboard and landing pages,
//! `/health` and `/ready`, the request limits, the rate limit and the response cache. Requests
//! flow one way, `http` -> `graphql` -> `domain`: the schema adapter never sees HTTP. `crate::app` stacks these pieces into the
//! service's router.

/// The cap on open connections.
pub mod connections;
/// The landing page, the ownership dashboard and the SDL.
pub mod dashboard;
/// `POST`/`GET /graphql`: authentication, the response cache, running requests.
pub mod endpoint;
/// The one builder of GraphQL error bodies for refusals made outside execution.
pub mod error_body;
/// The GraphiQL page and its embedded assets.
pub mod graphiql;
/// `/health` and `/ready`.
pub mod health;
/// Request limits: depth, complexity, aliases, root fields, batches, URL and body size, deadline.
pub mod limits;
/// Subscriptions over WebSocket and Server-Sent Events.
pub mod live;
/// The memory budget of requests in flight.
pub mod memory;
/// `GET /metrics`, the Prometheus exposition.
pub mod metrics;
/// Request ids, the access log and the request metrics.
pub mod observe;
/// Rate limiting per API token and per client.
pub mod ratelimit;
/// Answers to read requests, kept while the catalog does not change.
pub mod response_cache;
/// GraphQL over HTTP on the wire: media types, the request format, how responses are written.
pub mod wire;
