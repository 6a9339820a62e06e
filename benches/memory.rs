//! `cargo bench --bench memory`: the server's peak memory under large requests. Starts the
//! release server on a fresh `SQLite` file (and on `PostgreSQL` with `--db both`), then, for
//! each kind of request and each concurrency, keeps that many requests in flight for a while and
//! prints a markdown table of the answers' status codes, the server's peak resident memory
//! (`VmHWM`) and its resident memory once the load has stopped and the clients have gone.
//!
//! The kinds: a 200,000-item list variable that validation refuses (about 1 MB, just under the
//! body limit), the same list in an editor's mutation, a body of nested objects, and an ordinary
//! deep read. Run `cargo bench --bench memory -- --help` for the options; BENCHMARKS.md has the
//! figures.

use anyhow::{Context, Result, anyhow, bail};
use axum::body::Bytes;
use clap::{Parser, ValueEnum};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_persona-graph");
/// Database created (and dropped) on the `PostgreSQL` server for the benchmark.
const PG_BENCH_DB: &str = "persona_graph_bench_memory";

/// Peak memory of persona-graph under large and many requests.
#[derive(Debug, Parser)]
#[command(name = "memory", about)]
struct Opts {
    /// Databases to run on.
    #[arg(long, value_enum, default_value_t = DbChoice::Sqlite)]
    db: DbChoice,
    /// Requests kept in flight at once, one run per figure.
    #[arg(long, value_delimiter = ',', default_value = "64,128,256,512")]
    concurrency: Vec<usize>,
    /// How long each run keeps its requests in flight, in seconds.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Items of the list variable (5 bytes each on the wire).
    #[arg(long, default_value_t = 200_000)]
    items: usize,
    /// A `PostgreSQL` URL whose server the benchmark creates its database on.
    #[arg(
        long,
        env = "BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pg_url: String,
    /// The server binary to measure (default: this build's release binary).
    #[arg(long, default_value = SERVER_BIN)]
    server: PathBuf,
    /// Extra `NAME=VALUE` settings for the server (e.g. `MEMORY_BUDGET_BYTES=0`).
    #[arg(long = "env")]
    envs: Vec<String>,
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

/// One kind of request the runs send.
#[derive(Clone)]
struct Kind {
    name: &'static str,
    body: Bytes,
    token: bool,
}

fn kinds(items: usize) -> Vec<Kind> {
    let list = |n: usize| {
        let mut s = String::with_capacity(n * 5 + 2);
        s.push('[');
        for i in 0..n {
            if i > 0 {
                s.push(',');
            }
            write!(s, "\"{:02}\"", i % 100).ok();
        }
        s.push(']');
        s
    };
    let nested = {
        // Objects of objects: 127 levels (the JSON parser's limit is 128) repeated side by side.
        let one = format!("{}1{}", "{\"a\":".repeat(120), "}".repeat(120));
        let mut s = String::from("[");
        while s.len() + one.len() + 2 < items * 5 {
            if s.len() > 1 {
                s.push(',');
            }
            s.push_str(&one);
        }
        s.push(']');
        s
    };
    vec![
        Kind {
            name: "refused list variable",
            body: Bytes::from(format!(
                r#"{{"query":"query($ids: [String!]!) {{ __typename }}","variables":{{"ids":{}}}}}"#,
                list(items)
            )),
            token: false,
        },
        Kind {
            name: "editor mutation with the list",
            body: Bytes::from(format!(
                r#"{{"query":"mutation($p: [String!]!) {{ updatePersona(input: {{slug: \"dev\", painPoints: $p}}) {{ persona {{ slug }} }} }}","variables":{{"p":{}}}}}"#,
                list(items)
            )),
            token: true,
        },
        Kind {
            name: "nested objects",
            body: Bytes::from(format!(
                r#"{{"query":"{{ __typename }}","variables":{{"x":{nested}}}}}"#
            )),
            token: false,
        },
        Kind {
            name: "deep read",
            body: Bytes::from(
                serde_json::json!({ "query": include_str!("queries/deep_read.graphql") })
                    .to_string(),
            ),
            token: false,
        },
    ]
}

fn main() -> Result<()> {
    let opts = Opts::parse();
    let work = Path::new(MANIFEST_DIR).join("target/bench");
    fs::create_dir_all(work.join("logs"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let http = reqwest::Client::new();
    let mut report = String::new();
    let dbs: &[&str] = match opts.db {
        DbChoice::Sqlite => &["SQLite"],
        DbChoice::Postgres => &["PostgreSQL"],
        DbChoice::Both => &["SQLite", "PostgreSQL"],
    };
    writeln!(
        report,
        "| database | request | in flight | answers | peak RSS | RSS after | baseline RSS |\n\
         | --- | --- | ---: | --- | ---: | ---: | ---: |"
    )?;
    for db in dbs {
        let url = fresh_database(&opts, &work, db)?;
        let token = editor_token(&opts.server, &url)?;
        for kind in kinds(opts.items) {
            for &n in &opts.concurrency {
                // A fresh server per run: each peak and "after" is its own.
                let server = Server::start(&opts, &work, &url, db)?;
                rt.block_on(server.wait_ready(&http))?;
                let baseline = server.status_kib("VmRSS:")?;
                // A client of its own, dropped (its connections closed) before "after".
                let clients = reqwest::Client::builder()
                    .pool_max_idle_per_host(1024)
                    .timeout(Duration::from_mins(1))
                    .build()?;
                let answers = rt.block_on(load(
                    &clients,
                    server.port,
                    &kind,
                    &token,
                    n,
                    Duration::from_secs(opts.seconds),
                ))?;
                let peak = server.status_kib("VmHWM:")?;
                drop(clients);
                // Idle for two seconds with the clients gone, then see what was given back.
                std::thread::sleep(Duration::from_secs(2));
                let after = server.status_kib("VmRSS:")?;
                let line = format!(
                    "| {db} | {} | {n} | {} | {} | {} | {} |",
                    kind.name,
                    answers
                        .iter()
                        .map(|(s, c)| format!("{c}× {s}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    mib(peak),
                    mib(after),
                    mib(baseline)
                );
                println!("{line}");
                writeln!(report, "{line}")?;
            }
        }
        if *db == "PostgreSQL" {
            pg_admin(
                &opts,
                &format!("DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)"),
            )?;
        }
    }
    let path = work.join("memory.md");
    fs::write(&path, &report)?;
    println!("\n{report}\nwritten to {}", path.display());
    Ok(())
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// Keeps `n` requests of `kind` in flight for `duration`; the answers by status.
async fn load(
    http: &reqwest::Client,
    port: u16,
    kind: &Kind,
    token: &str,
    n: usize,
    duration: Duration,
) -> Result<BTreeMap<String, usize>> {
    let stop = Arc::new(AtomicBool::new(false));
    let url = format!("http://127.0.0.1:{port}/graphql");
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let (http, url, kind, token, stop) = (
            http.clone(),
            url.clone(),
            kind.clone(),
            token.to_owned(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut seen = BTreeMap::<String, usize>::new();
            while !stop.load(Ordering::Relaxed) {
                let mut req = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(kind.body.clone());
                if kind.token {
                    req = req.bearer_auth(&token);
                }
                let label = match req.send().await {
                    Ok(r) => r.status().as_u16().to_string(),
                    Err(_) => "no answer".to_owned(),
                };
                *seen.entry(label).or_default() += 1;
            }
            seen
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = BTreeMap::new();
    for t in tasks {
        for (k, v) in t.await? {
            *total.entry(k).or_default() += v;
        }
    }
    Ok(total)
}

fn fresh_database(opts: &Opts, work: &Path, db: &str) -> Result<String> {
    if db == "SQLite" {
        let file = work.join("memory.db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = fs::remove_file(format!("{}{suffix}", file.display()));
        }
        let url = format!("sqlite://{}?mode=rwc", file.display());
        run(Command::new(&opts.server)
            .arg("seed")
            .env("DATABASE_URL", &url))?;
        return Ok(url);
    }
    pg_admin(
        opts,
        &format!("DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)"),
    )?;
    pg_admin(opts, &format!("CREATE DATABASE {PG_BENCH_DB}"))?;
    let (base, _) = opts
        .pg_url
        .rsplit_once('/')
        .ok_or_else(|| anyhow!("--pg-url has no database name"))?;
    let url = format!("{base}/{PG_BENCH_DB}");
    run(Command::new(&opts.server)
        .arg("seed")
        .env("DATABASE_URL", &url))?;
    Ok(url)
}

fn pg_admin(opts: &Opts, sql: &str) -> Result<()> {
    run(Command::new("psql").args(["-q", "-v", "ON_ERROR_STOP=1", &opts.pg_url, "-c", sql]))
        .map(drop)
}

fn editor_token(server: &Path, url: &str) -> Result<String> {
    let name = format!("memory-bench-{}", std::process::id());
    let out = run(Command::new(server)
        .args(["token", "create", "--role", "editor", "--name", &name])
        .env("DATABASE_URL", url))?;
    Ok(out.trim().to_owned())
}

fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .env("RUST_LOG", "warn")
        .output()
        .with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A server process, stopped (SIGTERM, then SIGKILL) when dropped.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(opts: &Opts, work: &Path, url: &str, db: &str) -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = work.join(format!("logs/memory-{db}.log"));
        let out = fs::File::create(&log)?;
        let mut cmd = Command::new(&opts.server);
        cmd.args(["serve", "--seed", "never", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", url)
            // One client address sends everything.
            .env("RATE_LIMIT_PER_SECOND", "0")
            .env("RUST_LOG", "warn");
        for pair in &opts.envs {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| anyhow!("--env takes NAME=VALUE, not {pair}"))?;
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        Ok(Self { child, port, log })
    }

    async fn wait_ready(&self, http: &reqwest::Client) -> Result<()> {
        let deadline = Instant::now() + Duration::from_mins(1);
        while Instant::now() < deadline {
            if let Ok(r) = http
                .get(format!("http://127.0.0.1:{}/ready", self.port))
                .send()
                .await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "the server did not become ready; see {}",
            self.log.display()
        )
    }

    fn status_kib(&self, field: &str) -> Result<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse().ok())
            .ok_or_else(|| anyhow!("no {field} in /proc/{}/status", self.child.id()))
    }
}

impl Drop for Server {
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
