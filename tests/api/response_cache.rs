//! The response cache: a repeated read is answered with one statement while the catalog is
//! unchanged, and any change (through the API, or straight in the database by another server
//! or tool) is visible to the very next read.

use crate::helpers::TestApp;
use persona_graph::config::Settings;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

/// Resolving it takes two statements or more (the persona with its roles, its journeys), so a
/// single statement (the catalog version) tells a cached answer apart.
const READ: &str = "{ persona(slug: \"dev\") { name version roles { title } journeys { slug } } }";
const UPDATE: &str =
    "mutation($i: UpdatePersonaInput!) { updatePersona(input: $i) { persona { version } } }";

fn is_postgres(app: &TestApp) -> bool {
    app.db.get_database_backend() == sea_orm::DbBackend::Postgres
}

/// An anonymous read: its body and the statements it ran.
async fn read(app: &TestApp) -> (Value, usize) {
    app.reset_statements();
    let body = app.gql_as(None, READ, json!({})).await;
    (body, app.statements())
}

#[tokio::test]
async fn a_repeated_read_is_answered_from_the_cache_with_one_statement() {
    let app = TestApp::seeded().await;
    let (first, ran) = read(&app).await;
    assert!(first.get("errors").is_none(), "{first:#}");
    assert!(
        ran > 1,
        "the first read resolves the query: {ran} statements"
    );
    let (second, ran) = read(&app).await;
    assert_eq!(second, first);
    if is_postgres(&app) {
        // Once the change feed listens (it connects as the server starts), a cached answer
        // asks the database nothing: it hears of every commit.
        // (Until then it reads the catalog version, and once it listens the first read
        // resolves the query again, under the feed's version.)
        let mut ran = ran;
        for _ in 0..200 {
            if ran == 0 {
                break;
            }
            ran = read(&app).await.1;
        }
        assert_eq!(
            ran, 0,
            "a cached answer reads nothing while the feed listens"
        );
    } else {
        assert_eq!(ran, 1, "a cached answer reads only the catalog version");
    }
}

#[tokio::test]
async fn a_change_through_the_api_is_visible_to_the_next_read() {
    let app = TestApp::seeded().await;
    let (before, _) = read(&app).await;
    let version = before["data"]["persona"]["version"].as_i64().unwrap();
    let editor = app.token(entity::api_token::TokenRole::Editor).await;
    app.data_as(
        Some(&editor),
        UPDATE,
        json!({ "i": { "slug": "dev", "expectedVersion": version, "name": "Developer (renamed)" } }),
    )
    .await;
    let (after, ran) = read(&app).await;
    assert_eq!(after["data"]["persona"]["name"], "Developer (renamed)");
    assert_eq!(after["data"]["persona"]["version"], version + 1);
    assert!(ran > 1, "the change made the cached answer stale");
}

#[tokio::test]
async fn a_change_made_outside_this_server_is_visible_to_the_next_read() {
    let app = TestApp::seeded().await;
    read(&app).await;
    // On PostgreSQL the cache learns of changes from the feed's announcements: a subscriber
    // hears of the change once the feed has, and the next read is fresh from then on.
    let mut ws = if is_postgres(&app) {
        let start = crate::live::change_cursor(&app).await;
        let mut ws = crate::live::Ws::connect(app.addr, Some(&app.admin_token)).await;
        ws.subscribe("s", crate::live::CHANGES, json!({ "after": start }))
            .await;
        Some(ws)
    } else {
        None
    };
    // Another replica, the `seed` command or an operator's SQL: nothing this server sees.
    app.db
        .execute_unprepared("UPDATE persona SET name = 'Changed elsewhere' WHERE slug = 'dev'")
        .await
        .unwrap();
    if let Some(ws) = &mut ws {
        let heard = ws.next().await;
        assert_eq!(heard["data"]["catalogChanges"]["action"], "sql", "{heard}");
    }
    let (after, _) = read(&app).await;
    assert_eq!(after["data"]["persona"]["name"], "Changed elsewhere");
}

#[tokio::test]
async fn errors_admin_answers_and_mutations_are_never_cached() {
    let app = TestApp::seeded().await;
    let missing =
        "{ ownershipMatrix(journey: \"no-such-journey\") { rows { cells { stageKey } } } }";
    for _ in 0..2 {
        app.reset_statements();
        let body = app.gql_as(None, missing, json!({})).await;
        assert_eq!(crate::helpers::error_code(&body), "NOT_FOUND", "{body:#}");
        assert!(
            app.statements() > 1,
            "an answer with errors is computed again"
        );
    }
    // Admins can read tokens and the audit log: their answers are always computed.
    app.data(READ, json!({})).await;
    app.reset_statements();
    app.data(READ, json!({})).await;
    assert!(app.statements() > 1, "an admin's read was computed again");
}

#[tokio::test]
async fn the_cache_can_be_switched_off() {
    let app = TestApp::spawn_with(Settings {
        response_cache_bytes: 0,
        ..Settings::default()
    })
    .await;
    persona_graph::catalog::seed(&app.db).await.unwrap();
    let (_, first) = read(&app).await;
    let (_, second) = read(&app).await;
    assert_eq!(first, second, "every read resolves the query");
    assert!(second > 1);
}
