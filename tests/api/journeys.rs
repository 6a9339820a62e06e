//! Journey and stage mutations: creating, editing and deleting journeys, narrowing them to
//! personas, and keeping their stages in positions 1..n through add, move, reorder and remove.

use crate::helpers::{TestApp, error_code};
use chrono::Utc;
use entity::{enums, external_link, journey_stage, stage_ownership, team};
use persona_graph::graphql::id;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};

const JOURNEY: &str = "query($s: String!) { journey(slug: $s) { slug name description personaKind status version \
    personas { slug } stages { id key name position goal entryCriteria exitCriteria } } }";

const CREATE: &str = "mutation($i: CreateJourneyInput!) { createJourney(input: $i) { journey { slug version \
    stages { key position } } } }";
const UPDATE: &str = "mutation($i: UpdateJourneyInput!) { updateJourney(input: $i) { journey { name description personaKind status version } } }";
const ARCHIVE: &str = "mutation($i: ArchiveJourneyInput!) { archiveJourney(input: $i) { journey { status version } } }";
const DELETE: &str = "mutation($i: DeleteJourneyInput!) { deleteJourney(input: $i) { deletedId } }";
const SET_PERSONAS: &str = "mutation($i: SetJourneyPersonasInput!) { setJourneyPersonas(input: $i) { journey { version personas { slug } } } }";
const ADD: &str = "mutation($i: AddStageInput!) { addStage(input: $i) { stage { id key name position goal journey { version } } } }";
const UPDATE_STAGE: &str = "mutation($i: UpdateStageInput!) { updateStage(input: $i) { stage { key name position goal entryCriteria exitCriteria } } }";
const MOVE: &str = "mutation($i: MoveStageInput!) { moveStage(input: $i) { journey { version stages { key position } } } }";
const REORDER: &str = "mutation($i: ReorderStagesInput!) { reorderStages(input: $i) { journey { version stages { key position } } } }";
const REMOVE: &str = "mutation($i: RemoveStageInput!) { removeStage(input: $i) { deletedId } }";

/// Reads a journey back through the API.
async fn read(app: &TestApp, slug: &str) -> Value {
    app.data(JOURNEY, json!({ "s": slug })).await["journey"].clone()
}

