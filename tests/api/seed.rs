//! `persona-graph seed` writes through the domain's commands: a file gets the mutations'
//! validation and leaves history, and a rerun adds what is missing without undoing editors'
//! changes, unless told to overwrite them.

use crate::helpers::{TestApp, digest};
use entity::audit_event;
use persona_graph::catalog::{self, SeedOptions};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::json;

const OVERWRITE: SeedOptions = SeedOptions { overwrite: true };

/// A small valid catalog; each bad-value test breaks one thing in it.
const GOOD: &str = r#"
personas:
  - { slug: dev, name: Dev, kind: DEV, sourceUrl: "https://handbook.example/personas" }
  - { slug: cto, name: CTO, kind: BUYER }
journeys:
  - slug: dev-journey
    name: Dev journey
    personaKind: DEV
    personas: [dev]
    stages:
      - { key: discover, name: Discover }
"#;

async fn refused(text: &str, expected: &str) {
    let app = TestApp::spawn().await;
    let before = digest(&app.db).await;
    let err = catalog::seed_yaml(&app.db, text)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(expected), "{expected:?} missing from {err}");
    assert_eq!(
        digest(&app.db).await,
        before,
        "a refused file writes nothing"
    );
    assert!(catalog::is_empty(&app.db).await.unwrap());
}

#[tokio::test]
async fn the_good_catalog_loads() {
    let app = TestApp::spawn().await;
    let report = catalog::seed_yaml(&app.db, GOOD).await.unwrap();
    assert_eq!(report.personas, 2);
    assert!(report.differences.is_empty());
}

#[tokio::test]
async fn a_seed_slug_that_is_not_kebab_case_is_refused_by_record_and_field() {
    refused(
        &GOOD.replace("slug: cto", "slug: \"Not A Slug!\""),
        "persona `Not A Slug!`: slug: must be kebab-case",
    )
    .await;
}

#[tokio::test]
async fn a_seed_name_of_spaces_is_refused() {
    refused(
        &GOOD.replace("name: CTO", "name: \"   \""),
        "persona `cto`: name: must not be empty",
    )
    .await;
}

#[tokio::test]
async fn a_seed_source_url_with_a_script_scheme_is_refused() {
    refused(
        &GOOD.replace("https://handbook.example/personas", "javascript:alert(1)"),
        "persona `dev`: sourceUrl: must be an absolute http or https URL",
    )
    .await;
}

#[tokio::test]
async fn a_dev_journey_narrowed_to_a_buyer_persona_is_refused() {
    let err_part =
        "journey dev-journey: persona `cto` is BUYER and the journey is for DEV personas";
    refused(
        &GOOD.replace("personas: [dev]", "personas: [cto]"),
        err_part,
    )
    .await;
}

