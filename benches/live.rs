//! `cargo bench --bench live`: how fast committed changes reach many WebSocket subscribers
//! across two replicas over one `PostgreSQL`, and what an idle subscriber costs the server.
//!
//! For each subscriber count it creates an empty database, starts two release servers on it
//! (`serve --seed always`), opens that many `graphql-transport-ws` connections (half on each
//! replica), each with one `catalogChanges(subjects: [TEAM])` subscription, and reads each
//! server's resident memory (`VmRSS`) before and after: the difference over the subscribers it
//! holds is the memory per idle subscriber. Then it creates teams through the first replica,
//! one every `--interval-ms`, and every subscriber notes, for each change it receives, the time
//! from the change's `committedAt` (taken at commit) to its arrival. It prints a markdown table:
//! changes delivered of those expected, delivery p50, p99 and max, per replica and overall.
//! BENCHMARKS.md has the figures; `cargo bench --bench live -- --help` the options.

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::Server;
use tokio::sync::{Mutex, Semaphore};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

mod support;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_persona-graph");
/// Database created (and dropped) on the `PostgreSQL` server for the benchmark.
const PG_BENCH_DB: &str = "persona_graph_bench_live";

const SUBSCRIPTION: &str =
    "subscription { catalogChanges(subjects: [TEAM]) { subjectKey committedAt } }";

