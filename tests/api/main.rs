//! The API test suite: one binary, one module per capability. Runs on SQLite by default and
//! on PostgreSQL when `TEST_DATABASE_URL` points at a server (each test gets its own database).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod catalog;
mod cli;
mod dashboards;
mod graphiql;
mod helpers;
mod http;
mod journeys;
mod nested_reads;
mod node;
mod ownership;
mod pagination;
mod personas;
mod products;
mod schema;
mod smoke;
mod teams;