/// The journey's stages as `(key, position)`, in the order the API lists them.
fn order(stages: &Value) -> Vec<(String, i64)> {
    stages
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap().to_owned(),
                s["position"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// `(key, 1..n)` for the keys given: what a gap-free order looks like.
fn positions(keys: &[&str]) -> Vec<(String, i64)> {
    keys.iter()
        .zip(1..)
        .map(|(k, p)| ((*k).to_owned(), p))
        .collect()
}

/// The global ID of a stage of a journey read with [`read`].
fn stage_id(journey: &Value, key: &str) -> String {
    let stages = journey["stages"].as_array().unwrap();
    let stage = stages.iter().find(|s| s["key"] == key).unwrap();
    stage["id"].as_str().unwrap().to_owned()
}

/// A DEV journey `funnel` with stages a, b, c, d.
async fn with_journey(app: &TestApp) -> Value {
    let stages: Vec<Value> = ["a", "b", "c", "d"]
        .iter()
        .map(|k| json!({ "key": k, "name": format!("Stage {k}") }))
        .collect();
    app.data(CREATE, json!({ "i": { "slug": "funnel", "name": "Funnel", "personaKind": "DEV", "stages": stages } }))
        .await;
    read(app, "funnel").await
}

async fn create_persona(app: &TestApp, slug: &str, kind: &str) {
    app.data(
        "mutation($i: CreatePersonaInput!) { createPersona(input: $i) { persona { slug } } }",
        json!({ "i": { "slug": slug, "name": slug, "kind": kind } }),
    )
    .await;
}

/// Asserts a `BAD_USER_INPUT` naming `field`, and returns the message.
fn assert_bad_input(body: &Value, field: &str) -> String {
    assert_eq!(error_code(body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body:#}");
    body["errors"][0]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_journey_created_with_stages_and_personas_reads_back_in_order() {
    let app = TestApp::spawn().await;
    create_persona(&app, "dev", "DEV").await;
    let created = app
        .data(
            CREATE,
            json!({ "i": {
                "slug": "developer-journey",
                "name": "  Developer journey ",
                "description": "From first touch to advocate",
                "personaKind": "DEV",
                "personas": ["dev"],
                "stages": [
                    { "key": "discover", "name": "Discover", "goal": "Hears of it", "entryCriteria": "none", "exitCriteria": "visits" },
                    { "key": "try", "name": "Try" },
                    { "key": "adopt", "name": "Adopt" },
                ],
            } }),
        )
        .await;
    assert_eq!(
        created["createJourney"]["journey"],
        json!({ "slug": "developer-journey", "version": 1,
                "stages": [{ "key": "discover", "position": 1 }, { "key": "try", "position": 2 }, { "key": "adopt", "position": 3 }] })
    );
    let mut journey = read(&app, "developer-journey").await;
    for s in journey["stages"].as_array_mut().unwrap() {
        s.as_object_mut().unwrap().remove("id");
    }
    assert_eq!(
        journey,
        json!({
            "slug": "developer-journey", "name": "Developer journey", "description": "From first touch to advocate",
            "personaKind": "DEV", "status": "ACTIVE", "version": 1, "personas": [{ "slug": "dev" }],
            "stages": [
                { "key": "discover", "name": "Discover", "position": 1, "goal": "Hears of it", "entryCriteria": "none", "exitCriteria": "visits" },
                { "key": "try", "name": "Try", "position": 2, "goal": null, "entryCriteria": null, "exitCriteria": null },
                { "key": "adopt", "name": "Adopt", "position": 3, "goal": null, "entryCriteria": null, "exitCriteria": null },
            ],
        })
    );
}

#[tokio::test]
async fn invalid_journey_input_is_rejected_naming_the_field_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let long = "x".repeat(201);
    let cases = [
        (json!({ "slug": "ok", "name": "" }), "name"),
        (json!({ "slug": "ok", "name": "   " }), "name"),
        (json!({ "slug": "ok", "name": long }), "name"),
        (json!({ "slug": "Not A Slug", "name": "Ok" }), "slug"),
        (json!({ "slug": "double--hyphen", "name": "Ok" }), "slug"),
        (
            json!({ "slug": "ok", "name": "Ok", "stages": [{ "key": "a", "name": "A" }, { "key": "B!", "name": "B" }] }),
            "stages[1].key",
        ),
        (
            json!({ "slug": "ok", "name": "Ok", "stages": [{ "key": "a", "name": "" }] }),
            "stages[0].name",
        ),
        (
            json!({ "slug": "ok", "name": "Ok", "stages": [{ "key": "a", "name": "A" }, { "key": "a", "name": "B" }] }),
            "stages[1].key",
        ),
    ];
    for (mut input, field) in cases {
        input["personaKind"] = json!("DEV");
        let body = app.gql(CREATE, json!({ "i": input })).await;
        assert_bad_input(&body, field);
    }
    let count = app.data("{ journeys { totalCount } }", json!({})).await;
    assert_eq!(count["journeys"]["totalCount"], 0);
    assert_eq!(
        journey_stage::Entity::find().count(&app.db).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn a_duplicate_journey_slug_is_a_conflict_and_leaves_the_first_journey_alone() {
    let app = TestApp::spawn().await;
    let before = with_journey(&app).await;
    let body = app
        .gql(CREATE, json!({ "i": { "slug": "funnel", "name": "Other", "personaKind": "BUYER", "stages": [{ "key": "z", "name": "Z" }] } }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body:#}");
    assert_eq!(read(&app, "funnel").await, before);
    assert_eq!(
        journey_stage::Entity::find().count(&app.db).await.unwrap(),
        4
    );
}

#[tokio::test]
async fn a_persona_of_another_kind_cannot_narrow_a_journey() {
    let app = TestApp::spawn().await;
    create_persona(&app, "dev", "DEV").await;
    create_persona(&app, "cto", "BUYER").await;

    let body = app
        .gql(CREATE, json!({ "i": { "slug": "narrow", "name": "Narrow", "personaKind": "DEV", "personas": ["dev", "cto"] } }))
        .await;
    let message = assert_bad_input(&body, "personas[1]");
    assert!(message.contains("cto"), "{message}");
    assert!(app.data(JOURNEY, json!({ "s": "narrow" })).await["journey"].is_null());

    let before = with_journey(&app).await;
    let body = app
        .gql(
            SET_PERSONAS,
            json!({ "i": { "journey": "funnel", "personas": ["cto"] } }),
        )
        .await;
    assert_bad_input(&body, "personas[0]");
    let body = app
        .gql(
            SET_PERSONAS,
            json!({ "i": { "journey": "funnel", "personas": ["dev", "dev"] } }),
        )
        .await;
    assert_bad_input(&body, "personas[1]");
    let body = app
        .gql(
            SET_PERSONAS,
            json!({ "i": { "journey": "funnel", "personas": ["nobody"] } }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");
    assert_eq!(read(&app, "funnel").await, before);
}

#[tokio::test]
async fn set_journey_personas_replaces_the_narrowing_and_bumps_the_version() {
    let app = TestApp::spawn().await;
    create_persona(&app, "dev", "DEV").await;
    create_persona(&app, "hobbyist", "DEV").await;
    with_journey(&app).await;

    let set = app
        .data(
            SET_PERSONAS,
            json!({ "i": { "journey": "funnel", "personas": ["hobbyist", "dev"] } }),
        )
        .await;
    assert_eq!(
        set["setJourneyPersonas"]["journey"],
        json!({ "version": 2, "personas": [{ "slug": "hobbyist" }, { "slug": "dev" }] })
    );
    let set = app
        .data(
            SET_PERSONAS,
            json!({ "i": { "journey": "funnel", "personas": ["dev"] } }),
        )
        .await;
    assert_eq!(
        set["setJourneyPersonas"]["journey"],
        json!({ "version": 3, "personas": [{ "slug": "dev" }] })
    );
    let set = app
        .data(
            SET_PERSONAS,
            json!({ "i": { "journey": "funnel", "personas": [] } }),
        )
        .await;
    assert_eq!(
        set["setJourneyPersonas"]["journey"],
        json!({ "version": 4, "personas": [] })
    );
}

#[tokio::test]
async fn update_journey_changes_the_given_fields_and_bumps_the_version() {
    let app = TestApp::spawn().await;
    app.data(CREATE, json!({ "i": { "slug": "funnel", "name": "Funnel", "description": "Old", "personaKind": "DEV" } }))
        .await;
    let updated = app
        .data(UPDATE, json!({ "i": { "slug": "funnel", "expectedVersion": 1, "name": "Renamed", "status": "ARCHIVED" } }))
        .await;
    assert_eq!(
        updated["updateJourney"]["journey"],
        json!({ "name": "Renamed", "description": "Old", "personaKind": "DEV", "status": "ARCHIVED", "version": 2 })
    );
    let updated = app
        .data(UPDATE, json!({ "i": { "slug": "funnel", "expectedVersion": 2, "description": null, "personaKind": "BUYER" } }))
        .await;
    assert_eq!(
        updated["updateJourney"]["journey"],
        json!({ "name": "Renamed", "description": null, "personaKind": "BUYER", "status": "ARCHIVED", "version": 3 })
    );
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_and_changes_nothing() {
    let app = TestApp::spawn().await;
    with_journey(&app).await;
    app.data(
        UPDATE,
        json!({ "i": { "slug": "funnel", "expectedVersion": 1, "name": "First edit" } }),
    )
    .await;
    let before = read(&app, "funnel").await;
    assert_eq!(before["version"], 2);

    let body = app
        .gql(
            UPDATE,
            json!({ "i": { "slug": "funnel", "expectedVersion": 1, "name": "Lost edit" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body:#}");
    let body = app
        .gql(
            ARCHIVE,
            json!({ "i": { "slug": "funnel", "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body:#}");
    assert_eq!(read(&app, "funnel").await, before);

    // A stage change is a change to the journey: an editor holding the old version is stale.
    app.data(
        ADD,
        json!({ "i": { "journey": "funnel", "key": "e", "name": "E" } }),
    )
    .await;
    let body = app
        .gql(
            UPDATE,
            json!({ "i": { "slug": "funnel", "expectedVersion": 2, "name": "Lost edit" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body:#}");
    assert_eq!(read(&app, "funnel").await["name"], "First edit");
}

#[tokio::test]
async fn invalid_journey_updates_are_rejected_and_change_nothing() {
    let app = TestApp::spawn().await;
    create_persona(&app, "dev", "DEV").await;
    with_journey(&app).await;
    app.data(
        SET_PERSONAS,
        json!({ "i": { "journey": "funnel", "personas": ["dev"] } }),
    )
    .await;
    let before = read(&app, "funnel").await;
    let version = before["version"].clone();

    let body = app
        .gql(
            UPDATE,
            json!({ "i": { "slug": "funnel", "expectedVersion": version, "name": "" } }),
        )
        .await;
    assert_bad_input(&body, "name");
    let body = app.gql(UPDATE, json!({ "i": { "slug": "funnel", "expectedVersion": version, "name": "n".repeat(201) } })).await;
    assert_bad_input(&body, "name");
    let body = app
        .gql(UPDATE, json!({ "i": { "slug": "funnel", "expectedVersion": version, "description": "d".repeat(10_001) } }))
        .await;
    assert_bad_input(&body, "description");
    // The journey is narrowed to a DEV persona, so it cannot become a BUYER journey.
    let body = app
        .gql(UPDATE, json!({ "i": { "slug": "funnel", "expectedVersion": version, "personaKind": "BUYER", "name": "New" } }))
        .await;
    let message = assert_bad_input(&body, "personaKind");
    assert!(message.contains("dev"), "{message}");
    assert_eq!(read(&app, "funnel").await, before);
}

#[tokio::test]
async fn archive_journey_marks_it_archived_and_keeps_it_readable() {
    let app = TestApp::spawn().await;
    with_journey(&app).await;
    let archived = app
        .data(ARCHIVE, json!({ "i": { "slug": "funnel" } }))
        .await;
    assert_eq!(
        archived["archiveJourney"]["journey"],
        json!({ "status": "ARCHIVED", "version": 2 })
    );
    let archived = app
        .data(
            ARCHIVE,
            json!({ "i": { "slug": "funnel", "expectedVersion": 2 } }),
        )
        .await;
    assert_eq!(
        archived["archiveJourney"]["journey"],
        json!({ "status": "ARCHIVED", "version": 3 })
    );
    assert_eq!(
        order(&read(&app, "funnel").await["stages"]),
        positions(&["a", "b", "c", "d"])
    );
}

#[tokio::test]
async fn unknown_slugs_and_ids_are_not_found() {
    let app = TestApp::spawn().await;
    let journey = with_journey(&app).await;
    let gone = stage_id(&journey, "d");
    app.data(REMOVE, json!({ "i": { "id": gone } })).await;
    let before = read(&app, "funnel").await;

    let calls = [
        (
            UPDATE,
            json!({ "slug": "nope", "expectedVersion": 1, "name": "X" }),
        ),
        (ARCHIVE, json!({ "slug": "nope" })),
        (DELETE, json!({ "slug": "nope" })),
        (SET_PERSONAS, json!({ "journey": "nope", "personas": [] })),
        (ADD, json!({ "journey": "nope", "key": "x", "name": "X" })),
        (REORDER, json!({ "journey": "nope", "keys": [] })),
        (UPDATE_STAGE, json!({ "id": gone, "name": "X" })),
        (MOVE, json!({ "id": gone, "position": 1 })),
        (REMOVE, json!({ "id": gone })),
        (
            UPDATE_STAGE,
            json!({ "id": id::encode("Stage", 9999).to_string(), "name": "X" }),
        ),
    ];
    for (query, input) in calls {
        let body = app.gql(query, json!({ "i": input })).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{query}: {body:#}");
    }
    assert_eq!(read(&app, "funnel").await, before);

    // An ID of another type is malformed input, not a missing stage.
    let body = app
        .gql(
            MOVE,
            json!({ "i": { "id": id::encode("Journey", 1).to_string(), "position": 1 } }),
        )
        .await;
    assert_bad_input(&body, "id");
}

#[tokio::test]
async fn adding_a_stage_appends_or_inserts_and_later_stages_move_down() {
    let app = TestApp::spawn().await;
    with_journey(&app).await;

    let added = app
        .data(
            ADD,
            json!({ "i": { "journey": "funnel", "key": "e", "name": "E", "goal": "Done" } }),
        )
        .await;
    let stage = &added["addStage"]["stage"];
    assert_eq!(
        (&stage["key"], &stage["position"], &stage["goal"]),
        (&json!("e"), &json!(5), &json!("Done"))
    );
    assert_eq!(stage["journey"]["version"], 2);

    let added = app
        .data(
            ADD,
            json!({ "i": { "journey": "funnel", "key": "x", "name": "X", "position": 2 } }),
        )
        .await;
    assert_eq!(added["addStage"]["stage"]["position"], 2);
    app.data(
        ADD,
        json!({ "i": { "journey": "funnel", "key": "first", "name": "First", "position": 1 } }),
    )
    .await;
    app.data(
        ADD,
        json!({ "i": { "journey": "funnel", "key": "last", "name": "Last", "position": 8 } }),
    )
    .await;

    let journey = read(&app, "funnel").await;
    assert_eq!(
        order(&journey["stages"]),
        positions(&["first", "a", "x", "b", "c", "d", "e", "last"])
    );
    assert_eq!(journey["version"], 5);
}

#[tokio::test]
async fn concurrent_stage_changes_keep_positions_without_gaps() {
    let app = TestApp::spawn().await;
    let journey = with_journey(&app).await;
    let (a, d) = (stage_id(&journey, "a"), stage_id(&journey, "d"));
    let adds = (0..6).map(|i| app.gql(ADD, json!({ "i": { "journey": "funnel", "key": format!("n{i}"), "name": "N", "position": 1 } })));
    let moves = [
        app.gql(MOVE, json!({ "i": { "id": a, "position": 2 } })),
        app.gql(MOVE, json!({ "i": { "id": d, "position": 1 } })),
    ];
    let (adds, moves) = tokio::join!(
        futures_util::future::join_all(adds),
        futures_util::future::join_all(moves)
    );
    for body in adds.iter().chain(&moves) {
        assert!(body.get("errors").is_none(), "{body:#}");
    }
    let journey = read(&app, "funnel").await;
    let stages = order(&journey["stages"]);
    assert_eq!(
        stages.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(journey["version"], 9);
}

#[tokio::test]
async fn invalid_stages_are_rejected_naming_the_field_and_change_nothing() {
    let app = TestApp::spawn().await;
    let before = with_journey(&app).await;
    let cases = [
        (json!({ "key": "e", "name": "" }), "name"),
        (json!({ "key": "e", "name": "n".repeat(201) }), "name"),
        (json!({ "key": "Bad Key", "name": "E" }), "key"),
        (
            json!({ "key": "e", "name": "E", "goal": "g".repeat(2001) }),
            "goal",
        ),
        (
            json!({ "key": "e", "name": "E", "position": 0 }),
            "position",
        ),
        (
            json!({ "key": "e", "name": "E", "position": 6 }),
            "position",
        ),
    ];
    for (mut input, field) in cases {
        input["journey"] = json!("funnel");
        let body = app.gql(ADD, json!({ "i": input })).await;
        let message = assert_bad_input(&body, field);
        if field == "position" {
            assert!(message.contains("between 1 and 5"), "{message}");
        }
    }

    let b = stage_id(&before, "b");
    for (input, field) in [
        (json!({ "id": b, "name": " " }), "name"),
        (
            json!({ "id": b, "exitCriteria": "e".repeat(2001) }),
            "exitCriteria",
        ),
        (json!({ "id": "not-an-id", "name": "B" }), "id"),
    ] {
        let body = app.gql(UPDATE_STAGE, json!({ "i": input })).await;
        assert_bad_input(&body, field);
    }
    for position in [0, 5, -1] {
        let body = app
            .gql(MOVE, json!({ "i": { "id": b, "position": position } }))
            .await;
        let message = assert_bad_input(&body, "position");
        assert!(message.contains("between 1 and 4"), "{message}");
    }
    assert_eq!(read(&app, "funnel").await, before);
}

#[tokio::test]
async fn a_duplicate_stage_key_is_a_conflict_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let before = with_journey(&app).await;
    for position in [json!(null), json!(1)] {
        let body = app.gql(ADD, json!({ "i": { "journey": "funnel", "key": "c", "name": "C again", "position": position } })).await;
        assert_eq!(error_code(&body), "CONFLICT", "{body:#}");
    }
    assert_eq!(read(&app, "funnel").await, before);

    // The same key in another journey is fine.
    app.data(
        CREATE,
        json!({ "i": { "slug": "other", "name": "Other", "personaKind": "BUYER" } }),
    )
    .await;
    app.data(
        ADD,
        json!({ "i": { "journey": "other", "key": "c", "name": "C" } }),
    )
    .await;
}

#[tokio::test]
async fn update_stage_changes_the_given_fields_and_bumps_the_journey_version() {
    let app = TestApp::spawn().await;
    app.data(
        CREATE,
        json!({ "i": { "slug": "funnel", "name": "Funnel", "personaKind": "DEV",
                       "stages": [{ "key": "a", "name": "A", "goal": "G", "entryCriteria": "In", "exitCriteria": "Out" }] } }),
    )
    .await;
    let a = stage_id(&read(&app, "funnel").await, "a");
    let updated = app
        .data(
            UPDATE_STAGE,
            json!({ "i": { "id": a, "name": "Aware", "goal": null, "exitCriteria": "Signed up" } }),
        )
        .await;
    assert_eq!(
        updated["updateStage"]["stage"],
        json!({ "key": "a", "name": "Aware", "position": 1, "goal": null, "entryCriteria": "In", "exitCriteria": "Signed up" })
    );
    assert_eq!(read(&app, "funnel").await["version"], 2);
}

#[tokio::test]
async fn moving_a_stage_renumbers_the_stages_between() {
    let app = TestApp::spawn().await;
    let journey = with_journey(&app).await;
    let (b, d) = (stage_id(&journey, "b"), stage_id(&journey, "d"));

    let moved = app
        .data(MOVE, json!({ "i": { "id": d, "position": 1 } }))
        .await;
    assert_eq!(
        order(&moved["moveStage"]["journey"]["stages"]),
        positions(&["d", "a", "b", "c"])
    );
    assert_eq!(moved["moveStage"]["journey"]["version"], 2);

    let moved = app
        .data(MOVE, json!({ "i": { "id": b, "position": 4 } }))
        .await;
    assert_eq!(
        order(&moved["moveStage"]["journey"]["stages"]),
        positions(&["d", "a", "c", "b"])
    );

    let moved = app
        .data(MOVE, json!({ "i": { "id": b, "position": 4 } }))
        .await;
    assert_eq!(
        order(&moved["moveStage"]["journey"]["stages"]),
        positions(&["d", "a", "c", "b"])
    );

    let moved = app
        .data(MOVE, json!({ "i": { "id": d, "position": 3 } }))
        .await;
    assert_eq!(
        order(&moved["moveStage"]["journey"]["stages"]),
        positions(&["a", "c", "d", "b"])
    );
    assert_eq!(
        order(&read(&app, "funnel").await["stages"]),
        positions(&["a", "c", "d", "b"])
    );
}

#[tokio::test]
async fn reordering_stages_applies_the_whole_order_at_once() {
    let app = TestApp::spawn().await;
    with_journey(&app).await;
    let reordered = app
        .data(
            REORDER,
            json!({ "i": { "journey": "funnel", "keys": ["d", "c", "b", "a"] } }),
        )
        .await;
    assert_eq!(
        order(&reordered["reorderStages"]["journey"]["stages"]),
        positions(&["d", "c", "b", "a"])
    );
    assert_eq!(reordered["reorderStages"]["journey"]["version"], 2);
    let reordered = app
        .data(
            REORDER,
            json!({ "i": { "journey": "funnel", "keys": ["c", "d", "a", "b"] } }),
        )
        .await;
    assert_eq!(
        order(&reordered["reorderStages"]["journey"]["stages"]),
        positions(&["c", "d", "a", "b"])
    );
    assert_eq!(
        order(&read(&app, "funnel").await["stages"]),
        positions(&["c", "d", "a", "b"])
    );
}

#[tokio::test]
async fn a_reorder_list_that_is_not_a_permutation_is_rejected_naming_the_key() {
    let app = TestApp::spawn().await;
    let before = with_journey(&app).await;
    let cases = [
        (json!(["a", "b", "c"]), "missing", "d"),
        (json!(["a", "b", "c", "d", "e"]), "unknown", "e"),
        (json!(["a", "b", "zzz", "d"]), "unknown", "zzz"),
        (json!(["a", "b", "b", "c", "d"]), "repeats", "b"),
        (json!(["a", "a", "c", "d"]), "repeats", "a"),
        (json!([]), "missing", "a"),
    ];
    for (keys, rule, key) in cases {
        let body = app
            .gql(
                REORDER,
                json!({ "i": { "journey": "funnel", "keys": keys } }),
            )
            .await;
        let message = assert_bad_input(&body, "keys");
        assert!(
            message.contains(rule) && message.ends_with(key),
            "{keys}: {message}"
        );
    }
    assert_eq!(read(&app, "funnel").await, before);
}

#[tokio::test]
async fn removing_a_stage_closes_the_gap() {
    let app = TestApp::spawn().await;
    let journey = with_journey(&app).await;
    let b = stage_id(&journey, "b");
    let removed = app.data(REMOVE, json!({ "i": { "id": b } })).await;
    assert_eq!(removed["removeStage"]["deletedId"], b);
    let journey = read(&app, "funnel").await;
    assert_eq!(order(&journey["stages"]), positions(&["a", "c", "d"]));
    assert_eq!(journey["version"], 2);

    app.data(REMOVE, json!({ "i": { "id": stage_id(&journey, "d") } }))
        .await;
    app.data(REMOVE, json!({ "i": { "id": stage_id(&journey, "a") } }))
        .await;
    assert_eq!(
        order(&read(&app, "funnel").await["stages"]),
        positions(&["c"])
    );
    app.data(
        ADD,
        json!({ "i": { "journey": "funnel", "key": "b", "name": "B again", "position": 1 } }),
    )
    .await;
    assert_eq!(
        order(&read(&app, "funnel").await["stages"]),
        positions(&["b", "c"])
    );
}

#[tokio::test]
async fn deleting_a_journey_removes_its_stages_owners_and_links() {
    let app = TestApp::spawn().await;
    let journey = with_journey(&app).await;
    app.data(CREATE, json!({ "i": { "slug": "other", "name": "Other", "personaKind": "DEV", "stages": [{ "key": "a", "name": "A" }] } }))
        .await;
    let journey_id = id::decode(&journey_id_of(&app, "funnel").await).unwrap().1;
    let stage = id::decode(&stage_id(&journey, "a").into()).unwrap().1;
    let now = Utc::now();
    let team = team::ActiveModel {
        slug: Set("growth".into()),
        name: Set("Growth".into()),
        department: Set(enums::Department::Marketing),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    stage_ownership::ActiveModel {
        stage_id: Set(stage),
        team_id: Set(team.id),
        responsibility: Set(enums::Responsibility::Accountable),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    for (subject_type, subject_id) in [
        (enums::SubjectType::Journey, journey_id),
        (enums::SubjectType::Stage, stage),
    ] {
        external_link::ActiveModel {
            subject_type: Set(subject_type),
            subject_id: Set(subject_id),
            label: Set("Deck".into()),
            url: Set("https://example.com/deck".into()),
            kind: Set(enums::LinkKind::Slides),
            access: Set(enums::LinkAccess::Internal),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .unwrap();
    }

    let deleted = app.data(DELETE, json!({ "i": { "slug": "funnel" } })).await;
    assert_eq!(
        deleted["deleteJourney"]["deletedId"],
        id::encode("Journey", journey_id).to_string()
    );
    assert!(app.data(JOURNEY, json!({ "s": "funnel" })).await["journey"].is_null());
    let left = journey_stage::Entity::find()
        .filter(journey_stage::Column::JourneyId.eq(journey_id))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(
        stage_ownership::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        external_link::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    // Other journeys and teams are untouched.
    assert_eq!(
        order(&read(&app, "other").await["stages"]),
        positions(&["a"])
    );
    assert_eq!(team::Entity::find().count(&app.db).await.unwrap(), 1);
}

async fn journey_id_of(app: &TestApp, slug: &str) -> async_graphql::ID {
    let data = app
        .data(
            "query($s: String!) { journey(slug: $s) { id } }",
            json!({ "s": slug }),
        )
        .await;
    data["journey"]["id"].as_str().unwrap().to_owned().into()
}
