//! `cargo bench --bench catalog`: how long `export`, `plan` and `apply` of the whole catalog
//! take as it grows. For each size and database: `generate` a catalog, `export` it, `plan` the
//! export against the same database (no changes), `apply` it to an empty database (everything
//! created), then `plan` and `apply` it there again (no changes). Each command is the release
//! binary run as a user runs it; the table gives the median wall time of `--runs` runs.

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, ValueEnum};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_persona-graph");

/// Export, plan and apply timings of generated catalogs.
#[derive(Debug, Parser)]
#[command(name = "catalog", about)]
struct Opts {
    /// Catalog sizes, in personas.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    personas: Vec<u32>,
    /// Databases to run on.
    #[arg(long, value_enum, default_value_t = DbChoice::Both)]
    db: DbChoice,
    /// Runs of each read-only command (the median is shown); a full apply runs once.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// A `PostgreSQL` URL whose server the benchmark creates its databases on.
    #[arg(
        long,
        env = "BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pg_url: String,
    /// The binary to measure (default: this build's release binary).
    #[arg(long, default_value = SERVER_BIN)]
    bin: PathBuf,
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

fn main() -> Result<()> {
    let opts = Opts::parse();
    let work = Path::new(MANIFEST_DIR).join("target/bench");
    fs::create_dir_all(&work)?;
    let dbs: &[&str] = match opts.db {
        DbChoice::Sqlite => &["SQLite"],
        DbChoice::Postgres => &["PostgreSQL"],
        DbChoice::Both => &["SQLite", "PostgreSQL"],
    };
    let mut report = String::from(
        "| database | personas | file | export | plan (no changes) | apply (empty database) | plan again | apply again |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for db in dbs {
        for &n in &opts.personas {
            let source = fresh(&opts, &work, db, "source")?;
            run(&opts, &source, &["generate", "--personas", &n.to_string()])?;
            let file = work.join(format!("catalog-{n}.yaml"));
            let file_arg = file.to_string_lossy().into_owned();
            let export = median(opts.runs, || {
                run(&opts, &source, &["export", "-o", &file_arg]).map(drop)
            })?;
            let size = fs::metadata(&file)?.len();
            let plan = median(opts.runs, || {
                expect_code(&opts, &source, &["plan", &file_arg], 0)
            })?;
            let target = fresh(&opts, &work, db, "target")?;
            run(&opts, &target, &["migrate"])?;
            let start = Instant::now();
            run(&opts, &target, &["apply", &file_arg, "--yes"])?;
            let apply = start.elapsed();
            let plan_again = median(opts.runs, || {
                expect_code(&opts, &target, &["plan", &file_arg, "--prune"], 0)
            })?;
            let apply_again = median(opts.runs, || {
                run(&opts, &target, &["apply", &file_arg, "--prune", "--yes"]).map(drop)
            })?;
            let line = format!(
                "| {db} | {n} | {:.1} MB | {} | {} | {} | {} | {} |",
                size as f64 / 1e6,
                secs(export),
                secs(plan),
                secs(apply),
                secs(plan_again),
                secs(apply_again)
            );
            println!("{line}");
            writeln!(report, "{line}")?;
        }
    }
    let path = work.join("catalog.md");
    fs::write(&path, &report)?;
    println!("\n{report}\nwritten to {}", path.display());
    Ok(())
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn median(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<Duration> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// A new, empty database named after `role`.
fn fresh(opts: &Opts, work: &Path, db: &str, role: &str) -> Result<String> {
    if db == "SQLite" {
        let file = work.join(format!("catalog-{role}.db"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = fs::remove_file(format!("{}{suffix}", file.display()));
        }
        return Ok(format!("sqlite://{}?mode=rwc", file.display()));
    }
    let name = format!("persona_graph_bench_catalog_{role}");
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        let out = Command::new("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1", &opts.pg_url, "-c", &sql])
            .output()
            .context("running psql")?;
        if !out.status.success() {
            bail!("psql: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    let (base, _) = opts
        .pg_url
        .rsplit_once('/')
        .ok_or_else(|| anyhow!("--pg-url has no database name"))?;
    Ok(format!("{base}/{name}"))
}

fn output(opts: &Opts, url: &str, args: &[&str]) -> Result<std::process::Output> {
    Command::new(&opts.bin)
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .with_context(|| format!("running {args:?}"))
}

fn run(opts: &Opts, url: &str, args: &[&str]) -> Result<String> {
    let out = output(opts, url, args)?;
    if !out.status.success() {
        bail!("{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn expect_code(opts: &Opts, url: &str, args: &[&str], code: i32) -> Result<()> {
    let out = output(opts, url, args)?;
    if out.status.code() != Some(code) {
        bail!(
            "{args:?} exited {:?}, not {code}: {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .last()
                .unwrap_or(""),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
