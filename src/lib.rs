//! persona-graph: go-to-market personas, their journeys and who owns each stage, over GraphQL.

/// HTTP application: routes, middleware, serving.
pub mod app;
/// The seed catalog and its idempotent loader.
pub mod catalog;
/// Command-line and environment configuration.
pub mod config;
/// Database connections and migrations.
pub mod db;
/// The error type and its client-safe codes.
pub mod error;
/// The GraphiQL page.
pub mod graphiql;
/// The GraphQL schema, resolvers, loaders and HTTP endpoint.
pub mod graphql;
