//! Live updates: subscriptions over WebSocket (`graphql-transport-ws`) and Server-Sent Events,
//! replay from a cursor in commit order, tokens, caps, and a second server over the same
//! database.

use crate::helpers::{TestApp, create_token, error_code};
use entity::api_token::TokenRole;
use futures_util::{SinkExt, StreamExt};
use persona_graph::app;
use persona_graph::config::Settings;
use persona_graph::db;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a message it expects before failing.
const WAIT: Duration = Duration::from_mins(1);

pub(crate) const CHANGES: &str = "subscription($after: String, $subjects: [AuditSubjectType!]) {
  catalogChanges(after: $after, subjects: $subjects) { cursor subjectType subjectKey action actor version }
}";

/// A `graphql-transport-ws` client.
pub(crate) struct Ws(WebSocketStream<MaybeTlsStream<TcpStream>>);

impl Ws {
    /// Connects to `addr` and sends `connection_init` with `payload`; does not wait for the ack.
    async fn open(addr: SocketAddr, payload: Value) -> Self {
        let mut req = format!("ws://{addr}/graphql")
            .into_client_request()
            .unwrap();
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let init = json!({ "type": "connection_init", "payload": payload });
        ws.send(Message::text(init.to_string())).await.unwrap();
        Self(ws)
    }

    /// Connects and waits for `connection_ack`.
    pub(crate) async fn connect(addr: SocketAddr, token: Option<&str>) -> Self {
        let payload = token.map_or(
            json!({}),
            |t| json!({ "Authorization": format!("Bearer {t}") }),
        );
        let mut ws = Self::open(addr, payload).await;
        let ack = ws.message().await.expect("an answer to connection_init");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        ws
    }

    pub(crate) async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let msg = json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } });
        self.0.send(Message::text(msg.to_string())).await.unwrap();
    }

    /// The next protocol message (pings answered and skipped); `None` once the server closed.
    pub(crate) async fn message(&mut self) -> Option<Value> {
        loop {
            let m = tokio::time::timeout(WAIT, self.0.next())
                .await
                .expect("a message in time")?;
            match m.ok()? {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == "ping" {
                        let pong = json!({ "type": "pong" }).to_string();
                        self.0.send(Message::text(pong)).await.ok()?;
                        continue;
                    }
                    return Some(v);
                }
                Message::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// The payload of the next `next` message.
    pub(crate) async fn next(&mut self) -> Value {
        let m = self.message().await.expect("a next message");
        assert_eq!(m["type"], "next", "{m}");
        m["payload"].clone()
    }

    /// The close code and reason the server ends the connection with.
    pub(crate) async fn closed(&mut self) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let m = tokio::time::timeout_at(deadline, self.0.next())
                .await
                .expect("the server closes in time");
            match m {
                Some(Ok(Message::Close(Some(f)))) => return (f.code.into(), f.reason.to_string()),
                Some(Ok(Message::Close(None))) | None => return (1005, String::new()),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("connection failed instead of closing: {e}"),
            }
        }
    }
}

