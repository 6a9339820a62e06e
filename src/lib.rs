//! persona-graph: go-to-market personas, their journeys and who owns each stage, over GraphQL.
//!
//! Requests flow one way: `http` (the transport) -> `graphql` (the schema adapter) -> `domain`
//! (the catalog's rules and its one write path); `app` wires them into the running service.

/// The running service: shared state, the router, serving with graceful shutdown.
pub mod app;
/// The caller of a request and the access rules: who may do what.
pub mod auth;
/// The seed catalog and its idempotent loader.
pub mod catalog;
/// `export`, `plan` and `apply`: the catalog file commands.
pub mod catalog_cli;
/// Command-line and environment configuration.
pub mod config;
/// Database connections and migrations.
pub mod db;
/// The catalog's rules and its one write path.
pub mod domain;
/// The error type and its client-safe codes.
pub mod error;
/// `generate`: a deterministic synthetic catalog of a chosen size.
pub mod generate;
/// The GraphQL schema adapter: objects, queries, inputs, mutations, loaders, pagination.
pub mod graphql;
/// The HTTP transport: `/graphql`, GraphiQL, `/health` `/ready`, limits, rate limit, cache.
pub mod http;
/// The process's metrics, exposed at `/metrics`.
pub mod metrics;
/// `token`: create, list and revoke API tokens from the command line.
pub mod token_cli;
