//! The API test suite: one binary, one module per capability. Runs on SQLite by default and
//! on PostgreSQL when `TEST_DATABASE_URL` points at a server (each test gets its own database).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod smoke;
mod schema;
mod graphiql;
mod personas;
mod teams;
mod ownership;
mod journeys;
mod products;
mod http;
