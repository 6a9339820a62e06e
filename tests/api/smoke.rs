//! The service starts, answers health checks and runs a query.

use crate::helpers::TestApp;
use serde_json::json;

#[tokio::test]
async fn health_and_ready_answer_when_the_database_is_up() {
    let app = TestApp::spawn().await;
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn a_created_persona_can_be_read_back_by_slug() {
    let app = TestApp::spawn().await;
    let created = app
        .data(
            "mutation($i: CreatePersonaInput!) { createPersona(input: $i) { persona { slug version roles { title } } } }",
            json!({ "i": { "slug": "dev", "name": "Dev", "kind": "DEV", "roles": ["Engineer", "SRE"] } }),
        )
        .await;
    assert_eq!(created["createPersona"]["persona"]["version"], 1);
    let read = app
        .data(
            r#"{ persona(slug: "dev") { name kind roles { title } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        read,
        json!({ "persona": { "name": "Dev", "kind": "DEV", "roles": [{ "title": "Engineer" }, { "title": "SRE" }] } })
    );
}

#[tokio::test]
async fn ready_reports_a_lost_database_while_health_still_answers() {
    let app = TestApp::spawn().await;
    app.db.clone().close().await.unwrap();
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}
