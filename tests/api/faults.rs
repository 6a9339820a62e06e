//! Database outages: with its `PostgreSQL` server stopped, the service answers fast with
//! `DATABASE_UNAVAILABLE` (503, `Retry-After`), `/ready` says so, and once the server is back
//! the same process serves again, with nothing that was committed lost.
//!
//! The test starts a `PostgreSQL` server of its own (it needs the `PostgreSQL` binaries, under
//! `/usr/lib/postgresql/*/bin` or `PG_BIN`), so it runs the same with and without
//! `TEST_DATABASE_URL`.

use entity::api_token::TokenRole;
use persona_graph::config::Settings;
use persona_graph::db::PoolSettings;
use persona_graph::{app, db};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A throwaway `PostgreSQL` server in a temporary directory, stopped and removed on drop (also
/// when the test panics).
struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// The directory holding `initdb` and `pg_ctl`: `PG_BIN`, or the newest
/// `/usr/lib/postgresql/*/bin`.
fn pg_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map_or_else(|| {
        panic!(
            "this test starts its own PostgreSQL server and needs its binaries (initdb, pg_ctl) \
             under /usr/lib/postgresql/<version>/bin, or in the directory PG_BIN names; \
             install them with `apt-get install postgresql`"
        )
    }, |(_, bin)| bin)
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl PgServer {
    /// Creates a cluster and starts it on a free port.
    fn start_new() -> Self {
        let bin = pg_bin();
        // PostgreSQL refuses to run as root; as root, run it as the `postgres` user.
        let uid = Command::new("id").arg("-u").output().expect("run `id -u`");
        let as_postgres = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "persona-graph-pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the server's directory");
        let server = Self {
            bin,
            dir,
            port: free_port(),
            as_postgres,
        };
        if as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(&server.dir));
        }
        run(server.command("initdb").arg("-D").arg(server.data()).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]));
        server.start();
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `program` of the `PostgreSQL` binaries, run as `postgres` when this process is root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut c = self.command("pg_ctl");
        c.arg("-D").arg(self.data()).args(args);
        c
    }

    /// Starts the server and waits until it accepts connections (`pg_ctl -w`).
    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log");
        run(self
            .pg_ctl(&["-w", "-t", "60", "-o", &options, "-l"])
            .arg(&log)
            .arg("start"));
    }

    /// Stops the server the way an operator would (`-m fast`: sessions are terminated).
    fn stop(&self) {
        run(&mut self.pg_ctl(&["-w", "-t", "60", "-m", "fast", "stop"]));
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self
            .pg_ctl(&["-w", "-t", "30", "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs a blocking `pg_ctl` step off the runtime's threads.
async fn blocking(server: &Arc<PgServer>, step: fn(&PgServer)) {
    let server = server.clone();
    tokio::task::spawn_blocking(move || step(&server))
        .await
        .expect("the pg_ctl step panicked");
}

/// The service over `url`, on a free port, as `TestApp` runs it.
struct Service {
    base: String,
    client: reqwest::Client,
    token: String,
}

impl Service {
    async fn spawn(url: &str) -> Self {
        let pool = PoolSettings {
            max_connections: 5,
            acquire_timeout: Duration::from_secs(2),
            ..PoolSettings::default()
        };
        let conn = db::connect_with(url, &pool)
            .await
            .expect("connect to the test server");
        db::migrate(&conn).await.expect("migrate");
        let token = crate::helpers::create_token(&conn, "faults", TokenRole::Editor, None).await;
        let state = app::AppState::with_settings(conn, Settings::default())
            .with_health(db::Health::up(url));
        let router = app::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a port");
        let addr = listener.local_addr().expect("local address");
        tokio::spawn(app::serve(listener, router, std::future::pending()));
        Self {
            base: format!("http://{addr}"),
            // A guard against a hang: far above the acquire timeout, below the request timeout.
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(25))
                .build()
                .expect("a client"),
            token,
        }
    }

    /// POSTs with the editor token.
    async fn post(&self, query: &str, variables: Value) -> (u16, Option<String>, Value) {
        self.post_as(Some(&self.token), query, variables).await
    }

    /// POSTs with `token`, or anonymously (reads are open).
    async fn post_as(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (u16, Option<String>, Value) {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req
            .send()
            .await
            .expect("an answer before the client's timeout");
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        (status, retry_after, body)
    }

    async fn ready(&self) -> (u16, Option<String>) {
        let resp = self
            .client
            .get(format!("{}/ready", self.base))
            .send()
            .await
            .expect("an answer from /ready");
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (resp.status().as_u16(), retry_after)
    }
}

const LIST: &str = "{ personas(first: 50) { nodes { slug } } }";
const CREATE: &str = "mutation($i: CreatePersonaInput!) {
    createPersona(input: $i) { persona { slug } } }";

fn create(slug: &str) -> Value {
    json!({ "i": { "slug": slug, "name": format!("Persona {slug}"), "kind": "DEV" } })
}

/// The slugs a successful LIST returned.
fn slugs(body: &Value) -> Vec<String> {
    body["data"]["personas"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no personas: {body:#}"))
        .iter()
        .map(|n| n["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// A response during an outage: 503 with `Retry-After`, code `DATABASE_UNAVAILABLE`, and no
/// word of what the database said.
fn assert_unavailable(status: u16, retry_after: Option<&str>, body: &Value) {
    assert_eq!(status, 503, "{body:#}");
    assert!(
        retry_after.is_some_and(|s| s.parse::<u64>().is_ok()),
        "no Retry-After: {body:#}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "DATABASE_UNAVAILABLE",
        "{body:#}"
    );
    let text = body.to_string().to_lowercase();
    for leak in [
        "postgres",
        "refused",
        "sqlx",
        "pool",
        "connection",
        "terminating",
        "io error",
    ] {
        assert!(
            !text.contains(leak),
            "the response leaks {leak:?}: {body:#}"
        );
    }
}

/// Either a success, or the outage answer; never anything else.
fn assert_ok_or_unavailable(status: u16, retry_after: Option<&str>, body: &Value) -> bool {
    if status == 200 && body.get("errors").is_none() {
        return true;
    }
    assert_unavailable(status, retry_after, body);
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_database_fails_requests_fast_and_the_service_recovers_by_itself() {
    let pg = Arc::new(
        tokio::task::spawn_blocking(PgServer::start_new)
            .await
            .unwrap(),
    );
    let service = Arc::new(Service::spawn(&pg.url()).await);

    assert_eq!(service.ready().await.0, 200);
    // A subscriber that follows every persona change through the outage.
    let addr: std::net::SocketAddr = service.base.trim_start_matches("http://").parse().unwrap();
    let (_, _, cursor) = service.post("{ changeCursor }", json!({})).await;
    let mut ws = crate::live::Ws::connect(addr, None).await;
    ws.subscribe(
        "s",
        crate::live::CHANGES,
        json!({ "after": cursor["data"]["changeCursor"], "subjects": ["PERSONA"] }),
    )
    .await;
    let heard = tokio::spawn(async move {
        let mut keys = Vec::new();
        loop {
            let p = ws.next().await;
            let key = p["data"]["catalogChanges"]["subjectKey"]
                .as_str()
                .unwrap()
                .to_owned();
            let last = key == "after-the-outage";
            keys.push(key);
            if last {
                return keys;
            }
        }
    });

    let (status, _, body) = service.post(CREATE, create("before-the-outage")).await;
    assert!(status == 200 && body.get("errors").is_none(), "{body:#}");

    // Traffic all along: reads and writes, each answered either normally or as unavailable.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let loads: Vec<_> = (0..4)
        .map(|l| {
            let (service, stop, answered) = (service.clone(), stop.clone(), answered.clone());
            tokio::spawn(async move {
                let (mut ok, mut unavailable, mut created) = (0, 0, Vec::new());
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let slug = format!("under-load-{l}-{n}");
                    let (s, r, b) = service.post(CREATE, create(&slug)).await;
                    if assert_ok_or_unavailable(s, r.as_deref(), &b) {
                        created.push(slug);
                        answered.fetch_add(1, Ordering::SeqCst);
                        ok += 1;
                    } else {
                        unavailable += 1;
                    }
                    let (s, r, b) = service.post(LIST, json!({})).await;
                    if assert_ok_or_unavailable(s, r.as_deref(), &b) {
                        ok += 1;
                    } else {
                        unavailable += 1;
                    }
                }
                (ok, unavailable, created)
            })
        })
        .collect();

    // Stop the database only once the load is flowing, so that it stops under traffic.
    let deadline = Instant::now() + Duration::from_mins(1);
    while answered.load(Ordering::SeqCst) < 20 {
        assert!(Instant::now() < deadline, "the load did not get going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    blocking(&pg, PgServer::stop).await;

    // Several at once, as a dashboard would: each one fails on its own, none waits for the others.
    let started = Instant::now();
    let answers = futures_util::future::join_all((0..6).map(|i| {
        let service = service.clone();
        async move {
            let t = Instant::now();
            let (s, r, b) = match i % 3 {
                0 => service.post(LIST, json!({})).await,
                1 => service.post_as(None, LIST, json!({})).await,
                _ => service.post(CREATE, create(&format!("during-{i}"))).await,
            };
            (s, r, b, t.elapsed())
        }
    }))
    .await;
    for (status, retry_after, body, elapsed) in &answers {
        assert_unavailable(*status, retry_after.as_deref(), body);
        eprintln!("answered unavailable after {elapsed:?}");
    }
    eprintln!(
        "six concurrent requests answered in {:?} while the database was down",
        started.elapsed()
    );
    // Now that the outage is known, each request fails at once, not after the pool's acquire
    // timeout (2 s here), and so does `/ready`.
    for query in [LIST, CREATE] {
        let t = Instant::now();
        let (s, r, b) = service.post(query, create("known-outage")).await;
        assert_unavailable(s, r.as_deref(), &b);
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "took {:?}",
            t.elapsed()
        );
    }
    let t = Instant::now();
    let (status, retry_after) = service.ready().await;
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "/ready took {:?}",
        t.elapsed()
    );
    assert_eq!(status, 503, "/ready while the database is down");
    assert!(retry_after.is_some(), "/ready gives no Retry-After");

    blocking(&pg, PgServer::start).await;

    // The same process serves again once the pool reconnects; poll for it, within a bound.
    let back = Instant::now();
    let deadline = back + Duration::from_mins(1);
    loop {
        let (s, r, b) = service.post(LIST, json!({})).await;
        if assert_ok_or_unavailable(s, r.as_deref(), &b) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still unavailable a minute after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "serving again {:?} after the database came back",
        back.elapsed()
    );
    assert_eq!(
        service.ready().await.0,
        200,
        "/ready once the database is back"
    );

    stop.store(true, Ordering::SeqCst);
    let (mut ok, mut unavailable, mut created) = (0, 0, Vec::new());
    for load in loads {
        let (o, u, c) = load.await.expect("the load panicked");
        ok += o;
        unavailable += u;
        created.extend(c);
    }
    eprintln!("background load: {ok} answered, {unavailable} unavailable");

    // Nothing a client was told had been saved is missing.
    let (status, _, body) = service.post(LIST, json!({})).await;
    assert_eq!(status, 200, "{body:#}");
    let (_, _, all) = service
        .post("{ personas(first: 100) { nodes { slug } } }", json!({}))
        .await;
    let now = slugs(&all);
    assert!(now.contains(&"before-the-outage".to_owned()), "{all:#}");
    for slug in created.iter().filter(|s| !now.contains(s)) {
        // A list page holds 100; look the rest up one by one.
        let (_, _, one) = service
            .post(
                "query($s: String!) { persona(slug: $s) { slug } }",
                json!({ "s": slug }),
            )
            .await;
        assert_eq!(
            one["data"]["persona"]["slug"],
            slug.as_str(),
            "lost: {slug}"
        );
    }
    let (status, _, body) = service.post(CREATE, create("after-the-outage")).await;
    assert!(status == 200 && body.get("errors").is_none(), "{body:#}");

    // The subscriber heard of every change, before, during and after the outage, once each.
    let keys = tokio::time::timeout(Duration::from_secs(30), heard)
        .await
        .expect("the subscriber hears the last change")
        .unwrap();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        keys.len(),
        "a change delivered twice: {keys:?}"
    );
    assert_eq!(keys[0], "before-the-outage");
    for slug in &created {
        assert!(keys.contains(slug), "the subscriber missed {slug}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_started_before_its_database_waits_for_it_then_migrates_and_serves() {
    use std::io::{BufRead, BufReader};
    let pg = Arc::new(
        tokio::task::spawn_blocking(PgServer::start_new)
            .await
            .unwrap(),
    );
    blocking(&pg, PgServer::stop).await;
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_persona-graph"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", pg.url())
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the service");
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_line_with = |needle: &str| {
        let deadline = Instant::now() + Duration::from_mins(1);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines_rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no log line with {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    };
    next_line_with("listening on");
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let health = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let t = Instant::now();
    let ready = client.get(format!("{base}/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(t.elapsed() < Duration::from_millis(500));
    let t = Instant::now();
    let body: Value = client
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": LIST }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "DATABASE_UNAVAILABLE"
    );
    assert!(t.elapsed() < Duration::from_millis(500));
    // The log says why, in the database's words (this is the log, not a response).
    let cause = next_line_with("cannot be reached");
    assert!(cause.to_lowercase().contains("refused"), "{cause}");

    blocking(&pg, PgServer::start).await;
    next_line_with("serving");
    let ready = client.get(format!("{base}/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // Migrated and seeded: the catalog answers.
    let body: Value = client
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": "{ ownershipGaps { stage { key } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({ "data": { "ownershipGaps": [{ "stage": { "key": "advocate-expand" } }] } })
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_service_told_not_to_wait_exits_when_its_database_is_down() {
    let port = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_persona-graph"))
        .args([
            "serve",
            "--wait-for-database",
            "false",
            "--bind",
            "127.0.0.1:0",
        ])
        .env(
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        )
        .env("DB_ACQUIRE_TIMEOUT_SECS", "1")
        .output()
        .expect("run the service");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("connecting to the database"), "{stderr}");
}
