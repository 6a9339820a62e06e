//! Stage ownership (RACI, DRI, one ACCOUNTABLE per stage) and team-persona alignment mutations.

use crate::helpers::{TestApp, error_code};
use entity::{enums, journey, journey_stage, stage_ownership, team_membership};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, SqlErr};
use serde_json::{Value, json};
use std::collections::HashSet;

/// Inserts a journey with stages `keys` (positions 1..n) straight into the database, since the
/// journey mutations are not what these tests are about.
pub(crate) async fn journey_with_stages(
    app: &TestApp,
    slug: &str,
    keys: &[&str],
) -> journey::Model {
    let now = chrono::Utc::now();
    let j = journey::ActiveModel {
        slug: Set(slug.to_owned()),
        name: Set(format!("Journey {slug}")),
        description: Set(None),
        persona_kind: Set(enums::PersonaKind::Buyer),
        status: Set(enums::Status::Active),
        provenance: Set(enums::Provenance::Editor),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    for (i, key) in keys.iter().enumerate() {
        journey_stage::ActiveModel {
            journey_id: Set(j.id),
            key: Set((*key).to_owned()),
            name: Set(format!("Stage {key}")),
            position: Set(i as i32 + 1),
            goal: Set(None),
            entry_criteria: Set(None),
            exit_criteria: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    j
}

/// Creates a team through the API.
pub(crate) async fn create_team(app: &TestApp, slug: &str) {
    app.data(
        "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { slug } } }",
        json!({ "i": { "slug": slug, "name": format!("Team {slug}"), "department": "PRODUCT" } }),
    )
    .await;
}

/// Creates a person through the API.
pub(crate) async fn create_person(app: &TestApp, slug: &str) {
    app.data(
        "mutation($i: CreatePersonInput!) { createPerson(input: $i) { person { slug } } }",
        json!({ "i": { "slug": slug, "name": format!("Person {slug}") } }),
    )
    .await;
}

/// Adds a person to a team through the API.
pub(crate) async fn add_member(app: &TestApp, team: &str, person: &str) {
    app.data(
        "mutation($i: AddTeamMemberInput!) { addTeamMember(input: $i) { member { id } } }",
        json!({ "i": { "team": team, "person": person } }),
    )
    .await;
}

const ASSIGN: &str = "mutation($i: AssignStageOwnerInput!) { assignStageOwner(input: $i) {
    ownership { id responsibility note team { slug } dri { slug } stage { key } } } }";

const CHANGE: &str = "mutation($i: ChangeStageOwnerInput!) { changeStageOwner(input: $i) {
    ownership { id responsibility note team { slug } dri { slug } } } }";

const REMOVE: &str =
    "mutation($i: RemoveStageOwnerInput!) { removeStageOwner(input: $i) { deletedId } }";

/// Runs `assignStageOwner` and returns the raw response.
pub(crate) async fn assign(app: &TestApp, input: Value) -> Value {
    app.gql(ASSIGN, json!({ "i": input })).await
}

/// Assigns an owner that must succeed and returns its global ID.
pub(crate) async fn assign_ok(app: &TestApp, input: Value) -> String {
    let body = assign(app, input).await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    body["data"]["assignStageOwner"]["ownership"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The journey's version and each stage's owners as `[key, [[team, responsibility, dri]]]`.
pub(crate) async fn owners(app: &TestApp, journey: &str) -> (i64, Value) {
    let data = app
        .data(
            "query($j: String!) { journey(slug: $j) { version stages { key owners {
                team { slug } responsibility dri { slug } } } } }",
            json!({ "j": journey }),
        )
        .await;
    let j = &data["journey"];
    let stages = j["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let owners: Vec<Value> = s["owners"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| json!([o["team"]["slug"], o["responsibility"], o["dri"]["slug"]]))
                .collect();
            json!([s["key"], owners])
        })
        .collect();
    (j["version"].as_i64().unwrap(), Value::Array(stages))
}

