//! The API test suite: one binary, one module per capability. Runs on `SQLite` by default and
//! on `PostgreSQL` when `TEST_DATABASE_URL` points at a server (each test gets its own database).

// Tests panic to fail; their fixtures build texts and URLs the shortest way.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::format_collect,
    clippy::case_sensitive_file_extension_comparisons
)]

mod audit;
mod auth;
mod catalog;
mod catalog_file;
mod cli;
mod cursors;
mod dashboards;
mod editors;
mod faults;
mod generate;
mod graphiql;
mod helpers;
mod hostile;
mod http;
mod indexes;
mod journeys;
mod layers;
mod limits;
mod live;
mod memory;
mod nested_connections;
mod nested_reads;
mod node;
mod operations;
mod ownership;
mod pagination;
mod personas;
mod products;
mod response_cache;
mod scale;
mod schema;
mod seed;
mod shutdown;
mod slow_consumers;
mod smoke;
mod stress;
mod teams;
