//! Command-line and environment configuration: every option is a flag and an environment variable.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;

/// The default database: an SQLite file next to where the service runs.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://persona-graph.db?mode=rwc";

/// persona-graph: who owns each stage of each customer journey, as a GraphQL service.
#[derive(Debug, Parser)]
#[command(name = "persona-graph", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// Options of `serve`, when it runs as the default command.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command understands.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Database URL: `sqlite://FILE?mode=rwc` or `postgres://USER@HOST:PORT/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// Largest number of pooled database connections.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 10, global = true)]
    pub db_max_connections: u32,
    /// Log format on standard error (filter with `RUST_LOG`).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates first; seeds an empty database by default).
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate,
    /// Load the seed catalog (idempotent upsert by slug; safe to rerun) and exit.
    Seed,
    /// Print the GraphQL schema (SDL) to standard output.
    Schema,
}

/// Options of `serve` (also accepted without the subcommand, since `serve` is the default).
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// When to load the seed catalog at start-up.
    #[arg(long, env = "SEED", value_enum, default_value_t = SeedMode::IfEmpty)]
    pub seed: SeedMode,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = Settings::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Longest a request may run, in seconds, before it is answered with an error.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = Settings::default().request_timeout.as_secs())]
    pub request_timeout_secs: u64,
}

impl ServeArgs {
    /// The settings of the running service these options describe.
    pub fn settings(&self) -> Settings {
        Settings {
            max_body_bytes: self.max_body_bytes,
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
        }
    }
}

/// How the running service behaves: limits, access rules, timeouts. Built from [`ServeArgs`];
/// `Default` gives the documented defaults (what tests and `AppState::new` use).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may run.
    pub request_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// When `serve` loads the seed catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeedMode {
    /// Only into a new database: one the catalog was never loaded into, with no personas, journeys or teams.
    IfEmpty,
    /// Always (an idempotent upsert).
    Always,
    /// Never.
    Never,
}