/// The `extensions.field` of the first error.
fn error_field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or("<no field>")
}

/// A journey `j` with stages `a`, `b`; teams `pm`, `eng`; `ann` in `pm`, `bob` in `eng`.
async fn fixture() -> TestApp {
    let app = TestApp::spawn().await;
    journey_with_stages(&app, "j", &["a", "b"]).await;
    create_team(&app, "pm").await;
    create_team(&app, "eng").await;
    create_person(&app, "ann").await;
    create_person(&app, "bob").await;
    add_member(&app, "pm", "ann").await;
    add_member(&app, "eng", "bob").await;
    app
}

#[tokio::test]
async fn a_team_is_assigned_to_a_stage_with_a_dri_and_the_journey_gets_a_new_version() {
    let app = fixture().await;
    let body = assign(
        &app,
        json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "ACCOUNTABLE",
                "dri": "ann", "note": "  owns launch  " }),
    )
    .await;
    let o = &body["data"]["assignStageOwner"]["ownership"];
    assert_eq!(o["responsibility"], "ACCOUNTABLE");
    assert_eq!(o["note"], "owns launch");
    assert_eq!(o["team"]["slug"], "pm");
    assert_eq!(o["dri"]["slug"], "ann");
    assert_eq!(o["stage"]["key"], "a");

    let (version, stages) = owners(&app, "j").await;
    assert_eq!(version, 2);
    assert_eq!(
        stages,
        json!([["a", [["pm", "ACCOUNTABLE", "ann"]]], ["b", []]])
    );
    let team = app
        .data(
            r#"{ team(slug: "pm") { ownerships { responsibility stage { key } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        team["team"]["ownerships"],
        json!([{ "responsibility": "ACCOUNTABLE", "stage": { "key": "a" } }])
    );
}

#[tokio::test]
async fn a_second_accountable_owner_is_a_conflict_and_the_first_one_stays() {
    let app = fixture().await;
    assign_ok(
        &app,
        json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "ACCOUNTABLE" }),
    )
    .await;
    let (version_before, _) = owners(&app, "j").await;

    let body = assign(
        &app,
        json!({ "journey": "j", "stage": "a", "team": "eng", "responsibility": "ACCOUNTABLE" }),
    )
    .await;
    assert_eq!(error_code(&body), "CONFLICT");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("already has an ACCOUNTABLE owner (team pm)"),
        "{message}"
    );

    let (version, stages) = owners(&app, "j").await;
    assert_eq!(
        version, version_before,
        "a refused assignment must not bump the journey"
    );
    assert_eq!(
        stages,
        json!([["a", [["pm", "ACCOUNTABLE", null]]], ["b", []]])
    );
    // Another responsibility for the same stage is fine.
    assign_ok(
        &app,
        json!({ "journey": "j", "stage": "a", "team": "eng", "responsibility": "RESPONSIBLE" }),
    )
    .await;
    let accountable = app
        .data(
            r#"{ journey(slug: "j") { stage(key: "a") { accountable { team { slug } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        accountable["journey"]["stage"]["accountable"]["team"]["slug"],
        "pm"
    );
}

