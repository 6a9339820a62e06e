//! The command line: `schema`, `migrate`, `seed` and `--help`, run as the real binary.

use persona_graph::graphql;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_persona-graph"))
}

fn temp_sqlite(tag: &str) -> (std::path::PathBuf, String) {
    let path =
        std::env::temp_dir().join(format!("persona-graph-cli-{tag}-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite://{}?mode=rwc", path.display());
    (path, url)
}

#[test]
fn schema_prints_the_sdl_of_the_code() {
    let out = bin().arg("schema").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), graphql::sdl());
}

#[test]
fn help_documents_every_option_with_its_environment_variable() {
    let out = bin().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for var in [
        "DATABASE_URL",
        "DB_MAX_CONNECTIONS",
        "LOG_FORMAT",
        "BIND",
        "SEED",
    ] {
        assert!(
            help.contains(&format!("[env: {var}")),
            "--help does not mention {var}:\n{help}"
        );
    }
}

#[tokio::test]
async fn seed_is_idempotent_when_run_twice() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let (path, url) = temp_sqlite("seed");
    let run = || {
        bin()
            .args(["seed", "--database-url", &url])
            .output()
            .unwrap()
    };
    assert!(run().status.success());
    let counts = || async {
        let db = persona_graph::db::connect(&url, 1).await.unwrap();
        let c = (
            entity::persona::Entity::find().count(&db).await.unwrap(),
            entity::journey_stage::Entity::find()
                .count(&db)
                .await
                .unwrap(),
            entity::stage_ownership::Entity::find()
                .count(&db)
                .await
                .unwrap(),
            entity::role::Entity::find().count(&db).await.unwrap(),
        );
        db.close().await.unwrap();
        c
    };
    let first = counts().await;
    assert_eq!((first.0, first.1), (7, 14));
    let second_run = run();
    assert!(
        second_run.status.success(),
        "{}",
        String::from_utf8_lossy(&second_run.stderr)
    );
    assert_eq!(counts().await, first);
    let _ = std::fs::remove_file(path);
}

#[test]
fn migrate_creates_the_schema_and_can_run_again() {
    let (path, url) = temp_sqlite("migrate");
    for _ in 0..2 {
        let out = bin()
            .args(["migrate", "--database-url", &url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn an_unreachable_database_fails_with_a_clear_message() {
    let out = bin()
        .args([
            "migrate",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("database"), "{err}");
}

#[tokio::test]
async fn the_default_command_serves_on_the_address_from_the_environment_and_stops_cleanly_on_sigterm()
 {
    use std::io::{BufRead, BufReader};
    let (path, url) = temp_sqlite("serve");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = bin()
        .env("DATABASE_URL", &url)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("SEED", "if-empty")
        .env("LOG_FORMAT", "text")
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The server logs its address once it is listening: read up to that line, no guessing.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.contains("listening on"));
    assert!(
        listening
            .as_deref()
            .is_some_and(|l| l.contains(&format!("127.0.0.1:{port}"))),
        "{listening:?}"
    );
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .json(&serde_json::json!({ "query": "{ ownershipGaps { stage { key } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "data": { "ownershipGaps": [{ "stage": { "key": "advocate-expand" } }] } })
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "the server exited with {status} after SIGTERM"
    );
    let _ = std::fs::remove_file(path);
}
