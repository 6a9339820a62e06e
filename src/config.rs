//! Command-line and environment configuration: every option is a flag and an environment variable.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;

/// The default database: an `SQLite` file next to where the service runs.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://persona-graph.db?mode=rwc";
/// `serve`'s rate limit: requests per second per token or client, on average. Sized so that a
/// fleet of dashboards or a load test behind one address is not throttled while a runaway
/// client is; lower it where the service is exposed more widely.
pub const DEFAULT_RATE_LIMIT_PER_SECOND: u32 = 1000;
/// `serve`'s rate limit: requests a token or client may make at once.
pub const DEFAULT_RATE_LIMIT_BURST: u32 = 2000;

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
    /// Longest a request waits for a database connection, in seconds. While the database is
    /// unreachable, requests fail after this long with `DATABASE_UNAVAILABLE`.
    #[arg(
        long,
        env = "DB_ACQUIRE_TIMEOUT_SECS",
        default_value_t = 3,
        global = true
    )]
    pub db_acquire_timeout_secs: u64,
    /// Longest an `SQLite` write waits for another writer's lock, in seconds.
    #[arg(long, env = "DB_BUSY_TIMEOUT_SECS", default_value_t = 5, global = true)]
    pub db_busy_timeout_secs: u64,
    /// Log format on standard error (filter with `RUST_LOG`).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

impl GlobalArgs {
    /// The connection pool these options describe.
    pub fn pool(&self) -> crate::db::PoolSettings {
        crate::db::PoolSettings {
            max_connections: self.db_max_connections,
            acquire_timeout: Duration::from_secs(self.db_acquire_timeout_secs.max(1)),
            busy_timeout: Duration::from_secs(self.db_busy_timeout_secs),
        }
    }
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
    /// Load the seed catalog and exit: the plan and apply of the embedded file, which adds what
    /// the database lacks and lists (without changing them) the fields where it differs.
    Seed(SeedArgs),
    /// Write the whole catalog as YAML, by natural keys in a fixed order (see "Catalog as code"
    /// in the README).
    Export(crate::catalog_cli::ExportArgs),
    /// Show what applying a catalog file would change, changing nothing. Exit code 0: no
    /// changes; 2: changes; 1: an error.
    Plan(crate::catalog_cli::PlanArgs),
    /// Apply a catalog file in one transaction through the same rules as the API, recorded in
    /// the history as `catalog-file` with the file's digest.
    Apply(crate::catalog_cli::ApplyArgs),
    /// Print the GraphQL schema (SDL) to standard output.
    Schema,
    /// Fill an empty database with a deterministic synthetic catalog (for benchmarks) and exit.
    Generate(crate::generate::GenerateOptions),
    /// Create, list or revoke API tokens.
    Token(crate::token_cli::TokenArgs),
}

