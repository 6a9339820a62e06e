//! The audit history: every change recorded with who, when, what, before and after, in the
//! change's own transaction; readable per record and (for admins) as a global feed; never
//! editable.

use crate::helpers::{TestApp, digest, error_code};
use entity::api_token::TokenRole;
use entity::audit_event;
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

const HISTORY: &str = "fragment E on AuditEventConnection {
    nodes { action actor actorTokenId subjectType subjectId subjectKey before after occurredAt }
    pageInfo { hasNextPage endCursor } }";

async fn events(app: &TestApp) -> u64 {
    audit_event::Entity::find().count(&app.db).await.unwrap()
}

/// The ID of the token `secret`, as the API shows it.
async fn token_id(app: &TestApp, secret: &str) -> Value {
    app.data_as(Some(secret), "{ currentToken { id } }", json!({}))
        .await["currentToken"]["id"]
        .clone()
}

#[tokio::test]
async fn a_persona_keeps_its_history_with_actor_action_and_values_before_and_after() {
    let app = TestApp::spawn().await;
    let editor = app.token(TokenRole::Editor).await;
    let editor_id = token_id(&app, &editor).await;
    let write = |q: &'static str, v: Value| {
        let editor = editor.clone();
        let app = &app;
        async move { app.data_as(Some(&editor), q, v).await }
    };
    write(
        r#"mutation { createPersona(input: { slug: "cto", name: "CTO", kind: BUYER, roles: ["Chief"] }) { persona { id } } }"#,
        json!({}),
    )
    .await;
    write(
        r#"mutation { updatePersona(input: { slug: "cto", expectedVersion: 1, name: "Chief Technology Officer", summary: "Buys" }) { persona { version } } }"#,
        json!({}),
    )
    .await;
    write(
        r#"mutation { addRole(input: { persona: "cto", title: "VP Engineering" }) { role { id } } }"#,
        json!({}),
    )
    .await;

    // Readable by anyone who may read the persona, newest first.
    let body = app
        .data_as(
            None,
            &format!(r#"{{ persona(slug: "cto") {{ id history {{ ...E }} }} }} {HISTORY}"#),
            json!({}),
        )
        .await;
    let persona_id = body["persona"]["id"].clone();
    let nodes = body["persona"]["history"]["nodes"].as_array().unwrap();
    let actions: Vec<&str> = nodes
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["addRole", "updatePersona", "createPersona"]);
    for n in nodes {
        assert!(
            n["actor"].as_str().unwrap().starts_with("test-editor-"),
            "{n:#}"
        );
        assert_eq!(n["actorTokenId"], editor_id);
        assert_eq!(n["subjectType"], "PERSONA");
        assert_eq!(n["subjectId"], persona_id);
        assert_eq!(n["subjectKey"], "cto");
        assert!(n["occurredAt"].is_string());
    }
    let created = &nodes[2];
    assert_eq!(created["before"], Value::Null);
    assert_eq!(created["after"]["slug"], "cto");
    assert_eq!(created["after"]["kind"], "BUYER");
    assert_eq!(created["after"]["roles"][0]["title"], "Chief");
    let updated = &nodes[1];
    assert_eq!(updated["before"]["name"], "CTO");
    assert_eq!(updated["before"]["summary"], Value::Null);
    assert_eq!(updated["before"]["version"], 1);
    assert_eq!(updated["after"]["name"], "Chief Technology Officer");
    assert_eq!(updated["after"]["summary"], "Buys");
    assert_eq!(updated["after"]["version"], 2);
    assert_eq!(nodes[0]["before"], Value::Null);
    assert_eq!(nodes[0]["after"]["title"], "VP Engineering");

    // A delete keeps the history, with nothing after; the global feed still shows it.
    app.data(
        r#"mutation { deletePersona(input: { slug: "cto" }) { deletedId } }"#,
        json!({}),
    )
    .await;
    let log = app
        .data(
            &format!(r"{{ auditLog(filter: {{ subjectType: PERSONA }}) {{ ...E }} }} {HISTORY}"),
            json!({}),
        )
        .await;
    let deleted = &log["auditLog"]["nodes"][0];
    assert_eq!(deleted["action"], "deletePersona");
    assert_eq!(deleted["actor"], "test-admin");
    assert_eq!(deleted["subjectId"], persona_id);
    assert_eq!(deleted["before"]["name"], "Chief Technology Officer");
    assert_eq!(deleted["before"]["roles"].as_array().unwrap().len(), 2);
    assert_eq!(deleted["after"], Value::Null);
    assert_eq!(log["auditLog"]["nodes"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn stages_journeys_and_teams_keep_the_history_of_their_parts() {
    let app = TestApp::seeded().await;
    let before = events(&app).await;
    let stage = app
        .data(
            r#"mutation { addStage(input: { journey: "buyer-journey", key: "win-back", name: "Win back" }) { stage { id } } }"#,
            json!({}),
        )
        .await["addStage"]["stage"]["id"]
        .clone();
    app.data(
        r#"mutation { createTeam(input: { slug: "renewals", name: "Renewals", department: SALES }) { team { id } } }"#,
        json!({}),
    )
    .await;
    app.data(
        r#"mutation { createPerson(input: { slug: "ana", name: "Ana" }) { person { id } } }"#,
        json!({}),
    )
    .await;
    app.data(
        r#"mutation { addTeamMember(input: { team: "renewals", person: "ana", role: LEAD }) { member { id } } }"#,
        json!({}),
    )
    .await;
    app.data(
        r#"mutation { assignStageOwner(input: { journey: "buyer-journey", stage: "win-back", team: "renewals", responsibility: RESPONSIBLE, dri: "ana" }) { ownership { id } } }"#,
        json!({}),
    )
    .await;
    app.data(
        r"mutation($id: ID!) { moveStage(input: { id: $id, position: 1 }) { journey { slug } } }",
        json!({ "id": stage }),
    )
    .await;
    assert_eq!(events(&app).await, before + 6);

    let body = app
        .data(
            &format!(
                r#"{{ journey(slug: "buyer-journey") {{ history {{ ...E }} stage(key: "win-back") {{ history {{ ...E }} }} }}
                   team(slug: "renewals") {{ history {{ ...E }} }} }} {HISTORY}"#
            ),
            json!({}),
        )
        .await;
    let stage_events = body["journey"]["stage"]["history"]["nodes"]
        .as_array()
        .unwrap();
    let actions: Vec<&str> = stage_events
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["assignStageOwner", "addStage"]);
    assert_eq!(stage_events[0]["subjectKey"], "buyer-journey/win-back");
    assert_eq!(stage_events[0]["after"]["team"], "renewals");
    assert_eq!(stage_events[0]["after"]["dri"], "ana");
    assert_eq!(stage_events[0]["after"]["responsibility"], "RESPONSIBLE");
    assert_eq!(stage_events[1]["after"]["key"], "win-back");

    // The stage order; before it, only what the seed recorded.
    let journey_events = body["journey"]["history"]["nodes"].as_array().unwrap();
    assert_eq!(
        journey_events[0]["action"], "moveStage",
        "{journey_events:#?}"
    );
    assert!(
        journey_events[1..].iter().all(|e| e["actor"] == "catalog"),
        "{journey_events:#?}"
    );
    let moved = &journey_events[0];
    assert_eq!(moved["action"], "moveStage");
    let order = |v: &Value| -> Vec<String> {
        v["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect()
    };
    let (was, is) = (order(&moved["before"]), order(&moved["after"]));
    assert_eq!(was.last().map(String::as_str), Some("win-back"));
    assert_eq!(is.first().map(String::as_str), Some("win-back"));
    assert_eq!(was.len(), is.len());

    let team_events = body["team"]["history"]["nodes"].as_array().unwrap();
    let actions: Vec<&str> = team_events
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["addTeamMember", "createTeam"]);
    assert_eq!(team_events[0]["after"]["person"], "ana");
    assert_eq!(team_events[0]["after"]["role"], "LEAD");
}