#[tokio::test]
async fn the_database_itself_refuses_a_second_accountable_row() {
    let app = fixture().await;
    assign_ok(
        &app,
        json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "ACCOUNTABLE" }),
    )
    .await;
    let stage = journey_stage::Entity::find()
        .filter(journey_stage::Column::Key.eq("a"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let eng = entity::team::Entity::find()
        .filter(entity::team::Column::Slug.eq("eng"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let now = chrono::Utc::now();
    let err = stage_ownership::ActiveModel {
        stage_id: Set(stage.id),
        team_id: Set(eng.id),
        person_id: Set(None),
        responsibility: Set(enums::Responsibility::Accountable),
        note: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect_err("the partial unique index must refuse a second ACCOUNTABLE row");
    assert!(
        matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
        "{err}"
    );
    let accountable = stage_ownership::Entity::find()
        .filter(stage_ownership::Column::StageId.eq(stage.id))
        .filter(stage_ownership::Column::Responsibility.eq(enums::Responsibility::Accountable))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(accountable.len(), 1);
}

#[tokio::test]
async fn concurrent_accountable_assignments_leave_exactly_one_and_the_rest_conflict() {
    let app = TestApp::spawn().await;
    journey_with_stages(&app, "j", &["a"]).await;
    let teams: Vec<String> = (0..6).map(|i| format!("team-{i}")).collect();
    for t in &teams {
        create_team(&app, t).await;
    }
    let bodies = futures_join(&app, &teams).await;
    let ok = bodies.iter().filter(|b| b.get("errors").is_none()).count();
    let conflicts = bodies
        .iter()
        .filter(|b| error_code(b) == "CONFLICT")
        .count();
    assert_eq!((ok, conflicts), (1, teams.len() - 1), "{bodies:#?}");
    // Whether a loser was stopped by the check or by the index, it hears the same rule.
    for b in bodies.iter().filter(|b| b.get("errors").is_some()) {
        let message = b["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.starts_with("stage a already has an ACCOUNTABLE owner"),
            "{message}"
        );
    }
    let (_, stages) = owners(&app, "j").await;
    assert_eq!(stages[0][1].as_array().unwrap().len(), 1);
}

/// Sends one ACCOUNTABLE assignment per team at the same time.
async fn futures_join(app: &TestApp, teams: &[String]) -> Vec<Value> {
    let mut set = tokio::task::JoinSet::new();
    for t in teams {
        let client = app.client.clone();
        let url = app.url("/graphql");
        let input =
            json!({ "journey": "j", "stage": "a", "team": t, "responsibility": "ACCOUNTABLE" });
        set.spawn(async move {
            let body = json!({ "query": ASSIGN, "variables": { "i": input } });
            client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        });
    }
    set.join_all().await
}

#[tokio::test]
async fn assigning_a_team_twice_to_a_stage_is_a_conflict_that_points_at_change_stage_owner() {
    let app = fixture().await;
    assign_ok(
        &app,
        json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "CONSULTED" }),
    )
    .await;
    let body = assign(
        &app,
        json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "INFORMED" }),
    )
    .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("changeStageOwner"),
        "{body:#}"
    );
    let (_, stages) = owners(&app, "j").await;
    assert_eq!(stages[0], json!(["a", [["pm", "CONSULTED", null]]]));
}

#[tokio::test]
async fn a_dri_who_is_not_a_member_of_the_team_is_bad_user_input_on_dri() {
    let app = fixture().await;
    let body = assign(
        &app,
        json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "RESPONSIBLE", "dri": "bob" }),
    )
    .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(error_field(&body), "dri");
    assert_eq!(owners(&app, "j").await, (1, json!([["a", []], ["b", []]])));

    let id = assign_ok(
        &app,
        json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "RESPONSIBLE" }),
    )
    .await;
    let body = app
        .gql(CHANGE, json!({ "i": { "id": id, "dri": "bob" } }))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(error_field(&body), "dri");
    assert_eq!(
        owners(&app, "j").await.1[0],
        json!(["a", [["pm", "RESPONSIBLE", null]]])
    );
}