/// Options of `seed`.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// Set the fields where the database differs from the file back to the file's values (the
    /// history keeps what they were) instead of only listing them.
    #[arg(long, env = "SEED_OVERWRITE")]
    pub overwrite: bool,
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
    /// With PostgreSQL: start even while the database cannot be reached (`/health` 200,
    /// `/ready` 503, the cause logged), then migrate, seed and serve once it answers. `false`
    /// exits at start instead.
    #[arg(long, env = "WAIT_FOR_DATABASE", default_value_t = true, action = clap::ArgAction::Set)]
    pub wait_for_database: bool,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = Settings::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Longest a request may run, in seconds, before it is answered with an error.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = Settings::default().request_timeout.as_secs())]
    pub request_timeout_secs: u64,
    /// Require a bearer token (any role) for reads too; writes always require editor or admin.
    #[arg(long, env = "READS_REQUIRE_TOKEN")]
    pub reads_require_token: bool,
    /// Deepest field nesting a GraphQL operation may have.
    #[arg(long, env = "MAX_DEPTH", default_value_t = Settings::default().max_depth)]
    pub max_depth: usize,
    /// Highest estimated cost of a request: one per field, what a list selects counted once
    /// per item of its page (`first`/`last`, 20 by default) or 5 times for a plain list.
    #[arg(long, env = "MAX_COMPLEXITY", default_value_t = Settings::default().max_complexity)]
    pub max_complexity: u64,
    /// Most aliased fields in a request.
    #[arg(long, env = "MAX_ALIASES", default_value_t = Settings::default().max_aliases)]
    pub max_aliases: usize,
    /// Most fields at the root of an operation.
    #[arg(long, env = "MAX_ROOT_FIELDS", default_value_t = Settings::default().max_root_fields)]
    pub max_root_fields: usize,
    /// Whether introspection (`__schema`, `__type`) and "did you mean" suggestions are served.
    #[arg(long, env = "INTROSPECTION", default_value_t = Settings::default().introspection, action = clap::ArgAction::Set)]
    pub introspection: bool,
    /// Origins (comma-separated, e.g. `https://dash.example.com`) whose pages may call the API
    /// from a browser; none when empty.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Requests per second to `/graphql` each API token (or, without one, each client address)
    /// may make on average; 0 turns rate limiting off.
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", default_value_t = DEFAULT_RATE_LIMIT_PER_SECOND)]
    pub rate_limit_per_second: u32,
    /// Requests each token or client may make at once above the average rate.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = DEFAULT_RATE_LIMIT_BURST)]
    pub rate_limit_burst: u32,
    /// On SIGTERM or Ctrl-C, how long requests in flight may take to finish, in seconds, before
    /// they are dropped and the process exits.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = Settings::default().shutdown_grace.as_secs())]
    pub shutdown_grace_secs: u64,
    /// Bytes of read responses kept for requests repeated while the catalog is unchanged
    /// (every change, from any server or tool, invalidates them); 0 turns the cache off.
    #[arg(long, env = "RESPONSE_CACHE_BYTES", default_value_t = Settings::default().response_cache_bytes)]
    pub response_cache_bytes: usize,
    /// GraphQL requests executed at once; more wait their turn (default: 4 per CPU core).
    #[arg(long, env = "MAX_EXECUTING", default_value_t = Settings::default().max_executing)]
    pub max_executing: usize,
    /// Bytes all requests to `/graphql` in flight may hold at once: each is charged its body
    /// and the parsed form of its JSON before either is built; beyond it a request answers
    /// 503 `OVERLOADED` with `Retry-After`. 0 turns the budget off.
    #[arg(long, env = "MEMORY_BUDGET_BYTES", default_value_t = Settings::default().memory_budget_bytes)]
    pub memory_budget_bytes: usize,
    /// Most JSON values (list items, object fields, variables) one request body may hold;
    /// more answer 413 `TOO_MANY_VALUES` before anything is parsed. 0 turns the cap off.
    #[arg(long, env = "MAX_JSON_VALUES", default_value_t = Settings::default().max_json_values)]
    pub max_json_values: usize,
    /// Connections open at once; more wait to be accepted. Each open connection holds its HTTP
    /// buffers, up to about 0.3 MiB after a large request, so this bounds memory whatever the
    /// number of clients.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = Settings::default().max_connections)]
    pub max_connections: usize,
    /// Subscriptions open at once on this server, over WebSocket and SSE together; one more is
    /// refused with `TOO_MANY_SUBSCRIPTIONS`. WebSocket connections do not count against
    /// `MAX_CONNECTIONS` once upgraded.
    #[arg(long, env = "MAX_SUBSCRIPTIONS", default_value_t = Settings::default().max_subscriptions)]
    pub max_subscriptions: usize,
    /// Subscriptions one WebSocket connection may hold open at once.
    #[arg(
        long,
        env = "MAX_SUBSCRIPTIONS_PER_CONNECTION",
        default_value_t = Settings::default().max_subscriptions_per_connection
    )]
    pub max_subscriptions_per_connection: usize,
    /// Seconds between keep-alive pings on an idle subscription connection.
    #[arg(long, env = "SUBSCRIPTION_KEEPALIVE_SECS", default_value_t = 15)]
    pub subscription_keepalive_secs: u64,
    /// Seconds a subscriber may take to accept one message before it is cut off as too slow
    /// (WebSocket close code 1013: reconnect and resume from the last cursor).
    #[arg(long, env = "SUBSCRIPTION_SEND_TIMEOUT_SECS", default_value_t = 5)]
    pub subscription_send_timeout_secs: u64,
    /// Serve `/metrics` on this address only (for example `127.0.0.1:9464`, reachable by the
    /// scraper but not the public); when unset, `/metrics` is on the main address.
    #[arg(long, env = "METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
    /// A secret that scrapes of `/metrics` must send as `Authorization: Bearer <secret>`;
    /// when unset, `/metrics` needs none.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl ServeArgs {
    /// The settings of the running service these options describe.
    pub fn settings(&self) -> Settings {
        Settings {
            max_body_bytes: self.max_body_bytes,
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            reads_require_token: self.reads_require_token,
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            max_aliases: self.max_aliases,
            max_root_fields: self.max_root_fields,
            introspection: self.introspection,
            cors_origins: self
                .cors_origins
                .iter()
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            rate_limit_per_second: self.rate_limit_per_second,
            rate_limit_burst: self.rate_limit_burst,
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            response_cache_bytes: self.response_cache_bytes,
            max_executing: self.max_executing,
            memory_budget_bytes: self.memory_budget_bytes,
            max_json_values: self.max_json_values,
            max_connections: self.max_connections,
            max_subscriptions: self.max_subscriptions,
            max_subscriptions_per_connection: self.max_subscriptions_per_connection,
            subscription_keepalive: Duration::from_secs(self.subscription_keepalive_secs.max(1)),
            subscription_send_timeout: Duration::from_secs(
                self.subscription_send_timeout_secs.max(1),
            ),
            metrics_on_main: self.metrics_bind.is_none(),
            metrics_token: self.metrics_token.clone().filter(|t| !t.is_empty()),
        }
    }
}