/// Creates team `slug` through the API.
async fn create_team(app: &TestApp, slug: &str) {
    let body = app
        .gql(
            "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { slug } } }",
            json!({ "i": { "slug": slug, "name": format!("Team {slug}"), "department": "PRODUCT" } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
}

pub(crate) async fn change_cursor(app: &TestApp) -> String {
    app.data("{ changeCursor }", json!({})).await["changeCursor"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The subject keys of the next `n` changes.
async fn keys(ws: &mut Ws, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let p = ws.next().await;
        out.push(
            p["data"]["catalogChanges"]["subjectKey"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    out
}

#[tokio::test]
async fn changes_after_a_cursor_are_replayed_in_commit_order_then_live_with_no_gap_or_duplicate() {
    let app = TestApp::spawn().await;
    let start = change_cursor(&app).await;
    for slug in ["one", "two", "three"] {
        create_team(&app, slug).await;
    }
    let mut ws = Ws::connect(app.addr, Some(&app.admin_token)).await;
    ws.subscribe("s", CHANGES, json!({ "after": start })).await;
    let first = ws.next().await;
    let c = &first["data"]["catalogChanges"];
    assert_eq!(c["subjectType"], "TEAM");
    assert_eq!(c["subjectKey"], "one");
    assert_eq!(c["action"], "createTeam");
    assert_eq!(c["actor"], "test-admin");
    assert_eq!(c["version"], 1);
    let after_one = c["cursor"].as_str().unwrap().to_owned();
    assert_eq!(keys(&mut ws, 2).await, ["two", "three"]);
    // Live from here, with nothing replayed twice.
    create_team(&app, "four").await;
    assert_eq!(keys(&mut ws, 1).await, ["four"]);

    // Resuming from the first change's cursor gives exactly what came after it.
    let mut again = Ws::connect(app.addr, Some(&app.admin_token)).await;
    again
        .subscribe("s", CHANGES, json!({ "after": after_one }))
        .await;
    assert_eq!(keys(&mut again, 3).await, ["two", "three", "four"]);
    create_team(&app, "five").await;
    assert_eq!(keys(&mut again, 1).await, ["five"]);
    assert_eq!(keys(&mut ws, 1).await, ["five"]);
}

#[tokio::test]
async fn the_cursor_follows_commit_order_not_the_order_rows_were_written() {
    use persona_graph::domain::audit::Actor;
    use persona_graph::domain::change::Writer;
    use persona_graph::domain::team::CreateTeam;
    use persona_graph::domain::types::{Name, Slug};
    let app = TestApp::spawn().await;
    let start = change_cursor(&app).await;
    let is_postgres = matches!(
        sea_orm::ConnectionTrait::get_database_backend(&app.db),
        sea_orm::DbBackend::Postgres
    );
    // A change that writes its rows first but commits last.
    let writer = Writer::new(app.db.clone());
    let mut late = writer.begin(&Actor::cli()).await.unwrap();
    late.apply(&CreateTeam {
        slug: Slug::parse("slug", "late").unwrap(),
        name: Name::parse("name", "Late").unwrap(),
        department: entity::enums::Department::Product,
        description: None,
    })
    .await
    .unwrap();
    let expected = if is_postgres {
        // PostgreSQL: another change commits meanwhile.
        create_team(&app, "early").await;
        writer.commit(late).await.unwrap();
        ["early", "late"]
    } else {
        // SQLite has one writer at a time: the other change waits for this one to commit.
        let other = {
            let (url, token) = (app.url("/graphql"), app.admin_token.clone());
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({ "query": "mutation { createTeam(input: { slug: \"early\", name: \"Early\", department: PRODUCT }) { team { slug } } }" }))
                    .send()
                    .await
                    .unwrap()
            })
        };
        writer.commit(late).await.unwrap();
        other.await.unwrap();
        ["late", "early"]
    };
    let mut ws = Ws::connect(app.addr, Some(&app.admin_token)).await;
    ws.subscribe("s", CHANGES, json!({ "after": start })).await;
    let first = ws.next().await;
    let first_key = first["data"]["catalogChanges"]["subjectKey"].clone();
    assert_eq!(first_key, expected[0]);
    assert_eq!(keys(&mut ws, 1).await, [expected[1]]);
    // The change that committed second is after the first one's cursor, however its rows
    // were numbered.
    let cursor = first["data"]["catalogChanges"]["cursor"].as_str().unwrap();
    let mut again = Ws::connect(app.addr, Some(&app.admin_token)).await;
    again
        .subscribe("s", CHANGES, json!({ "after": cursor }))
        .await;
    assert_eq!(keys(&mut again, 1).await, [expected[1]]);
}

#[tokio::test]
async fn a_bad_cursor_or_an_unknown_journey_is_an_error_with_a_code() {
    let app = TestApp::spawn().await;
    let mut ws = Ws::connect(app.addr, None).await;
    ws.subscribe("a", CHANGES, json!({ "after": "not-a-cursor" }))
        .await;
    let m = ws.message().await.unwrap();
    assert_eq!(m["id"], "a", "{m}");
    assert_eq!(
        m["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{m}"
    );
    assert_eq!(ws.message().await.unwrap()["type"], "complete");
    ws.subscribe(
        "b",
        "subscription { ownershipMatrixUpdates(journey: \"nope\") { stages { key } } }",
        json!({}),
    )
    .await;
    let m = ws.message().await.unwrap();
    assert_eq!(
        m["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{m}"
    );
    assert_eq!(ws.message().await.unwrap()["type"], "complete");
}

#[tokio::test]
async fn a_subscription_needs_a_valid_token_and_ends_when_it_is_revoked() {
    let app = TestApp::spawn_with(Settings {
        reads_require_token: true,
        ..Settings::default()
    })
    .await;
    // No token: refused with 4403.
    let mut ws = Ws::open(app.addr, json!({})).await;
    assert_eq!(ws.closed().await.0, 4403);
    // A bad one: the same.
    let mut ws = Ws::open(app.addr, json!({ "Authorization": "Bearer pgt_nope" })).await;
    assert_eq!(ws.closed().await.0, 4403);

    let viewer = create_token(&app.db, "watcher", TokenRole::Viewer, None).await;
    let mut ws = Ws::connect(app.addr, Some(&viewer)).await;
    ws.subscribe("s", CHANGES, json!({ "subjects": ["TEAM"] }))
        .await;
    // Subscribed once an edit made after it arrives.
    let mut n = 0;
    loop {
        n += 1;
        assert!(n < 40, "the subscription never delivered an edit");
        create_team(&app, &format!("t{n}")).await;
        let m = tokio::time::timeout(Duration::from_millis(500), ws.message()).await;
        if let Ok(Some(m)) = m {
            assert_eq!(
                m["payload"]["data"]["catalogChanges"]["subjectKey"],
                format!("t{n}")
            );
            break;
        }
    }
    // Revoked while subscribed: the session ends with 4403.
    let body = app
        .gql(
            r#"mutation { revokeApiToken(input: { name: "watcher" }) { token { name } } }"#,
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let (code, reason) = ws.closed().await;
    assert_eq!(code, 4403, "{reason}");
    assert!(reason.contains("revoked"), "{reason}");
}

#[tokio::test]
async fn subscriptions_are_capped_per_connection_and_in_total() {
    let app = TestApp::spawn_with(Settings {
        max_subscriptions: 3,
        max_subscriptions_per_connection: 2,
        ..Settings::default()
    })
    .await;
    let mut one = Ws::connect(app.addr, None).await;
    one.subscribe("a", CHANGES, json!({})).await;
    one.subscribe("b", CHANGES, json!({})).await;
    one.subscribe("c", CHANGES, json!({})).await;
    let m = one.message().await.unwrap();
    assert_eq!(m["id"], "c", "{m}");
    assert_eq!(
        m["payload"]["errors"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS",
        "{m}"
    );
    assert_eq!(
        one.message().await.unwrap(),
        json!({ "id": "c", "type": "complete" })
    );
    let mut two = Ws::connect(app.addr, None).await;
    two.subscribe("a", CHANGES, json!({})).await;
    two.subscribe("b", CHANGES, json!({})).await;
    let m = two.message().await.unwrap();
    assert_eq!(m["id"], "b", "{m}");
    assert_eq!(
        m["payload"]["errors"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS",
        "{m}"
    );
    assert_eq!(
        two.message().await.unwrap(),
        json!({ "id": "b", "type": "complete" })
    );
    // A completed subscription gives its place back.
    one.0
        .send(Message::text(
            json!({ "id": "a", "type": "complete" }).to_string(),
        ))
        .await
        .unwrap();
    let m = one.message().await.unwrap();
    assert_eq!(m["type"], "complete", "{m}");
    two.subscribe("d", CHANGES, json!({})).await;
    // Admitted: an edit reaches both of the second connection's subscriptions.
    let mut n = 0;
    let ids = loop {
        n += 1;
        let key = format!("placed{n}");
        create_team(&app, &key).await;
        let mut ids = Vec::new();
        while let Ok(Some(m)) =
            tokio::time::timeout(Duration::from_millis(500), two.message()).await
        {
            assert_eq!(m["type"], "next", "{m}");
            if m["payload"]["data"]["catalogChanges"]["subjectKey"] == key.as_str() {
                ids.push(m["id"].as_str().unwrap().to_owned());
            }
        }
        if ids.len() == 2 {
            break ids;
        }
    };
    let mut ids = ids;
    ids.sort();
    assert_eq!(ids, ["a", "d"]);
}

#[tokio::test]
async fn an_ownership_matrix_subscription_sends_the_matrix_then_one_update_per_burst() {
    let app = TestApp::seeded().await;
    let mut ws = Ws::connect(app.addr, None).await;
    ws.subscribe(
        "m",
        "subscription { ownershipMatrixUpdates(journey: \"dev-journey\") { stages { key } rows { team { slug } cells { stageKey responsibility } } } }",
        json!({}),
    )
    .await;
    let first = ws.next().await;
    let stages = first["data"]["ownershipMatrixUpdates"]["stages"]
        .as_array()
        .unwrap()
        .clone();
    let stage = stages[0]["key"].as_str().unwrap();
    create_team(&app, "burst").await;
    // A burst: one assignment and changes of its responsibility, back to back.
    let assign =
        "mutation($i: AssignStageOwnerInput!) { assignStageOwner(input: $i) { ownership { id } } }";
    let body = app
        .gql(assign, json!({ "i": { "journey": "dev-journey", "stage": stage, "team": "burst", "responsibility": "CONSULTED" } }))
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let change =
        "mutation($i: ChangeStageOwnerInput!) { changeStageOwner(input: $i) { ownership { id } } }";
    for r in ["INFORMED", "CONSULTED", "INFORMED"] {
        let body = app
            .gql(change, json!({ "i": { "journey": "dev-journey", "stage": stage, "team": "burst", "responsibility": r } }))
            .await;
        assert!(body.get("errors").is_none(), "{body:#}");
    }
    // Updates until the matrix shows the final state; a burst sends few, not one per change.
    let mut updates = 0;
    loop {
        let m = ws.next().await;
        updates += 1;
        let rows = m["data"]["ownershipMatrixUpdates"]["rows"]
            .as_array()
            .unwrap()
            .clone();
        let cell = rows
            .iter()
            .find(|r| r["team"]["slug"] == "burst")
            .map(|r| r["cells"][0]["responsibility"].clone());
        if cell == Some(json!("INFORMED")) {
            break;
        }
        assert!(updates < 4, "one update per change: {m}");
    }
    assert!(updates <= 3, "{updates} updates for a burst of 5 changes");
}

#[tokio::test]
async fn changes_stream_over_server_sent_events() {
    let app = TestApp::spawn().await;
    let start = change_cursor(&app).await;
    create_team(&app, "sse").await;
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "text/event-stream")
        .json(&json!({ "query": CHANGES, "variables": { "after": start } }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(WAIT, body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let event = text.split("\n\n").next().unwrap();
    assert!(event.starts_with("event: next\n"), "{text}");
    let data: Value = serde_json::from_str(event.split_once("data: ").unwrap().1).unwrap();
    assert_eq!(data["data"]["catalogChanges"]["subjectKey"], "sse");

    // A query over SSE: one result, then complete.
    let text = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "text/event-stream")
        .json(&json!({ "query": "{ team(slug: \"sse\") { name } }" }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("event: next\ndata: {\"data\":{\"team\":{\"name\":\"Team sse\"}}}"),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with("event: complete\ndata:") || text.contains("event: complete"),
        "{text}"
    );
    // Without the token where one is needed: 401.
    let strict = TestApp::spawn_with(Settings {
        reads_require_token: true,
        ..Settings::default()
    })
    .await;
    let resp = strict
        .anonymous
        .post(strict.url("/graphql"))
        .header("accept", "text/event-stream")
        .json(&json!({ "query": CHANGES }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
}

/// A second server over the test app's database, as another replica would be.
async fn replica(app: &TestApp) -> SocketAddr {
    let conn = db::connect(&app.database_url, 5).await.unwrap();
    let router = app::router(app::AppState::new(conn));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(app::serve(listener, router, std::future::pending()));
    addr
}

#[tokio::test]
async fn a_change_made_on_one_server_or_by_the_command_line_reaches_a_subscriber_on_another() {
    let app = TestApp::spawn().await;
    let other = replica(&app).await;
    let start = change_cursor(&app).await;
    let mut ws = Ws::connect(other, Some(&app.admin_token)).await;
    ws.subscribe(
        "s",
        CHANGES,
        json!({ "after": start, "subjects": ["TEAM"] }),
    )
    .await;
    create_team(&app, "from-the-first").await;
    assert_eq!(keys(&mut ws, 1).await, ["from-the-first"]);
    // A write that is not the API's (the catalog commands use the same writer).
    use persona_graph::domain::audit::Actor;
    use persona_graph::domain::change::Writer;
    use persona_graph::domain::team::CreateTeam;
    use persona_graph::domain::types::{Name, Slug};
    let conn = db::connect(&app.database_url, 1).await.unwrap();
    Writer::new(conn)
        .run(
            &Actor::cli(),
            &CreateTeam {
                slug: Slug::parse("slug", "from-elsewhere").unwrap(),
                name: Name::parse("name", "Elsewhere").unwrap(),
                department: entity::enums::Department::Design,
                description: None,
            },
        )
        .await
        .unwrap();
    let p = ws.next().await;
    assert_eq!(p["data"]["catalogChanges"]["subjectKey"], "from-elsewhere");
    assert_eq!(p["data"]["catalogChanges"]["actor"], "cli");
}

#[tokio::test]
async fn servers_racing_to_migrate_an_empty_database_all_come_up() {
    // The test app's database is migrated already; race on a fresh one beside it.
    let app = TestApp::spawn().await;
    let url = if app.database_url.starts_with("postgres") {
        let name = format!("race_{}", std::process::id());
        let admin = db::connect(&app.database_url, 1).await.unwrap();
        sea_orm::ConnectionTrait::execute_unprepared(
            &admin,
            &format!("DROP DATABASE IF EXISTS \"{name}\""),
        )
        .await
        .unwrap();
        sea_orm::ConnectionTrait::execute_unprepared(
            &admin,
            &format!("CREATE DATABASE \"{name}\""),
        )
        .await
        .unwrap();
        let (base, _) = app.database_url.rsplit_once('/').unwrap();
        format!("{base}/{name}")
    } else {
        let path =
            std::env::temp_dir().join(format!("persona-graph-race-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        format!("sqlite://{}?mode=rwc", path.display())
    };
    let racers = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move {
            let conn = db::connect(&url, 2).await?;
            db::migrate(&conn).await
        })
    });
    for r in futures_util::future::join_all(racers).await {
        r.unwrap().expect("every racer migrates");
    }
    let conn = db::connect(&url, 1).await.unwrap();
    let tables = sea_orm::ConnectionTrait::query_one_raw(
        &conn,
        sea_orm::Statement::from_string(
            sea_orm::ConnectionTrait::get_database_backend(&conn),
            "SELECT COUNT(*) FROM seaql_migrations",
        ),
    )
    .await
    .unwrap()
    .unwrap()
    .try_get_by_index::<i64>(0)
    .unwrap();
    assert_eq!(tables, 6, "each migration applied once");
}