#[tokio::test]
async fn unknown_journeys_stages_teams_dris_and_ids_are_not_found() {
    let app = fixture().await;
    let base =
        json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "RESPONSIBLE" });
    for (field, value) in [
        ("journey", "nope"),
        ("stage", "nope"),
        ("team", "nope"),
        ("dri", "nope"),
    ] {
        let mut input = base.clone();
        input[field] = json!(value);
        let body = assign(&app, input).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{field}: {body:#}");
    }
    let missing = base64_id("StageOwnership:9999");
    let body = app
        .gql(CHANGE, json!({ "i": { "id": missing, "note": "x" } }))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = app.gql(REMOVE, json!({ "i": { "id": missing } })).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    // An ID of another type is malformed input, not a missing row.
    let body = app
        .gql(REMOVE, json!({ "i": { "id": base64_id("Team:1") } }))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(error_field(&body), "id");
    assert_eq!(owners(&app, "j").await, (1, json!([["a", []], ["b", []]])));
}

/// The global ID of `Type:row`, as the service encodes it.
fn base64_id(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn an_over_long_note_is_bad_user_input_and_nothing_is_assigned() {
    let app = fixture().await;
    let body = assign(
        &app,
        json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "RESPONSIBLE", "note": "x".repeat(2001) }),
    )
    .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    assert_eq!(error_field(&body), "note");
    assert_eq!(owners(&app, "j").await, (1, json!([["a", []], ["b", []]])));
}

