//! Team, person and membership mutations.

use crate::helpers::{TestApp, error_code};
use crate::ownership::{
    add_member, assert_every_dri_is_a_member, assign, assign_ok, create_person, create_team,
    journey_with_stages, owners,
};
use entity::{enums, external_link};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};

const CREATE_TEAM: &str = "mutation($i: CreateTeamInput!) { createTeam(input: $i) {
    team { id slug name department description version } } }";

const UPDATE_TEAM: &str = "mutation($i: UpdateTeamInput!) { updateTeam(input: $i) {
    team { slug name department description version } } }";

const DELETE_TEAM: &str = "mutation($i: DeleteTeamInput!) { deleteTeam(input: $i) { deletedId } }";

const CREATE_PERSON: &str = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { person { id slug name email } } }";

const UPDATE_PERSON: &str =
    "mutation($i: UpdatePersonInput!) { updatePerson(input: $i) { person { slug name email } } }";

const DELETE_PERSON: &str =
    "mutation($i: DeletePersonInput!) { deletePerson(input: $i) { deletedId } }";

const ADD_MEMBER: &str = "mutation($i: AddTeamMemberInput!) { addTeamMember(input: $i) {
    member { id role team { slug } person { slug } } } }";

const CHANGE_ROLE: &str =
    "mutation($i: ChangeTeamMemberRoleInput!) { changeTeamMemberRole(input: $i) {
    member { id role } } }";

const REMOVE_MEMBER: &str =
    "mutation($i: RemoveTeamMemberInput!) { removeTeamMember(input: $i) { deletedId } }";

const READ_TEAM: &str = "query($s: String!) { team(slug: $s) { name department description version
    members { role person { slug } } } }";

/// The `extensions.field` of the first error.
fn error_field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or("<no field>")
}

async fn read_team(app: &TestApp, slug: &str) -> Value {
    app.data(READ_TEAM, json!({ "s": slug })).await["team"].clone()
}

async fn team_count(app: &TestApp) -> u64 {
    entity::team::Entity::find().count(&app.db).await.unwrap()
}

async fn person_count(app: &TestApp) -> u64 {
    entity::person::Entity::find().count(&app.db).await.unwrap()
}

#[tokio::test]
async fn a_team_is_created_updated_and_read_back() {
    let app = TestApp::spawn().await;
    let created = app
        .data(
            CREATE_TEAM,
            json!({ "i": { "slug": "product-marketing", "name": "  Product Marketing ", "department": "MARKETING",
                           "description": "Positioning" } }),
        )
        .await;
    let team = &created["createTeam"]["team"];
    assert_eq!(team["name"], "Product Marketing");
    assert_eq!(team["version"], 1);

    let updated = app
        .data(
            UPDATE_TEAM,
            json!({ "i": { "slug": "product-marketing", "expectedVersion": 1, "name": "PMM", "department": "PRODUCT" } }),
        )
        .await;
    assert_eq!(
        updated["updateTeam"]["team"],
        json!({ "slug": "product-marketing", "name": "PMM", "department": "PRODUCT", "description": "Positioning", "version": 2 })
    );
    // Null clears the description; leaving a field out keeps it.
    app.data(
        UPDATE_TEAM,
        json!({ "i": { "slug": "product-marketing", "expectedVersion": 2, "description": null } }),
    )
    .await;
    assert_eq!(
        read_team(&app, "product-marketing").await,
        json!({ "name": "PMM", "department": "PRODUCT", "description": null, "version": 3, "members": [] })
    );
    let node = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Team { slug } } }",
            json!({ "id": team["id"] }),
        )
        .await;
    assert_eq!(node["node"]["slug"], "product-marketing");
}

#[tokio::test]
async fn invalid_team_input_is_bad_user_input_naming_the_field_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let long = "x".repeat(201);
    let cases = [
        (
            json!({ "slug": "ok", "name": "   ", "department": "SALES" }),
            "name",
        ),
        (
            json!({ "slug": "ok", "name": long, "department": "SALES" }),
            "name",
        ),
        (
            json!({ "slug": "Not A Slug", "name": "Team", "department": "SALES" }),
            "slug",
        ),
        (
            json!({ "slug": "trailing-", "name": "Team", "department": "SALES" }),
            "slug",
        ),
        (
            json!({ "slug": "ok", "name": "Team", "department": "SALES", "description": "x".repeat(10_001) }),
            "description",
        ),
    ];
    for (input, field) in cases {
        let body = app.gql(CREATE_TEAM, json!({ "i": input })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
        assert_eq!(error_field(&body), field, "{body:#}");
    }
    assert_eq!(team_count(&app).await, 0);

    create_team(&app, "pm").await;
    let body = app
        .gql(
            UPDATE_TEAM,
            json!({ "i": { "slug": "pm", "expectedVersion": 1, "name": "" } }),
        )
        .await;
    assert_eq!(
        (error_code(&body), error_field(&body)),
        ("BAD_USER_INPUT", "name")
    );
    assert_eq!(read_team(&app, "pm").await["version"], 1);
}