#[tokio::test]
async fn history_pages_newest_first() {
    let app = TestApp::spawn().await;
    app.data(
        r#"mutation { createTeam(input: { slug: "t", name: "T0", department: OTHER }) { team { id } } }"#,
        json!({}),
    )
    .await;
    for v in 1..=4 {
        app.data(
            "mutation($v: Int!, $n: String) { updateTeam(input: { slug: \"t\", expectedVersion: $v, name: $n }) { team { version } } }",
            json!({ "v": v, "n": format!("T{v}") }),
        )
        .await;
    }
    let page = |after: Value| {
        let app = &app;
        async move {
            app.data(
                &format!(
                    r#"query($a: String) {{ team(slug: "t") {{ history(first: 2, after: $a) {{ ...E }} }} }} {HISTORY}"#
                ),
                json!({ "a": after }),
            )
            .await["team"]["history"]
                .clone()
        }
    };
    let mut names = Vec::new();
    let mut after = Value::Null;
    loop {
        let p = page(after).await;
        for n in p["nodes"].as_array().unwrap() {
            names.push(n["after"]["name"].as_str().unwrap().to_owned());
        }
        if p["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = p["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(names, ["T4", "T3", "T2", "T1", "T0"]);
}

#[tokio::test]
async fn a_failed_mutation_records_nothing() {
    let app = TestApp::seeded().await;
    let before = digest(&app.db).await;
    for (q, code) in [
        (
            r#"mutation { updatePersona(input: { slug: "dev", expectedVersion: 99, name: "X" }) { persona { id } } }"#,
            "CONFLICT",
        ),
        (
            r#"mutation { createPersona(input: { slug: "dev", name: "Again", kind: DEV }) { persona { id } } }"#,
            "CONFLICT",
        ),
        (
            r#"mutation { reorderStages(input: { journey: "buyer-journey", keys: ["nope"] }) { journey { slug } } }"#,
            "BAD_USER_INPUT",
        ),
        (
            r#"mutation { deleteTeam(input: { slug: "no-such-team" }) { deletedId } }"#,
            "NOT_FOUND",
        ),
    ] {
        let body = app.gql(q, json!({})).await;
        assert_eq!(error_code(&body), code, "{q}: {body:#}");
    }
    assert_eq!(digest(&app.db).await, before);
}

/// Makes the database refuse to record `action`, as a fault in the history's write would.
async fn break_recording(app: &TestApp, action: &str) {
    let statements = match app.db.get_database_backend() {
        DbBackend::Postgres => vec![
            "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'refused'; END $$"
                .to_owned(),
            format!(
                "CREATE TRIGGER refuse_event BEFORE INSERT ON audit_event FOR EACH ROW \
                 WHEN (NEW.action = '{action}') EXECUTE FUNCTION refuse_event()"
            ),
        ],
        _ => vec![format!(
            "CREATE TRIGGER refuse_event BEFORE INSERT ON audit_event \
             WHEN NEW.action = '{action}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )],
    };
    for sql in statements {
        app.db.execute_unprepared(&sql).await.unwrap();
    }
}

#[tokio::test]
async fn a_change_and_its_history_commit_together_or_not_at_all() {
    let app = TestApp::seeded().await;
    break_recording(&app, "updateTeam").await;
    let before = digest(&app.db).await;
    let version = app
        .data(
            r#"{ team(slug: "product-management") { version } }"#,
            json!({}),
        )
        .await["team"]["version"]
        .clone();
    let body = app
        .gql(
            r#"mutation($v: Int!) { updateTeam(input: { slug: "product-management", expectedVersion: $v, name: "Renamed" }) { team { name } } }"#,
            json!({ "v": version }),
        )
        .await;
    assert_eq!(error_code(&body), "INTERNAL", "{body:#}");
    assert!(
        !body.to_string().contains("refused"),
        "database text reached the client"
    );
    assert_eq!(
        digest(&app.db).await,
        before,
        "the change outlived its history"
    );
    // Other changes still record and commit.
    app.data(
        r#"mutation { createProduct(input: { slug: "p", name: "P" }) { product { id } } }"#,
        json!({}),
    )
    .await;
    assert_ne!(digest(&app.db).await, before);
}

#[tokio::test]
async fn history_cannot_be_changed_through_the_api_or_in_the_database() {
    let app = TestApp::seeded().await;
    app.data(
        r#"mutation { createProduct(input: { slug: "p", name: "P" }) { product { id } } }"#,
        json!({}),
    )
    .await;
    // No mutation touches the history.
    let mutations = app
        .data(
            "{ __schema { mutationType { fields { name } } } }",
            json!({}),
        )
        .await;
    for f in mutations["__schema"]["mutationType"]["fields"]
        .as_array()
        .unwrap()
    {
        let name = f["name"].as_str().unwrap().to_lowercase();
        assert!(
            !name.contains("audit") && !name.contains("history") && !name.contains("event"),
            "{name}"
        );
    }
    // The database refuses to change or delete a recorded event, whoever asks.
    let before = digest(&app.db).await;
    for sql in [
        "UPDATE audit_event SET actor_name = 'someone else'",
        "DELETE FROM audit_event",
    ] {
        let result = app.db.execute_unprepared(sql).await;
        assert!(result.is_err(), "{sql} was allowed");
    }
    if app.db.get_database_backend() == DbBackend::Postgres {
        assert!(
            app.db
                .execute_unprepared("TRUNCATE audit_event")
                .await
                .is_err()
        );
    }
    assert_eq!(digest(&app.db).await, before);
}

#[tokio::test]
async fn the_global_feed_filters_by_subject_action_and_actor() {
    let app = TestApp::spawn().await;
    let editor = app.token(TokenRole::Editor).await;
    app.data_as(
        Some(&editor),
        r#"mutation { createProduct(input: { slug: "p", name: "P" }) { product { id } } }"#,
        json!({}),
    )
    .await;
    app.data(
        r#"mutation { updateProduct(input: { slug: "p", name: "Q" }) { product { id } } }"#,
        json!({}),
    )
    .await;
    let feed = |filter: &str| {
        let q =
            format!(r"{{ auditLog(filter: {filter}) {{ nodes {{ action actor subjectKey }} }} }}");
        let app = &app;
        async move { app.data(&q, json!({})).await["auditLog"]["nodes"].clone() }
    };
    let all = feed("{}").await;
    let actions: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    // Newest first, back to the tokens the test created from the command line.
    assert_eq!(
        actions,
        [
            "updateProduct",
            "createProduct",
            "createApiToken",
            "createApiToken"
        ]
    );
    let products = feed("{ subjectType: PRODUCT }").await;
    assert_eq!(products.as_array().unwrap().len(), 2);
    let updates = feed(r#"{ action: "updateProduct" }"#).await;
    assert_eq!(updates[0]["actor"], "test-admin");
    let cli = feed(r#"{ actor: "cli" }"#).await;
    assert_eq!(cli.as_array().unwrap().len(), 2);
}