#[tokio::test]
async fn changing_an_owner_updates_responsibility_dri_and_note_and_null_clears() {
    let app = fixture().await;
    let id = assign_ok(
        &app,
        json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "CONSULTED", "note": "n" }),
    )
    .await;
    let data = app
        .data(
            CHANGE,
            json!({ "i": { "id": id, "responsibility": "ACCOUNTABLE", "dri": "ann" } }),
        )
        .await;
    let o = &data["changeStageOwner"]["ownership"];
    assert_eq!(
        (
            o["responsibility"].as_str(),
            o["dri"]["slug"].as_str(),
            o["note"].as_str()
        ),
        (Some("ACCOUNTABLE"), Some("ann"), Some("n"))
    );
    assert_eq!(
        owners(&app, "j").await,
        (3, json!([["a", [["pm", "ACCOUNTABLE", "ann"]]], ["b", []]]))
    );

    // Changing the accountable owner while it stays accountable is not a second one.
    let data = app
        .data(CHANGE, json!({ "i": { "id": id, "responsibility": "ACCOUNTABLE", "dri": null, "note": null } }))
        .await;
    let o = &data["changeStageOwner"]["ownership"];
    assert_eq!(
        (o["dri"].clone(), o["note"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(
        owners(&app, "j").await,
        (4, json!([["a", [["pm", "ACCOUNTABLE", null]]], ["b", []]]))
    );
}

#[tokio::test]
async fn changing_an_owner_to_accountable_when_another_team_is_accountable_is_a_conflict() {
    let app = fixture().await;
    assign_ok(
        &app,
        json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "ACCOUNTABLE" }),
    )
    .await;
    let id = assign_ok(
        &app,
        json!({ "journey": "j", "stage": "a", "team": "eng", "responsibility": "RESPONSIBLE" }),
    )
    .await;
    let (version, before) = owners(&app, "j").await;
    let body = app
        .gql(
            CHANGE,
            json!({ "i": { "id": id, "responsibility": "ACCOUNTABLE", "dri": "bob" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert_eq!(owners(&app, "j").await, (version, before));
}

#[tokio::test]
async fn removing_an_owner_deletes_it_and_the_journey_gets_a_new_version() {
    let app = fixture().await;
    let id = assign_ok(
        &app,
        json!({ "journey": "j", "stage": "b", "team": "eng", "responsibility": "ACCOUNTABLE" }),
    )
    .await;
    let data = app.data(REMOVE, json!({ "i": { "id": id } })).await;
    assert_eq!(data["removeStageOwner"]["deletedId"], json!(id));
    assert_eq!(owners(&app, "j").await, (3, json!([["a", []], ["b", []]])));
    let body = app.gql(REMOVE, json!({ "i": { "id": id } })).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
}

#[tokio::test]
async fn the_dashboard_follows_ownership_changes() {
    let app = fixture().await;
    let gaps = r#"{ ownershipGaps(journey: "j") { stage { key } } }"#;
    assert_eq!(
        app.data(gaps, json!({})).await["ownershipGaps"],
        json!([{ "stage": { "key": "a" } }, { "stage": { "key": "b" } }])
    );
    assign_ok(
        &app,
        json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "ACCOUNTABLE" }),
    )
    .await;
    assign_ok(
        &app,
        json!({ "journey": "j", "stage": "b", "team": "pm", "responsibility": "INFORMED" }),
    )
    .await;
    assert_eq!(
        app.data(gaps, json!({})).await["ownershipGaps"],
        json!([{ "stage": { "key": "b" } }])
    );
    let matrix = app
        .data(r#"{ ownershipMatrix(journey: "j") { rows { team { slug } cells { stageKey responsibility } } } }"#, json!({}))
        .await;
    assert_eq!(
        matrix["ownershipMatrix"]["rows"],
        json!([{ "team": { "slug": "pm" }, "cells": [
            { "stageKey": "a", "responsibility": "ACCOUNTABLE" },
            { "stageKey": "b", "responsibility": "INFORMED" }] }])
    );
}

const ALIGN: &str = "mutation($i: AlignTeamToPersonaInput!) { alignTeamToPersona(input: $i) {
    alignment { id level motion provenance team { slug } persona { slug } } } }";

const UNALIGN: &str = "mutation($i: UnalignTeamFromPersonaInput!) { unalignTeamFromPersona(input: $i) { deletedId } }";

async fn create_persona(app: &TestApp, slug: &str) {
    app.data(
        "mutation($i: CreatePersonaInput!) { createPersona(input: $i) { persona { slug } } }",
        json!({ "i": { "slug": slug, "name": format!("Persona {slug}"), "kind": "BUYER" } }),
    )
    .await;
}

async fn aligned_personas(app: &TestApp, team: &str) -> Value {
    app.data(
        "query($t: String!) { team(slug: $t) { alignedPersonas { level motion persona { slug } } } }",
        json!({ "t": team }),
    )
    .await["team"]["alignedPersonas"]
        .clone()
}

#[tokio::test]
async fn a_team_is_aligned_realigned_and_unaligned_from_a_persona() {
    let app = fixture().await;
    create_persona(&app, "buyer").await;
    let first = app
        .data(ALIGN, json!({ "i": { "team": "pm", "persona": "buyer", "level": "PRIMARY", "motion": "SALES_LED" } }))
        .await;
    let a = &first["alignTeamToPersona"]["alignment"];
    assert_eq!(
        (
            a["level"].as_str(),
            a["motion"].as_str(),
            a["provenance"].as_str()
        ),
        (Some("PRIMARY"), Some("SALES_LED"), Some("EDITOR"))
    );
    assert_eq!(
        (a["team"]["slug"].as_str(), a["persona"]["slug"].as_str()),
        (Some("pm"), Some("buyer"))
    );

    // Realigning updates the one alignment rather than adding another.
    let second = app
        .data(
            ALIGN,
            json!({ "i": { "team": "pm", "persona": "buyer", "level": "SECONDARY" } }),
        )
        .await;
    assert_eq!(second["alignTeamToPersona"]["alignment"]["id"], a["id"]);
    assert_eq!(
        aligned_personas(&app, "pm").await,
        json!([{ "level": "SECONDARY", "motion": null, "persona": { "slug": "buyer" } }])
    );
    let persona = app
        .data(
            r#"{ persona(slug: "buyer") { alignedTeams { team { slug } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        persona["persona"]["alignedTeams"],
        json!([{ "team": { "slug": "pm" } }])
    );

    let removed = app
        .data(
            UNALIGN,
            json!({ "i": { "team": "pm", "persona": "buyer" } }),
        )
        .await;
    assert_eq!(removed["unalignTeamFromPersona"]["deletedId"], a["id"]);
    assert_eq!(aligned_personas(&app, "pm").await, json!([]));
}

#[tokio::test]
async fn aligning_with_unknown_slugs_or_unaligning_what_is_not_aligned_is_not_found() {
    let app = fixture().await;
    create_persona(&app, "buyer").await;
    let body = app
        .gql(
            ALIGN,
            json!({ "i": { "team": "nope", "persona": "buyer", "level": "PRIMARY" } }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = app
        .gql(
            ALIGN,
            json!({ "i": { "team": "pm", "persona": "nope", "level": "PRIMARY" } }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = app
        .gql(
            UNALIGN,
            json!({ "i": { "team": "pm", "persona": "buyer" } }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    assert_eq!(aligned_personas(&app, "pm").await, json!([]));
}

/// Asserts, reading the tables directly, that every DRI is a member of their ownership's team.
pub(crate) async fn assert_every_dri_is_a_member(app: &TestApp) {
    let members: HashSet<(i32, i32)> = team_membership::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.team_id, m.person_id))
        .collect();
    for o in stage_ownership::Entity::find().all(&app.db).await.unwrap() {
        if let Some(person) = o.person_id {
            assert!(
                members.contains(&(o.team_id, person)),
                "ownership {} has DRI {person}, who is not a member of team {}",
                o.id,
                o.team_id
            );
        }
    }
}

#[tokio::test]
async fn a_member_removed_while_being_made_a_dri_never_stays_a_dri() {
    let keys: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let app = TestApp::spawn().await;
    journey_with_stages(&app, "j", &key_refs).await;
    create_team(&app, "pm").await;
    create_person(&app, "ann").await;
    for key in &keys {
        add_member(&app, "pm", "ann").await;
        let (removed, assigned) = tokio::join!(
            app.gql(
                "mutation($i: RemoveTeamMemberInput!) { removeTeamMember(input: $i) { deletedId } }",
                json!({ "i": { "team": "pm", "person": "ann" } }),
            ),
            assign(
                &app,
                json!({ "journey": "j", "stage": key, "team": "pm", "responsibility": "RESPONSIBLE", "dri": "ann" }),
            ),
        );
        assert!(removed.get("errors").is_none(), "{removed:#}");
        // Either the assignment came first and the removal then cleared its DRI, or it came
        // second and found no member.
        if assigned.get("errors").is_some() {
            assert_eq!(error_code(&assigned), "BAD_USER_INPUT", "{assigned:#}");
            assert_eq!(error_field(&assigned), "dri", "{assigned:#}");
        }
        assert_every_dri_is_a_member(&app).await;
    }
}

#[tokio::test]
async fn an_assignment_racing_the_removal_of_its_stage_is_not_found_never_internal() {
    let keys: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let app = TestApp::spawn().await;
    journey_with_stages(&app, "j", &key_refs).await;
    create_team(&app, "pm").await;
    let stages = app
        .data(r#"{ journey(slug: "j") { stages { id key } } }"#, json!({}))
        .await["journey"]["stages"]
        .clone();
    for stage in stages.as_array().unwrap() {
        let (removed, assigned) = tokio::join!(
            app.gql(
                "mutation($i: RemoveStageInput!) { removeStage(input: $i) { deletedId } }",
                json!({ "i": { "id": stage["id"] } }),
            ),
            assign(
                &app,
                json!({ "journey": "j", "stage": stage["key"], "team": "pm", "responsibility": "ACCOUNTABLE" }),
            ),
        );
        assert!(removed.get("errors").is_none(), "{removed:#}");
        // Either the assignment came first and went with the stage, or it came second and
        // found no stage.
        if assigned.get("errors").is_some() {
            assert_eq!(error_code(&assigned), "NOT_FOUND", "{assigned:#}");
        }
    }
    assert_eq!(owners(&app, "j").await.1, json!([]));
    assert!(
        stage_ownership::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .is_empty()
    );
}