/// How the running service behaves: limits, access rules, timeouts. Built from [`ServeArgs`];
/// `Default` gives the documented defaults (what tests and `AppState::new` use), except that
/// rate limiting is off unless `serve` turns it on.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may run.
    pub request_timeout: Duration,
    /// Whether reads need a bearer token too (writes always need an editor or admin token).
    pub reads_require_token: bool,
    /// Deepest field nesting a GraphQL operation may have.
    pub max_depth: usize,
    /// Highest estimated cost of a request (see `crate::http::limits`).
    pub max_complexity: u64,
    /// Most aliased fields in a request.
    pub max_aliases: usize,
    /// Most fields at the root of an operation.
    pub max_root_fields: usize,
    /// Whether introspection and field suggestions are served.
    pub introspection: bool,
    /// Origins whose pages may call the API from a browser; none when empty.
    pub cors_origins: Vec<String>,
    /// Average requests per second per token or client on `/graphql`; 0 turns the limit off.
    pub rate_limit_per_second: u32,
    /// Requests a token or client may make at once above the average rate.
    pub rate_limit_burst: u32,
    /// How long requests in flight may take to finish once shutdown begins.
    pub shutdown_grace: Duration,
    /// Bytes of read responses kept while the catalog is unchanged; 0 turns the cache off.
    pub response_cache_bytes: usize,
    /// GraphQL requests executed at once; more wait their turn.
    pub max_executing: usize,
    /// Bytes requests in flight may hold at once (see `crate::http::memory`); 0: no budget.
    pub memory_budget_bytes: usize,
    /// Most JSON values one request body may hold; 0: no cap.
    pub max_json_values: usize,
    /// Connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// Subscriptions open at once on this server.
    pub max_subscriptions: usize,
    /// Subscriptions one WebSocket connection may hold open at once.
    pub max_subscriptions_per_connection: usize,
    /// Time between keep-alive pings on an idle subscription connection.
    pub subscription_keepalive: Duration,
    /// Longest a subscriber may take to accept one message before it is cut off.
    pub subscription_send_timeout: Duration,
    /// Whether the main router serves `/metrics` (not when it has an address of its own).
    pub metrics_on_main: bool,
    /// The bearer secret a scrape of `/metrics` must carry, if any.
    pub metrics_token: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            reads_require_token: false,
            max_depth: 15,
            max_complexity: 200_000,
            max_aliases: 30,
            max_root_fields: 20,
            introspection: true,
            cors_origins: Vec::new(),
            // Off here, on in `serve` (see the constants): tests and programs embedding the
            // service drive it harder than any one client would.
            rate_limit_per_second: 0,
            rate_limit_burst: DEFAULT_RATE_LIMIT_BURST,
            shutdown_grace: Duration::from_secs(20),
            response_cache_bytes: 32 * 1024 * 1024,
            max_executing: 4 * std::thread::available_parallelism().map_or(2, usize::from),
            memory_budget_bytes: 64 * 1024 * 1024,
            max_json_values: 10_000,
            max_connections: 512,
            max_subscriptions: 20_000,
            max_subscriptions_per_connection: 100,
            subscription_keepalive: Duration::from_secs(15),
            subscription_send_timeout: Duration::from_secs(5),
            metrics_on_main: true,
            metrics_token: None,
        }
    }
}

/// When `serve` loads the seed catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeedMode {
    /// Only into a new database: one the catalog was never loaded into, with no personas, journeys or teams.
    IfEmpty,
    /// Always: add what is missing, leave what editors changed.
    Always,
    /// Never.
    Never,
}
