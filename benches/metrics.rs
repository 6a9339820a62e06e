//! `cargo bench --bench metrics`: what `/metrics` costs. Starts the release server on a fresh
//! `SQLite` file filled by `persona-graph generate --personas 1000`, then, with `--connections`
//! closed-loop clients sending a persona lookup (`persona(slug:) { roles }`, the lightest read,
//! where a fixed cost per request shows most) for `--seconds` each, measures:
//!
//! 1. the lookups alone;
//! 2. the lookups while a scraper reads `/metrics` every `--scrape-ms` (Prometheus scrapes every
//!    15 s or so; this is far more often);
//! 3. `/metrics` itself under the lookups: its latency and size.
//!
//! Each with the server logging as it ships (`info`: one access-log line per request, written to
//! a file) and with `RUST_LOG=warn` (no access log), so the table shows what the log costs too.
//! It prints a markdown table (requests a second, p50, p99) and writes it to
//! `target/bench/metrics.md`. BENCHMARKS.md has the figures.

use anyhow::{Result, anyhow, bail};
use clap::Parser;
use serde_json::json;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod support;

use support::Server;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_persona-graph");

/// The cost of `/metrics`.
#[derive(Debug, Parser)]
#[command(name = "metrics", about)]
struct Opts {
    /// Clients sending lookups at once.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Seconds each run lasts.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Milliseconds between two scrapes in the second run.
    #[arg(long, default_value_t = 100)]
    scrape_ms: u64,
    /// Personas of the generated catalog.
    #[arg(long, default_value_t = 1000)]
    personas: u32,
    /// The server binary to measure (default: this build's release binary).
    #[arg(long, default_value = SERVER_BIN)]
    server: PathBuf,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> Result<()> {
    let opts = Opts::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let work = Path::new(MANIFEST_DIR).join("target/bench");
    fs::create_dir_all(work.join("logs"))?;
    let db = work.join("metrics.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let out = Command::new(&opts.server)
        .args(["generate", "--personas", &opts.personas.to_string()])
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "warn")
        .output()?;
    if !out.status.success() {
        bail!("generate failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let mut table = String::from(
        "| server log | run | requests/s | p50 ms | p99 ms |\n| --- | --- | ---: | ---: | ---: |\n",
    );
    for level in ["info,sqlx=warn,sea_orm=warn", "warn"] {
        // What is measured is resolving requests and the metrics, not the cache.
        let envs = [("RESPONSE_CACHE_BYTES", "0"), ("RUST_LOG", level)];
        let server = Server::start(
            &opts.server,
            &url,
            "never",
            &envs,
            &work.join("logs/metrics.log"),
        )?;
        let label = if level == "warn" {
            "warn (no access log)"
        } else {
            "info (as shipped)"
        };
        for row in rt.block_on(measure(&opts, &server))? {
            writeln!(table, "| {label} | {row} |")?;
        }
    }
    println!("\n{table}");
    fs::write(work.join("metrics.md"), &table)?;
    Ok(())
}

async fn measure(opts: &Opts, server: &Server) -> Result<Vec<String>> {
    let http = reqwest::Client::new();
    server.wait_ready(&http).await?;
    let base = format!("http://127.0.0.1:{}", server.port);
    let run = Duration::from_secs(opts.seconds);
    // Warm-up: the lookups' documents are parsed and their pages read once.
    lookups(&http, &base, opts.connections, Duration::from_secs(2), None).await?;
    let alone = lookups(&http, &base, opts.connections, run, None).await?;
    let scraped = lookups(
        &http,
        &base,
        opts.connections,
        run,
        Some(Duration::from_millis(opts.scrape_ms)),
    )
    .await?;
    let exposition = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    Ok(vec![
        format!("lookups alone | {}", alone.lookups.row()),
        format!(
            "lookups, /metrics scraped every {} ms | {}",
            opts.scrape_ms,
            scraped.lookups.row()
        ),
        format!(
            "/metrics under the lookups ({} scrapes, {} KiB each) | {}",
            scraped.scrapes.latencies.len(),
            exposition.len() / 1024,
            scraped.scrapes.row()
        ),
    ])
}

#[derive(Default)]
struct Figures {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Figures {
    fn row(&self) -> String {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let pct = |p: f64| {
            let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len().max(1)) - 1;
            sorted.get(i).map_or_else(
                || "-".to_owned(),
                |d| format!("{:.2}", d.as_secs_f64() * 1000.0),
            )
        };
        format!(
            "{:.0} | {} | {}",
            sorted.len() as f64 / self.elapsed.as_secs_f64().max(1e-9),
            pct(0.5),
            pct(0.99)
        )
    }
}

struct Run {
    lookups: Figures,
    scrapes: Figures,
}

/// `connections` clients sending lookups of random personas for `length`, and a scraper every
/// `scrape` when given.
async fn lookups(
    http: &reqwest::Client,
    base: &str,
    connections: usize,
    length: Duration,
    scrape: Option<Duration>,
) -> Result<Run> {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..connections {
        let (http, url, stop) = (http.clone(), format!("{base}/graphql"), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = c;
            while !stop.load(Ordering::Relaxed) {
                n = (n * 7919 + 13) % 1000;
                let body = json!({
                    "query": "query Lookup($s: String!) { persona(slug: $s) { slug name roles { title } } }",
                    "variables": { "s": format!("persona-{}", n + 1) },
                });
                let t = Instant::now();
                let resp = http.post(&url).json(&body).send().await?;
                if !resp.status().is_success() {
                    return Err(anyhow!("a lookup answered {}", resp.status()));
                }
                resp.bytes().await?;
                latencies.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let scraper = scrape.map(|every| {
        let (http, url, stop) = (http.clone(), format!("{base}/metrics"), stop.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut tick = tokio::time::interval(every);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let t = Instant::now();
                http.get(&url).send().await?.bytes().await?;
                latencies.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        })
    });
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let mut lookups = Figures {
        elapsed,
        ..Figures::default()
    };
    for c in clients {
        lookups.latencies.extend(c.await??);
    }
    let mut scrapes = Figures {
        elapsed,
        ..Figures::default()
    };
    if let Some(s) = scraper {
        scrapes.latencies = s.await??;
    }
    Ok(Run { lookups, scrapes })
}