#[tokio::test]
async fn every_record_a_seed_creates_is_in_the_history_as_the_catalog() {
    let app = TestApp::seeded().await;
    // The test app's admin token is the one event before the seed's.
    let events = audit_event::Entity::find()
        .filter(audit_event::Column::Action.ne("createApiToken"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(events.len(), 113, "one per record the catalog creates");
    assert!(events.iter().all(|e| e.actor_name == "catalog"));
    let created_personas = events
        .iter()
        .filter(|e| e.action == "createPersona")
        .count();
    assert_eq!(created_personas, 7);
    // New aggregates start at version 1, whatever the seed added to them.
    let data = app
        .data(
            r#"{ persona(slug: "dev") { version } journey(slug: "dev-journey") { version }
                 team(slug: "product-management") { version } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({ "persona": { "version": 1 }, "journey": { "version": 1 }, "team": { "version": 1 } })
    );
}

/// The editor's two changes of the issue: the Dev persona's summary, and devex-marketing made
/// ACCOUNTABLE for the stage the file leaves without one.
async fn edit(app: &TestApp) {
    let data = app
        .data(
            r#"mutation { updatePersona(input: { slug: "dev", expectedVersion: 1, summary: "Edited by an editor" }) { persona { version } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["updatePersona"]["persona"]["version"], 2);
    let owners = app
        .data(
            r#"{ journey(slug: "dev-journey") { stage(key: "advocate-expand") { owners { id team { slug } } } } }"#,
            json!({}),
        )
        .await;
    let id = owners["journey"]["stage"]["owners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["team"]["slug"] == "devex-marketing")
        .unwrap()["id"]
        .clone();
    let data = app
        .data(
            "mutation($id: ID!) { changeStageOwner(input: { id: $id, responsibility: ACCOUNTABLE }) { ownership { responsibility } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        data["changeStageOwner"]["ownership"]["responsibility"],
        "ACCOUNTABLE"
    );
}

async fn state(app: &TestApp) -> serde_json::Value {
    app.data(
        r#"{ persona(slug: "dev") { summary version }
             ownershipGaps { journey { slug } stage { key } } }"#,
        json!({}),
    )
    .await
}

#[tokio::test]
async fn an_editors_change_survives_a_seed_which_reports_it() {
    let app = TestApp::seeded().await;
    edit(&app).await;
    let before = state(&app).await;
    assert_eq!(before["ownershipGaps"], json!([]));
    let events = audit_event::Entity::find().count(&app.db).await.unwrap();

    let report = catalog::seed(&app.db).await.unwrap();
    assert_eq!((report.inserted, report.updated), (0, 0));
    assert_eq!(state(&app).await, before, "the editor's values stay");
    assert_eq!(
        audit_event::Entity::find().count(&app.db).await.unwrap(),
        events,
        "nothing written, so nothing recorded"
    );
    let lines: Vec<String> = report.differences.iter().map(ToString::to_string).collect();
    assert!(
        lines.iter().any(|l| l.starts_with("persona dev: summary")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l
            .starts_with("ownership dev-journey/advocate-expand/devex-marketing: responsibility")),
        "{lines:?}"
    );
    assert_eq!(report.differences.len(), 2, "{lines:?}");
}

#[tokio::test]
async fn an_overwriting_seed_restores_the_file_and_records_what_it_overwrote() {
    let app = TestApp::seeded().await;
    edit(&app).await;
    let report = catalog::seed_with(&app.db, &OVERWRITE).await.unwrap();
    assert_eq!(report.updated, 2, "{report:?}");
    let after = state(&app).await;
    assert_eq!(
        after["persona"]["summary"],
        "Any developer with Big Code pains."
    );
    assert_eq!(after["persona"]["version"], 3);
    assert_eq!(
        after["ownershipGaps"],
        json!([{ "journey": { "slug": "dev-journey" }, "stage": { "key": "advocate-expand" } }])
    );
    let latest = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq("updatePersona"))
        .order_by_desc(audit_event::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.actor_name, "catalog");
    assert_eq!(
        latest.before.unwrap()["summary"],
        "Edited by an editor",
        "the history keeps what was overwritten"
    );
    // And the rerun finds the file in place.
    let report = catalog::seed(&app.db).await.unwrap();
    assert!(report.differences.is_empty(), "{:?}", report.differences);
}

#[tokio::test]
async fn a_seed_adds_what_editors_deleted_but_keeps_what_they_added() {
    let app = TestApp::seeded().await;
    let data = app
        .data(
            r#"mutation { createPersona(input: { slug: "data-scientist", name: "Data scientist", kind: DEV }) { persona { slug } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["createPersona"]["persona"]["slug"], "data-scientist");
    let role = app
        .data(
            r#"{ persona(slug: "dev") { roles { id title } } }"#,
            json!({}),
        )
        .await["persona"]["roles"][0]
        .clone();
    app.data(
        "mutation($i: ID!) { removeRole(input: { id: $i }) { deletedId } }",
        json!({ "i": role["id"] }),
    )
    .await;
    let report = catalog::seed(&app.db).await.unwrap();
    assert_eq!(report.inserted, 1, "{report:?}");
    let data = app
        .data(
            r#"{ persona(slug: "dev") { roles { title } } other: persona(slug: "data-scientist") { slug } }"#,
            json!({}),
        )
        .await;
    assert!(
        data["persona"]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["title"] == role["title"])
    );
    assert_eq!(data["other"]["slug"], "data-scientist");
}

#[tokio::test]
async fn the_seed_command_lists_what_differs_and_overwrites_on_request() {
    let app = TestApp::seeded().await;
    edit(&app).await;
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_persona-graph"))
            .arg("seed")
            .args(args)
            .env("DATABASE_URL", &app.database_url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let listed = run(&[]);
    assert!(
        listed.contains("~ persona dev: summary is \"Edited by an editor\" in the database, \"Any developer with Big Code pains.\" in the file"),
        "{listed}"
    );
    assert!(
        listed.ends_with("Seed: 0 created, 0 overwritten, 2 fields differ from the file (kept; --overwrite sets them to the file's values).\n"),
        "{listed}"
    );
    assert_eq!(
        state(&app).await["persona"]["summary"],
        "Edited by an editor"
    );
    let overwritten = run(&["--overwrite"]);
    assert!(
        overwritten.contains("Seed: 0 created, 2 overwritten"),
        "{overwritten}"
    );
    assert_eq!(
        state(&app).await["persona"]["summary"],
        "Any developer with Big Code pains."
    );
}
