//! Personas, roles and links: reads, lists, and validated mutations that leave nothing behind
//! when they fail.

use crate::helpers::{TestApp, error_code};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreatePersonaInput!) { createPersona(input: $i) { persona { id slug version } } }";
const UPDATE: &str = "mutation($i: UpdatePersonaInput!) { updatePersona(input: $i) { persona { name summary version } } }";
const SNAPSHOT: &str = "{ personas(first: 100) { totalCount nodes { slug name kind status summary version roles { title } links { kind to { slug } } } } }";

async fn create(app: &TestApp, slug: &str, name: &str, kind: &str) -> Value {
    app.data(
        CREATE,
        json!({ "i": { "slug": slug, "name": name, "kind": kind } }),
    )
    .await["createPersona"]["persona"]
        .clone()
}

async fn snapshot(app: &TestApp) -> Value {
    app.data(SNAPSHOT, json!({})).await
}

async fn seeded_pair(app: &TestApp) {
    app.data(
        CREATE,
        json!({ "i": { "slug": "dev", "name": "Dev", "kind": "DEV", "summary": "Any developer", "roles": ["Engineer"] } }),
    )
    .await;
    create(app, "head-of-engineering", "Head of Engineering", "BUYER").await;
}

#[tokio::test]
async fn invalid_persona_input_is_rejected_naming_the_field_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    seeded_pair(&app).await;
    let before = snapshot(&app).await;
    let long = "x".repeat(201);
    let cases = [
        (
            json!({ "slug": "new", "name": "   ", "kind": "DEV" }),
            "name",
            "must not be empty",
        ),
        (
            json!({ "slug": "new", "name": long, "kind": "DEV" }),
            "name",
            "at most 200",
        ),
        (
            json!({ "slug": "Not A Slug", "name": "N", "kind": "DEV" }),
            "slug",
            "kebab-case",
        ),
        (
            json!({ "slug": "trailing-", "name": "N", "kind": "DEV" }),
            "slug",
            "kebab-case",
        ),
        (
            json!({ "slug": "new", "name": "N", "kind": "DEV", "sourceUrl": "ftp://x" }),
            "sourceUrl",
            "http",
        ),
        (
            json!({ "slug": "new", "name": "N", "kind": "DEV", "roles": ["SRE", "sre"] }),
            "roles[1]",
            "repeat",
        ),
        (
            json!({ "slug": "new", "name": "N", "kind": "DEV", "painPoints": [""] }),
            "painPoints[0]",
            "empty",
        ),
    ];
    for (input, field, rule) in cases {
        let body = app.gql(CREATE, json!({ "i": input })).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains(rule),
            "{message} should name the rule {rule}"
        );
    }
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn an_unknown_enum_value_is_bad_user_input() {
    let app = TestApp::spawn().await;
    let body = app
        .gql(
            CREATE,
            json!({ "i": { "slug": "x", "name": "X", "kind": "ALIEN" } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ALIEN"),
        "{body}"
    );
    let inline = app.gql(r#"mutation { createPersona(input: {slug: "x", name: "X", kind: ALIEN}) { persona { slug } } }"#, json!({})).await;
    assert_eq!(error_code(&inline), "BAD_USER_INPUT", "{inline}");
    assert_eq!(snapshot(&app).await["personas"]["totalCount"], 0);
}

#[tokio::test]
async fn a_duplicate_slug_is_a_conflict_and_the_existing_persona_is_untouched() {
    let app = TestApp::spawn().await;
    seeded_pair(&app).await;
    let before = snapshot(&app).await;
    let body = app
        .gql(
            CREATE,
            json!({ "i": { "slug": "dev", "name": "Another", "kind": "BUYER" } }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn an_update_with_a_stale_version_is_a_conflict_and_changes_nothing() {
    let app = TestApp::spawn().await;
    seeded_pair(&app).await;
    let first = app
        .data(
            UPDATE,
            json!({ "i": { "slug": "dev", "expectedVersion": 1, "name": "Developer" } }),
        )
        .await;
    assert_eq!(
        first["updatePersona"]["persona"],
        json!({ "name": "Developer", "summary": "Any developer", "version": 2 })
    );
    let before = snapshot(&app).await;
    let stale = app
        .gql(
            UPDATE,
            json!({ "i": { "slug": "dev", "expectedVersion": 1, "name": "Lost update" } }),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT", "{stale}");
    assert!(
        stale["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("version 2"),
        "{stale}"
    );
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn an_update_can_clear_an_optional_field_and_leaves_omitted_fields_alone() {
    let app = TestApp::spawn().await;
    seeded_pair(&app).await;
    let data = app
        .data(
            UPDATE,
            json!({ "i": { "slug": "dev", "expectedVersion": 1, "summary": null } }),
        )
        .await;
    assert_eq!(
        data["updatePersona"]["persona"],
        json!({ "name": "Dev", "summary": null, "version": 2 })
    );
}

#[tokio::test]
async fn updating_an_unknown_persona_is_not_found() {
    let app = TestApp::spawn().await;
    let body = app
        .gql(
            UPDATE,
            json!({ "i": { "slug": "nobody", "expectedVersion": 1, "name": "N" } }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
}

#[tokio::test]
async fn archiving_keeps_the_persona_readable_and_deleting_removes_its_roles() {
    let app = TestApp::spawn().await;
    seeded_pair(&app).await;
    let archived = app
        .data(
            r#"mutation { archivePersona(input: {slug: "dev"}) { persona { status version } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        archived["archivePersona"]["persona"],
        json!({ "status": "ARCHIVED", "version": 2 })
    );
    let deleted = app
        .data(
            r#"mutation { deletePersona(input: {slug: "dev"}) { deletedId } }"#,
            json!({}),
        )
        .await;
    assert!(deleted["deletePersona"]["deletedId"].is_string());
    assert_eq!(
        app.data(r#"{ persona(slug: "dev") { slug } }"#, json!({}))
            .await,
        json!({ "persona": null })
    );
    assert_eq!(
        entity::role::Entity::find().count(&app.db).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn roles_are_unique_per_persona_ignoring_case() {
    let app = TestApp::spawn().await;
    seeded_pair(&app).await;
    let add = "mutation($i: AddRoleInput!) { addRole(input: $i) { role { title sortOrder } } }";
    let added = app
        .data(add, json!({ "i": { "persona": "dev", "title": "SRE" } }))
        .await;
    assert_eq!(
        added["addRole"]["role"],
        json!({ "title": "SRE", "sortOrder": 2 })
    );
    let dup = app
        .gql(
            add,
            json!({ "i": { "persona": "dev", "title": "engineer" } }),
        )
        .await;
    assert_eq!(error_code(&dup), "CONFLICT", "{dup}");
    let roles = app
        .data(r#"{ persona(slug: "dev") { roles { title } } }"#, json!({}))
        .await;
    assert_eq!(
        roles["persona"]["roles"],
        json!([{ "title": "Engineer" }, { "title": "SRE" }])
    );
}

#[tokio::test]
async fn personas_link_to_other_personas_but_not_to_themselves() {
    let app = TestApp::spawn().await;
    seeded_pair(&app).await;
    let link = "mutation($i: LinkPersonasInput!) { linkPersonas(input: $i) { link { kind from { slug } to { slug } } } }";
    let made = app
        .data(
            link,
            json!({ "i": { "from": "head-of-engineering", "to": "dev", "kind": "INFLUENCES" } }),
        )
        .await;
    assert_eq!(
        made["linkPersonas"]["link"],
        json!({ "kind": "INFLUENCES", "from": { "slug": "head-of-engineering" }, "to": { "slug": "dev" } })
    );
    let before = snapshot(&app).await;
    let again = app
        .gql(
            link,
            json!({ "i": { "from": "head-of-engineering", "to": "dev", "kind": "INFLUENCES" } }),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT", "{again}");
    let selfie = app
        .gql(
            link,
            json!({ "i": { "from": "dev", "to": "dev", "kind": "INFLUENCES" } }),
        )
        .await;
    assert_eq!(error_code(&selfie), "BAD_USER_INPUT", "{selfie}");
    let unknown = app
        .gql(
            link,
            json!({ "i": { "from": "dev", "to": "ghost", "kind": "INFLUENCES" } }),
        )
        .await;
    assert_eq!(error_code(&unknown), "NOT_FOUND", "{unknown}");
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn the_persona_list_filters_orders_and_pages_in_sql() {
    let app = TestApp::spawn().await;
    for (i, (slug, kind)) in [
        ("alpha", "DEV"),
        ("bravo", "BUYER"),
        ("charlie", "BUYER"),
        ("delta", "BUYER"),
        ("echo", "ADMIN"),
    ]
    .iter()
    .enumerate()
    {
        app.data(
            CREATE,
            json!({ "i": { "slug": slug, "name": slug.to_uppercase(), "kind": kind, "sortOrder": 10 - i as i32 } }),
        )
        .await;
    }
    let list = "query($f: PersonaFilter, $o: PersonaOrder, $first: Int, $after: String, $last: Int, $before: String) {
        personas(filter: $f, orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
          totalCount pageInfo { hasNextPage hasPreviousPage endCursor startCursor } nodes { slug } } }";
    let slugs = |v: &Value| -> Vec<String> {
        v["personas"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["slug"].as_str().unwrap().to_owned())
            .collect()
    };

    // Default order is sortOrder ascending: echo (6) first.
    let all = app.data(list, json!({})).await;
    assert_eq!(slugs(&all), ["echo", "delta", "charlie", "bravo", "alpha"]);

    let buyers = app
        .data(
            list,
            json!({ "f": { "kind": "BUYER" }, "o": { "field": "NAME", "direction": "DESC" } }),
        )
        .await;
    assert_eq!(slugs(&buyers), ["delta", "charlie", "bravo"]);
    assert_eq!(buyers["personas"]["totalCount"], 3);

    let search = app.data(list, json!({ "f": { "search": "ARL" } })).await;
    assert_eq!(slugs(&search), ["charlie"]);
    let literal = app.data(list, json!({ "f": { "search": "%" } })).await;
    assert_eq!(
        slugs(&literal),
        Vec::<String>::new(),
        "% is matched literally"
    );

    let by_name = json!({ "field": "NAME" });
    let page1 = app.data(list, json!({ "o": by_name, "first": 2 })).await;
    assert_eq!(slugs(&page1), ["alpha", "bravo"]);
    assert_eq!(page1["personas"]["pageInfo"]["hasNextPage"], true);
    let page2 = app
        .data(list, json!({ "o": by_name, "first": 2, "after": page1["personas"]["pageInfo"]["endCursor"] }))
        .await;
    assert_eq!(slugs(&page2), ["charlie", "delta"]);
    let page3 = app
        .data(list, json!({ "o": by_name, "first": 2, "after": page2["personas"]["pageInfo"]["endCursor"] }))
        .await;
    assert_eq!(slugs(&page3), ["echo"]);
    assert_eq!(page3["personas"]["pageInfo"]["hasNextPage"], false);

    let back = app
        .data(list, json!({ "o": by_name, "last": 2, "before": page3["personas"]["pageInfo"]["startCursor"] }))
        .await;
    assert_eq!(slugs(&back), ["charlie", "delta"]);
    assert_eq!(back["personas"]["pageInfo"]["hasPreviousPage"], true);

    let too_many = app.gql(list, json!({ "first": 101 })).await;
    assert_eq!(error_code(&too_many), "BAD_USER_INPUT", "{too_many}");
    let bad_cursor = app.gql(list, json!({ "after": "not-a-cursor" })).await;
    assert_eq!(error_code(&bad_cursor), "BAD_USER_INPUT", "{bad_cursor}");
}

#[tokio::test]
async fn total_count_runs_a_query_only_when_asked_for() {
    let app = TestApp::spawn().await;
    seeded_pair(&app).await;
    app.reset_statements();
    app.data("{ personas { nodes { slug } } }", json!({})).await;
    let without = app.statements();
    app.reset_statements();
    app.data("{ personas { totalCount nodes { slug } } }", json!({}))
        .await;
    assert_eq!(without, 1);
    assert_eq!(app.statements(), 2);
}

#[tokio::test]
async fn node_refetches_a_persona_by_its_global_id() {
    let app = TestApp::spawn().await;
    let created = create(&app, "dev", "Dev", "DEV").await;
    let node = app
        .data(
            "query($id: ID!) { node(id: $id) { id ... on Persona { slug } } }",
            json!({ "id": created["id"] }),
        )
        .await;
    assert_eq!(node["node"], json!({ "id": created["id"], "slug": "dev" }));
    let missing = app
        .data(r#"{ node(id: "garbage") { id } }"#, json!({}))
        .await;
    assert_eq!(missing["node"], Value::Null);
}

#[tokio::test]
async fn a_database_failure_reaches_the_client_as_internal_without_details() {
    let app = TestApp::spawn().await;
    seeded_pair(&app).await;
    app.db.execute_unprepared("DROP TABLE role").await.unwrap();
    let body = app
        .gql(r#"{ persona(slug: "dev") { roles { title } } }"#, json!({}))
        .await;
    assert_eq!(error_code(&body), "INTERNAL", "{body}");
    assert_eq!(body["errors"][0]["message"], "internal error");
    let text = body.to_string().to_lowercase();
    assert!(
        !text.contains("role\"") && !text.contains("no such table") && !text.contains("relation"),
        "{body}"
    );
}
