//! persona-graph: go-to-market personas, their journeys and who owns each stage, over GraphQL.

/// HTTP application: routes, middleware, serving.
pub mod app;
/// The caller of a request and the access rules: who may do what.
pub mod auth;
/// The seed catalog and its idempotent loader.
pub mod catalog;
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
/// The GraphiQL page.
pub mod graphiql;
/// The GraphQL schema, resolvers, loaders and HTTP endpoint.
pub mod graphql;
/// Request limits: depth, complexity, aliases, root fields, batches, body size, timeout.
pub mod limits;
/// Rate limiting per API token and per client.
pub mod ratelimit;
/// `token`: create, list and revoke API tokens from the command line.
pub mod token_cli;
