//! The `persona-graph` binary: parse the command line, set up logging, run the command.

use anyhow::Context;
use clap::Parser;
use persona_graph::config::{Cli, Command, GlobalArgs, LogFormat, SeedMode};
use persona_graph::{app, catalog, db, generate, graphql};
use sea_orm::DatabaseConnection;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

// A response is thousands of small allocations freed together; mimalloc's thread-local free
// lists serve that pattern several times faster than the system allocator, and return memory
// to the system instead of fragmenting.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    // The server writes its log (a line per request) from a thread of its own, so a request
    // never waits on the write; the guard flushes what is left when `main` returns. Commands
    // may exit the process early, so they write as they go.
    let _log = init_tracing(cli.global.log_format, matches!(command, Command::Serve(_)));
    match command {
        Command::Generate(opts) => {
            let conn = open(&cli.global).await?;
            let report = generate::run(&conn, &opts)
                .await
                .context("generating the synthetic catalog")?;
            tracing::info!(?report, "synthetic catalog generated");
        }
        Command::Token(args) => {
            let conn = open(&cli.global).await?;
            let out = persona_graph::token_cli::run_command(&conn, &args.command)
                .await
                .context("running the token command")?;
            eprint!("{}", out.stderr);
            print!("{}", out.stdout);
        }
        Command::Export(args) => {
            let conn = open(&cli.global).await?;
            finish(persona_graph::catalog_cli::export(&conn, &args).await);
        }
        Command::Plan(args) => {
            let conn = open(&cli.global).await?;
            finish(persona_graph::catalog_cli::plan(&conn, &args).await);
        }
        Command::Apply(args) => {
            let conn = open(&cli.global).await?;
            finish(persona_graph::catalog_cli::apply(&conn, &args).await);
        }
        Command::Schema => {
            print!("{}", graphql::sdl());
        }
        Command::Migrate => {
            open(&cli.global).await?;
            tracing::info!("migrations applied");
        }
        Command::Seed(args) => {
            let conn = open(&cli.global).await?;
            let options = catalog::SeedOptions {
                overwrite: args.overwrite,
            };
            let report = catalog::seed_with(&conn, &options)
                .await
                .context("loading the seed catalog")?;
            print!("{}", catalog::summary(&report, &options));
        }
        Command::Serve(args) => {
            let url = cli.global.database_url.clone();
            let (conn, health) = if url.starts_with("postgres") && args.wait_for_database {
                // Up before the database: the pool connects when asked, and the database is
                // migrated (and seeded) in the background once it answers.
                let conn = db::connect_lazy(&url, &cli.global.pool())
                    .await
                    .context("opening the database pool")?;
                let health = db::Health::pending(&url);
                tokio::spawn(prepare(conn.clone(), health.clone(), url, args.seed));
                (conn, health)
            } else {
                let conn = open(&cli.global).await?;
                seed_at_start(&conn, args.seed).await?;
                (conn, db::Health::up(&url))
            };
            let listener = tokio::net::TcpListener::bind(args.bind)
                .await
                .with_context(|| format!("binding {}", args.bind))?;
            // The bound address, not the requested one: with port 0 the system picks it.
            let addr = listener.local_addr().unwrap_or(args.bind);
            let shutdown = shutdown_signal();
            tracing::info!(
                "listening on http://{}/graphql (GraphiQL at http://{}/graphiql)",
                addr,
                addr
            );
            let settings = args.settings();
            let grace = settings.shutdown_grace;
            let max_connections = settings.max_connections;
            let state = app::AppState::with_settings(conn, settings).with_health(health);
            if let Some(bind) = args.metrics_bind {
                let listener = tokio::net::TcpListener::bind(bind)
                    .await
                    .with_context(|| format!("binding {bind} for /metrics"))?;
                tracing::info!(
                    "metrics at http://{}/metrics",
                    listener.local_addr().unwrap_or(bind)
                );
                let metrics = app::metrics_router(&state);
                tokio::spawn(async move {
                    if let Err(e) = app::serve(listener, metrics, std::future::pending()).await {
                        tracing::error!(error = %e, "the /metrics listener stopped");
                    }
                });
            }
            // Subscriptions end as the shutdown begins: they would never finish by themselves.
            let closing = state.closing.clone();
            let shutdown = {
                let closing = closing.clone();
                async move {
                    shutdown.await;
                    closing.close();
                }
            };
            app::serve_with_grace(
                listener,
                app::router(state),
                shutdown,
                grace,
                max_connections,
            )
            .await?;
            // Upgraded WebSockets are not the HTTP server's to wait for: each writes its close
            // frame and ends; the process exits once they have.
            if !closing.drained().await {
                tracing::warn!(
                    open = closing.open(),
                    "subscriptions still open when the shutdown ended; dropping them"
                );
            }
            tracing::info!("stopped");
        }
    }
    Ok(())
}