#[tokio::test]
async fn a_taken_team_slug_is_a_conflict() {
    let app = TestApp::spawn().await;
    create_team(&app, "pm").await;
    let body = app
        .gql(
            CREATE_TEAM,
            json!({ "i": { "slug": "pm", "name": "Other", "department": "SALES" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert_eq!(team_count(&app).await, 1);
    assert_eq!(read_team(&app, "pm").await["name"], "Team pm");
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_and_changes_nothing() {
    let app = TestApp::spawn().await;
    create_team(&app, "pm").await;
    app.data(
        UPDATE_TEAM,
        json!({ "i": { "slug": "pm", "expectedVersion": 1, "name": "First" } }),
    )
    .await;
    let before = read_team(&app, "pm").await;
    let body = app
        .gql(UPDATE_TEAM, json!({ "i": { "slug": "pm", "expectedVersion": 1, "name": "Second", "department": "SALES" } }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("current version 2"),
        "{body:#}"
    );
    assert_eq!(read_team(&app, "pm").await, before);
}

#[tokio::test]
async fn unknown_teams_and_people_are_not_found() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            UPDATE_TEAM,
            json!({ "slug": "nope", "expectedVersion": 1, "name": "X" }),
        ),
        (DELETE_TEAM, json!({ "slug": "nope" })),
        (UPDATE_PERSON, json!({ "slug": "nope", "name": "X" })),
        (DELETE_PERSON, json!({ "slug": "nope" })),
    ];
    for (query, input) in cases {
        let body = app.gql(query, json!({ "i": input })).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");
    }
}

#[tokio::test]
async fn deleting_a_team_removes_its_memberships_ownerships_alignments_and_links_but_not_its_people()
 {
    let app = TestApp::spawn().await;
    journey_with_stages(&app, "j", &["a"]).await;
    create_team(&app, "pm").await;
    create_team(&app, "eng").await;
    create_person(&app, "ann").await;
    add_member(&app, "pm", "ann").await;
    assign_ok(&app, json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "ACCOUNTABLE", "dri": "ann" })).await;
    let pm = entity::team::Entity::find()
        .filter(entity::team::Column::Slug.eq("pm"))
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
    for subject in [pm.id, eng.id] {
        external_link::ActiveModel {
            subject_type: Set(enums::SubjectType::Team),
            subject_id: Set(subject),
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

    let data = app
        .data(DELETE_TEAM, json!({ "i": { "slug": "pm" } }))
        .await;
    assert!(data["deleteTeam"]["deletedId"].is_string());
    let read = app
        .data(
            r#"{ team(slug: "pm") { slug } person(slug: "ann") { slug memberships { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        read,
        json!({ "team": null, "person": { "slug": "ann", "memberships": [] } })
    );
    assert_eq!(owners(&app, "j").await, (3, json!([["a", []]])));
    let links: Vec<i32> = external_link::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.subject_id)
        .collect();
    assert_eq!(links, vec![eng.id], "only the other team's link remains");
}

#[tokio::test]
async fn a_person_is_created_updated_and_deleted() {
    let app = TestApp::spawn().await;
    let created = app
        .data(
            CREATE_PERSON,
            json!({ "i": { "slug": "ann", "name": "Ann", "email": "ann@example.com" } }),
        )
        .await;
    assert_eq!(
        created["createPerson"]["person"]["email"],
        "ann@example.com"
    );
    let id = created["createPerson"]["person"]["id"].clone();

    let updated = app
        .data(
            UPDATE_PERSON,
            json!({ "i": { "slug": "ann", "name": "Ann Lee" } }),
        )
        .await;
    assert_eq!(
        updated["updatePerson"]["person"],
        json!({ "slug": "ann", "name": "Ann Lee", "email": "ann@example.com" })
    );
    let cleared = app
        .data(
            UPDATE_PERSON,
            json!({ "i": { "slug": "ann", "email": null } }),
        )
        .await;
    assert_eq!(
        cleared["updatePerson"]["person"],
        json!({ "slug": "ann", "name": "Ann Lee", "email": null })
    );

    let deleted = app
        .data(DELETE_PERSON, json!({ "i": { "slug": "ann" } }))
        .await;
    assert_eq!(deleted["deletePerson"]["deletedId"], id);
    assert_eq!(
        app.data(r#"{ person(slug: "ann") { slug } }"#, json!({}))
            .await,
        json!({ "person": null })
    );
}

#[tokio::test]
async fn invalid_person_input_is_bad_user_input_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({ "slug": "ann", "name": "Ann", "email": "not-an-email" }),
            "email",
        ),
        (
            json!({ "slug": "ann", "name": "Ann", "email": "ann@localhost" }),
            "email",
        ),
        (json!({ "slug": "ann", "name": "" }), "name"),
        (json!({ "slug": "ann", "name": "x".repeat(201) }), "name"),
        (json!({ "slug": "Ann_Lee", "name": "Ann" }), "slug"),
    ];
    for (input, field) in cases {
        let body = app.gql(CREATE_PERSON, json!({ "i": input })).await;
        assert_eq!(
            (error_code(&body), error_field(&body)),
            ("BAD_USER_INPUT", field),
            "{body:#}"
        );
    }
    assert_eq!(person_count(&app).await, 0);

    app.data(
        CREATE_PERSON,
        json!({ "i": { "slug": "ann", "name": "Ann", "email": "ann@example.com" } }),
    )
    .await;
    let body = app
        .gql(
            UPDATE_PERSON,
            json!({ "i": { "slug": "ann", "name": "Ann 2", "email": "a b@c.d" } }),
        )
        .await;
    assert_eq!(
        (error_code(&body), error_field(&body)),
        ("BAD_USER_INPUT", "email")
    );
    let read = app
        .data(r#"{ person(slug: "ann") { name email } }"#, json!({}))
        .await;
    assert_eq!(
        read,
        json!({ "person": { "name": "Ann", "email": "ann@example.com" } })
    );
}

#[tokio::test]
async fn a_taken_person_slug_is_a_conflict() {
    let app = TestApp::spawn().await;
    create_person(&app, "ann").await;
    let body = app
        .gql(
            CREATE_PERSON,
            json!({ "i": { "slug": "ann", "name": "Another Ann" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert_eq!(person_count(&app).await, 1);
}

#[tokio::test]
async fn members_are_added_as_members_by_default_promoted_and_removed() {
    let app = TestApp::spawn().await;
    create_team(&app, "pm").await;
    create_person(&app, "ann").await;
    create_person(&app, "bob").await;
    let added = app
        .data(
            ADD_MEMBER,
            json!({ "i": { "team": "pm", "person": "ann" } }),
        )
        .await;
    let member = &added["addTeamMember"]["member"];
    assert_eq!(
        (
            member["role"].as_str(),
            member["team"]["slug"].as_str(),
            member["person"]["slug"].as_str()
        ),
        (Some("MEMBER"), Some("pm"), Some("ann"))
    );
    app.data(
        ADD_MEMBER,
        json!({ "i": { "team": "pm", "person": "bob", "role": "LEAD" } }),
    )
    .await;

    let changed = app
        .data(
            CHANGE_ROLE,
            json!({ "i": { "team": "pm", "person": "ann", "role": "LEAD" } }),
        )
        .await;
    assert_eq!(
        changed["changeTeamMemberRole"]["member"],
        json!({ "id": member["id"], "role": "LEAD" })
    );
    assert_eq!(
        read_team(&app, "pm").await["members"],
        json!([{ "role": "LEAD", "person": { "slug": "ann" } }, { "role": "LEAD", "person": { "slug": "bob" } }])
    );

    let removed = app
        .data(
            REMOVE_MEMBER,
            json!({ "i": { "team": "pm", "person": "ann" } }),
        )
        .await;
    assert_eq!(removed["removeTeamMember"]["deletedId"], member["id"]);
    assert_eq!(
        read_team(&app, "pm").await["members"],
        json!([{ "role": "LEAD", "person": { "slug": "bob" } }])
    );
    let ann = app
        .data(
            r#"{ person(slug: "ann") { memberships { id } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(ann["person"]["memberships"], json!([]));
}

#[tokio::test]
async fn adding_a_member_twice_is_a_conflict() {
    let app = TestApp::spawn().await;
    create_team(&app, "pm").await;
    create_person(&app, "ann").await;
    add_member(&app, "pm", "ann").await;
    let body = app
        .gql(
            ADD_MEMBER,
            json!({ "i": { "team": "pm", "person": "ann", "role": "LEAD" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert_eq!(
        read_team(&app, "pm").await["members"],
        json!([{ "role": "MEMBER", "person": { "slug": "ann" } }])
    );
}

#[tokio::test]
async fn membership_changes_with_unknown_teams_people_or_memberships_are_not_found() {
    let app = TestApp::spawn().await;
    create_team(&app, "pm").await;
    create_person(&app, "ann").await;
    let cases = [
        (ADD_MEMBER, json!({ "team": "nope", "person": "ann" })),
        (ADD_MEMBER, json!({ "team": "pm", "person": "nope" })),
        (
            CHANGE_ROLE,
            json!({ "team": "pm", "person": "ann", "role": "LEAD" }),
        ),
        (REMOVE_MEMBER, json!({ "team": "pm", "person": "ann" })),
        (REMOVE_MEMBER, json!({ "team": "nope", "person": "ann" })),
    ];
    for (query, input) in cases {
        let body = app.gql(query, json!({ "i": input })).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body:#}");
    }
    assert_eq!(read_team(&app, "pm").await["members"], json!([]));
}

#[tokio::test]
async fn removing_a_member_clears_their_dri_assignments_for_that_team_only() {
    let app = TestApp::spawn().await;
    journey_with_stages(&app, "j", &["a", "b"]).await;
    create_team(&app, "pm").await;
    create_team(&app, "eng").await;
    create_person(&app, "ann").await;
    add_member(&app, "pm", "ann").await;
    add_member(&app, "eng", "ann").await;
    assign_ok(&app, json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "ACCOUNTABLE", "dri": "ann" })).await;
    assign_ok(&app, json!({ "journey": "j", "stage": "b", "team": "pm", "responsibility": "RESPONSIBLE", "dri": "ann" })).await;
    assign_ok(&app, json!({ "journey": "j", "stage": "b", "team": "eng", "responsibility": "ACCOUNTABLE", "dri": "ann" })).await;
    assert_eq!(owners(&app, "j").await.0, 4);

    app.data(
        REMOVE_MEMBER,
        json!({ "i": { "team": "pm", "person": "ann" } }),
    )
    .await;
    let (version, stages) = owners(&app, "j").await;
    assert_eq!(version, 5);
    assert_eq!(
        stages,
        json!([
            ["a", [["pm", "ACCOUNTABLE", null]]],
            [
                "b",
                [["pm", "RESPONSIBLE", null], ["eng", "ACCOUNTABLE", "ann"]]
            ],
        ])
    );
}

#[tokio::test]
async fn deleting_a_person_clears_their_dri_assignments_and_memberships() {
    let app = TestApp::spawn().await;
    journey_with_stages(&app, "j", &["a"]).await;
    create_team(&app, "pm").await;
    create_person(&app, "ann").await;
    add_member(&app, "pm", "ann").await;
    assign_ok(&app, json!({ "journey": "j", "stage": "a", "team": "pm", "responsibility": "ACCOUNTABLE", "dri": "ann" })).await;
    app.data(DELETE_PERSON, json!({ "i": { "slug": "ann" } }))
        .await;
    assert_eq!(
        owners(&app, "j").await,
        (3, json!([["a", [["pm", "ACCOUNTABLE", null]]]]))
    );
    assert_eq!(read_team(&app, "pm").await["members"], json!([]));
}

#[tokio::test]
async fn a_person_deleted_while_being_made_a_dri_never_stays_a_dri() {
    let keys: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let app = TestApp::spawn().await;
    journey_with_stages(&app, "j", &key_refs).await;
    create_team(&app, "pm").await;
    for (i, key) in keys.iter().enumerate() {
        let person = format!("p{i}");
        create_person(&app, &person).await;
        add_member(&app, "pm", &person).await;
        let (deleted, assigned) = tokio::join!(
            app.gql(DELETE_PERSON, json!({ "i": { "slug": person } })),
            assign(
                &app,
                json!({ "journey": "j", "stage": key, "team": "pm", "responsibility": "RESPONSIBLE", "dri": person }),
            ),
        );
        assert!(deleted.get("errors").is_none(), "{deleted:#}");
        // Either the assignment came first and the deletion then cleared its DRI, or it came
        // second and found no person, or no membership.
        if assigned.get("errors").is_some() {
            assert!(
                ["NOT_FOUND", "BAD_USER_INPUT"].contains(&error_code(&assigned)),
                "{assigned:#}"
            );
        }
        assert_every_dri_is_a_member(&app).await;
    }
    assert_eq!(person_count(&app).await, 0);
}
