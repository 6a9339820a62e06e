//! SIGTERM, on the real binary: the listener closes at once, subscriptions close with 1001, a
//! request in flight still finishes, and the process exits 0; one that outlasts the grace
//! period is dropped instead.
//!
//! The request is held in flight deterministically: another connection holds `SQLite`'s write
//! lock (`BEGIN IMMEDIATE`), so the mutation waits on the busy timeout until it is released.

use persona_graph::db;
use sea_orm::{DatabaseConnection, DatabaseTransaction, EntityTrait, PaginatorTrait};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long any one step may take before the test gives up on it (a guard against hangs,
/// not a timing assertion).
const PATIENCE: Duration = Duration::from_mins(1);

/// A `persona-graph serve` process over its own `SQLite` file, killed and removed on drop.
struct Server {
    child: Child,
    lines: Receiver<String>,
    log: Vec<String>,
    addr: std::net::SocketAddr,
    path: std::path::PathBuf,
    url: String,
    token: String,
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_persona-graph"))
}

impl Server {
    /// Starts the server with `grace` seconds of shutdown grace and a busy timeout far longer
    /// than any step of the tests, and waits for its listening line.
    fn start(tag: &str, grace: u64) -> Self {
        let path = std::env::temp_dir().join(format!(
            "persona-graph-shutdown-{tag}-{}.db",
            std::process::id()
        ));
        remove_sqlite(&path);
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let out = bin()
            .args(["token", "create", "--name", "shutdown", "--role", "editor"])
            .args(["--database-url", &url])
            .output()
            .expect("run `token create`");
        assert!(
            out.status.success(),
            "token create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let mut child = bin()
            .args(["serve", "--bind", "127.0.0.1:0", "--seed", "never"])
            .args(["--database-url", &url])
            .env("SHUTDOWN_GRACE_SECS", grace.to_string())
            .env("DB_BUSY_TIMEOUT_SECS", "600")
            .env("RUST_LOG", "info,tower_http=debug")
            .env("LOG_FORMAT", "text")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            lines,
            log: Vec::new(),
            addr: "127.0.0.1:0".parse().unwrap(),
            path,
            url,
            token,
        };
        let line = server.wait_for("listening on http://");
        let addr = line
            .split("listening on http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .expect("an address in the listening line");
        server.addr = addr.parse().expect("a socket address");
        server
    }

    /// Waits for a log line containing `needle` and returns it.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "the server never logged {needle:?}; its log:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit (it must, within `PATIENCE`) and returns its status.
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the server") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Polls until a new connection is refused: the listener is closed.
    fn wait_refused(&self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match std::net::TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)) {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
                _ => {}
            }
            assert!(
                Instant::now() < deadline,
                "new connections are still accepted after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        remove_sqlite(&self.path);
    }
}

fn remove_sqlite(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

/// Holds `SQLite`'s write lock from a connection of the test's own until the transaction ends.
async fn hold_write_lock(url: &str) -> (DatabaseConnection, DatabaseTransaction) {
    let conn = db::connect(url, 1).await.expect("open the database");
    let txn = db::begin_write(&conn).await.expect("BEGIN IMMEDIATE");
    (conn, txn)
}

const CREATE: &str = "mutation($i: CreatePersonaInput!) {
    createPersona(input: $i) { persona { slug } } }";

/// Sends the mutation that will be in flight at SIGTERM, on a task of its own.
fn send_create(
    server: &Server,
    slug: &str,
) -> tokio::task::JoinHandle<reqwest::Result<(u16, serde_json::Value)>> {
    let url = format!("http://{}/graphql", server.addr);
    let (token, slug) = (server.token.clone(), slug.to_owned());
    tokio::spawn(async move {
        let resp = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .json(&json!({ "query": CREATE,
                           "variables": { "i": { "slug": slug, "name": "Late", "kind": "DEV" } } }))
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await?))
    })
}

async fn personas(url: &str) -> u64 {
    let conn = db::connect(url, 1).await.unwrap();
    let n = entity::persona::Entity::find().count(&conn).await.unwrap();
    conn.close().await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_refuses_new_connections_finishes_the_request_in_flight_and_exits_zero() {
    let mut server = Server::start("drain", 60);
    let (lock_conn, lock) = hold_write_lock(&server.url).await;

    let in_flight = send_create(&server, "finished-after-sigterm");
    server.wait_for("started processing request");

    server.terminate();
    server.wait_for("shutting down");
    server.wait_refused();

    // The request is still waiting for the lock; releasing it lets it finish.
    lock.rollback().await.unwrap();
    lock_conn.close().await.unwrap();
    let (status, body) = tokio::time::timeout(PATIENCE, in_flight)
        .await
        .expect("the request in flight was answered")
        .unwrap()
        .expect("the request in flight was answered, not dropped");
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        body["data"]["createPersona"]["persona"]["slug"], "finished-after-sigterm",
        "{body:#}"
    );

    let exit = server.wait_exit();
    assert_eq!(exit.code(), Some(0), "log:\n{}", server.log.join("\n"));
    assert_eq!(personas(&server.url).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_still_running_when_the_grace_period_ends_is_dropped_and_the_process_exits_zero()
{
    let mut server = Server::start("grace", 1);
    let (lock_conn, lock) = hold_write_lock(&server.url).await;

    let in_flight = send_create(&server, "dropped-at-the-deadline");
    server.wait_for("started processing request");
    server.terminate();

    // The lock is held throughout, far past the grace period: the process must not wait for it.
    let exit = server.wait_exit();
    assert_eq!(exit.code(), Some(0), "log:\n{}", server.log.join("\n"));
    server.wait_for("grace period ended");
    let answer = tokio::time::timeout(PATIENCE, in_flight)
        .await
        .expect("the client saw the connection close")
        .unwrap();
    assert!(answer.is_err(), "the request was answered: {answer:?}");

    // Its transaction never committed.
    lock.rollback().await.unwrap();
    lock_conn.close().await.unwrap();
    assert_eq!(personas(&server.url).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_subscriptions_with_1001_and_the_process_exits_zero() {
    let mut server = Server::start("subscribers", 20);
    // Many connections at once: each must get its close frame before the process exits (an
    // upgraded WebSocket is not a connection the HTTP server's shutdown waits for).
    let mut sockets = Vec::new();
    for _ in 0..40 {
        let mut ws = crate::live::Ws::connect(server.addr, Some(&server.token)).await;
        ws.subscribe("s", crate::live::CHANGES, json!({})).await;
        sockets.push(ws);
    }
    // A subscription that would never end by itself must not hold the shutdown up for the
    // grace period: it is closed at once, with "going away".
    server.terminate();
    for ws in &mut sockets {
        let (code, reason) = ws.closed().await;
        assert_eq!(code, 1001, "{reason}");
        assert!(reason.contains("shutting down"), "{reason}");
    }
    let exit = server.wait_exit();
    assert_eq!(exit.code(), Some(0), "log:\n{}", server.log.join("\n"));
}