/// Prints what a file command printed and exits with its code.
fn finish(outcome: persona_graph::catalog_cli::Outcome) {
    eprint!("{}", outcome.stderr);
    print!("{}", outcome.stdout);
    let _ = std::io::Write::flush(&mut std::io::stdout());
    if outcome.code != 0 {
        std::process::exit(outcome.code);
    }
}

/// Loads the seed catalog at start-up when `mode` says so.
async fn seed_at_start(conn: &DatabaseConnection, mode: SeedMode) -> anyhow::Result<()> {
    let seed = match mode {
        SeedMode::Always => true,
        SeedMode::IfEmpty => catalog::is_empty(conn).await?,
        SeedMode::Never => false,
    };
    if seed {
        let report = catalog::seed(conn)
            .await
            .context("loading the seed catalog")?;
        tracing::info!(
            inserted = report.inserted,
            differences = report.differences.len(),
            "seed catalog loaded"
        );
    }
    Ok(())
}

/// Waits for the database at `url`, migrates and seeds it, then lets requests through.
/// Each step that fails is logged with its cause and tried again after a pause.
async fn prepare(conn: DatabaseConnection, health: db::Health, url: String, mode: SeedMode) {
    let mut pause = Duration::from_millis(200);
    loop {
        health.wait_until_reachable(&url).await;
        match db::migrate(&conn).await {
            Ok(()) => break,
            Err(e) => tracing::warn!(cause = %e, "migrating the database failed; retrying"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
    if let Err(e) = seed_at_start(&conn, mode).await {
        tracing::error!(cause = format!("{e:#}"), "the seed catalog was not loaded");
    }
    health.mark_up();
    tracing::info!("the database answers and is migrated; serving");
}

/// Connects to the configured database and applies pending migrations.
async fn open(global: &GlobalArgs) -> anyhow::Result<DatabaseConnection> {
    let conn = db::connect_with(&global.database_url, &global.pool())
        .await
        .context("connecting to the database")?;
    db::migrate(&conn).await.context("migrating the database")?;
    Ok(conn)
}

fn init_tracing(
    format: LogFormat,
    background: bool,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let (writer, guard) = if background {
        // Not lossy: under a flood of requests, a full buffer slows them rather than dropping
        // access-log lines.
        let (w, g) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            .finish(std::io::stderr());
        (
            tracing_subscriber::fmt::writer::BoxMakeWriter::new(w),
            Some(g),
        )
    } else {
        (
            tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr),
            None,
        )
    };
    // Colours only for a terminal: a log file or collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    guard
}

/// A future that completes on Ctrl-C or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled: a signal that arrives between the "listening
/// on" line and the server's first poll must not fall back to the default action (immediate
/// termination).
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    let ctrl_c = tokio::signal::ctrl_c();
    async move {
        let ctrl_c = async {
            if let Err(e) = ctrl_c.await {
                tracing::error!(error = %e, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async {
            match term {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
        tracing::info!("shutting down");
    }
}