/// Delivery of committed changes to many subscribers on two replicas.
#[derive(Debug, Parser)]
#[command(name = "live", about)]
struct Opts {
    /// Subscriber counts, one run each (split evenly over the two replicas).
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    subscribers: Vec<usize>,
    /// Changes made per run.
    #[arg(long, default_value_t = 20)]
    edits: usize,
    /// Time between two changes, in milliseconds.
    #[arg(long, default_value_t = 250)]
    interval_ms: u64,
    /// Connections opened at once while subscribing.
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,
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
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> Result<()> {
    let opts = Opts::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let work = Path::new(MANIFEST_DIR).join("target/bench");
    fs::create_dir_all(work.join("logs"))?;
    let mut table = String::from(
        "| subscribers | replica | delivered | p50 ms | p99 ms | max ms | memory per subscriber |\n\
         | ---: | --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for &n in &opts.subscribers {
        let rows = rt.block_on(run(&opts, &work, n))?;
        for row in rows {
            writeln!(table, "{row}")?;
        }
    }
    println!("\n{table}");
    let out = work.join("live.md");
    fs::write(&out, &table)?;
    eprintln!("written to {}", out.display());
    Ok(())
}

/// What the subscribers of one replica received: each one's delivery times, in microseconds
/// (a lock of its own per subscriber, so that noting a delivery costs the client little).
type Latencies = Arc<Mutex<Vec<Arc<std::sync::Mutex<Vec<u64>>>>>>;

async fn run(opts: &Opts, work: &Path, n: usize) -> Result<Vec<String>> {
    let url = create_database(&opts.pg_url).await?;
    let token = editor_token(&opts.server, &url)?;
    let start = |name: &str| {
        let log = work.join(format!("logs/live-{name}.log"));
        Server::start(&opts.server, &url, "always", &[("RUST_LOG", "warn")], &log)
    };
    let (a, b) = (start("a")?, start("b")?);
    let http = reqwest::Client::new();
    a.wait_ready(&http).await?;
    b.wait_ready(&http).await?;
    let before = [a.rss_kib()?, b.rss_kib()?];

    eprintln!("{n} subscribers: connecting");
    let per = [n.div_ceil(2), n / 2];
    let received: [Latencies; 2] = [Arc::default(), Arc::default()];
    let counts: [Arc<AtomicUsize>; 2] = [Arc::default(), Arc::default()];
    let gate = Arc::new(Semaphore::new(opts.connect_concurrency));
    let subscribed = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(n);
    for (i, server) in [&a, &b].into_iter().enumerate() {
        for _ in 0..per[i] {
            let (port, rec, count) = (server.port, received[i].clone(), counts[i].clone());
            let (gate, subscribed, failed) = (gate.clone(), subscribed.clone(), failed.clone());
            tasks.push(tokio::spawn(async move {
                let Ok(permit) = gate.acquire_owned().await else {
                    return;
                };
                let ws = subscribe(port).await;
                drop(permit);
                match ws {
                    Ok(ws) => {
                        subscribed.fetch_add(1, Ordering::Relaxed);
                        listen(ws, rec, count).await;
                    }
                    Err(e) => {
                        if failed.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("a subscriber could not subscribe: {e:#}");
                        }
                    }
                }
            }));
        }
    }
    let deadline = Instant::now() + Duration::from_mins(2);
    while subscribed.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < n {
        if Instant::now() > deadline {
            bail!("subscribing took over 2 minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        bail!("{failed} of {n} subscribers could not subscribe");
    }
    eprintln!("{n} subscribers: subscribed");
    // Subscribed once a first change reaches everyone.
    let editor = Editor {
        http: http.clone(),
        url: format!("http://127.0.0.1:{}/graphql", a.port),
        token,
    };
    editor.create_team("bench-warm-up").await?;
    wait_for(&counts, &per, 1, Duration::from_secs(30)).await;
    let idle = [a.rss_kib()?, b.rss_kib()?];
    for r in &received {
        for one in r.lock().await.iter() {
            one.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
        }
    }

    eprintln!("{n} subscribers: {} changes", opts.edits);
    let cpu_before = [
        cpu_ms(a.child.id())?,
        cpu_ms(b.child.id())?,
        cpu_ms(std::process::id())?,
    ];
    for e in 0..opts.edits {
        editor.create_team(&format!("bench-{e}")).await?;
        tokio::time::sleep(Duration::from_millis(opts.interval_ms)).await;
    }
    wait_for(&counts, &per, 1 + opts.edits, Duration::from_secs(30)).await;
    let cpu_after = [
        cpu_ms(a.child.id())?,
        cpu_ms(b.child.id())?,
        cpu_ms(std::process::id())?,
    ];
    let cpu: Vec<u64> = (0..3).map(|i| cpu_after[i] - cpu_before[i]).collect();
    eprintln!(
        "{n} subscribers: CPU time per change: replica a {:.0} ms, replica b {:.0} ms, this client {:.0} ms",
        cpu[0] as f64 / opts.edits as f64,
        cpu[1] as f64 / opts.edits as f64,
        cpu[2] as f64 / opts.edits as f64,
    );

    let mut rows = Vec::new();
    let mut all = Vec::new();
    let mut delivered_all = 0;
    for (i, name) in ["a (edited)", "b"].into_iter().enumerate() {
        let got: Vec<u64> = received[i]
            .lock()
            .await
            .iter()
            .flat_map(|one| {
                one.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone()
            })
            .collect();
        let expected = per[i] * opts.edits;
        let per_sub = (idle[i].saturating_sub(before[i])) as f64 * 1024.0 / per[i].max(1) as f64;
        delivered_all += got.len();
        rows.push(row(n, name, got.len(), expected, &got, Some(per_sub)));
        all.extend(got);
    }
    rows.push(row(n, "both", delivered_all, n * opts.edits, &all, None));
    for t in tasks {
        t.abort();
    }
    drop((a, b));
    drop_database(&opts.pg_url).await?;
    Ok(rows)
}

fn row(
    n: usize,
    replica: &str,
    got: usize,
    expected: usize,
    latencies: &[u64],
    per_sub: Option<f64>,
) -> String {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let pct = |p: f64| {
        if sorted.is_empty() {
            return "-".to_owned();
        }
        let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
        format!("{:.1}", sorted[i] as f64 / 1000.0)
    };
    let memory = per_sub.map_or_else(|| "-".to_owned(), |b| format!("{:.1} KiB", b / 1024.0));
    format!(
        "| {n} | {replica} | {got} / {expected} | {} | {} | {} | {memory} |",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    )
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The CPU time (user and system) process `pid` has used, in milliseconds.
fn cpu_ms(pid: u32) -> Result<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow!("no command in /proc/{pid}/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    // Linux reports them in clock ticks of 10 ms (USER_HZ 100).
    Ok(ticks * 10)
}

/// Opens a connection to the server on `port`, signs in and subscribes.
async fn subscribe(port: u16) -> Result<Socket> {
    let mut req = format!("ws://127.0.0.1:{port}/graphql").into_client_request()?;
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    ws.send(Message::text(
        json!({ "type": "connection_init", "payload": {} }).to_string(),
    ))
    .await?;
    let ack = ws
        .next()
        .await
        .ok_or_else(|| anyhow!("closed before ack"))??;
    if !ack.to_text()?.contains("connection_ack") {
        bail!("no connection_ack: {ack}");
    }
    let sub = json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIPTION } });
    ws.send(Message::text(sub.to_string())).await?;
    Ok(ws)
}

