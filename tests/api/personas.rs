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

const SET_PERSONAS: &str =
    "mutation($i: SetJourneyPersonasInput!) { setJourneyPersonas(input: $i) {
    journey { version personas { slug } } } }";
const DELETE: &str = "mutation($i: DeletePersonaInput!) { deletePersona(input: $i) { deletedId } }";
const PERSONA_JOURNEYS: &str =
    "query($s: String!) { persona(slug: $s) { kind version journeys { slug } } }";
const JOURNEY: &str =
    "query($s: String!) { journey(slug: $s) { version personaKind personas { slug } } }";

async fn narrow(app: &TestApp, journey: &str, personas: &[&str]) {
    app.data(
        SET_PERSONAS,
        json!({ "i": { "journey": journey, "personas": personas } }),
    )
    .await;
}

async fn persona_journeys(app: &TestApp, slug: &str) -> Value {
    app.data(PERSONA_JOURNEYS, json!({ "s": slug })).await["persona"].clone()
}

async fn journey(app: &TestApp, slug: &str) -> Value {
    app.data(JOURNEY, json!({ "s": slug })).await["journey"].clone()
}

#[tokio::test]
async fn changing_the_kind_of_a_persona_a_journey_is_narrowed_to_is_bad_user_input_on_kind() {
    let app = TestApp::seeded().await;
    narrow(&app, "buyer-journey", &["head-of-engineering"]).await;
    let persona_before = persona_journeys(&app, "head-of-engineering").await;
    assert_eq!(
        persona_before["journeys"],
        json!([{ "slug": "buyer-journey" }])
    );
    let journey_before = journey(&app, "buyer-journey").await;
    let before = snapshot(&app).await;

    let body = app
        .gql(
            UPDATE,
            json!({ "i": { "slug": "head-of-engineering", "expectedVersion": persona_before["version"],
                           "kind": "DEV", "name": "Renamed" } }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "kind", "{body:#}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("buyer-journey"), "{message}");
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(
        persona_journeys(&app, "head-of-engineering").await,
        persona_before
    );
    assert_eq!(journey(&app, "buyer-journey").await, journey_before);

    // The journey's own kind is fine, and without the narrowing any kind is.
    let same = app
        .data(
            UPDATE,
            json!({ "i": { "slug": "head-of-engineering", "expectedVersion": persona_before["version"],
                           "kind": "BUYER" } }),
        )
        .await;
    let version = same["updatePersona"]["persona"]["version"].clone();
    narrow(&app, "buyer-journey", &[]).await;
    app.data(
        UPDATE,
        json!({ "i": { "slug": "head-of-engineering", "expectedVersion": version, "kind": "DEV" } }),
    )
    .await;
    let after = persona_journeys(&app, "head-of-engineering").await;
    assert_eq!(after["kind"], "DEV");
    assert_eq!(after["journeys"], json!([{ "slug": "dev-journey" }]));
}

#[tokio::test]
async fn deleting_the_only_persona_a_journey_is_narrowed_to_is_a_conflict_naming_the_journey() {
    let app = TestApp::seeded().await;
    narrow(&app, "buyer-journey", &["head-of-engineering"]).await;
    let journey_before = journey(&app, "buyer-journey").await;
    let before = snapshot(&app).await;

    let body = app
        .gql(DELETE, json!({ "i": { "slug": "head-of-engineering" } }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body:#}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("buyer-journey")
            && message.contains("narrow it to other personas or clear its narrowing first"),
        "{message}"
    );
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(journey(&app, "buyer-journey").await, journey_before);
    assert_eq!(
        journey_before["personas"],
        json!([{ "slug": "head-of-engineering" }])
    );
}

#[tokio::test]
async fn deleting_one_of_several_personas_a_journey_is_narrowed_to_keeps_the_rest_and_bumps_it() {
    let app = TestApp::seeded().await;
    narrow(
        &app,
        "buyer-journey",
        &["head-of-engineering", "security-engineering-leader"],
    )
    .await;
    let before = journey(&app, "buyer-journey").await;
    let dev_before = journey(&app, "dev-journey").await;

    app.data(DELETE, json!({ "i": { "slug": "head-of-engineering" } }))
        .await;
    let after = journey(&app, "buyer-journey").await;
    assert_eq!(
        after["personas"],
        json!([{ "slug": "security-engineering-leader" }])
    );
    assert_eq!(
        after["version"].as_i64().unwrap(),
        before["version"].as_i64().unwrap() + 1
    );
    // The journey stays hidden from the personas it is not narrowed to.
    assert_eq!(
        persona_journeys(&app, "platform-infrastructure-leader").await["journeys"],
        json!([])
    );
    // A journey that was not narrowed to the persona is left alone.
    assert_eq!(journey(&app, "dev-journey").await, dev_before);
}

#[tokio::test]
async fn a_lookup_by_slug_reads_the_persona_and_its_roles_in_one_statement() {
    let app = TestApp::spawn().await;
    create(&app, "cto", "CTO", "BUYER").await;
    let lookup =
        r"query($slug: String!) { persona(slug: $slug) { slug roles { title sortOrder } } }";

    // No roles yet: the persona, with an empty list.
    app.reset_statements();
    let data = app.data(lookup, json!({ "slug": "cto" })).await;
    assert_eq!(data, json!({ "persona": { "slug": "cto", "roles": [] } }));
    assert_eq!(app.statements(), 1);

    // Roles in their sort order, whatever the order they were added in.
    let add = "mutation($i: AddRoleInput!) { addRole(input: $i) { role { title } } }";
    for (title, order) in [("VP Engineering", 2), ("Chief", 1), ("Head of Platform", 3)] {
        app.data(
            add,
            json!({ "i": { "persona": "cto", "title": title, "sortOrder": order } }),
        )
        .await;
    }
    app.reset_statements();
    let data = app.data(lookup, json!({ "slug": "cto" })).await;
    let titles: Vec<&str> = data["persona"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Chief", "VP Engineering", "Head of Platform"]);
    assert_eq!(app.statements(), 1, "the persona joined with its roles");

    // An unknown slug is null, with or without roles asked for.
    let data = app.data(lookup, json!({ "slug": "nobody" })).await;
    assert_eq!(data, json!({ "persona": null }));
}