/// Reads a subscriber's messages until its connection ends, noting each change's delivery time.
/// Messages are not parsed as JSON: the client shares the machine's two cores with the servers,
/// and what it spends per message adds to the figures.
async fn listen(mut ws: Socket, received: Latencies, count: Arc<AtomicUsize>) {
    let mine = Arc::new(std::sync::Mutex::new(Vec::new()));
    received.lock().await.push(mine.clone());
    while let Some(Ok(m)) = ws.next().await {
        let Message::Text(text) = m else { continue };
        let now = Utc::now();
        if text.contains(r#""type":"ping""#) {
            let pong = json!({ "type": "pong" }).to_string();
            if ws.send(Message::text(pong)).await.is_err() {
                return;
            }
            continue;
        }
        let Some(at) = committed_at(&text) else {
            continue;
        };
        let micros = (now - at).num_microseconds().unwrap_or(0).max(0);
        mine.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(micros.unsigned_abs());
        count.fetch_add(1, Ordering::Relaxed);
    }
}

/// The `committedAt` of a `next` message.
fn committed_at(text: &str) -> Option<DateTime<Utc>> {
    const KEY: &str = r#""committedAt":""#;
    let start = text.find(KEY)? + KEY.len();
    let end = start + text[start..].find('"')?;
    DateTime::parse_from_rfc3339(&text[start..end])
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Waits until every replica's subscribers have received `changes` changes each, or `limit`.
async fn wait_for(
    counts: &[Arc<AtomicUsize>; 2],
    per: &[usize; 2],
    changes: usize,
    limit: Duration,
) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if (0..2).all(|i| counts[i].load(Ordering::Relaxed) >= per[i] * changes) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Makes changes through one replica's API with an editor's token.
struct Editor {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Editor {
    async fn create_team(&self, slug: &str) -> Result<()> {
        let body = json!({
            "query": "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { slug } } }",
            "variables": { "i": { "slug": slug, "name": format!("Team {slug}"), "department": "PRODUCT" } },
        });
        let answer: serde_json::Value = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        if answer.get("errors").is_some() {
            bail!("createTeam failed: {answer}");
        }
        Ok(())
    }
}

/// Creates the benchmark's empty database (dropping an old one) and returns its URL.
async fn create_database(pg_url: &str) -> Result<String> {
    admin(
        pg_url,
        &[
            &format!("DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)"),
            &format!("CREATE DATABASE {PG_BENCH_DB}"),
        ],
    )
    .await?;
    let (base, _) = pg_url
        .rsplit_once('/')
        .ok_or_else(|| anyhow!("--pg-url has no database name"))?;
    Ok(format!("{base}/{PG_BENCH_DB}"))
}

async fn drop_database(pg_url: &str) -> Result<()> {
    admin(
        pg_url,
        &[&format!(
            "DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)"
        )],
    )
    .await
}

async fn admin(pg_url: &str, statements: &[&str]) -> Result<()> {
    let conn = sea_orm::Database::connect(pg_url)
        .await
        .with_context(|| format!("connecting to {pg_url}"))?;
    for sql in statements {
        sea_orm::ConnectionTrait::execute_unprepared(&conn, sql).await?;
    }
    conn.close().await?;
    Ok(())
}

/// Migrates the database and creates an editor's token; its secret.
fn editor_token(bin: &Path, url: &str) -> Result<String> {
    let out = Command::new(bin)
        .args([
            "token",
            "create",
            "--name",
            "bench-editor",
            "--role",
            "editor",
        ])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()?;
    if !out.status.success() {
        bail!(
            "token create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}
